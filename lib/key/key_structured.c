/*
 * lib/key/key_structured.c - the canonical content of caller-built messages
 * (sticky_message / sticky_part). Produces the same stream, and so the same
 * keys, as the equivalent raw Anthropic body.
 */
#include <string.h>

#include "key/key_internal.h"
#include "sticky/error.h"

/* A (pointer, length) string; NULL with a non-zero length is invalid. */
static void sstr(canon *k, const char *p, size_t len)
{
    if (p == NULL && len != 0) {
        canon_fail(k, STICKY_EINVAL);
        return;
    }
    json_str s = {(const uint8_t *)p, len, 0};
    int rc = len ? json_check_plain_string(&s) : STICKY_OK;
    if (rc != STICKY_OK) {
        canon_fail(k, rc);
        return;
    }
    canon_str(k, p ? p : "", len);
}

static void encode_input_json(canon *k, const char *json, size_t len)
{
    if (json == NULL || len == 0) {
        canon_tag(k, VAL_NULL);
        return;
    }
    json_cur c;
    json_cur_init(&c, json, len);
    canon_value v;
    canon_value_init(&v, k->ctx);
    int rc = canon_value_encode(&c, &v, NULL);
    if (rc == STICKY_OK && json_peek(&c) != -1)
        rc = STICKY_EPARSE;
    if (rc == STICKY_OK)
        canon_value_to_stream(k, &v);
    else
        canon_fail(k, rc);
    canon_value_free(&v);
}

/* The source's payload as the body path encodes it: the canonical value of
 * a source object holding one member named after the kind ("data" for
 * base64 and text, "url", "file_id"). */
static void encode_source_payload(canon *k, const sticky_part *p)
{
    const char *member = "data";
    if (p->source_kind_len == 3 && memcmp(p->source_kind, "url", 3) == 0)
        member = "url";
    else if (p->source_kind_len == 4 && memcmp(p->source_kind, "file", 4) == 0)
        member = "file_id";
    canon_tag(k, VAL_OBJECT);
    if (p->data != NULL) {
        canon_str(k, member, strlen(member));
        canon_tag(k, VAL_STRING);
        sstr(k, p->data, p->data_len);
    }
    canon_tag(k, VAL_OBJECT_END);
}

static void encode_parts(canon *k, const sticky_part *parts, size_t n, int depth)
{
    if (parts == NULL && n != 0) {
        canon_fail(k, STICKY_EINVAL);
        return;
    }
    if (depth > STICKY_MAX_JSON_DEPTH) {
        canon_fail(k, STICKY_ELIMIT);
        return;
    }
    for (size_t i = 0; i < n && k->err == STICKY_OK; i++) {
        const sticky_part *p = &parts[i];
        switch (p->type) {
        case STICKY_PART_TEXT:
            canon_tag(k, TAG_TEXT);
            sstr(k, p->text, p->text_len);
            break;
        case STICKY_PART_IMAGE:
        case STICKY_PART_DOCUMENT:
            canon_tag(k, p->type == STICKY_PART_IMAGE ? TAG_IMAGE : TAG_DOCUMENT);
            sstr(k, p->source_kind, p->source_kind_len);
            sstr(k, p->media_type, p->media_type_len);
            encode_source_payload(k, p);
            break;
        case STICKY_PART_TOOL_USE:
            canon_tag(k, TAG_TOOL_USE);
            sstr(k, p->name, p->name_len);
            encode_input_json(k, p->input_json, p->input_json_len);
            break;
        case STICKY_PART_TOOL_RESULT: {
            canon_tag(k, TAG_TOOL_RESULT);
            uint8_t is_error = p->is_error != 0;
            canon_bytes(k, &is_error, 1);
            if (p->parts != NULL || p->n_parts != 0) {
                encode_parts(k, p->parts, p->n_parts, depth + 1);
            } else if (p->text != NULL) {
                canon_tag(k, TAG_TEXT);
                sstr(k, p->text, p->text_len);
            }
            canon_tag(k, TAG_END);
            break;
        }
        case STICKY_PART_THINKING:
            break; /* never part of the key */
        default:
            canon_fail(k, STICKY_EINVAL);
            break;
        }
    }
}

int structured_encode_content(struct content_job *job,
                              const sticky_request *req)
{
    canon *k = job->k;
    if ((req->messages == NULL && req->n_messages != 0) ||
        (req->system == NULL && req->n_system != 0))
        return STICKY_EINVAL;
    if (req->n_messages == 0)
        return STICKY_OK;
    if (job->include_system && req->n_system != 0) {
        canon_tag(k, TAG_SYSTEM);
        encode_parts(k, req->system, req->n_system, 1);
        canon_tag(k, TAG_END);
    }
    for (size_t i = 0; i < req->n_messages && job->chain->n_keys < job->max_keys; i++) {
        const sticky_message *m = &req->messages[i];
        canon_tag(k, TAG_MESSAGE);
        sstr(k, m->role, m->role_len);
        encode_parts(k, m->parts, m->n_parts, 1);
        canon_tag(k, TAG_END);
        if (k->err != STICKY_OK)
            return k->err;
        int rc = canon_key(k, &job->chain->keys[job->chain->n_keys]);
        if (rc != STICKY_OK)
            return rc;
        job->chain->n_keys++;
    }
    return k->err;
}

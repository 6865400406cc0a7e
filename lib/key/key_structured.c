/*
 * lib/key/key_structured.c - the canonical content of caller-built messages
 * (sticky_message / sticky_part). Produces the same stream, and so the same
 * keys, as the equivalent raw Anthropic body.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "key/key_internal.h"
#include "sticky/error.h"

/* Where in the request a part or string is, for the debug line of a
 * rejection ("key_derive: request.messages[2].parts[0].text: ..."). */
struct where {
    const char *op;
    char path[96];
};

/* Set a path; a path too long for the buffer is cut (it only feeds a log line). */
static void set_path(struct where *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->path, sizeof(w->path), fmt, ap);
    va_end(ap);
}

/* Reject: one debug line naming the field, then fail the encoding. */
static void reject(canon *k, const struct where *w, const char *field, int rc,
                   const char *why)
{
    if (k->err == STICKY_OK)
        ctx_log(k->ctx, STICKY_LOG_DEBUG, "%s: %s%s%s: %s", w->op, w->path,
                field[0] ? "." : "", field, why);
    canon_fail(k, rc);
}

/* A (pointer, length) string; NULL with a non-zero length is invalid. */
static void sstr(canon *k, const struct where *w, const char *field, const char *p,
                 size_t len)
{
    if (p == NULL && len != 0) {
        reject(k, w, field, STICKY_EINVAL, "NULL with a non-zero length");
        return;
    }
    json_str s = {(const uint8_t *)p, len, 0};
    int rc = len ? json_check_plain_string(&s) : STICKY_OK;
    if (rc != STICKY_OK) {
        reject(k, w, field, rc, "not valid UTF-8 text");
        return;
    }
    canon_str(k, p ? p : "", len);
}

static void encode_input_json(canon *k, const struct where *w, const char *json, size_t len)
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
        reject(k, w, "input_json", rc, rc == STICKY_ELIMIT ? "nested too deep"
                                                             : "not one valid JSON value");
    canon_value_free(&v);
}

/* The source's payload as the body path encodes it: the canonical value of
 * a source object holding one member named after the kind ("data" for
 * base64 and text, "url", "file_id"). */
static void encode_source_payload(canon *k, const struct where *w, const sticky_part *p)
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
        sstr(k, w, "data", p->data, p->data_len);
    }
    canon_tag(k, VAL_OBJECT_END);
}

static void encode_parts(canon *k, const struct where *parent, const char *field,
                         const sticky_part *parts, size_t n, int depth)
{
    if (parts == NULL && n != 0) {
        reject(k, parent, field, STICKY_EINVAL, "NULL with a non-zero count");
        return;
    }
    if (depth > STICKY_MAX_JSON_DEPTH) {
        reject(k, parent, field, STICKY_ELIMIT, "tool results nested too deep");
        return;
    }
    struct where w = {parent->op, ""};
    for (size_t i = 0; i < n && k->err == STICKY_OK; i++) {
        const sticky_part *p = &parts[i];
        set_path(&w, "%s%s%s[%zu]", parent->path, parent->path[0] ? "." : "", field, i);
        switch (p->type) {
        case STICKY_PART_TEXT:
            canon_tag(k, TAG_TEXT);
            sstr(k, &w, "text", p->text, p->text_len);
            break;
        case STICKY_PART_IMAGE:
        case STICKY_PART_DOCUMENT:
            canon_tag(k, p->type == STICKY_PART_IMAGE ? TAG_IMAGE : TAG_DOCUMENT);
            sstr(k, &w, "source_kind", p->source_kind, p->source_kind_len);
            sstr(k, &w, "media_type", p->media_type, p->media_type_len);
            encode_source_payload(k, &w, p);
            break;
        case STICKY_PART_TOOL_USE:
            canon_tag(k, TAG_TOOL_USE);
            sstr(k, &w, "name", p->name, p->name_len);
            encode_input_json(k, &w, p->input_json, p->input_json_len);
            break;
        case STICKY_PART_TOOL_RESULT: {
            canon_tag(k, TAG_TOOL_RESULT);
            uint8_t is_error = p->is_error != 0;
            canon_bytes(k, &is_error, 1);
            if (p->parts != NULL || p->n_parts != 0) {
                encode_parts(k, &w, "parts", p->parts, p->n_parts, depth + 1);
            } else if (p->text != NULL) {
                canon_tag(k, TAG_TEXT);
                sstr(k, &w, "text", p->text, p->text_len);
            }
            canon_tag(k, TAG_END);
            break;
        }
        case STICKY_PART_THINKING:
            break; /* never part of the key */
        default: {
            char why[64];
            snprintf(why, sizeof(why), "%d is not an enum sticky_part_type", p->type);
            reject(k, &w, "type", STICKY_EINVAL, why);
            break;
        }
        }
    }
}

int structured_encode_content(struct content_job *job,
                              const sticky_request *req)
{
    canon *k = job->k;
    /* NULL arrays with counts were rejected (and logged) by check_request. */
    if (req->n_messages == 0)
        return STICKY_OK;
    struct where top = {job->op, "request"};
    if (job->include_system && req->n_system != 0) {
        canon_tag(k, TAG_SYSTEM);
        encode_parts(k, &top, "system", req->system, req->n_system, 1);
        canon_tag(k, TAG_END);
    }
    for (size_t i = 0; i < req->n_messages && job->chain->n_keys < job->max_keys; i++) {
        const sticky_message *m = &req->messages[i];
        struct where msg = {job->op, ""};
        set_path(&msg, "request.messages[%zu]", i);
        canon_tag(k, TAG_MESSAGE);
        sstr(k, &msg, "role", m->role, m->role_len);
        encode_parts(k, &msg, "parts", m->parts, m->n_parts, 1);
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

/*
 * lib/key/key_body.c - reading raw request bodies for the session key: the
 * top-level scan, format detection, and the canonical content of Anthropic
 * Messages, OpenAI Chat Completions and OpenAI Responses bodies. Only the
 * first message_count messages are read; everything else is skipped.
 */
#include <string.h>

#include "key/key_internal.h"
#include "sticky/error.h"

/* ---- top level ------------------------------------------------------------ */

int body_scan_top(const uint8_t *body, size_t len, struct body_fields *f)
{
    static const char *const names[] = {"messages", "system", "metadata", "input",
                                        "instructions", "prompt_cache_key", "session_id",
                                        "conversation_id", "model", NULL};
    json_span sp[9];
    json_cur c;
    json_cur_init(&c, body, len);
    int rc = json_scan_members(&c, names, sp, NULL);
    if (rc != STICKY_OK)
        return rc;
    if (json_peek(&c) != -1)
        return STICKY_EPARSE; /* trailing bytes after the object */
    *f = (struct body_fields){.messages = sp[0], .system = sp[1], .metadata = sp[2],
                              .input = sp[3], .instructions = sp[4],
                              .prompt_cache_key = sp[5], .session_id = sp[6],
                              .conversation_id = sp[7], .model = sp[8]};
    return STICKY_OK;
}

static int span_is_str(const json_span *s, const char *lit);

/* Is the first element of a messages array a system / developer message? */
static int first_role_is_system(const json_span *messages)
{
    static const char *const names[] = {"role", NULL};
    json_span role;
    json_cur c;
    json_cur_init(&c, messages->start, (size_t)(messages->end - messages->start));
    int done;
    if (json_array_begin(&c) != STICKY_OK || json_array_next(&c, &done) != STICKY_OK ||
        done || json_peek(&c) != '{' || json_scan_members(&c, names, &role, NULL) != STICKY_OK)
        return 0;
    return span_is_str(&role, "system") || span_is_str(&role, "developer");
}

int body_detect_format(const struct body_fields *f, int stated)
{
    if (stated != STICKY_FORMAT_AUTO)
        return stated;
    if (f->messages.start != NULL) {
        if (f->system.start == NULL && first_role_is_system(&f->messages))
            return STICKY_FORMAT_OPENAI_CHAT;
        return STICKY_FORMAT_ANTHROPIC;
    }
    if (f->input.start != NULL || f->instructions.start != NULL)
        return STICKY_FORMAT_OPENAI_RESPONSES;
    return STICKY_FORMAT_ANTHROPIC;
}

/* ---- parts ------------------------------------------------------------------ */

/* Members of a content part object we look at. */
struct part_fields {
    json_str type;
    int has_type;
    json_span text, source, image_url, file_id, name, input, content, is_error,
        arguments, output;
    json_span whole;
};

static int scan_part(json_cur *c, struct part_fields *pf)
{
    static const char *const names[] = {"type", "text", "source", "image_url", "file_id",
                                        "name", "input", "content", "is_error", "arguments",
                                        "output", NULL};
    json_span sp[11];
    memset(pf, 0, sizeof(*pf));
    int rc = json_scan_members(c, names, sp, &pf->whole);
    if (rc != STICKY_OK)
        return rc;
    pf->text = sp[1], pf->source = sp[2], pf->image_url = sp[3], pf->file_id = sp[4];
    pf->name = sp[5], pf->input = sp[6], pf->content = sp[7], pf->is_error = sp[8];
    pf->arguments = sp[9], pf->output = sp[10];
    if (sp[0].start != NULL && *sp[0].start == '"') {
        json_cur tc;
        json_cur_init(&tc, sp[0].start, (size_t)(sp[0].end - sp[0].start));
        if ((rc = json_read_string(&tc, &pf->type)) != STICKY_OK)
            return rc;
        pf->has_type = 1;
    }
    return STICKY_OK;
}

static void cur_of(json_cur *c, const json_span *s, int depth)
{
    json_cur_init(c, s->start, (size_t)(s->end - s->start));
    c->depth = depth;
}

/* A string member into the stream; absent or non-string: empty string. */
static void str_member(canon *k, const json_span *s, int depth)
{
    if (s->start == NULL || *s->start != '"') {
        canon_str(k, "", 0);
        return;
    }
    json_cur c;
    json_str v;
    cur_of(&c, s, depth);
    int rc = json_read_string(&c, &v);
    if (rc != STICKY_OK) {
        canon_fail(k, rc);
        return;
    }
    canon_json_str(k, &v);
}

static int type_is(const struct part_fields *pf, const char *t)
{
    return pf->has_type && json_key_is(&pf->type, t);
}

static void encode_parts_value(canon *k, const json_span *content, int depth);

/*
 * Array iteration inside the canonical stream: open the array at @c, then
 * next_element() is 1 while the cursor stands at an element, 0 at the end or
 * on an error (recorded in @k, which stops the stream).
 */
static int open_array(canon *k, json_cur *c)
{
    int rc = json_array_begin(c);
    if (rc != STICKY_OK)
        canon_fail(k, rc);
    return rc == STICKY_OK;
}

static int next_element(canon *k, json_cur *c)
{
    int done, rc = json_array_next(c, &done);
    if (rc != STICKY_OK)
        canon_fail(k, rc);
    return rc == STICKY_OK && !done && k->err == STICKY_OK;
}

static const char *const source_skip[] = {"type", "media_type", NULL};

/* An image / document: tag, str(source.type), str(source.media_type), then
 * the canonical value of the source without those two members (so base64
 * data, url, file_id and nested content all count). */
static void encode_source(canon *k, uint8_t tag, const json_span *src, int depth)
{
    static const char *const names[] = {"type", "media_type", NULL};
    json_span sp[2];
    canon_tag(k, tag);
    if (src->start == NULL || *src->start != '{') {
        canon_str(k, "", 0);
        canon_str(k, "", 0);
        canon_tag(k, VAL_NULL);
        return;
    }
    json_cur c;
    cur_of(&c, src, depth);
    int rc = json_scan_members(&c, names, sp, NULL);
    if (rc != STICKY_OK) {
        canon_fail(k, rc);
        return;
    }
    str_member(k, &sp[0], depth);
    str_member(k, &sp[1], depth);
    cur_of(&c, src, depth);
    canon_json_value(k, &c, source_skip);
}

/* The canonical value {"<name>": "<value>"} without building JSON text. */
static void single_member_object(canon *k, const char *name, const json_span *v, int depth)
{
    canon_tag(k, VAL_OBJECT);
    if (v->start != NULL && *v->start == '"') {
        canon_str(k, name, strlen(name));
        canon_tag(k, VAL_STRING);
        str_member(k, v, depth);
    }
    canon_tag(k, VAL_OBJECT_END);
}

/* An image given as a URL (OpenAI image_url string or {url: ...}): the same
 * record as an Anthropic url image source. */
static void encode_image_url(canon *k, const json_span *v, int depth)
{
    static const char *const names[] = {"url", NULL};
    canon_tag(k, TAG_IMAGE);
    canon_str(k, "url", 3);
    canon_str(k, "", 0);
    json_span url = *v;
    if (v->start != NULL && *v->start == '{') {
        json_cur c;
        cur_of(&c, v, depth);
        int rc = json_scan_members(&c, names, &url, NULL);
        if (rc != STICKY_OK) {
            canon_fail(k, rc);
            return;
        }
    }
    single_member_object(k, "url", &url, depth);
}

static const char *const generic_skip[] = {"type", "cache_control", NULL};

static void encode_generic(canon *k, const struct part_fields *pf, int depth)
{
    canon_tag(k, TAG_OTHER);
    if (pf->has_type)
        canon_json_str(k, &pf->type);
    else
        canon_str(k, "", 0);
    json_cur c;
    cur_of(&c, &pf->whole, depth);
    canon_json_value(k, &c, generic_skip);
}

/* Tool input: a JSON value, or (OpenAI) a string holding JSON, which is
 * canonicalised when it parses and hashed as a string when it does not. */
static void encode_tool_input(canon *k, const json_span *v, int depth)
{
    if (v->start == NULL) {
        canon_tag(k, VAL_NULL);
        return;
    }
    json_cur c;
    cur_of(&c, v, depth);
    if (*v->start != '"') {
        canon_json_value(k, &c, NULL);
        return;
    }
    json_str s;
    growbuf text;
    canon_value enc;
    growbuf_init(&text, k->ctx);
    canon_value_init(&enc, k->ctx);
    int rc = json_read_string(&c, &s);
    if (rc == STICKY_OK)
        rc = json_decode_string(&s, &text);
    if (rc == STICKY_OK) {
        json_cur inner;
        json_cur_init(&inner, text.data, text.len);
        if (text.len != 0 && canon_value_encode(&inner, &enc, NULL) == STICKY_OK &&
            json_peek(&inner) == -1) {
            canon_value_to_stream(k, &enc);
        } else {
            canon_tag(k, VAL_STRING);
            canon_str(k, text.data, text.len);
        }
    } else {
        canon_fail(k, rc);
    }
    growbuf_free(&text);
    canon_value_free(&enc);
}

static void encode_part(canon *k, json_cur *c)
{
    int ch = json_peek(c);
    if (ch == '"') { /* a bare string in a content array: a text part */
        json_str s;
        int rc = json_read_string(c, &s);
        if (rc != STICKY_OK) {
            canon_fail(k, rc);
            return;
        }
        canon_tag(k, TAG_TEXT);
        canon_json_str(k, &s);
        return;
    }
    if (ch != '{') {
        canon_fail(k, STICKY_EPARSE);
        return;
    }
    struct part_fields pf;
    int rc = scan_part(c, &pf);
    if (rc != STICKY_OK) {
        canon_fail(k, rc);
        return;
    }
    int depth = c->depth + 1;
    if (type_is(&pf, "thinking") || type_is(&pf, "redacted_thinking") ||
        type_is(&pf, "reasoning"))
        return; /* never part of the key */
    if (type_is(&pf, "text") || type_is(&pf, "input_text") ||
        type_is(&pf, "output_text")) {
        canon_tag(k, TAG_TEXT);
        str_member(k, &pf.text, depth);
    } else if (type_is(&pf, "image")) {
        encode_source(k, TAG_IMAGE, &pf.source, depth);
    } else if (type_is(&pf, "document")) {
        encode_source(k, TAG_DOCUMENT, &pf.source, depth);
    } else if (type_is(&pf, "image_url")) {
        encode_image_url(k, &pf.image_url, depth);
    } else if (type_is(&pf, "input_image")) {
        if (pf.image_url.start != NULL) {
            encode_image_url(k, &pf.image_url, depth);
        } else {
            canon_tag(k, TAG_IMAGE);
            canon_str(k, "file", 4);
            canon_str(k, "", 0);
            single_member_object(k, "file_id", &pf.file_id, depth);
        }
    } else if (type_is(&pf, "tool_use")) {
        canon_tag(k, TAG_TOOL_USE);
        str_member(k, &pf.name, depth);
        encode_tool_input(k, &pf.input, depth);
    } else if (type_is(&pf, "tool_result")) {
        canon_tag(k, TAG_TOOL_RESULT);
        uint8_t is_error = pf.is_error.start != NULL && *pf.is_error.start == 't';
        canon_bytes(k, &is_error, 1);
        encode_parts_value(k, &pf.content, depth);
        canon_tag(k, TAG_END);
    } else {
        encode_generic(k, &pf, depth);
    }
}

/* A content value: string = one text part; array = its parts; null or
 * absent = no parts. */
static void encode_parts_value(canon *k, const json_span *content, int depth)
{
    if (content->start == NULL || *content->start == 'n')
        return;
    json_cur c;
    cur_of(&c, content, depth);
    int rc;
    if (*content->start == '"') {
        json_str s;
        if ((rc = json_read_string(&c, &s)) != STICKY_OK) {
            canon_fail(k, rc);
            return;
        }
        canon_tag(k, TAG_TEXT);
        canon_json_str(k, &s);
        return;
    }
    if (*content->start != '[') {
        canon_fail(k, STICKY_EPARSE);
        return;
    }
    if (!open_array(k, &c))
        return;
    while (next_element(k, &c))
        encode_part(k, &c);
}

/* ---- messages ------------------------------------------------------------------ */

struct msg_fields {
    json_span role, content, tool_calls, type, name, arguments, output;
    json_span whole;
};

static int scan_message(json_cur *c, struct msg_fields *mf)
{
    static const char *const names[] = {"role", "content", "tool_calls", "type", "name",
                                        "arguments", "output", NULL};
    json_span sp[7];
    memset(mf, 0, sizeof(*mf));
    if (json_peek(c) != '{')
        return STICKY_EPARSE;
    int rc = json_scan_members(c, names, sp, &mf->whole);
    if (rc != STICKY_OK)
        return rc;
    mf->role = sp[0], mf->content = sp[1], mf->tool_calls = sp[2], mf->type = sp[3];
    mf->name = sp[4], mf->arguments = sp[5], mf->output = sp[6];
    return STICKY_OK;
}

static int span_is_str(const json_span *s, const char *lit)
{
    if (s->start == NULL || *s->start != '"')
        return 0;
    json_str v = {s->start + 1, (size_t)(s->end - s->start - 2), 0};
    for (size_t i = 0; i < v.raw_len; i++)
        v.has_escape |= v.raw[i] == '\\';
    return json_key_is(&v, lit);
}

/* OpenAI tool_calls: [{"type":"function","function":{"name","arguments"}}] */
static void encode_tool_calls(canon *k, const json_span *calls, int depth)
{
    if (calls->start == NULL || *calls->start == 'n')
        return;
    json_cur c;
    cur_of(&c, calls, depth);
    int rc;
    if (!open_array(k, &c))
        return;
    while (next_element(k, &c)) {
        static const char *const names[] = {"function", NULL};
        struct part_fields fn;
        json_span function;
        if (json_peek(&c) != '{') {
            canon_fail(k, STICKY_EPARSE);
            return;
        }
        if ((rc = json_scan_members(&c, names, &function, NULL)) != STICKY_OK) {
            canon_fail(k, rc);
            return;
        }
        memset(&fn, 0, sizeof(fn));
        if (function.start != NULL && *function.start == '{') {
            json_cur fc;
            cur_of(&fc, &function, c.depth + 1);
            if ((rc = scan_part(&fc, &fn)) != STICKY_OK) {
                canon_fail(k, rc);
                return;
            }
        }
        canon_tag(k, TAG_TOOL_USE);
        str_member(k, &fn.name, c.depth + 2);
        encode_tool_input(k, &fn.arguments, c.depth + 2);
    }
}

/* One message (or Responses item). Returns 1 if it counts as a message,
 * 0 if it is skipped (Responses reasoning items). */
static int encode_message(canon *k, json_cur *c, int format)
{
    struct msg_fields mf;
    int rc = scan_message(c, &mf);
    if (rc != STICKY_OK) {
        canon_fail(k, rc);
        return 0;
    }
    int depth = c->depth + 1;
    if (format == STICKY_FORMAT_OPENAI_RESPONSES && mf.role.start == NULL) {
        if (span_is_str(&mf.type, "reasoning"))
            return 0;
        canon_tag(k, TAG_MESSAGE);
        if (span_is_str(&mf.type, "function_call")) {
            canon_str(k, "assistant", 9);
            canon_tag(k, TAG_TOOL_USE);
            str_member(k, &mf.name, depth);
            encode_tool_input(k, &mf.arguments, depth);
        } else if (span_is_str(&mf.type, "function_call_output")) {
            canon_str(k, "tool", 4);
            canon_tag(k, TAG_TOOL_RESULT);
            uint8_t zero = 0;
            canon_bytes(k, &zero, 1);
            encode_parts_value(k, &mf.output, depth);
            canon_tag(k, TAG_END);
        } else {
            /* Other item types: the whole item, canonically. */
            canon_str(k, "item", 4);
            canon_tag(k, TAG_OTHER);
            str_member(k, &mf.type, depth);
            json_cur ic;
            cur_of(&ic, &mf.whole, c->depth);
            canon_json_value(k, &ic, generic_skip);
        }
        canon_tag(k, TAG_END);
        return 1;
    }
    if (mf.role.start == NULL || *mf.role.start != '"') {
        canon_fail(k, STICKY_EPARSE);
        return 0;
    }
    canon_tag(k, TAG_MESSAGE);
    str_member(k, &mf.role, depth);
    encode_parts_value(k, &mf.content, depth);
    encode_tool_calls(k, &mf.tool_calls, depth);
    canon_tag(k, TAG_END);
    return 1;
}

/* System prompt from a string or an array of blocks. */
static void encode_system(canon *k, const json_span *sys)
{
    if (sys->start == NULL || *sys->start == 'n')
        return;
    canon_tag(k, TAG_SYSTEM);
    encode_parts_value(k, sys, 0);
    canon_tag(k, TAG_END);
}

static int push_key(struct content_job *job)
{
    sticky_key_chain *ch = job->chain;
    int rc = canon_key(job->k, &ch->keys[ch->n_keys]);
    if (rc == STICKY_OK)
        ch->n_keys++;
    return rc;
}

/* Is this element a leading system/developer message (OpenAI formats)? */
static int is_system_message(json_cur c /* by value: peek only */)
{
    struct msg_fields mf;
    if (scan_message(&c, &mf) != STICKY_OK)
        return 0;
    return span_is_str(&mf.role, "system") || span_is_str(&mf.role, "developer");
}

/* Walk a messages / input array: leading system messages (OpenAI formats)
 * are the system prompt; then one key per message up to max_keys. */
static int encode_message_array(struct content_job *job, const json_span *arr,
                                int format, const json_span *top_system)
{
    canon *k = job->k;
    json_cur c;
    cur_of(&c, arr, 0);
    int rc, done;
    if (*arr->start != '[')
        return STICKY_EPARSE;
    if ((rc = json_array_begin(&c)) != STICKY_OK)
        return rc;
    int openai = format != STICKY_FORMAT_ANTHROPIC;
    int leading = 1;
    /* The body's system prompt (Anthropic system, Responses instructions)
     * comes first, then leading system/developer messages (OpenAI). */
    if (job->include_system && top_system != NULL)
        encode_system(k, top_system);
    for (;;) {
        if ((rc = json_array_next(&c, &done)) != STICKY_OK)
            return rc;
        if (done)
            return STICKY_OK;
        if (openai && leading && is_system_message(c)) {
            if (job->include_system) {
                struct msg_fields mf;
                if ((rc = scan_message(&c, &mf)) != STICKY_OK)
                    return rc;
                canon_tag(k, TAG_SYSTEM);
                encode_parts_value(k, &mf.content, c.depth + 1);
                canon_tag(k, TAG_END);
            } else if ((rc = json_skip_value(&c)) != STICKY_OK) {
                return rc;
            }
            continue;
        }
        leading = 0;
        if (encode_message(k, &c, format) && k->err == STICKY_OK &&
            (rc = push_key(job)) != STICKY_OK)
            return rc;
        if (k->err != STICKY_OK)
            return k->err;
        if (job->chain->n_keys >= job->max_keys)
            return STICKY_OK; /* the rest is never read */
    }
}

int body_encode_content(struct content_job *job, const struct body_fields *f,
                        int format)
{
    canon *k = job->k;
    if (format == STICKY_FORMAT_OPENAI_RESPONSES) {
        const json_span *sys = f->instructions.start ? &f->instructions : NULL;
        if (f->input.start == NULL)
            return STICKY_OK;
        if (*f->input.start == '"') {
            if (job->include_system && sys != NULL)
                encode_system(k, sys);
            canon_tag(k, TAG_MESSAGE);
            canon_str(k, "user", 4);
            encode_parts_value(k, &f->input, 0);
            canon_tag(k, TAG_END);
            if (k->err != STICKY_OK)
                return k->err;
            return push_key(job);
        }
        return encode_message_array(job, &f->input, format, sys);
    }
    if (f->messages.start == NULL)
        return STICKY_OK;
    const json_span *sys = format == STICKY_FORMAT_ANTHROPIC && f->system.start
                               ? &f->system : NULL;
    return encode_message_array(job, &f->messages, format, sys);
}

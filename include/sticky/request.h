/*
 * sticky/request.h - the request a host hands to libsticky: tenant, model,
 * raw JSON body (or structured messages), headers, a host-given session id
 * and per-request flags. One struct serves both sticky_select()
 * (sticky/select.h) and sticky_key_derive() (sticky/key.h).
 *
 *     sticky_request req;
 *     sticky_request_init(&req);
 *     req.tenant = "team-a";  req.tenant_len = 6;
 *     req.model = model;      req.model_len = strlen(model);
 *     req.body = body;        req.body_len = body_len;    // raw JSON
 */
#ifndef STICKY_REQUEST_H
#define STICKY_REQUEST_H

#include "common.h"

STICKY_BEGIN_DECLS

struct sticky_key_chain; /* sticky/key.h */

/* Body formats. */
enum sticky_body_format {
    STICKY_FORMAT_AUTO = 0,             /* detect (see docs/session-key.md) */
    STICKY_FORMAT_ANTHROPIC = 1,        /* Anthropic Messages API */
    STICKY_FORMAT_OPENAI_CHAT = 2,      /* OpenAI Chat Completions */
    STICKY_FORMAT_OPENAI_RESPONSES = 3, /* OpenAI Responses */
    STICKY_FORMAT_STRUCTURED = 4        /* caller-built messages, no body */
};

/* Structured input: part types. */
enum sticky_part_type {
    STICKY_PART_TEXT = 1,        /* text */
    STICKY_PART_IMAGE = 2,       /* source_kind + media_type + data */
    STICKY_PART_DOCUMENT = 3,    /* source_kind + media_type + data */
    STICKY_PART_TOOL_USE = 4,    /* name + input_json */
    STICKY_PART_TOOL_RESULT = 5, /* parts (or text) + is_error */
    STICKY_PART_THINKING = 6     /* ignored by the key, like in bodies */
};

/*
 * One content part. Frozen layout (arrays of it are passed, so it never
 * grows); strings are (pointer, length) and need not be NUL-terminated.
 */
typedef struct sticky_part {
    int type;                 /* enum sticky_part_type */
    const char *text;         /* TEXT; TOOL_RESULT when parts is NULL */
    size_t text_len;
    const char *source_kind;  /* IMAGE/DOCUMENT: "base64", "url", "file", "text" */
    size_t source_kind_len;
    const char *media_type;   /* IMAGE/DOCUMENT, may be NULL */
    size_t media_type_len;
    const char *data;         /* IMAGE/DOCUMENT: base64 data ("base64"), text
                               * ("text"), url ("url") or file id ("file") */
    size_t data_len;
    const char *name;         /* TOOL_USE: tool name */
    size_t name_len;
    const char *input_json;   /* TOOL_USE: input as JSON (canonicalised) */
    size_t input_json_len;
    const struct sticky_part *parts; /* TOOL_RESULT content */
    size_t n_parts;
    int is_error;             /* TOOL_RESULT */
} sticky_part;

/* One message: a role and its parts. Frozen layout. */
typedef struct sticky_message {
    const char *role;
    size_t role_len;
    const sticky_part *parts;
    size_t n_parts;
} sticky_message;

/*
 * Size of sticky_decision.model: a model name of up to
 * STICKY_MODEL_SIZE - 1 bytes plus its NUL. Since: 0.2.0
 */
#define STICKY_MODEL_SIZE 128

/* One header (of a request, or of the upstream's response in
 * sticky_outcome.headers). Names match case-insensitively. Frozen layout. */
typedef struct sticky_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} sticky_header;

/* Per-request flags (sticky_request.flags). */
enum sticky_select_flag {
    /* Dedicated mode: never move a bound session; if its channel is
     * unusable return STICKY_ENOCHANNEL with decision.retry_at_ms. */
    STICKY_SELECT_STRICT = 1u << 0
};

/*
 * A request: what the host knows about it. Size-prefixed: start with
 * sticky_request_init(). The same struct feeds sticky_select() and
 * sticky_key_derive() (which reads only the fields that make the key:
 * tenant, body, format, messages, system, headers, session_id). Strings are
 * (pointer, length) and need not be NUL-terminated; a NULL pointer needs a
 * zero length. The library keeps no pointer into it after a call returns.
 */
typedef struct sticky_request {
    size_t size;               /* set by sticky_request_init() */
    const char *tenant;        /* the host's API-key / group id; may be empty */
    size_t tenant_len;
    const char *model;         /* model name, or NULL: then the body's
                                * top-level "model" when there is one,
                                * else none (all families) */
    size_t model_len;
    unsigned flags;            /* enum sticky_select_flag */
    /* Where the session key comes from: a precomputed chain (select only),
     * else the raw body, else structured messages. */
    const struct sticky_key_chain *chain;
    const char *body;          /* raw JSON body, or NULL to use messages */
    size_t body_len;
    int format;                /* enum sticky_body_format, default AUTO */
    const sticky_message *messages; /* structured input when body is NULL */
    size_t n_messages;
    const sticky_part *system; /* structured system prompt parts */
    size_t n_system;
    const sticky_header *headers;
    size_t n_headers;
    const char *session_id;    /* host-given session id, or NULL */
    size_t session_id_len;
} sticky_request;

/**
 * sticky_request_init_sized - zero a request and set its size.
 *
 * Prefer the sticky_request_init() wrapper, which passes sizeof(*r).
 *
 * @r: the struct. @size: the caller's sizeof(sticky_request).
 * Returns: 0; STICKY_EINVAL if @r is NULL; STICKY_EABI if @size is outside the
 *          accepted sizes (below the first-release size or above
 *          STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: touches only @r.
 * Since: 0.1.0
 */
STICKY_API int sticky_request_init_sized(sticky_request *r, size_t size);

/* Zero @r and set its size; see sticky_request_init_sized(). Since: 0.1.0 */
static inline int sticky_request_init(sticky_request *r)
{
    return sticky_request_init_sized(r, sizeof(*r));
}

STICKY_END_DECLS

#endif /* STICKY_REQUEST_H */

/*
 * lib/key/key_internal.h - shared pieces of session-key derivation: the fields
 * found at the top level of a body, explicit-id helpers, and the content
 * encoders for raw bodies and structured messages.
 */
#ifndef STICKY_KEY_INTERNAL_H
#define STICKY_KEY_INTERNAL_H

#include "key/canon.h"
#include "key/json_scan.h"
#include "sticky/key.h"
#include "key/key.h"

/* Top-level members of a body that the key may need (span.start NULL when
 * absent). The last occurrence of a duplicated member wins. */
struct body_fields {
    json_span messages, system, metadata, input, instructions;
    json_span prompt_cache_key, session_id, conversation_id;
    json_span model; /* read for the selector (key_derive's model_out) */
};

/* One pass over the top-level object, skipping what is not needed. */
int body_scan_top(const uint8_t *body, size_t len, struct body_fields *f);

/* The format to use: @stated unless AUTO, else detected from @f. */
int body_detect_format(const struct body_fields *f, int stated);

/* What a content encoder needs. */
struct content_job {
    canon *k;
    uint32_t max_keys;      /* message_count */
    int include_system;
    sticky_key_chain *chain; /* keys appended here */
    const char *op;          /* the public call, for debug lines */
};

/* Content keys from a body in @format (anthropic / openai chat / responses). */
int body_encode_content(struct content_job *job, const struct body_fields *f,
                        int format);

/* Content keys from structured messages. */
int structured_encode_content(struct content_job *job,
                              const sticky_request *req);

/* Explicit ids ------------------------------------------------------------ */

/* An id is honoured when 1..STICKY_MAX_SESSION_ID_BYTES bytes of valid
 * UTF-8 without control characters. */
int explicit_id_ok(const uint8_t *id, size_t len);

/* The value of header @name (case-insensitive), or NULL. */
const sticky_header *explicit_find_header(const sticky_request *req,
                                          const char *name);

/* Scratch space for explicit-id lookups. */
struct explicit_scratch {
    growbuf a, b;
};

/* The first explicit id of @req honoured by @mask, in the precedence order
 * of enum sticky_explicit_source (host id, Claude Code header, body
 * fields when @f is not NULL, other headers). Returns its
 * STICKY_EXPLICIT_* bit and sets *@id / *@len, or returns 0. */
unsigned explicit_find(const sticky_request *req, uint32_t mask,
                       const struct body_fields *f, struct explicit_scratch *s,
                       const uint8_t **id, size_t *len);

/*
 * The session id inside a decoded metadata.user_id: the legacy
 * "user_<64 hex>_account_<any>_session_<uuid>" form or a JSON object text
 * with a non-empty string "session_id". Returns 1 and sets *id / *len on
 * success, 0 when it is neither form.
 */
int explicit_from_user_id(const uint8_t *v, size_t len, growbuf *scratch,
                          const uint8_t **id, size_t *id_len);

#endif /* STICKY_KEY_INTERNAL_H */

/*
 * sticky/key.h - session keys: turning a request (raw JSON body or
 * structured messages, headers, host session id, tenant) into the chain of
 * 64-bit keys that keeps a conversation on one channel.
 *
 * A conversation's messages m1, m2, ... give the chain K1 = H(tenant, m1),
 * K2 = H(tenant, m1, m2), ... up to message_count keys. Turn 1 ([u1]) and
 * turn 2 ([u1, a1, u2]) share K1, which is how they meet. An explicit
 * session id (header, metadata.user_id, prompt_cache_key, ...) wins over
 * content and gives a one-key chain. H is SHA-256 (HMAC-SHA256 with a
 * deployment secret) over a canonical encoding of the content, truncated to
 * 64 bits; docs/session-key.md specifies it with test vectors.
 */
#ifndef STICKY_KEY_H
#define STICKY_KEY_H

#include "common.h"
#include "context.h"
#include "request.h"

STICKY_BEGIN_DECLS

/* Hex form: 16 lowercase hex chars + NUL. */
#define STICKY_KEY_HEX_SIZE 17
/* Largest raw body accepted (64 MiB); larger is STICKY_ELIMIT. */
#define STICKY_MAX_BODY_BYTES (64u * 1024u * 1024u)
/* Deepest JSON nesting accepted; deeper is STICKY_ELIMIT. */
#define STICKY_MAX_JSON_DEPTH 64
/* Longest explicit session id honoured; longer ones fall through. */
#define STICKY_MAX_SESSION_ID_BYTES 256

/* Where the key came from. */
enum sticky_key_source {
    STICKY_KEY_SOURCE_NONE = 0,     /* nothing to key on (no messages) */
    STICKY_KEY_SOURCE_CONTENT = 1,  /* the conversation's messages */
    STICKY_KEY_SOURCE_EXPLICIT = 2  /* an explicit session id */
};

/* Explicit session id sources, in precedence order (highest first). Also
 * bits for sticky_config.explicit_sources. */
enum sticky_explicit_source {
    STICKY_EXPLICIT_HOST = 1u << 0,               /* sticky_request.session_id */
    STICKY_EXPLICIT_CLAUDE_CODE_HEADER = 1u << 1, /* X-Claude-Code-Session-Id */
    STICKY_EXPLICIT_METADATA_USER_ID = 1u << 2,   /* metadata.user_id (both forms) */
    STICKY_EXPLICIT_PROMPT_CACHE_KEY = 1u << 3,   /* body prompt_cache_key */
    STICKY_EXPLICIT_BODY_SESSION_ID = 1u << 4,    /* body session_id */
    STICKY_EXPLICIT_BODY_CONVERSATION_ID = 1u << 5, /* body conversation_id */
    STICKY_EXPLICIT_SESSION_ID_HEADER = 1u << 6,  /* header session_id */
    STICKY_EXPLICIT_X_SESSION_ID_HEADER = 1u << 7 /* header x-session-id */
};
#define STICKY_EXPLICIT_ALL 0xffu



/* The derived chain. Caller-provided, size-prefixed (written up to size). */
typedef struct sticky_key_chain {
    size_t size;              /* set by sticky_key_chain_init() */
    int source;               /* enum sticky_key_source */
    unsigned explicit_source; /* one STICKY_EXPLICIT_* bit, 0 for content */
    int format;               /* the body format used (after detection) */
    uint32_t n_keys;          /* 0 .. STICKY_MAX_MESSAGE_COUNT; 1 when explicit */
    uint64_t keys[STICKY_MAX_MESSAGE_COUNT]; /* keys[0] = K1 ... deepest last:
                                          * one key per hashed message */
} sticky_key_chain;


/**
 * sticky_key_chain_init_sized - zero @chain and set chain->size.
 * Prefer the sticky_key_chain_init() wrapper.
 * Returns: 0; STICKY_EINVAL if @chain is NULL; STICKY_EABI if @size is outside the
 *          accepted sizes (below the first-release size or above
 *          STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: touches only @chain. Since: 0.1.0
 */
STICKY_API int sticky_key_chain_init_sized(sticky_key_chain *chain, size_t size);

static inline int sticky_key_chain_init(sticky_key_chain *chain)
{
    return sticky_key_chain_init_sized(chain, sizeof(*chain));
}

/**
 * sticky_key_derive - derive the key chain of a request.
 *
 * Explicit ids are tried first, in the order of enum sticky_explicit_source,
 * limited to the sources enabled in the context's config; a malformed id
 * falls through to the next source and then to content. Content keys use
 * the first message_count messages and, if enabled, the system prompt.
 *
 * @ctx: the context (config: message_count, include_system_prompt,
 *       explicit_sources, key_secret).
 * @req: the request; body takes precedence over messages. model, flags
 *       and chain are not read.
 * @out: receives the chain (only out->size bytes are written). On error it
 *       holds no keys (n_keys = 0, source NONE): never a partial key.
 * Returns: 0 (also when there is nothing to key on: n_keys = 0);
 *          STICKY_EINVAL (NULL argument, unknown format, NULL pointer with a
 *          non-zero length); STICKY_EABI (struct size); STICKY_EPARSE
 *          (malformed JSON or invalid UTF-8 in what is read); STICKY_ELIMIT
 *          (body over STICKY_MAX_BODY_BYTES or nesting over
 *          STICKY_MAX_JSON_DEPTH); STICKY_ENOMEM; STICKY_ECRYPTO.
 * Thread-safety: safe from any number of threads on one context.
 * Since: 0.1.0; 0.2.0 takes a sticky_request (was sticky_key_request)
 */
STICKY_API int sticky_key_derive(const sticky_ctx *ctx,
                                 const sticky_request *req,
                                 sticky_key_chain *out);

/**
 * sticky_key_to_hex - format a key as 16 lowercase hex chars + NUL.
 * @key: the key. @out: at least STICKY_KEY_HEX_SIZE bytes.
 * Returns: 0; STICKY_EINVAL if @out is NULL.
 * Thread-safety: safe. Since: 0.1.0
 */
STICKY_API int sticky_key_to_hex(uint64_t key, char *out);

/**
 * sticky_key_from_hex - parse 16 hex chars (either case) into a key.
 * @hex: the text (exactly 16 hex chars, NUL-terminated). @out: the key.
 * Returns: 0; STICKY_EINVAL on NULL; STICKY_EPARSE on anything else.
 * Thread-safety: safe. Since: 0.1.0
 */
STICKY_API int sticky_key_from_hex(const char *hex, uint64_t *out);

STICKY_END_DECLS

#endif /* STICKY_KEY_H */

/*
 * lib/key/key.h - what the key layer offers the layers above it (the
 * selector): key derivation on a request the caller already copied in.
 */
#ifndef STICKY_KEY_KEY_H
#define STICKY_KEY_KEY_H

#include "util/context_internal.h"
#include "sticky/key.h"

/*
 * Derive @req's key chain into @chain (a full-size struct this function
 * initialises). @req is a full-size, copied-in request. @op names the
 * public call in debug lines about rejected fields ("select",
 * "key_derive"). On error @chain holds no keys. Returns as
 * sticky_key_derive().
 * @model_out: NULL, or STICKY_MODEL_SIZE bytes that receive the body's
 * top-level "model" string from the same scan ("" when the request has
 * no body, no string "model", or one that does not fit or holds a NUL).
 */
int key_derive(const sticky_ctx *ctx, const sticky_request *req, sticky_key_chain *chain,
               const char *op, char *model_out);

/* The body's top-level "model" into @out (STICKY_MODEL_SIZE bytes) as
 * key_derive() reports it, for a request whose chain is precomputed.
 * Never an error: "" when there is none or the body does not parse. */
void key_body_model(const sticky_ctx *ctx, const char *body, size_t len, char *out);

#endif /* STICKY_KEY_KEY_H */

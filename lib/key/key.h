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
 */
int key_derive(const sticky_ctx *ctx, const sticky_request *req, sticky_key_chain *chain,
               const char *op);

#endif /* STICKY_KEY_KEY_H */

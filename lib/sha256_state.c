/*
 * lib/sha256_state.c - the copyable SHA-256 state (see sha256_state.h).
 * OpenSSL 3 marks these functions deprecated in favour of EVP; this is the
 * one file allowed to call them.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "sha256_state.h"

void sticky_sha256_begin(sticky_sha256_state *s)
{
    SHA256_Init(s);
}

void sticky_sha256_update(sticky_sha256_state *s, const void *data, size_t len)
{
    SHA256_Update(s, data, len);
}

void sticky_sha256_peek(const sticky_sha256_state *s, uint8_t out[32])
{
    sticky_sha256_state copy = *s;
    SHA256_Final(out, &copy);
}

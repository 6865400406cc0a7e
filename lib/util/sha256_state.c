/*
 * lib/util/sha256_state.c - the copyable SHA-256 state (see sha256_state.h).
 * OpenSSL 3 marks these functions deprecated in favour of EVP; this is the
 * one file allowed to call them.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "util/sha256_state.h"

void sha256_begin(sha256_state *s)
{
    SHA256_Init(s);
}

void sha256_update(sha256_state *s, const void *data, size_t len)
{
    SHA256_Update(s, data, len);
}

void sha256_peek(const sha256_state *s, uint8_t out[32])
{
    sha256_state copy = *s;
    SHA256_Final(out, &copy);
}

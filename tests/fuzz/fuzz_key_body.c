/*
 * tests/fuzz/fuzz_key_body.c - libFuzzer target for sticky_key_derive() on
 * raw bodies (the JSON scanner, canonical encoder and explicit-id parsers).
 * The first input byte picks the format, message count, system setting and
 * whether a header / host id is present; the rest is the body.
 * Checks, besides "no crash, no leak, no UB": derivation is deterministic,
 * an error leaves no partial key, and a chain never exceeds message_count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sticky/sticky.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sticky_ctx *ctxs[8];

static sticky_ctx *ctx_for(unsigned sel)
{
    unsigned i = sel & 7;
    if (ctxs[i] == NULL) {
        sticky_config cfg;
        sticky_config_init(&cfg);
        cfg.message_count = 1 + (i & 3);
        cfg.include_system_prompt = (i >> 2) & 1;
        if (i == 7) {
            cfg.key_secret = "fuzz-secret";
            cfg.key_secret_len = 11;
        }
        if (sticky_ctx_new(&cfg, &ctxs[i]) != STICKY_OK)
            abort();
    }
    return ctxs[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    const sticky_ctx *ctx = ctx_for(sel);
    sticky_header hdr = {"x-session-id", 12, (const char *)data + 1,
                         size - 1 < 40 ? size - 1 : 40};

    sticky_request req;
    sticky_request_init(&req);
    req.tenant = "fuzz";
    req.tenant_len = 4;
    req.body = (const char *)data + 1;
    req.body_len = size - 1;
    req.format = (int)((sel >> 3) & 3);
    if (sel & 0x20) {
        req.headers = &hdr;
        req.n_headers = 1;
    }
    if (sel & 0x40) {
        req.session_id = (const char *)data + 1;
        req.session_id_len = size - 1 < 8 ? size - 1 : 8;
    }

    sticky_key_chain a, b;
    sticky_key_chain_init(&a);
    sticky_key_chain_init(&b);
    int rc1 = sticky_key_derive(ctx, &req, &a);
    int rc2 = sticky_key_derive(ctx, &req, &b);
    if (rc1 != rc2 || memcmp(&a, &b, sizeof(a)) != 0)
        abort(); /* not deterministic */
    if (rc1 != STICKY_OK) {
        if (a.n_keys != 0 || a.source != STICKY_KEY_SOURCE_NONE)
            abort(); /* partial key on error */
        if (rc1 != STICKY_EPARSE && rc1 != STICKY_ELIMIT && rc1 != STICKY_EINVAL)
            abort(); /* no other error is expected from bytes */
        return 0;
    }
    sticky_config cfg;
    sticky_config_init(&cfg);
    sticky_ctx_config(ctx, &cfg);
    if (a.n_keys > cfg.message_count && a.source == STICKY_KEY_SOURCE_CONTENT)
        abort();
    if (a.source == STICKY_KEY_SOURCE_EXPLICIT && a.n_keys != 1)
        abort();
    if ((a.n_keys == 0) != (a.source == STICKY_KEY_SOURCE_NONE))
        abort();
    /* hex round trip */
    for (uint32_t i = 0; i < a.n_keys; i++) {
        char hex[STICKY_KEY_HEX_SIZE];
        uint64_t back = 0;
        if (sticky_key_to_hex(a.keys[i], hex) != STICKY_OK ||
            sticky_key_from_hex(hex, &back) != STICKY_OK || back != a.keys[i])
            abort();
    }
    return 0;
}

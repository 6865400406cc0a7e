/*
 * tests/fuzz/fuzz_config_env.c - libFuzzer target for
 * sticky_config_from_env(): the input, split at newlines, becomes the
 * values of the five SESSION_* variables. Either the call succeeds and the
 * result passes sticky_ctx_new(), or it fails with STICKY_ECONFIG, names a
 * variable and leaves the config unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sticky/sticky.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const vars[] = {"SESSION_TTL_SECONDS", "SESSION_RENEW_THRESHOLD_SECONDS",
                                   "SESSION_MAX_CACHE_SIZE", "SESSION_MESSAGE_COUNT",
                                   "STICKY_SESSION_INCLUDE_SYSTEM_PROMPT"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[256];
    size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
    memcpy(buf, data, n);
    buf[n] = '\0';
    char *p = buf;
    for (int i = 0; i < 5; i++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (strlen(p) == 0 && (i & 1))
            unsetenv(vars[i]);
        else
            setenv(vars[i], p, 1);
        p = nl ? nl + 1 : p + strlen(p);
    }
    sticky_config cfg, before;
    sticky_config_init(&cfg);
    before = cfg;
    const char *bad = NULL;
    int rc = sticky_config_from_env(&cfg, &bad);
    if (rc == STICKY_OK) {
        sticky_ctx *ctx = NULL;
        if (bad != NULL || sticky_ctx_new(&cfg, &ctx) != STICKY_OK)
            abort();
        sticky_ctx_free(ctx);
    } else if (rc != STICKY_ECONFIG || bad == NULL || memcmp(&cfg, &before, sizeof(cfg)) != 0) {
        abort();
    }
    return 0;
}

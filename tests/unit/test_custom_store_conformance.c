/*
 * tests/unit/test_custom_store_conformance.c - the example backend in
 * examples/custom-store runs the same storage conformance suite as the
 * memory store (it is serialised by the core, having no thread-safe flag).
 */
#include "array_store.h"
#include "conformance.h"

static int make_array(sticky_ctx *ctx, const struct sticky_conf_params *p,
                      void *user, sticky_store **out)
{
    (void)user;
    struct array_store_config cfg = {
        .capacity = p->max_sessions,
        .ttl_seconds = p->ttl_seconds,
        .renew_threshold_seconds = p->renew_threshold_seconds,
        .renew_mode = p->renew_mode,
    };
    return array_store_new(ctx, &cfg, out);
}

int main(void)
{
    const struct sticky_conf_backend b = {
        .name = "custom array store",
        .make = make_array,
        .has_lru = 1,
        .sweep_reclaims = 1,
        .has_sliding = 1,
    };
    return sticky_conformance_run(&b) != 0;
}

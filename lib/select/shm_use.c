/*
 * lib/select/shm_use.c - the select layer's side of a shared segment:
 * sticky_ctx_use_shm() points a context's channel health registry, its
 * signature memory (moves.h) and, unless a store was set, its session
 * store at the segment, and
 * sticky_shm_each_channel() reads every channel's health record there.
 */
#include <string.h>

#include "select/select_internal.h"
#include "shm/shm_internal.h"
#include "sticky/error.h"

STICKY_API int sticky_ctx_use_shm(sticky_ctx *ctx, sticky_shm *shm)
{
    if (ctx == NULL || ctx->sel == NULL || shm == NULL)
        return STICKY_EINVAL;
    struct sticky_selector *s = ctx->sel;
    if (atomic_load(&s->started) || s->health.shm != NULL)
        return STICKY_EBUSY;
    if (health_count(&s->health) != 0)
        return STICKY_EBUSY; /* records already made locally */
    if (s->store == NULL && atomic_load(&s->owned_store) == NULL) {
        sticky_store *st;
        int rc = shm_store_create(shm, ctx, &st);
        if (rc != STICKY_OK)
            return rc;
        atomic_store_explicit(&s->owned_store, st, memory_order_release);
    }
    shm_ref(shm); /* dropped by selector_destroy() */
    s->health.shm = shm;
    moves_use_shm(&s->moves, shm);
    ctx_log(ctx, STICKY_LOG_INFO, "context uses the shared segment for channel health, "
            "in-flight counts%s", s->store == NULL ? " and sessions" : "");
    return STICKY_OK;
}

STICKY_API int sticky_shm_each_channel(sticky_shm *shm, int64_t now_ms,
                                       sticky_shm_channel_fn fn, void *arg)
{
    if (shm == NULL || fn == NULL)
        return STICKY_EINVAL;
    struct health_registry r;
    memset(&r, 0, sizeof(r));
    r.shm = shm;
    uint32_t n = atomic_load_explicit(&shm->hdr->channels, memory_order_acquire);
    if (n > shm->geo.sizes.max_channels)
        n = shm->geo.sizes.max_channels;
    for (uint32_t i = 0; i < n; i++) {
        struct channel_health *h = shm_channel_health(shm, i);
        const char *id = shm_channel_id(shm, i);
        if (h == NULL || id == NULL)
            continue;
        sticky_channel_health v;
        health_view(&r, h, now_ms, &v);
        if (fn(id, &v, arg) != 0)
            break;
    }
    return STICKY_OK;
}

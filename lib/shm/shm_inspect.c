/*
 * lib/shm/shm_inspect.c - sticky_shm_each_session(): every live mapping of
 * a segment, for operators (sticky-route inspect). A shard is locked only
 * while up to 1024 of its slots are copied into a buffer; the callback
 * runs with no lock held.
 */
#include <string.h>

#include "shm/shm_shard.h"
#include "sticky/error.h"

/* Slots copied per lock hold: bounds both the time a shard is locked for
 * an inspection and the buffer. */
#define CHUNK 1024u

STICKY_API int sticky_shm_each_session(sticky_shm *s, int64_t now_ms,
                                       sticky_shm_session_fn fn, void *arg)
{
    if (s == NULL || fn == NULL)
        return STICKY_EINVAL;
    sticky_mapping *buf = mem_malloc(s->ctx, CHUNK * sizeof(*buf));
    if (buf == NULL)
        return STICKY_ENOMEM;
    int stop = 0;
    for (uint32_t shard = 0; shard < s->geo.sizes.shard_count && !stop; shard++) {
        for (uint32_t from = 0; !stop; from += CHUNK) {
            if (shm_shard_lock(s, shard) != STICKY_OK) {
                mem_free(s->ctx, buf);
                return STICKY_ESTORE;
            }
            const struct shm_slot *slots = shard_slots(s, shard);
            uint32_t fresh = shard_fresh(s, shard);
            size_t n = 0;
            for (uint32_t i = from; i < fresh && i - from < CHUNK; i++) {
                const struct shm_slot *e = &slots[i];
                if (e->state != SLOT_USED || now_ms >= e->expires_ms ||
                    !shm_slot_valid(s, shard, e))
                    continue;
                sticky_mapping *m = &buf[n];
                memset(m, 0, sizeof(*m));
                m->size = sizeof(*m);
                const char *ch = shm_channel_id(s, e->channel);
                strncpy(m->channel_id, ch, STICKY_ID_SIZE - 1);
                if (shm_tenant_decode(s, e, m->tenant_id) != STICKY_OK)
                    continue;
                m->key = e->key;
                m->request_count = e->count;
                m->created_ms = e->created_ms;
                m->last_access_ms = e->last_access_ms;
                m->expires_ms = e->expires_ms;
                n++;
            }
            shm_shard_unlock(s, shard);
            for (size_t i = 0; i < n && !stop; i++)
                stop = fn(&buf[i], arg) != 0;
            if (from + CHUNK >= fresh)
                break;
        }
    }
    mem_free(s->ctx, buf);
    return STICKY_OK;
}

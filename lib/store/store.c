/*
 * lib/store/store.c - the sticky_store handle: checks a backend's vtable,
 * copies the part its version covers, serialises backends that are not
 * thread-safe, validates arguments and size-prefixed records, reads the
 * context clock and passes it to every method, and hands a backend its
 * state back (sticky_store_self()). Also the selector's door to the
 * optional version-2 health methods (store_health.h) and to the optional
 * version-3 non-blocking methods (store_async.h).
 */
#include <pthread.h>
#include <string.h>

#include "store/store_async.h"
#include "store/store_health.h"
#include "util/context_internal.h"
#include "util/error.h"
#include "util/struct_log.h"
#include "sticky/error.h"
#include "sticky/select.h"
#include "sticky/store.h"

struct sticky_store {
    sticky_ctx *ctx;
    sticky_store_vtable vt; /* methods newer than vt.version stay NULL */
    const sticky_store_vtable *vt_ptr; /* the caller's vtable: its identity,
                                        * for sticky_store_self(); never read */
    void *self;
    int serialize;          /* backend not thread-safe: hold `lock` */
    pthread_mutex_t lock;
};

/* Bytes of sticky_store_vtable that versions 1, 2 and 3 define. */
#define VTABLE_V1_SIZE \
    (offsetof(sticky_store_vtable, destroy) + sizeof(void (*)(void *)))
#define VTABLE_V2_SIZE \
    (offsetof(sticky_store_vtable, health_poll) + sizeof(void (*)(void)))
#define VTABLE_V3_SIZE \
    (offsetof(sticky_store_vtable, cancel) + sizeof(void (*)(void)))

/* The version-3 methods of @vt follow the all-or-none rule: lookup_async,
 * put_async and cancel together; health_publish_async only with them and
 * with health_publish. */
static int v3_ok(const sticky_store_vtable *vt)
{
    int n = (vt->lookup_async != NULL) + (vt->put_async != NULL) + (vt->cancel != NULL);
    if (n != 0 && n != 3)
        return 0;
    if (vt->health_publish_async != NULL && (n == 0 || vt->health_publish == NULL))
        return 0;
    return 1;
}

STICKY_API int sticky_mapping_init_sized(sticky_mapping *m, size_t size)
{
    return struct_init(m, size, MAPPING_MIN_SIZE);
}

STICKY_API int sticky_store_stats_init_sized(sticky_store_stats *s, size_t size)
{
    return struct_init(s, size, STORE_STATS_MIN_SIZE);
}

STICKY_API int sticky_health_event_init_sized(sticky_health_event *ev, size_t size)
{
    return struct_init(ev, size, HEALTH_EVENT_MIN_SIZE);
}

STICKY_API int sticky_store_new(sticky_ctx *ctx, const sticky_store_vtable *vtable,
                                void *self, sticky_store **out)
{
    if (out == NULL)
        return STICKY_EINVAL;
    *out = NULL;
    if (ctx == NULL || vtable == NULL)
        return STICKY_EINVAL;
    if (vtable->version < 1)
        return STICKY_EABI;
    if (vtable->get == NULL || vtable->put == NULL || vtable->touch == NULL ||
        vtable->del == NULL || vtable->sweep == NULL || vtable->stats == NULL ||
        vtable->destroy == NULL)
        return STICKY_EINVAL;
    if (vtable->version >= 2 && (vtable->health_publish == NULL) != (vtable->health_poll == NULL))
        return STICKY_EINVAL; /* health sharing is both methods or none */
    if (vtable->version >= 3 && !v3_ok(vtable))
        return STICKY_EINVAL; /* async methods all or none */

    sticky_store *st = mem_calloc(ctx, 1, sizeof(*st));
    if (st == NULL)
        return STICKY_ENOMEM;
    st->ctx = ctx;
    /* Copy only what the backend's version defines; newer methods stay
     * NULL (st is zeroed), so a version-1 backend never has them called. */
    memcpy(&st->vt, vtable,
           vtable->version >= 3   ? VTABLE_V3_SIZE
           : vtable->version >= 2 ? VTABLE_V2_SIZE
                                  : VTABLE_V1_SIZE);
    st->vt_ptr = vtable;
    st->self = self;
    st->serialize = (vtable->flags & STICKY_STORE_CAP_THREAD_SAFE) == 0;
    if (st->serialize && pthread_mutex_init(&st->lock, NULL) != 0) {
        mem_free(ctx, st);
        return STICKY_ENOMEM;
    }
    ctx_log(ctx, STICKY_LOG_DEBUG, "store created: backend %s v%d%s",
               sticky_store_name(st), vtable->version,
               st->serialize ? " (serialised)" : "");
    *out = st;
    return STICKY_OK;
}

STICKY_API void sticky_store_free(sticky_store *store)
{
    if (store == NULL)
        return;
    store->vt.destroy(store->self);
    if (store->serialize)
        pthread_mutex_destroy(&store->lock);
    mem_free(store->ctx, store);
}

STICKY_API void *sticky_store_self(const sticky_store *store,
                                   const sticky_store_vtable *vtable)
{
    if (store == NULL || vtable == NULL || store->vt_ptr != vtable)
        return NULL;
    return store->self;
}

STICKY_API const char *sticky_store_name(const sticky_store *store)
{
    if (store == NULL)
        return "";
    return store->vt.name != NULL ? store->vt.name : "unnamed";
}

static void enter(sticky_store *st)
{
    if (st->serialize)
        pthread_mutex_lock(&st->lock);
}

static void leave(sticky_store *st)
{
    if (st->serialize)
        pthread_mutex_unlock(&st->lock);
}

/* A backend may only return 0 or a known error; anything else is ESTORE. */
static int backend_rc(int rc)
{
    if (rc > 0 || !error_known(rc))
        return STICKY_ESTORE;
    return rc;
}

/* A full-size record for a backend to fill. */
static void blank(sticky_mapping *m)
{
    memset(m, 0, sizeof(*m));
    m->size = sizeof(*m);
}

/* Copy a backend's record out to the caller, ids always terminated. */
static int deliver(sticky_mapping *out, sticky_mapping *full)
{
    full->channel_id[STICKY_ID_SIZE - 1] = '\0';
    full->tenant_id[STICKY_ID_SIZE - 1] = '\0';
    struct_copy_out(out, out->size, full, sizeof(*full));
    return STICKY_OK;
}

/* An id is NUL-terminated within STICKY_ID_SIZE bytes. */
static int check_id(const char *id, int may_be_empty)
{
    if (memchr(id, '\0', STICKY_ID_SIZE) == NULL)
        return STICKY_ELIMIT;
    if (!may_be_empty && id[0] == '\0')
        return STICKY_EINVAL;
    return STICKY_OK;
}

STICKY_API int sticky_store_get(sticky_store *store, uint64_t key, unsigned flags,
                                sticky_mapping *out)
{
    if (store == NULL || out == NULL || (flags & ~(unsigned)STICKY_STORE_PEEK))
        return STICKY_EINVAL;
    int rc = struct_size_ok(store->ctx, "store_get", "out", struct_size_of(out),
                            MAPPING_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    sticky_mapping full;
    blank(&full);
    int64_t now = sticky_ctx_now_ms(store->ctx);
    enter(store);
    rc = backend_rc(store->vt.get(store->self, key, now, flags, &full));
    leave(store);
    if (rc != STICKY_OK)
        return rc;
    return deliver(out, &full);
}

STICKY_API int sticky_store_put(sticky_store *store, const sticky_mapping *m,
                                unsigned flags, sticky_mapping *existing)
{
    if (store == NULL || m == NULL || (flags & ~(unsigned)STICKY_STORE_IF_ABSENT))
        return STICKY_EINVAL;
    if (existing != NULL &&
        struct_size_ok(store->ctx, "store_put", "existing", struct_size_of(existing),
                       MAPPING_MIN_SIZE) != STICKY_OK)
        return STICKY_EABI;
    sticky_mapping in;
    blank(&in);
    int rc = struct_in(store->ctx, "store_put", "m", &in, sizeof(in), m, MAPPING_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    if ((rc = check_id(in.channel_id, 0)) != STICKY_OK ||
        (rc = check_id(in.tenant_id, 1)) != STICKY_OK)
        return rc;
    sticky_mapping old;
    blank(&old);
    int64_t now = sticky_ctx_now_ms(store->ctx);
    enter(store);
    rc = backend_rc(store->vt.put(store->self, &in, now, flags, &old));
    leave(store);
    if (rc == STICKY_EEXIST && existing != NULL)
        deliver(existing, &old);
    return rc;
}

STICKY_API int sticky_store_touch(sticky_store *store, uint64_t key,
                                  sticky_mapping *out)
{
    if (store == NULL)
        return STICKY_EINVAL;
    if (out != NULL && struct_size_ok(store->ctx, "store_touch", "out", struct_size_of(out),
                                      MAPPING_MIN_SIZE) != STICKY_OK)
        return STICKY_EABI;
    sticky_mapping full;
    blank(&full);
    int64_t now = sticky_ctx_now_ms(store->ctx);
    enter(store);
    int rc = backend_rc(store->vt.touch(store->self, key, now, &full));
    leave(store);
    if (rc == STICKY_OK && out != NULL)
        rc = deliver(out, &full);
    return rc;
}

STICKY_API int sticky_store_delete(sticky_store *store, uint64_t key)
{
    if (store == NULL)
        return STICKY_EINVAL;
    int64_t now = sticky_ctx_now_ms(store->ctx);
    enter(store);
    int rc = backend_rc(store->vt.del(store->self, key, now));
    leave(store);
    return rc;
}

STICKY_API int sticky_store_sweep(sticky_store *store, size_t budget,
                                  size_t *reclaimed)
{
    if (reclaimed != NULL)
        *reclaimed = 0;
    if (store == NULL)
        return STICKY_EINVAL;
    if (budget == 0)
        return STICKY_OK;
    size_t n = 0;
    int64_t now = sticky_ctx_now_ms(store->ctx);
    enter(store);
    int rc = backend_rc(store->vt.sweep(store->self, now, budget, &n));
    leave(store);
    if (reclaimed != NULL)
        *reclaimed = n;
    return rc;
}

STICKY_API int sticky_store_get_stats(sticky_store *store, sticky_store_stats *out)
{
    if (store == NULL || out == NULL)
        return STICKY_EINVAL;
    int rc = struct_size_ok(store->ctx, "store_get_stats", "out", struct_size_of(out),
                            STORE_STATS_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    sticky_store_stats full;
    memset(&full, 0, sizeof(full));
    full.size = sizeof(full);
    enter(store);
    rc = backend_rc(store->vt.stats(store->self, &full));
    leave(store);
    if (rc != STICKY_OK)
        return rc;
    struct_copy_out(out, out->size, &full, sizeof(full));
    return STICKY_OK;
}

/* ---- shared channel health (store_health.h) ------------------------------ */

int store_shares_health(const sticky_store *store)
{
    return store != NULL && store->vt.health_poll != NULL;
}

/* An event the core hands a backend, or takes from one: a terminated,
 * non-empty id, a family slot and a cause in range, a clear in its one
 * shape. */
static int event_ok(const sticky_health_event *ev)
{
    if (check_id(ev->channel_id, 0) != STICKY_OK)
        return 0;
    if (ev->family < STICKY_MODEL_FAMILY_ALL || ev->family > STICKY_MODEL_FAMILY_OTHER)
        return 0;
    if (ev->cause == STICKY_CAUSE_NONE)
        return ev->until_ms == STICKY_HEALTH_CLEARED && ev->family == STICKY_MODEL_FAMILY_ALL;
    return ev->cause > STICKY_CAUSE_NONE && ev->cause <= STICKY_CAUSE_BREAKER &&
           ev->until_ms != STICKY_HEALTH_CLEARED;
}

int store_health_publish(sticky_store *store, const sticky_health_event *ev)
{
    if (!store_shares_health(store) || ev == NULL)
        return STICKY_EINVAL;
    sticky_health_event full = *ev; /* the core's own, full-size record */
    full.size = sizeof(full);
    if (!event_ok(&full))
        return STICKY_EINVAL;
    int64_t now = sticky_ctx_now_ms(store->ctx);
    enter(store);
    int rc = backend_rc(store->vt.health_publish(store->self, &full, now));
    leave(store);
    return rc;
}

int store_health_poll(sticky_store *store, sticky_health_event *out)
{
    if (!store_shares_health(store) || out == NULL)
        return STICKY_EINVAL;
    for (int bad = 0; bad < 64; bad++) {
        sticky_health_event full;
        sticky_health_event_init(&full);
        enter(store);
        int rc = backend_rc(store->vt.health_poll(store->self, &full));
        leave(store);
        if (rc != STICKY_OK)
            return rc;
        if (event_ok(&full)) { /* an unterminated id is not ok */
            *out = full;
            return STICKY_OK;
        }
        /* A backend's bad event is dropped, never applied. */
        ctx_log(store->ctx, STICKY_LOG_WARN, "store %s: health event ignored (bad id, "
                "family %d or cause %d)", sticky_store_name(store), full.family, full.cause);
    }
    return STICKY_ENOTFOUND; /* the rest waits for the next poll */
}

/* ---- non-blocking operations (store_async.h) ----------------------------- */

int store_is_async(const sticky_store *store)
{
    return store != NULL && store->vt.lookup_async != NULL;
}

STICKY_API int sticky_store_nonblocking(const sticky_store *store)
{
    if (store == NULL)
        return 0;
    return store_is_async(store) || (store->vt.flags & STICKY_STORE_CAP_NONBLOCKING) != 0;
}

/* Checks of a record a backend wrote: ids terminated (as deliver() does
 * for the sync methods), size kept. */
void store_check_mapping(sticky_mapping *m)
{
    m->size = sizeof(*m);
    m->channel_id[STICKY_ID_SIZE - 1] = '\0';
    m->tenant_id[STICKY_ID_SIZE - 1] = '\0';
}

/* A backend's immediate code: 0, EINPROGRESS (only with *op set) or a
 * known error; anything else is ESTORE. */
static int async_rc(int rc, void **op)
{
    if (rc == STICKY_EINPROGRESS)
        return *op != NULL ? rc : STICKY_ESTORE;
    return backend_rc(rc);
}

int store_lookup_async(sticky_store *store, const uint64_t *keys, uint32_t n_keys,
                       uint32_t *level, sticky_mapping *out, sticky_store_done_fn done,
                       void *arg, void **op)
{
    if (!store_is_async(store) || keys == NULL || n_keys == 0 || level == NULL ||
        out == NULL || done == NULL || op == NULL)
        return STICKY_EINVAL;
    *op = NULL;
    blank(out);
    int64_t now = sticky_ctx_now_ms(store->ctx);
    enter(store);
    int rc = async_rc(store->vt.lookup_async(store->self, keys, n_keys, now, 0, level, out,
                                             done, arg, op), op);
    leave(store);
    if (rc == STICKY_OK) {
        if (*level >= n_keys)
            return STICKY_ESTORE; /* a level outside the chain is a bad reply */
        store_check_mapping(out);
    }
    return rc;
}

int store_put_async(sticky_store *store, const sticky_mapping *m, unsigned flags,
                    sticky_mapping *existing, sticky_store_done_fn done, void *arg,
                    void **op)
{
    if (!store_is_async(store) || m == NULL || existing == NULL || done == NULL ||
        op == NULL || (flags & ~(unsigned)STICKY_STORE_IF_ABSENT))
        return STICKY_EINVAL;
    *op = NULL;
    sticky_mapping in;
    blank(&in);
    int rc = struct_in(store->ctx, "store_put_async", "m", &in, sizeof(in), m,
                       MAPPING_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    if ((rc = check_id(in.channel_id, 0)) != STICKY_OK ||
        (rc = check_id(in.tenant_id, 1)) != STICKY_OK)
        return rc;
    blank(existing);
    int64_t now = sticky_ctx_now_ms(store->ctx);
    enter(store);
    rc = async_rc(store->vt.put_async(store->self, &in, now, flags, existing, done, arg, op),
                  op);
    leave(store);
    if (rc == STICKY_EEXIST)
        store_check_mapping(existing);
    return rc;
}

int store_health_publish_async(sticky_store *store, const sticky_health_event *ev,
                               sticky_store_done_fn done, void *arg, void **op)
{
    if (store == NULL || store->vt.health_publish_async == NULL || ev == NULL ||
        done == NULL || op == NULL)
        return STICKY_EINVAL;
    *op = NULL;
    sticky_health_event full = *ev;
    full.size = sizeof(full);
    if (!event_ok(&full))
        return STICKY_EINVAL;
    int64_t now = sticky_ctx_now_ms(store->ctx);
    enter(store);
    int rc = async_rc(store->vt.health_publish_async(store->self, &full, now, done, arg, op),
                      op);
    leave(store);
    return rc;
}

int store_has_publish_async(const sticky_store *store)
{
    return store != NULL && store->vt.health_publish_async != NULL;
}

void store_cancel(sticky_store *store, void *op)
{
    if (!store_is_async(store) || op == NULL)
        return;
    enter(store);
    store->vt.cancel(store->self, op);
    leave(store);
}

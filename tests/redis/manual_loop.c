/*
 * tests/redis/manual_loop.c - the poll() loop of manual_loop.h: attach
 * installs hiredis' five event hooks on a watch slot, run_once polls the
 * watched sockets and calls redisAsyncHandleRead / HandleWrite, timers are
 * a small list of one-shot deadlines.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/async.h>

#include "manual_loop.h"

#define MAX_WATCH 16
#define MAX_TIMERS 16

struct mwatch {
    redisAsyncContext *ac; /* NULL: free slot */
    int reading, writing;
};

struct mtimer {
    struct mloop *l;
    void (*fire)(void *);
    void *arg;
    int armed, used, closing;
    int64_t at_ns;
    void (*closed)(void *);
    void *closed_arg;
};

struct mloop {
    struct mwatch w[MAX_WATCH];
    struct mtimer *t[MAX_TIMERS];
    int64_t max_dispatch_ns, max_dispatch_cpu_ns;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void add_read(void *p) { ((struct mwatch *)p)->reading = 1; }
static void del_read(void *p) { ((struct mwatch *)p)->reading = 0; }
static void add_write(void *p) { ((struct mwatch *)p)->writing = 1; }
static void del_write(void *p) { ((struct mwatch *)p)->writing = 0; }
static void cleanup(void *p)
{
    struct mwatch *w = p;
    w->ac = NULL;
    w->reading = w->writing = 0;
}

static int attach(void *loop, void *hiredis_ac)
{
    struct mloop *l = loop;
    redisAsyncContext *ac = hiredis_ac;
    if (ac->ev.data != NULL)
        return -1;
    for (int i = 0; i < MAX_WATCH; i++) {
        if (l->w[i].ac == NULL) {
            struct mwatch *w = &l->w[i];
            w->ac = ac;
            w->reading = w->writing = 0;
            ac->ev.data = w;
            ac->ev.addRead = add_read;
            ac->ev.delRead = del_read;
            ac->ev.addWrite = add_write;
            ac->ev.delWrite = del_write;
            ac->ev.cleanup = cleanup;
            return 0;
        }
    }
    return -1;
}

static int timer_init(void *loop, void *timer, void (*fire)(void *), void *arg)
{
    struct mloop *l = loop;
    struct mtimer *t = timer;
    for (int i = 0; i < MAX_TIMERS; i++) {
        if (l->t[i] == NULL) {
            memset(t, 0, sizeof(*t));
            t->l = l;
            t->fire = fire;
            t->arg = arg;
            t->used = 1;
            l->t[i] = t;
            return 0;
        }
    }
    return -1;
}

static void timer_start(void *timer, uint64_t after_ms)
{
    struct mtimer *t = timer;
    t->armed = 1;
    t->at_ns = mono_ns() + (int64_t)after_ms * 1000000;
}

static void timer_stop(void *timer)
{
    ((struct mtimer *)timer)->armed = 0;
}

static void timer_close(void *timer, void (*closed)(void *), void *arg)
{
    struct mtimer *t = timer;
    t->armed = 0;
    t->closing = 1;
    t->closed = closed;
    t->closed_arg = arg;
}

const sticky_redis_loop mloop_vt = {
    .version = 1,
    .name = "manual",
    .attach = attach,
    .timer_size = sizeof(struct mtimer),
    .timer_init = timer_init,
    .timer_start = timer_start,
    .timer_stop = timer_stop,
    .timer_close = timer_close,
};

struct mloop *mloop_new(void)
{
    return calloc(1, sizeof(struct mloop));
}

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wall and CPU time of one dispatch that began at @t0 / @c0. */
static void note(struct mloop *l, int64_t t0, int64_t c0)
{
    int64_t d = mono_ns() - t0, c = cpu_ns() - c0;
    if (d > l->max_dispatch_ns)
        l->max_dispatch_ns = d;
    if (c > l->max_dispatch_cpu_ns)
        l->max_dispatch_cpu_ns = c;
}

int mloop_run_once(struct mloop *l, int max_wait_ms)
{
    struct pollfd p[MAX_WATCH];
    redisAsyncContext *who[MAX_WATCH];
    int slot[MAX_WATCH], n = 0, calls = 0;
    int64_t now = mono_ns(), wait_ns = (int64_t)max_wait_ms * 1000000;
    for (int i = 0; i < MAX_TIMERS; i++)
        if (l->t[i] != NULL && (l->t[i]->closing || (l->t[i]->armed && l->t[i]->at_ns - now < wait_ns)))
            wait_ns = l->t[i]->closing ? 0 : l->t[i]->at_ns - now;
    if (wait_ns < 0)
        wait_ns = 0;
    for (int i = 0; i < MAX_WATCH; i++) {
        struct mwatch *w = &l->w[i];
        if (w->ac == NULL || (!w->reading && !w->writing))
            continue;
        p[n].fd = w->ac->c.fd;
        p[n].events = (short)((w->reading ? POLLIN : 0) | (w->writing ? POLLOUT : 0));
        p[n].revents = 0;
        who[n] = w->ac;
        slot[n++] = i;
    }
    int r = poll(p, (nfds_t)n, (int)((wait_ns + 999999) / 1000000));
    for (int i = 0; r > 0 && i < n; i++) {
        struct mwatch *w = &l->w[slot[i]];
        short ev = p[i].revents;
        if (ev == 0)
            continue;
        if (w->ac == who[i] && w->reading && (ev & (POLLIN | POLLHUP | POLLERR))) {
            int64_t t0 = mono_ns(), c0 = cpu_ns();
            redisAsyncHandleRead(w->ac);
            note(l, t0, c0);
            calls++;
        }
        if (w->ac == who[i] && w->writing && (ev & (POLLOUT | POLLHUP | POLLERR))) {
            int64_t t0 = mono_ns(), c0 = cpu_ns();
            redisAsyncHandleWrite(w->ac);
            note(l, t0, c0);
            calls++;
        }
    }
    now = mono_ns();
    for (int i = 0; i < MAX_TIMERS; i++) {
        struct mtimer *t = l->t[i];
        if (t != NULL && t->armed && t->at_ns <= now) {
            t->armed = 0;
            int64_t t0 = mono_ns(), c0 = cpu_ns();
            t->fire(t->arg);
            note(l, t0, c0);
            calls++;
        }
    }
    for (int i = 0; i < MAX_TIMERS; i++) {
        struct mtimer *t = l->t[i];
        if (t != NULL && t->closing) {
            l->t[i] = NULL;
            t->closed(t->closed_arg); /* may free t */
            calls++;
        }
    }
    return calls;
}

int mloop_handles(const struct mloop *l)
{
    int n = 0;
    for (int i = 0; i < MAX_WATCH; i++)
        n += l->w[i].ac != NULL;
    for (int i = 0; i < MAX_TIMERS; i++)
        n += l->t[i] != NULL;
    return n;
}

int64_t mloop_max_dispatch_ns(const struct mloop *l)
{
    return l->max_dispatch_ns;
}

void mloop_reset_max(struct mloop *l)
{
    l->max_dispatch_ns = l->max_dispatch_cpu_ns = 0;
}

int64_t mloop_max_dispatch_cpu_ns(const struct mloop *l)
{
    return l->max_dispatch_cpu_ns;
}

int mloop_free(struct mloop *l)
{
    int n = mloop_handles(l);
    free(l);
    return n;
}

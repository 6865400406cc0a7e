/*
 * tests/shm/shm_test_util.h - helpers for the segment tests: a temporary
 * segment path, a "node" (context with a fake clock, attached to a segment
 * with sticky_ctx_use_shm) and conversation turns routed through it.
 */
#ifndef STICKY_SHM_TEST_UTIL_H
#define STICKY_SHM_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "select_test_util.h"

/* A fresh path (no file yet) under $TMPDIR or /tmp. */
static inline void shm_temp_path(char *buf, size_t cap)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, cap, "%s/sticky-shm-XXXXXX", dir != NULL && *dir ? dir : "/tmp");
    int fd = mkstemp(buf);
    assert_true(fd >= 0);
    close(fd);
    unlink(buf);
}

/* Options for a small segment. */
static inline sticky_shm_options shm_small_options(uint32_t sessions)
{
    sticky_shm_options o;
    sticky_shm_options_init(&o);
    o.max_sessions = sessions;
    o.max_channels = 64;
    o.max_tenants = 64;
    o.max_processes = 64;
    return o;
}

struct node {
    struct harness h;
    sticky_shm *shm;
};

/* A context on the segment at @path (created if absent) with channels
 * "A".."D" (@n of them); @quiet: no log callback (the recorder is not
 * thread-safe). */
static inline void node_start_ex(struct node *n, const char *path, size_t channels, int quiet)
{
    h_config(&n->h);
    n->h.cfg.log_level = STICKY_LOG_WARN;
    if (quiet)
        n->h.cfg.log_fn = NULL;
    assert_int_equal(sticky_ctx_new(&n->h.cfg, &n->h.ctx), STICKY_OK);
    sticky_shm_options o; /* sizes: the file's, or the defaults for a new one */
    sticky_shm_options_init(&o);
    assert_int_equal(sticky_shm_open(n->h.ctx, path, &o, &n->shm), STICKY_OK);
    assert_int_equal(sticky_ctx_use_shm(n->h.ctx, n->shm), STICKY_OK);
    static const char *ids[] = {"A", "B", "C", "D", "E", "F", "G", "H"};
    n->h.n = channels;
    for (size_t i = 0; i < channels; i++) {
        sticky_channel_init(&n->h.ch[i]);
        n->h.ch[i].id = ids[i];
    }
}

static inline void node_start(struct node *n, const char *path, size_t channels)
{
    node_start_ex(n, path, channels, 0);
}

static inline void node_stop(struct node *n)
{
    sticky_shm_close(n->shm); /* the context keeps it until freed */
    sticky_ctx_free(n->h.ctx);
}

#endif /* STICKY_SHM_TEST_UTIL_H */

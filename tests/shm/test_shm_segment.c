/*
 * tests/shm/test_shm_segment.c - the segment itself: create, attach by a
 * second handle, persistence across close and reopen, size mismatches,
 * damaged / truncated / foreign files (STICKY_ECORRUPT, or a fresh segment
 * with STICKY_SHM_RESET_INCOMPATIBLE), a creator that died half way,
 * option checks, tenant encodings and the name tables' bounds, the layout's
 * bytes per mapping, repair of damage found at attach and in use, the
 * inspection iterators, a header damaged after attach, the store of
 * sticky_ctx_use_shm() on the routing context, the bounded health lock.
 */
#include <fcntl.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "shm_test_util.h"
#include "shm/shm_internal.h"
#include "shm/shm_layout.h"

struct seg {
    struct harness h;
    char path[256];
};

static int setup(void **state)
{
    struct seg *s = calloc(1, sizeof(*s));
    h_config(&s->h);
    s->h.cfg.log_level = STICKY_LOG_INFO;
    assert_int_equal(sticky_ctx_new(&s->h.cfg, &s->h.ctx), STICKY_OK);
    shm_temp_path(s->path, sizeof(s->path));
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct seg *s = *state;
    unlink(s->path);
    sticky_ctx_free(s->h.ctx);
    free(s);
    return 0;
}

static sticky_shm *open_ok(struct seg *s, uint32_t sessions)
{
    sticky_shm_options o = shm_small_options(sessions);
    sticky_shm *shm = NULL;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &shm), STICKY_OK);
    return shm;
}

static void put(sticky_store *st, uint64_t key, const char *ch, const char *tenant)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = key;
    snprintf(m.channel_id, sizeof(m.channel_id), "%s", ch);
    snprintf(m.tenant_id, sizeof(m.tenant_id), "%s", tenant);
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_OK);
}

static uint64_t sessions_of(sticky_shm *shm)
{
    sticky_shm_stats st;
    sticky_shm_stats_init(&st);
    assert_int_equal(sticky_shm_get_stats(shm, &st), STICKY_OK);
    return st.sessions;
}

/* Sessions written through one handle are seen by another, and survive
 * closing every handle and opening the file again. */
static void test_attach_and_persist(void **state)
{
    struct seg *s = *state;
    sticky_shm *a = open_ok(s, 1000);
    sticky_shm *b = open_ok(s, 0); /* 0: whatever the file has */
    sticky_store *sa, *sb;
    assert_int_equal(sticky_shm_store_new(a, &sa), STICKY_OK);
    assert_int_equal(sticky_shm_store_new(b, &sb), STICKY_OK);
    assert_string_equal(sticky_store_name(sa), "shm");
    for (uint64_t k = 1; k <= 100; k++)
        put(sa, k * 7919, k % 2 ? "acct-1" : "acct-2", "tenant-x");
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(sb, 7919 * 3, 0, &m), STICKY_OK);
    assert_string_equal(m.channel_id, "acct-1");
    assert_string_equal(m.tenant_id, "tenant-x");
    assert_int_equal(m.request_count, 2);
    sticky_store_free(sa);
    sticky_store_free(sb);
    sticky_shm_close(a);
    sticky_shm_close(b);

    sticky_shm *c = open_ok(s, 1000);
    assert_int_equal(sessions_of(c), 100);
    sticky_store *sc;
    assert_int_equal(sticky_shm_store_new(c, &sc), STICKY_OK);
    sticky_shm_close(c); /* the store keeps the segment */
    assert_int_equal(sticky_store_get(sc, 7919 * 4, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_string_equal(m.channel_id, "acct-2");
    assert_int_equal(m.request_count, 1);
    sticky_store_free(sc);
}

/* Other sizes than the file's: STICKY_ECONFIG, or a fresh segment with
 * STICKY_SHM_RESET_INCOMPATIBLE (only when alone). */
static void test_size_mismatch(void **state)
{
    struct seg *s = *state;
    sticky_shm *a = open_ok(s, 1000);
    sticky_store *st;
    assert_int_equal(sticky_shm_store_new(a, &st), STICKY_OK);
    put(st, 1, "A", "");
    sticky_store_free(st);
    sticky_shm_options o = shm_small_options(2000);
    sticky_shm *b = NULL;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_ECONFIG);
    assert_null(b);
    o.flags |= STICKY_SHM_RESET_INCOMPATIBLE; /* a is still attached: refused */
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_ECONFIG);
    assert_non_null(strstr(s->h.log.last, "other processes have it open"));
    sticky_shm_close(a);
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_OK);
    assert_non_null(strstr(s->h.log.all, "replaced by a fresh segment"));
    sticky_shm_stats ss;
    sticky_shm_stats_init(&ss);
    assert_int_equal(sticky_shm_get_stats(b, &ss), STICKY_OK);
    assert_int_equal(ss.max_sessions, 2000);
    assert_int_equal(ss.sessions, 0);
    sticky_shm_close(b);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void expect_corrupt(struct seg *s, const char *why)
{
    sticky_shm_options o = shm_small_options(0);
    sticky_shm *b = (sticky_shm *)1;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_ECORRUPT);
    assert_null(b);
    if (strstr(s->h.log.last, why) == NULL)
        fail_msg("log says \"%s\", expected \"%s\"", s->h.log.last, why);
}

/* Foreign, damaged and truncated files are refused with a reason; the
 * reset flag replaces them. */
static void test_foreign_and_damaged_files(void **state)
{
    struct seg *s = *state;
    write_file(s->path, "hello, not a segment\n", 21);
    expect_corrupt(s, "too short");
    char junk[8192];
    memset(junk, 'j', sizeof(junk));
    write_file(s->path, junk, sizeof(junk));
    expect_corrupt(s, "bad magic");

    unlink(s->path);
    sticky_shm_close(open_ok(s, 500));
    int fd = open(s->path, O_RDWR);
    assert_true(fd >= 0);
    struct shm_header h;
    assert_int_equal(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    struct shm_header bad = h;
    bad.sizes.max_channels++; /* damage without fixing the checksum */
    assert_int_equal(pwrite(fd, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
    expect_corrupt(s, "checksum");
    bad = h;
    bad.layout_version = SHM_LAYOUT_VERSION + 1;
    bad.checksum = shm_header_checksum(&bad);
    assert_int_equal(pwrite(fd, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
    expect_corrupt(s, "layout version");
    bad = h;
    bad.off_slots += 64; /* consistent checksum, inconsistent layout */
    bad.checksum = shm_header_checksum(&bad);
    assert_int_equal(pwrite(fd, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
    expect_corrupt(s, "offsets disagree");
    assert_int_equal(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    assert_int_equal(ftruncate(fd, (off_t)(h.file_bytes / 2)), 0);
    expect_corrupt(s, "truncated");
    close(fd);

    sticky_shm_options o = shm_small_options(500);
    o.flags |= STICKY_SHM_RESET_INCOMPATIBLE;
    sticky_shm *b;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_OK);
    assert_non_null(strstr(s->h.log.all, "truncated"));
    sticky_shm_close(b);
    struct stat st;
    assert_int_equal(stat(s->path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, h.file_bytes);
}

/* A creator that died before finishing left "STKYINIT": the next opener
 * makes the segment again. A missing file without CREATE is ENOTFOUND and
 * is not created. */
static void test_half_created_and_missing(void **state)
{
    struct seg *s = *state;
    sticky_shm_options o = shm_small_options(100);
    o.flags = 0;
    sticky_shm *b = (sticky_shm *)1;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_ENOTFOUND);
    assert_null(b);
    assert_int_equal(access(s->path, F_OK), -1);

    char buf[4096] = "STKYINIT";
    write_file(s->path, buf, sizeof(buf));
    b = open_ok(s, 100);
    assert_int_equal(sessions_of(b), 0);
    sticky_shm_close(b);
}

/* Options out of range, bad arguments, bad struct sizes. */
static void test_bad_options(void **state)
{
    struct seg *s = *state;
    sticky_shm *b = NULL;
    sticky_shm_options o = shm_small_options(100);
    o.shard_count = 3;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_ECONFIG);
    o = shm_small_options(100);
    o.max_channels = STICKY_SHM_MAX_CHANNELS + 1;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_ECONFIG);
    o = shm_small_options(100);
    o.renew_threshold_seconds = (int32_t)s->h.cfg.ttl_seconds + 1;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_ECONFIG);
    o = shm_small_options(100);
    o.flags = 1u << 7;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_ECONFIG);
    o = shm_small_options(4);
    o.shard_count = 8; /* more shards than mappings */
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_ECONFIG);
    assert_int_equal(access(s->path, F_OK), 0); /* opened, never initialised */
    unlink(s->path);
    o = shm_small_options(100);
    o.size = 3;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_EABI);
    assert_int_equal(sticky_shm_open(s->h.ctx, "", NULL, &b), STICKY_EINVAL);
    assert_int_equal(sticky_shm_open(NULL, s->path, NULL, &b), STICKY_EINVAL);
    assert_int_equal(sticky_shm_open(s->h.ctx, NULL, NULL, &b), STICKY_EINVAL);
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, NULL, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_shm_open(s->h.ctx, "/nonexistent-dir/x", NULL, &b), STICKY_ENOTFOUND);
    assert_int_equal(sticky_shm_store_new(NULL, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_ctx_use_shm(s->h.ctx, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_shm_get_stats(NULL, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_shm_options_init_sized(&o, 1), STICKY_EABI);
    assert_int_equal(sticky_shm_options_init_sized(NULL, sizeof(o)), STICKY_EINVAL);
    sticky_shm_close(NULL);
}

/* Every tenant form round-trips; only long ones take table entries, and
 * a full table refuses new ones with STICKY_ELIMIT. Same for channels. */
static void test_tenants_and_channels(void **state)
{
    struct seg *s = *state;
    sticky_shm_options o = shm_small_options(100);
    o.max_tenants = 2;
    o.max_channels = 3;
    sticky_shm *shm;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &shm), STICKY_OK);
    sticky_store *st;
    assert_int_equal(sticky_shm_store_new(shm, &st), STICKY_OK);
    char longest[STICKY_ID_SIZE];
    memset(longest, 'q', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    const char *tenants[] = {"", "t", "exactly-16-bytes", "0123456789abcdef0123456789abcdef",
                             "0123456789ABCDEF0123456789ABCDEF", longest};
    for (uint64_t i = 0; i < 6; i++)
        put(st, 100 + i, "A", tenants[i]);
    sticky_mapping m;
    sticky_mapping_init(&m);
    for (uint64_t i = 0; i < 6; i++) {
        assert_int_equal(sticky_store_get(st, 100 + i, STICKY_STORE_PEEK, &m), STICKY_OK);
        assert_string_equal(m.tenant_id, tenants[i]);
    }
    sticky_shm_stats ss;
    sticky_shm_stats_init(&ss);
    assert_int_equal(sticky_shm_get_stats(shm, &ss), STICKY_OK);
    assert_int_equal(ss.tenants, 2); /* the upper-case one and the longest */
    sticky_mapping_init(&m);
    m.key = 1;
    strcpy(m.channel_id, "A");
    strcpy(m.tenant_id, "a-third-long-tenant-id");
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_ELIMIT);
    strcpy(m.tenant_id, longest); /* known: fine */
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_OK);
    put(st, 2, "B", "");
    put(st, 3, "C", "");
    strcpy(m.channel_id, "D"); /* a fourth channel */
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_ELIMIT);
    assert_int_equal(sticky_shm_get_stats(shm, &ss), STICKY_OK);
    assert_int_equal(ss.channels, 3);
    sticky_store_free(st);
    sticky_shm_close(shm);
}

/* 60-byte slots; at 1M mappings with the default sizes the whole file is
 * within 64 bytes per mapping. */
static void test_layout_bytes_per_mapping(void **state)
{
    (void)state;
    assert_int_equal(sizeof(struct shm_slot), 60);
    struct shm_sizes z = {1000000, 256, STICKY_SHM_DEFAULT_MAX_CHANNELS,
                          STICKY_SHM_DEFAULT_MAX_TENANTS, STICKY_SHM_DEFAULT_MAX_PROCESSES};
    struct shm_header h;
    assert_int_equal(shm_layout_compute(&z, &h), STICKY_OK);
    double per = (double)h.file_bytes / 1e6;
    print_message("file %llu bytes: %.2f bytes per mapping at 1M\n",
                  (unsigned long long)h.file_bytes, per);
    assert_true(per <= 64.0);
    z.max_sessions = 0;
    assert_int_equal(shm_layout_compute(&z, &h), STICKY_ECONFIG);
}

struct count {
    int sessions, channels;
    char seen[8][STICKY_ID_SIZE];
};

static int count_session(const sticky_mapping *m, void *arg)
{
    struct count *c = arg;
    assert_true(strcmp(m->channel_id, "A") == 0 || strcmp(m->channel_id, "B") == 0);
    c->sessions++;
    return 0;
}

static int count_channel(const char *id, const sticky_channel_health *h, void *arg)
{
    struct count *c = arg;
    assert_true(c->channels < 8);
    snprintf(c->seen[c->channels++], STICKY_ID_SIZE, "%s", id);
    assert_int_equal(h->in_flight, 0);
    return 0;
}

/* Damage found in use (a broken chain, a slot naming no channel) is
 * repaired, counted and never returned; damage in a closed file is
 * repaired by the next first attacher. */
static void test_damage_repaired(void **state)
{
    struct seg *s = *state;
    sticky_shm_options o = shm_small_options(64);
    o.shard_count = 1;
    sticky_shm *shm;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &shm), STICKY_OK);
    sticky_store *st;
    assert_int_equal(sticky_shm_store_new(shm, &st), STICKY_OK);
    for (uint64_t k = 1; k <= 40; k++)
        put(st, k, k % 2 ? "A" : "B", "");
    struct sticky_shm *in = shm;
    in->slots[5].next = 100000;  /* a chain pointing outside the shard */
    in->slots[9].channel = 999;   /* a channel that does not exist */
    sticky_mapping m;
    sticky_mapping_init(&m);
    int found = 0;
    for (uint64_t k = 1; k <= 40; k++) {
        int rc = sticky_store_get(st, k, STICKY_STORE_PEEK, &m);
        assert_true(rc == STICKY_OK || rc == STICKY_ENOTFOUND);
        if (rc == STICKY_OK) {
            assert_string_equal(m.channel_id, k % 2 ? "A" : "B");
            found++;
        }
    }
    assert_true(found >= 38);
    assert_true(found < 40); /* the slot with no channel is gone */
    sticky_shm_stats ss;
    sticky_shm_stats_init(&ss);
    assert_int_equal(sticky_shm_get_stats(shm, &ss), STICKY_OK);
    assert_true(ss.repairs >= 1);
    assert_int_equal(ss.sessions, (uint64_t)found);

    struct count c = {0};
    assert_int_equal(sticky_shm_each_session(shm, T0, count_session, &c), STICKY_OK);
    assert_int_equal(c.sessions, found);
    assert_int_equal(sticky_shm_each_channel(shm, T0, count_channel, &c), STICKY_OK);
    assert_int_equal(c.channels, 2);
    assert_string_equal(c.seen[0], "A");

    /* Damage while closed: the next first attacher rebuilds. */
    in->slots[0].state = 7;
    sticky_store_free(st);
    sticky_shm_close(shm);
    shm = open_ok(s, 64);
    assert_int_equal(sessions_of(shm), (uint64_t)found - 1);
    sticky_shm_close(shm);
}

/* The header is read once, at attach: a stray write to the file's header
 * afterwards (sizes, offsets) moves nothing and crashes nothing. */
static void test_header_damage_after_attach(void **state)
{
    struct seg *s = *state;
    sticky_shm *shm = open_ok(s, 500);
    sticky_store *st;
    assert_int_equal(sticky_shm_store_new(shm, &st), STICKY_OK);
    put(st, 5, "A", "t");
    struct sticky_shm *in = shm;
    in->hdr->off_slots = 1ull << 40;
    in->hdr->off_channels = 7;
    in->hdr->sizes.shard_count = 1u << 30;
    in->hdr->sizes.max_channels = 0;
    in->hdr->slots_per_shard = 0xffffffffu;
    put(st, 6, "B", "t");
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(st, 5, 0, &m), STICKY_OK);
    assert_string_equal(m.channel_id, "A");
    sticky_shm_stats ss;
    sticky_shm_stats_init(&ss);
    assert_int_equal(sticky_shm_get_stats(shm, &ss), STICKY_OK);
    assert_int_equal(ss.sessions, 2);
    assert_int_equal(ss.max_channels, 64);
    sticky_store_free(st);
    sticky_shm_close(shm);
    /* The damaged header is refused by the next opener. */
    sticky_shm_options o = shm_small_options(0);
    sticky_shm *b = NULL;
    assert_int_equal(sticky_shm_open(s->h.ctx, s->path, &o, &b), STICKY_ECORRUPT);
}

struct created {
    int n;
    int64_t created_ms;
};

static int note_created(const sticky_mapping *m, void *arg)
{
    struct created *c = arg;
    c->n++;
    c->created_ms = m->created_ms;
    return 0;
}

/* The store of sticky_ctx_use_shm() runs on the routing context (its
 * clock), not on the one that opened the segment. */
static void test_use_shm_store_on_routing_ctx(void **state)
{
    struct seg *s = *state;
    sticky_shm *shm = open_ok(s, 500);
    struct harness r;
    h_config(&r);
    r.clk.now_ms = T0 + 10LL * 24 * 3600 * 1000;
    assert_int_equal(sticky_ctx_new(&r.cfg, &r.ctx), STICKY_OK);
    assert_int_equal(sticky_ctx_use_shm(r.ctx, shm), STICKY_OK);
    assert_int_equal(sticky_ctx_use_shm(r.ctx, shm), STICKY_EBUSY);
    sticky_channel ch;
    sticky_channel_init(&ch);
    ch.id = "A";
    r.ch[0] = ch;
    r.n = 1;
    char body[512];
    sticky_decision d;
    assert_int_equal(h_select(&r, NULL, conv_body(1, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    sticky_release(r.ctx, &d);
    struct created c = {0, 0};
    assert_int_equal(sticky_shm_each_session(shm, r.clk.now_ms, note_created, &c), STICKY_OK);
    assert_true(c.n >= 1);
    assert_int_equal(c.created_ms, r.clk.now_ms); /* not the opener's clock (T0) */
    sticky_shm_close(shm);
    sticky_ctx_free(r.ctx);
}

/* A channel's health lock held by a live process that never lets go (a
 * reused pid, a stopped holder, a damaged word) is taken over. */
static void test_health_lock_bounded(void **state)
{
    (void)state;
    struct channel_health h;
    health_record_init(&h, "A", fnv1a64("A"), HEALTH_NOT_SHARED);
    atomic_store(&h.lock, 1); /* init: alive, and never ours */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    health_lock(&h);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    assert_true(ms >= 150 && ms < 5000);
    assert_int_equal(atomic_load(&h.lock), (uint32_t)getpid());
    health_unlock(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attach_and_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_and_damaged_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_created_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenants_and_channels, setup, teardown),
        cmocka_unit_test(test_layout_bytes_per_mapping),
        cmocka_unit_test_setup_teardown(test_damage_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_damage_after_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_use_shm_store_on_routing_ctx, setup, teardown),
        cmocka_unit_test(test_health_lock_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

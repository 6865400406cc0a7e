/*
 * tests/redis/redis_server.h - a real redis-server for one test program:
 * started on 127.0.0.1 on a free port with a temporary directory and no
 * persistence, stopped (or killed, or restarted on the same port) on
 * demand, plus a raw hiredis admin connection for checks (PTTL, INFO,
 * SLOWLOG). No mocks: the tests talk to this server.
 */
#ifndef STICKY_TEST_REDIS_SERVER_H
#define STICKY_TEST_REDIS_SERVER_H

#include <sys/types.h>

#include <hiredis/hiredis.h>

struct test_redis {
    pid_t pid;           /* 0: not running */
    int port;
    char dir[64];        /* the temporary --dir */
    char binary[256];
};

/* 1 if a redis-server binary is found (REDIS_SERVER, then PATH). */
int test_redis_available(void);
/* Exit 77 (skip) when redis-server is missing and CI is not "true";
 * otherwise fail when it cannot be started. Returns 0 when started. */
int test_redis_start(struct test_redis *r);
/* Start again on the same port (after test_redis_kill()). */
int test_redis_restart(struct test_redis *r);
/* SIGKILL the server and reap it (a crash). */
void test_redis_kill(struct test_redis *r);
/* SIGTERM, reap, remove the temporary directory. */
void test_redis_stop(struct test_redis *r);
/* A new admin connection (the caller frees it), or NULL. */
redisContext *test_redis_admin(const struct test_redis *r);
/* Run a command on @c and return its integer reply (-1000 on error). */
long long test_redis_int(redisContext *c, const char *fmt, ...);
/* Sum of `calls=` of one cmdstat_NAME line of INFO commandstats. */
long long test_redis_cmdstat(redisContext *c, const char *name);
/* Commands sent by clients named @client_name since the last SLOWLOG RESET
 * (slowlog-log-slower-than 0 logs every top-level command; commands run
 * inside a script are logged with the address "?:0" and no name). */
long long test_redis_client_commands(redisContext *c, const char *client_name);

#endif /* STICKY_TEST_REDIS_SERVER_H */

/*
 * tests/redis/redis_server.c - start / kill / restart / stop a real
 * redis-server for a test (see redis_server.h); the server dies with the
 * test process (PR_SET_PDEATHSIG). The port is one the kernel
 * just handed out for 127.0.0.1 (bind to port 0, read it, close).
 */
#include "redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int find_binary(char *out, size_t cap)
{
    const char *env = getenv("REDIS_SERVER");
    if (env != NULL && access(env, X_OK) == 0) {
        snprintf(out, cap, "%s", env);
        return 0;
    }
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s:/usr/bin:/usr/sbin:/usr/local/bin", path ? path : "");
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/redis-server", d);
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int spawn(struct test_redis *r)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", r->port);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* If the test dies (an assertion abort, a sanitizer report), the
         * server goes with it instead of lingering on its port. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(127);
        int null = open("/dev/null", 1);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl(r->binary, r->binary, "--port", port, "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--dir", r->dir,
              "--daemonize", "no", "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    r->pid = pid;
    /* Wait until it answers PING (up to 5 s). */
    for (int i = 0; i < 500; i++) {
        redisContext *c = test_redis_admin(r);
        if (c != NULL) {
            redisReply *rep = redisCommand(c, "PING");
            int ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
            if (rep)
                freeReplyObject(rep);
            redisFree(c);
            if (ok)
                return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            r->pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    return -1;
}

int test_redis_available(void)
{
    char buf[256];
    return find_binary(buf, sizeof(buf)) == 0;
}

int test_redis_start(struct test_redis *r)
{
    memset(r, 0, sizeof(*r));
    if (find_binary(r->binary, sizeof(r->binary)) != 0) {
        const char *ci = getenv("CI");
        if (ci == NULL || strcmp(ci, "true") != 0) {
            printf("redis-server not found: skipping (install redis-server)\n");
            exit(77);
        }
        fprintf(stderr, "redis-server not found and CI=true\n");
        return -1;
    }
    snprintf(r->dir, sizeof(r->dir), "/tmp/sticky-redis-XXXXXX");
    if (mkdtemp(r->dir) == NULL)
        return -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        r->port = free_port();
        if (r->port > 0 && spawn(r) == 0)
            return 0;
    }
    fprintf(stderr, "could not start %s\n", r->binary);
    return -1;
}

int test_redis_restart(struct test_redis *r)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        if (spawn(r) == 0)
            return 0;
        sleep_ms(20); /* the port may linger a moment */
    }
    return -1;
}

void test_redis_kill(struct test_redis *r)
{
    if (r->pid <= 0)
        return;
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
    r->pid = 0;
}

void test_redis_stop(struct test_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    if (r->dir[0] != '\0') {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", r->dir);
        r->dir[0] = '\0';
    }
}

redisContext *test_redis_admin(const struct test_redis *r)
{
    struct timeval tv = {.tv_sec = 2};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (c == NULL || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

long long test_redis_int(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = -1000;
    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
        v = rep->integer;
    if (rep)
        freeReplyObject(rep);
    return v;
}

long long test_redis_cmdstat(redisContext *c, const char *name)
{
    redisReply *rep = redisCommand(c, "INFO commandstats");
    long long v = 0;
    if (rep != NULL && rep->type == REDIS_REPLY_STRING) {
        char pat[64];
        snprintf(pat, sizeof(pat), "cmdstat_%s:calls=", name);
        const char *p = strstr(rep->str, pat);
        if (p != NULL)
            v = atoll(p + strlen(pat));
    }
    if (rep)
        freeReplyObject(rep);
    return v;
}

long long test_redis_client_commands(redisContext *c, const char *client_name)
{
    redisReply *rep = redisCommand(c, "SLOWLOG GET -1");
    long long n = 0;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        n = -1000;
    } else {
        for (size_t i = 0; i < rep->elements; i++) {
            redisReply *e = rep->element[i];
            if (e->type == REDIS_REPLY_ARRAY && e->elements >= 6 &&
                e->element[5]->type == REDIS_REPLY_STRING &&
                strcmp(e->element[5]->str, client_name) == 0)
                n++;
        }
    }
    if (rep)
        freeReplyObject(rep);
    return n;
}

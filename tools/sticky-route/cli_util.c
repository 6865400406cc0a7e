/* tools/sticky-route/cli_util.c - bounded file reading, the JSON string
 * writer, checked integers from JSON, logging (see cli_util.h). */
#include "cli_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int read_file(const char *path, size_t max, char **data, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "sticky-route: %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* A regular file announces its size: refuse it without reading. */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
        if (f != stdin)
            fclose(f);
        fprintf(stderr, "sticky-route: %s: larger than %zu bytes\n", path, max);
        return -2;
    }
    /* Otherwise read up to max + 1 bytes: one more than allowed is too
     * many, whatever follows. */
    size_t cap = max < (1u << 16) ? max + 1 : (1u << 16), n = 0;
    char *buf = malloc(cap + 1);
    int too_big = 0;
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > max) {
            too_big = 1;
            break;
        }
        if (n < cap)
            break; /* end of file or an error */
        size_t bigger_cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
        char *bigger = realloc(buf, bigger_cap + 1);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap = bigger_cap;
    }
    int err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (too_big) {
        free(buf);
        fprintf(stderr, "sticky-route: %s: larger than %zu bytes\n", path, max);
        return -2;
    }
    if (buf == NULL || err) {
        free(buf);
        fprintf(stderr, "sticky-route: %s: read failed\n", path);
        return -1;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* Length of the valid UTF-8 sequence at @p (1..4), or 0 if it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are not). */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c >= 0xC2 && c <= 0xDF)
        return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80
                   ? 4 : 0;
    }
    return 0;
}

void json_print_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    while (*p != '\0') {
        unsigned c = *p;
        if (c >= 0x80) {
            /* A NUL ends the string, so utf8_len() never reads past it:
             * a continuation byte check fails at the NUL first. */
            size_t n = utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", out);
                p++;
            } else {
                fwrite(p, 1, n, out);
                p += n;
            }
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        default:
            if (c < 0x20 || c == 0x7F)
                fprintf(out, "\\u%04x", c);
            else
                fputc((int)c, out);
        }
        p++;
    }
    fputc('"', out);
}

int json_get_int(const cJSON *obj, const char *name, int64_t lo, int64_t hi, int64_t *out,
                 char *err, size_t err_cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        /* Compare as doubles first (lo and hi are exact in a double; NaN
         * fails both), so the cast below is always in range. */
        if (d >= (double)lo && d <= (double)hi && (double)(int64_t)d == d) {
            *out = (int64_t)d;
            return 1;
        }
    }
    char *text = cJSON_PrintUnformatted(v);
    snprintf(err, err_cap, "\"%s\": %.40s%s is not an integer in %lld..%lld", name,
             text ? text : "?", text && strlen(text) > 40 ? "..." : "", (long long)lo,
             (long long)hi);
    free(text);
    return -1;
}

void log_to_stderr(int level, const char *message, void *user)
{
    (void)user;
    static const char *names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "sticky-route: %s: %s\n",
            level >= 0 && level <= 3 ? names[level] : "log", message);
}

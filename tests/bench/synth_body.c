/* tests/bench/synth_body.c - synthetic Claude-Code-shaped bodies (see synth_body.h). */
#include "synth_body.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sb {
    char *p;
    size_t len, cap;
};

static void sb_printf(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)(n > 0 ? n : 0);
        b->p = realloc(b->p, b->cap);
    }
}

static const char *const words[] = {
    "the", "agent", "reads", "files", "and", "edits", "code", "carefully", "while",
    "tests", "run", "in", "the", "background", "with", "care", "for", "\\\"quotes\\\"",
    "and", "\\n", "newlines", "caf\\u00e9", "r\\u00e9sum\\u00e9", "path/to/file.c",
};

static void sb_text(struct sb *b, size_t n_words, unsigned seed)
{
    for (size_t i = 0; i < n_words; i++)
        sb_printf(b, "%s%s", i ? " " : "", words[(seed + i * 7) % (sizeof(words) / sizeof(words[0]))]);
}

char *synth_claude_code_body(size_t target_bytes, int n_tools,
                             const char *session_id, size_t *len, size_t *first3)
{
    struct sb b = {malloc(1 << 16), 0, 1 << 16};
    sb_printf(&b, "{\"model\":\"claude-sonnet-4-5-20250929\",\"max_tokens\":32000,\"messages\":[");
    size_t system_bytes = target_bytes / 4, tools_bytes = target_bytes / 3;
    size_t messages_target = target_bytes - system_bytes - tools_bytes;
    size_t start = b.len;
    for (int m = 0; b.len - start < messages_target || m < 4; m++) {
        if (m)
            sb_printf(&b, ",");
        int last = b.len - start + 600 >= messages_target && m >= 3;
        if (m % 4 == 0) {
            sb_printf(&b, "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"");
            sb_text(&b, 40, (unsigned)m);
            sb_printf(&b, "\"%s}]}", last ? ",\"cache_control\":{\"type\":\"ephemeral\"}" : "");
        } else if (m % 4 == 1) {
            sb_printf(&b, "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"");
            sb_text(&b, 20, (unsigned)m);
            sb_printf(&b, "\",\"signature\":\"EqQBCkYIBxgCKkB%08d\"},{\"type\":\"text\",\"text\":\"", m);
            sb_text(&b, 30, (unsigned)m + 1);
            sb_printf(&b, "\"},{\"type\":\"tool_use\",\"id\":\"toolu_%06d\",\"name\":\"Read\",\"input\":{\"file_path\":\"/src/f%d.c\",\"limit\":200}}]}", m, m);
        } else if (m % 4 == 2) {
            sb_printf(&b, "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_%06d\",\"content\":\"", m - 1);
            sb_text(&b, 120, (unsigned)m);
            sb_printf(&b, "\"}]}");
        } else {
            sb_printf(&b, "{\"role\":\"assistant\",\"content\":\"");
            sb_text(&b, 35, (unsigned)m);
            sb_printf(&b, "\"}");
        }
        if (m == 2 && first3)
            *first3 = b.len - start;
        if (last)
            break;
    }
    sb_printf(&b, "],\"system\":[{\"type\":\"text\",\"text\":\"You are Claude Code, Anthropic's official CLI.\"},{\"type\":\"text\",\"text\":\"");
    size_t s0 = b.len;
    for (unsigned i = 0; b.len - s0 < system_bytes; i++)
        sb_text(&b, 50, i);
    sb_printf(&b, "\",\"cache_control\":{\"type\":\"ephemeral\"}}],\"tools\":[");
    size_t per_tool = n_tools > 0 ? tools_bytes / (size_t)n_tools : 0;
    for (int t = 0; t < n_tools; t++) {
        sb_printf(&b, "%s{\"name\":\"Tool%d\",\"description\":\"", t ? "," : "", t);
        size_t t0 = b.len;
        for (unsigned i = 0; b.len - t0 < per_tool / 2; i++)
            sb_text(&b, 30, i + (unsigned)t);
        sb_printf(&b, "\",\"input_schema\":{\"type\":\"object\",\"properties\":{");
        for (int p = 0; p < 8; p++)
            sb_printf(&b, "%s\"param_%d\":{\"type\":\"string\",\"description\":\"The %d-th parameter, see docs\"}",
                      p ? "," : "", p, p);
        sb_printf(&b, "},\"required\":[\"param_0\"],\"additionalProperties\":false,\"$schema\":\"http://json-schema.org/draft-07/schema#\"}}");
    }
    sb_printf(&b, "],\"metadata\":{\"user_id\":\"");
    if (session_id)
        sb_printf(&b, "{\\\"device_id\\\":\\\"9f2c\\\",\\\"account_uuid\\\":\\\"\\\",\\\"session_id\\\":\\\"%s\\\"}", session_id);
    else
        sb_printf(&b, "anonymous");
    sb_printf(&b, "\"},\"temperature\":1,\"stream\":true}");
    *len = b.len;
    return b.p;
}

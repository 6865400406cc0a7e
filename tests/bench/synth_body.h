/*
 * tests/bench/synth_body.h - builds a synthetic request body shaped like
 * Claude Code traffic: a large system prompt with cache_control, tool
 * definitions with JSON schemas, and a growing message list with text,
 * tool_use and tool_result blocks.
 */
#ifndef STICKY_SYNTH_BODY_H
#define STICKY_SYNTH_BODY_H

#include <stddef.h>

/* Returns a malloc'ed NUL-terminated body of about @target_bytes with
 * @n_tools tools; with @session_id, metadata.user_id carries it in the JSON
 * form. *len receives the length, *first3 (if not NULL) the bytes of the
 * first three messages as they appear in the body. */
char *synth_claude_code_body(size_t target_bytes, int n_tools,
                             const char *session_id, size_t *len, size_t *first3);

#endif

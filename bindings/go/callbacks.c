/*
 * bindings/go/callbacks.c - the C functions libsticky calls back (clock,
 * log) when a Router's Config has Clock / Log set: each forwards to the Go
 * function exported in callbacks.go, with the cgo.Handle stored in the C
 * memory that user points to.
 */
#include "_cgo_export.h"

int64_t gs_clock_trampoline(void *user)
{
    return goStickyClock(*(uintptr_t *)user);
}

void gs_log_trampoline(int level, const char *message, void *user)
{
    goStickyLog(*(uintptr_t *)user, level, (char *)message);
}

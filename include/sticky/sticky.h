/*
 * sticky/sticky.h - umbrella header: include this one file to use libsticky,
 * the sticky-session routing library for LLM API gateways.
 */
#ifndef STICKY_STICKY_H
#define STICKY_STICKY_H

#include "common.h"
#include "version.h"
#include "error.h"
#include "config.h"
#include "context.h"
#include "request.h"
#include "key.h"
#include "store.h"
#include "memory_store.h"
#include "shm.h"
#include "select.h"
#include "async.h"
#include "abi.h"

#endif /* STICKY_STICKY_H */

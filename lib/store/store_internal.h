/*
 * lib/store/store_internal.h - library-private access to a sticky_store's
 * backend, for code that must recognise its own backend (e.g. the memory
 * store's consistency check used by the tests).
 */
#ifndef STICKY_STORE_INTERNAL_H
#define STICKY_STORE_INTERNAL_H

#include "sticky/store.h"

/* The backend's state and, in *@vt, its (copied) vtable. */
void *store_backend(const sticky_store *store,
                           const sticky_store_vtable **vt);

#endif /* STICKY_STORE_INTERNAL_H */

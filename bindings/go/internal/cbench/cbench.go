// Package cbench is the C side of the Go binding's benchmark: the same
// select + report(200) the binding makes, called from C in a loop (one
// cgo call for all iterations), so the benchmark measures what the
// binding adds against a baseline in the same process on the same
// request. Test-only (internal); not part of the API.
package cbench

/*
#cgo pkg-config: sticky
#include <stdint.h>
#include <time.h>
#include <sticky/sticky.h>

static int64_t cbench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// Run @iterations select + report(200); total ns, or the library's
// (negative) code of the first failure.
static int64_t cbench_loop(sticky_ctx *ctx, _GoString_ tenant, const char *body, size_t body_len,
                           const sticky_key_chain *chain, const sticky_channel *channels,
                           size_t n, int64_t iterations)
{
    sticky_request req;
    sticky_request_init(&req);
    req.tenant = _GoStringPtr(tenant);
    req.tenant_len = _GoStringLen(tenant);
    req.body = body;
    req.body_len = body_len;
    req.chain = chain;
    int64_t start = cbench_now_ns();
    for (int64_t i = 0; i < iterations; i++) {
        sticky_decision d;
        sticky_outcome o;
        int rc;
        sticky_decision_init(&d);
        if ((rc = sticky_select(ctx, &req, channels, n, &d)) != STICKY_OK)
            return rc;
        sticky_outcome_init(&o);
        o.status = 200;
        if ((rc = sticky_report(ctx, &d, &o)) != STICKY_OK)
            return rc;
    }
    return cbench_now_ns() - start;
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

// SelectReport runs iterations select + report(200) in C on the context
// ctx (a *C.sticky_ctx) and the channel array channels of n elements,
// with a request of tenant and body, or of the key chain chain (a
// *C.sticky_key_chain) when not nil. Returns the total time.
func SelectReport(ctx unsafe.Pointer, tenant string, body []byte, chain unsafe.Pointer,
	channels unsafe.Pointer, n int, iterations int) (time.Duration, error) {
	var bp *C.char
	if len(body) > 0 {
		bp = (*C.char)(unsafe.Pointer(&body[0]))
	}
	ns := C.cbench_loop((*C.sticky_ctx)(ctx), tenant, bp, C.size_t(len(body)),
		(*C.sticky_key_chain)(chain), (*C.sticky_channel)(channels), C.size_t(n), C.int64_t(iterations))
	runtime.KeepAlive(body)
	if ns < 0 {
		return 0, fmt.Errorf("cbench: select/report failed with code %d", int64(ns))
	}
	return time.Duration(ns), nil
}

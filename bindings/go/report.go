// report.go owns the end of an attempt: Outcome (how it ended), Report,
// Release, and the helpers building an Outcome from an HTTP exchange.
package sticky

/*
#include "glue.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"unsafe"
)

// OutcomeKind is how an attempt ended (enum sticky_outcome_kind).
// Since 0.5.0.
type OutcomeKind int

// The outcome kinds. Since 0.5.0.
const (
	OutcomeHTTP      OutcomeKind = C.STICKY_OUTCOME_HTTP      // the upstream answered Status
	OutcomeTimeout   OutcomeKind = C.STICKY_OUTCOME_TIMEOUT   // no answer in time
	OutcomeTransport OutcomeKind = C.STICKY_OUTCOME_TRANSPORT // connection failed / reset
)

// Outcome is how an attempt ended. Since 0.5.0.
type Outcome struct {
	// Kind: OutcomeHTTP (default), OutcomeTimeout or OutcomeTransport.
	Kind OutcomeKind
	// Status is the upstream's HTTP status (OutcomeHTTP), 0..999.
	Status int
	// Header is the upstream's response header: the library reads
	// retry-after, anthropic-ratelimit-unified-{reset,status},
	// anthropic-ratelimit-*-reset and x-ratelimit-reset-*. Copied once
	// into one buffer per Report (cgo rules); nil costs nothing.
	Header http.Header
}

// Status is the Outcome of an HTTP status alone. Since 0.5.0.
func Status(code int) Outcome { return Outcome{Status: code} }

// ResponseOutcome is the Outcome of an HTTP round trip: the response's
// status and header, or, when err is not nil, a timeout (a net.Error
// timeout or context.DeadlineExceeded) or a transport failure.
// Since 0.5.0.
func ResponseOutcome(resp *http.Response, err error) Outcome {
	if err != nil {
		return ErrorOutcome(err)
	}
	return Outcome{Status: resp.StatusCode, Header: resp.Header}
}

// ErrorOutcome classifies a failed round trip: OutcomeTimeout for a
// timeout (net.Error.Timeout() or context.DeadlineExceeded), else
// OutcomeTransport. Since 0.5.0.
func ErrorOutcome(err error) Outcome {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return Outcome{Kind: OutcomeTimeout}
	}
	return Outcome{Kind: OutcomeTransport}
}

// Report tells the library how d's attempt ended, and ends it (its C
// memory is freed whatever the result). Updates the channel's health
// (cooldowns, breaker, in-flight). Returns ErrReleased when the attempt
// already ended (through d or a copy), ErrClosed after Close, an *Error
// wrapping ErrInvalid for a bad outcome (status outside 0..999, unknown
// kind; the attempt is then released) or a Decision not from Select.
// With a store that shares health (Redis), a 429 with a reset time or a
// 401/403 costs one store round trip. Safe from any goroutine (one per
// Decision). Since 0.5.0.
func (r *Router) Report(d Decision, o Outcome) error {
	a := d.att
	if a == nil {
		return goError(C.STICKY_EINVAL, "report", "a Decision without an open attempt")
	}
	if a.r != r {
		return goError(C.STICKY_EINVAL, "report", "the Decision is from another Router")
	}
	if !a.end() {
		return ErrReleased
	}
	if !r.rlock() {
		C.gs_release(nil, a.raw) // memory only
		return ErrClosed
	}
	defer r.mu.RUnlock()
	kind := C.int(o.Kind)
	switch o.Kind {
	case OutcomeHTTP, OutcomeTimeout, OutcomeTransport:
	default:
		kind = -1 // the library refuses it (EINVAL) and the attempt is released
	}
	if o.Status < 0 || o.Status > 999 {
		C.gs_release(r.ctx, a.raw)
		return goError(C.STICKY_EINVAL, "report", fmt.Sprintf("status %d is not an HTTP status (0..999)", o.Status))
	}
	status := C.int(o.Status)
	hb := flattenHeader(o.Header)
	hdata, hlens, hn := hb.ptrs()
	rc := C.gs_report(r.ctx, a.raw, kind, status, C.STICKY_ABSENT, C.STICKY_ABSENT, hdata, hlens, hn)
	runtime.KeepAlive(&hb)
	if rc != 0 {
		return newError(rc, "report")
	}
	return nil
}

// Release ends d's attempt without an outcome (the client went away).
// Idempotent: nil for an attempt already ended, and for a Decision
// without one (e.g. the zero Decision). Safe from any goroutine.
// Since 0.5.0.
func (r *Router) Release(d Decision) error {
	a := d.att
	if a == nil || !a.end() {
		return nil
	}
	r = a.r // a Decision goes back to the Router that made it
	if !r.rlock() {
		C.gs_release(nil, a.raw) // memory only
		return nil
	}
	rc := C.gs_release(r.ctx, a.raw)
	r.mu.RUnlock()
	return check(rc, "release")
}

func unsafePtr(d *C.sticky_decision) unsafe.Pointer { return unsafe.Pointer(d) }

// decision.go owns Decision, the answer of Select: the channel chosen, why,
// and the open attempt (the library's sticky_decision in C memory) that
// Report or Release ends; a finalizer releases attempts a program leaked.
package sticky

/*
#include "glue.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Reason says why a channel was chosen (enum sticky_reason). Since 0.5.0.
type Reason int

// The reasons. Since 0.5.0.
const (
	ReasonNone        Reason = C.STICKY_REASON_NONE
	ReasonHit         Reason = C.STICKY_REASON_HIT          // the session's binding
	ReasonPromotedHit Reason = C.STICKY_REASON_PROMOTED_HIT // a shallower key's binding
	ReasonNew         Reason = C.STICKY_REASON_NEW          // no binding: placed by policy
	ReasonFailover    Reason = C.STICKY_REASON_FAILOVER     // bound channel unusable: moved once
	ReasonSpill       Reason = C.STICKY_REASON_SPILL        // bound channel saturated: this request only
	ReasonExplicitHit Reason = C.STICKY_REASON_EXPLICIT_HIT // binding of an explicit session id
	ReasonNoChannel   Reason = C.STICKY_REASON_NO_CHANNEL   // nothing usable
	ReasonMigrated    Reason = C.STICKY_REASON_MIGRATED     // moved to a better priority tier
	ReasonSide        Reason = C.STICKY_REASON_SIDE         // side request elsewhere; binding stays
)

var reasonNames = func() (n [16]string) {
	for i := range n {
		n[i] = C.GoString(C.sticky_reason_name(C.int(i)))
	}
	return
}()

// String is the library's name: "hit", "new", "failover", ... Since 0.5.0.
func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "none"
}

// ModelFamily is the request model's family (enum sticky_model_family):
// rate limits and overload cool one family of an account. Since 0.5.0.
type ModelFamily int

// The model families. Since 0.5.0.
const (
	FamilyAll    ModelFamily = C.STICKY_MODEL_FAMILY_ALL
	FamilyOpus   ModelFamily = C.STICKY_MODEL_FAMILY_OPUS
	FamilySonnet ModelFamily = C.STICKY_MODEL_FAMILY_SONNET
	FamilyHaiku  ModelFamily = C.STICKY_MODEL_FAMILY_HAIKU
	FamilyOther  ModelFamily = C.STICKY_MODEL_FAMILY_OTHER
)

// String is "all", "opus", "sonnet", "haiku" or "other". Since 0.5.0.
func (f ModelFamily) String() string {
	return C.GoString(C.sticky_model_family_name(C.int(f)))
}

// SessionKey is a 64-bit session key (the deepest of a request's chain);
// 0 when the request had nothing to key on. Since 0.5.0.
type SessionKey uint64

// String is the key as 16 lowercase hex digits ("" for 0). Since 0.5.0.
func (k SessionKey) String() string {
	if k == 0 {
		return ""
	}
	return fmt.Sprintf("%016x", uint64(k))
}

// Decision is a routing decision: a value, cheap to copy. Every Decision
// returned with a nil error must be ended exactly once, by Report or
// Release (through any copy: the first ends it, later ones return
// ErrReleased / nil). A Decision nobody ends is released by a finalizer
// when it is garbage collected (counted in Stats.LeakedDecisions): its
// in-flight slot is held until then. Since 0.5.0.
type Decision struct {
	// Channel is the chosen channel's id ("" when none).
	Channel string
	// ChannelIndex is its index in the ChannelSet; -1 when none.
	ChannelIndex int
	// Reason says why.
	Reason Reason
	// Key is the deepest session key of the request.
	Key SessionKey
	// MovedFrom is the channel the session left (its thinking signatures
	// may be in the request) until a success on the new one; "" if none.
	MovedFrom string
	// StoreDegraded: the store failed and the decision was made without it.
	StoreDegraded bool
	// Model is the request's model (Request.Model, else the body's).
	Model string
	// ModelFamily is the model's family.
	ModelFamily ModelFamily
	// RetryAt (Unix ms, the router's clock): on ErrNoChannel, when a
	// channel is usable again; 0 unknown.
	RetryAt int64

	att *attempt
}

// Open reports whether the attempt is still open (neither reported nor
// released). Since 0.5.0.
func (d Decision) Open() bool {
	return d.att != nil && d.att.state.Load() == 0
}

// String describes the decision for logs. Since 0.5.0.
func (d Decision) String() string {
	return fmt.Sprintf("Decision{channel=%s reason=%s key=%s moved_from=%s model=%s}",
		d.Channel, d.Reason, d.Key, d.MovedFrom, d.Model)
}

// attempt is an open sticky_decision (C memory) shared by the copies of a
// Decision; state goes 0 (open) -> 1 (ended) once.
type attempt struct {
	raw   *C.sticky_decision
	r     *Router
	state atomic.Int32
}

// end claims the attempt: true exactly once.
func (a *attempt) end() bool {
	if a.state.CompareAndSwap(0, 1) {
		runtime.SetFinalizer(a, nil)
		return true
	}
	return false
}

// leak is the finalizer of an attempt nobody ended: release it (or only
// free its memory when the Router is closed).
func (a *attempt) leak() {
	if !a.state.CompareAndSwap(0, 1) {
		return
	}
	a.r.leaked.Add(1)
	r := a.r
	if !r.rlock() {
		C.gs_release(nil, a.raw) // closed: memory only
		return
	}
	C.gs_release(r.ctx, a.raw)
	r.mu.RUnlock()
}

// newDecision reads the C decision into a Decision.
func (r *Router) newDecision(raw *C.sticky_decision, cs *ChannelSet, req *Request) Decision {
	d := Decision{
		ChannelIndex:  int(raw.channel_index),
		Reason:        Reason(raw.reason),
		Key:           SessionKey(raw.key),
		StoreDegraded: raw.store_degraded != 0,
		ModelFamily:   ModelFamily(raw.model_family),
		RetryAt:       int64(raw.retry_at_ms),
	}
	if d.ChannelIndex >= 0 && d.ChannelIndex < cs.n {
		d.Channel = cs.ids[d.ChannelIndex]
	}
	if raw.moved_from[0] != 0 {
		d.MovedFrom = C.GoString(&raw.moved_from[0])
	}
	if raw.model[0] != 0 {
		if req.Model != "" && cEquals(&raw.model[0], req.Model) {
			d.Model = req.Model
		} else if last := r.lastModel.Load(); last != nil && cEquals(&raw.model[0], *last) {
			d.Model = *last // the body's model, as in the previous request: no allocation
		} else {
			m := C.GoString(&raw.model[0])
			r.lastModel.Store(&m)
			d.Model = m
		}
	}
	return d
}

// cEquals reports whether the NUL-terminated p equals s (no allocation).
func cEquals(p *C.char, s string) bool {
	b := (*[C.STICKY_MODEL_SIZE]byte)(unsafe.Pointer(p))
	if len(s) >= len(b) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b[i] != s[i] {
			return false
		}
	}
	return b[len(s)] == 0
}

// select.go owns Router.Select (one cgo call: the request's parts go to C
// as arguments, the decision comes back in C memory) and Router.Key (a
// request's key chain derived once).
package sticky

/*
#include "glue.h"
*/
import "C"

import (
	"context"
	"runtime"
	"strings"
)

// Select chooses a channel for req among channels (a *ChannelSet, or a
// ChannelList converted on the spot). ctx is checked before the call
// (a done ctx returns ctx.Err() without selecting); a call in flight
// cannot be interrupted (with a Redis store it waits at most the store's
// command timeout). Returns a Decision to end with Report or Release
// exactly once, or an *Error: ErrNoChannel (Error.RetryAt says when a
// channel recovers; 0 unknown), ErrParse / ErrLimit for a malformed or
// oversized body, ErrInvalid for bad arguments (e.g. two channels with
// one id). With ErrNoChannel the returned Decision is not open and carries
// Reason ReasonNoChannel, RetryAt and the request's Key and Model. Safe
// from any number of goroutines. Since 0.5.0.
func (r *Router) Select(ctx context.Context, req *Request, channels Channels) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	if req == nil {
		return Decision{}, goError(C.STICKY_EINVAL, "select", "nil request")
	}
	if channels == nil {
		return Decision{}, goError(C.STICKY_EINVAL, "select", "no channels")
	}
	if strings.IndexByte(req.Model, 0) >= 0 {
		return Decision{}, goError(C.STICKY_EINVAL, "select", "model contains a NUL byte")
	}
	cs, err := channels.channelSet()
	if err != nil {
		return Decision{}, err
	}
	var chain *C.sticky_key_chain
	if req.Chain != nil {
		chain = &req.Chain.raw
	}
	hb := flattenHeader(req.Header)
	hdata, hlens, hn := hb.ptrs()
	var flags C.unsigned
	if req.Strict {
		flags = C.STICKY_SELECT_STRICT
	}
	if !r.rlock() {
		return Decision{}, ErrClosed
	}
	res := C.gs_select(r.ctx, req.Tenant, req.Model, cbool(req.Model != ""),
		bytesPtr(req.Body), C.size_t(len(req.Body)), req.SessionID, cbool(req.SessionID != ""),
		chain, flags, C.int(req.Format), hdata, hlens, hn, cs.arr, C.size_t(cs.n))
	r.mu.RUnlock()
	runtime.KeepAlive(cs)
	runtime.KeepAlive(req)
	runtime.KeepAlive(&hb)
	if res.d == nil {
		return Decision{}, newError(res.rc, "select")
	}
	if res.rc != 0 {
		e := newError(res.rc, "select")
		e.RetryAt = int64(res.d.retry_at_ms)
		d := r.newDecision(res.d, cs, req)
		C.gs_free(unsafePtr(res.d))
		return d, e
	}
	d := r.newDecision(res.d, cs, req)
	a := &attempt{raw: res.d, r: r}
	runtime.SetFinalizer(a, (*attempt).leak)
	d.att = a
	return d, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// KeySource says where a key chain came from. Since 0.5.0.
type KeySource int

// The key sources (enum sticky_key_source). Since 0.5.0.
const (
	KeySourceNone     KeySource = C.STICKY_KEY_SOURCE_NONE     // nothing to key on
	KeySourceContent  KeySource = C.STICKY_KEY_SOURCE_CONTENT  // the conversation's messages
	KeySourceExplicit KeySource = C.STICKY_KEY_SOURCE_EXPLICIT // an explicit session id
)

// KeyChain is a request's session key chain (Router.Key), to pass as
// Request.Chain so the body is parsed once. Immutable; safe to share.
// Since 0.5.0.
type KeyChain struct {
	raw C.sticky_key_chain
}

// Depth is the number of keys (0 when there was nothing to key on).
// Since 0.5.0.
func (k *KeyChain) Depth() int { return int(k.raw.n_keys) }

// Source says where the chain came from. Since 0.5.0.
func (k *KeyChain) Source() KeySource { return KeySource(k.raw.source) }

// Deepest is the deepest key (the one Decision.Key reports). Since 0.5.0.
func (k *KeyChain) Deepest() SessionKey {
	if k.raw.n_keys == 0 {
		return 0
	}
	return SessionKey(k.raw.keys[k.raw.n_keys-1])
}

// Key derives req's key chain once (sticky_key_derive: Tenant, Body,
// Format, Header, SessionID are read). Returns an *Error: ErrParse for
// malformed JSON, ErrLimit for an oversized or too deep body. Safe from
// any number of goroutines. Since 0.5.0.
func (r *Router) Key(req *Request) (*KeyChain, error) {
	if req == nil {
		return nil, goError(C.STICKY_EINVAL, "key", "nil request")
	}
	k := &KeyChain{}
	hb := flattenHeader(req.Header)
	hdata, hlens, hn := hb.ptrs()
	if !r.rlock() {
		return nil, ErrClosed
	}
	rc := C.gs_key(r.ctx, req.Tenant, bytesPtr(req.Body), C.size_t(len(req.Body)),
		req.SessionID, cbool(req.SessionID != ""), C.int(req.Format), hdata, hlens, hn, &k.raw)
	r.mu.RUnlock()
	runtime.KeepAlive(req)
	runtime.KeepAlive(&hb)
	if rc != 0 {
		return nil, newError(rc, "key")
	}
	return k, nil
}

// stats.go owns what a Router tells about itself: Stats (the library's
// counters), the Prometheus text, and per-channel health.
package sticky

/*
#include "glue.h"
*/
import "C"

import (
	"unsafe"
)

// Stats are a Router's routing counters (sticky_ctx_stats): requests ==
// Hits + PromotedHits + NewSessions + Failovers + Spills + Migrations +
// StrictRejections + NoChannel. Since 0.5.0.
type Stats struct {
	Requests, Hits, PromotedHits, NewSessions, Failovers, Spills  uint64
	Migrations, StrictRejections, NoChannel, StoreErrors, Reports uint64
	Channels, TenantMismatches                                    uint64
	// LeakedDecisions counts Decisions released by the garbage collector
	// because nobody reported or released them (a bug in the caller).
	LeakedDecisions uint64
}

// Stats reads the counters (each exact, not one atomic snapshot). Safe
// from any goroutine. Since 0.5.0.
func (r *Router) Stats() (Stats, error) {
	var s C.sticky_ctx_stats
	if rc := C.sticky_ctx_stats_init_sized(&s, C.sizeof_sticky_ctx_stats); rc != 0 {
		return Stats{}, newError(rc, "stats")
	}
	if !r.rlock() {
		return Stats{}, ErrClosed
	}
	rc := C.sticky_ctx_get_stats(r.ctx, &s)
	r.mu.RUnlock()
	if rc != 0 {
		return Stats{}, newError(rc, "stats")
	}
	return Stats{
		Requests: uint64(s.requests), Hits: uint64(s.hits), PromotedHits: uint64(s.promoted_hits),
		NewSessions: uint64(s.new_sessions), Failovers: uint64(s.failovers), Spills: uint64(s.spills),
		Migrations: uint64(s.migrations), StrictRejections: uint64(s.strict_rejections),
		NoChannel: uint64(s.no_channel), StoreErrors: uint64(s.store_errors), Reports: uint64(s.reports),
		Channels: uint64(s.channels), TenantMismatches: uint64(s.tenant_mismatches),
		LeakedDecisions: r.leaked.Load(),
	}, nil
}

// Prometheus returns the counters, per-channel selections, in-flight
// counts and cooldowns in the Prometheus text format. Safe from any
// goroutine. Since 0.5.0.
func (r *Router) Prometheus() (string, error) {
	capacity := C.size_t(8192)
	for {
		if !r.rlock() {
			return "", ErrClosed
		}
		buf := C.malloc(capacity)
		var needed C.size_t
		rc := C.sticky_ctx_format_prometheus(r.ctx, (*C.char)(buf), capacity, &needed)
		r.mu.RUnlock()
		if rc == 0 {
			s := C.GoString((*C.char)(buf))
			C.free(buf)
			return s, nil
		}
		C.free(buf)
		if rc != C.STICKY_ELIMIT || needed+1 <= capacity {
			return "", newError(rc, "prometheus")
		}
		capacity = needed + 1
	}
}

// HealthState is a channel's health (enum sticky_health_state).
// Since 0.5.0.
type HealthState int

// The health states. Since 0.5.0.
const (
	HealthOK          HealthState = C.STICKY_HEALTH_OK           // no cooldown
	HealthCooling     HealthState = C.STICKY_HEALTH_COOLING      // transient cooldown
	HealthRateLimited HealthState = C.STICKY_HEALTH_RATE_LIMITED // announced rate-limit window
	HealthAuth        HealthState = C.STICKY_HEALTH_AUTH         // credentials refused (401/403)
)

// ChannelHealth is one channel's health (sticky_channel_health).
// Since 0.5.0.
type ChannelHealth struct {
	State               HealthState
	Cause               int         // enum sticky_health_cause
	Family              ModelFamily // the cooldown's scope
	UntilMs             int64       // when it ends (router clock); math.MaxInt64 = until cleared
	InFlight            uint32
	ConsecutiveFailures uint32
	CoolingFamilies     uint32 // bit (1 << family) per family cooling now
	Selections          uint64
	Failures            uint64
}

// ChannelHealth reads a channel's health; an *Error wrapping ErrNotFound
// when the router has none for the id (never offered: such a channel is
// OK). Safe from any goroutine. Since 0.5.0.
func (r *Router) ChannelHealth(id string) (ChannelHealth, error) {
	cid, err := cString(id, "channel id")
	if err != nil {
		return ChannelHealth{}, err
	}
	defer C.free(unsafe.Pointer(cid))
	var h C.sticky_channel_health
	C.sticky_channel_health_init_sized(&h, C.sizeof_sticky_channel_health)
	if !r.rlock() {
		return ChannelHealth{}, ErrClosed
	}
	rc := C.sticky_ctx_get_channel_health(r.ctx, cid, &h)
	r.mu.RUnlock()
	if rc != 0 {
		return ChannelHealth{}, newError(rc, "channel health "+id)
	}
	return ChannelHealth{
		State: HealthState(h.state), Cause: int(h.cause), Family: ModelFamily(h.family),
		UntilMs: int64(h.until_ms), InFlight: uint32(h.in_flight),
		ConsecutiveFailures: uint32(h.consecutive_failures), CoolingFamilies: uint32(h.cooling_families),
		Selections: uint64(h.selections), Failures: uint64(h.failures),
	}, nil
}

// ClearChannelHealth ends every cooldown of a channel (e.g. after its key
// was replaced following a 401). Safe from any goroutine, also while
// requests are routed. Since 0.5.0.
func (r *Router) ClearChannelHealth(id string) error {
	cid, err := cString(id, "channel id")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cid))
	if !r.rlock() {
		return ErrClosed
	}
	rc := C.sticky_ctx_clear_channel_health(r.ctx, cid)
	r.mu.RUnlock()
	return check(rc, "clear channel health "+id)
}

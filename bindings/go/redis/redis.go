// Package redis is the Redis session store of the Go binding of libsticky
// (libsticky-redis, the pooled blocking store sticky_redis_store_new):
// sessions and channel health shared by every gateway host that uses the
// same server and key prefix. A separate package, so that programs without
// libsticky-redis build: only importing this one links it (pkg-config
// package "sticky-redis").
//
//	st := redis.NewStore(redis.Options{Host: "10.0.0.5", Port: 6379})
//	r, err := sticky.New(sticky.Config{Store: st})
//
// Every Select (one round trip, a Lua script) and some Reports (a 429 with
// a reset time, a 401 / 403: published to the other hosts) wait on the
// network while holding their goroutine's OS thread: at most
// CommandTimeoutMs (plus ConnectTimeoutMs when a connection has to be made).
// A context cancelled meanwhile cannot interrupt the call. A server that is
// down never fails a Select: the decision is made without the store
// (Decision.StoreDegraded) and calls fail fast during the reconnect
// backoff. See docs/redis.md.
//
// Since 0.5.0.
package redis

/*
#cgo pkg-config: sticky-redis
#include <stdlib.h>
#include <sticky/sticky.h>
#include <sticky/redis_store.h>
*/
import "C"

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	"libsticky/sticky"
)

// Options configure the store (sticky_redis_store_options). Zero values
// take the library's defaults. Since 0.5.0.
type Options struct {
	Host       string // TCP host or IP; default "127.0.0.1"
	Port       int    // 1..65535; default 6379
	UnixPath   string // a Unix socket instead of Host / Port
	Username   string // ACL user; "" = none
	Password   string // "" = no AUTH
	DB         int    // SELECT; 0..1000000
	KeyPrefix  string // prepended to every key; default "sticky:"
	ClientName string // CLIENT SETNAME; default "libsticky"

	ConnectTimeoutMs uint32 // 1..60000; default 200
	CommandTimeoutMs uint32 // 1..60000; default 100: the longest a call blocks
	PoolSize         uint32 // connections, 1..256; default 4
	TTLSeconds       uint32 // session lifetime; default the Router's
	BackoffMinMs     uint32 // first reconnect delay; default 50
	BackoffMaxMs     uint32 // reconnect delay cap; default 2000
	// DisableKeepalive turns SO_KEEPALIVE off on TCP connections.
	DisableKeepalive bool
}

// Store is a Redis store for one Router: pass it as sticky.Config.Store
// (the Router creates the C store in New and frees it in Close). Safe for
// concurrent use; Stats may be called from any goroutine. Since 0.5.0.
type Store struct {
	opts Options
	mu   sync.Mutex
	st   *C.sticky_store
}

// NewStore returns a Store with options o; nothing connects until the
// first Select (a server down at start-up is not an error). Since 0.5.0.
func NewStore(o Options) *Store {
	return &Store{opts: o}
}

// Blocking reports true: calls wait on the network. Since 0.5.0.
func (s *Store) Blocking() bool { return true }

var abiErr = func() error {
	for _, c := range []struct {
		id   C.int
		name string
		size uintptr
	}{
		{C.STICKY_REDIS_STORE_STRUCT_OPTIONS, "sticky_redis_store_options", C.sizeof_sticky_redis_store_options},
		{C.STICKY_REDIS_STORE_STRUCT_STATS, "sticky_redis_store_stats", C.sizeof_sticky_redis_store_stats},
	} {
		if got := uintptr(C.sticky_redis_store_struct_size(c.id)); got != c.size {
			e := sticky.NewError(C.STICKY_EABI, "load libsticky-redis")
			e.Message += fmt.Sprintf(": %s is %d bytes in the loaded library, %d in the headers", c.name, got, c.size)
			return e
		}
	}
	return nil
}()

// OpenStore creates the C store for ctx (called by sticky.New). Returns
// an *sticky.Error: ErrConfig for an option out of range, ErrABI for a
// mismatched libsticky-redis, ErrBusy when the Store is already open.
// Since 0.5.0.
func (s *Store) OpenStore(ctx unsafe.Pointer) (unsafe.Pointer, func(), error) {
	if abiErr != nil {
		return nil, nil, abiErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st != nil {
		return nil, nil, sticky.NewError(C.STICKY_EBUSY, "redis store: already used by a Router")
	}
	var o C.sticky_redis_store_options
	if rc := C.sticky_redis_store_options_init_sized(&o, C.sizeof_sticky_redis_store_options); rc != 0 {
		return nil, nil, sticky.NewError(int(rc), "redis options")
	}
	var keep []unsafe.Pointer
	defer func() {
		for _, p := range keep {
			C.free(p)
		}
	}()
	strs := []struct {
		v   string
		dst **C.char
		set bool
	}{
		{s.opts.Host, &o.host, s.opts.Host != ""},
		{s.opts.UnixPath, &o.unix_path, s.opts.UnixPath != ""},
		{s.opts.Username, &o.username, s.opts.Username != ""},
		{s.opts.Password, &o.password, s.opts.Password != ""},
		{s.opts.KeyPrefix, &o.key_prefix, s.opts.KeyPrefix != ""},
		{s.opts.ClientName, &o.client_name, s.opts.ClientName != ""},
	}
	for _, f := range strs {
		if !f.set {
			continue
		}
		for i := 0; i < len(f.v); i++ {
			if f.v[i] == 0 {
				e := sticky.NewError(C.STICKY_EINVAL, "redis options")
				e.Message += ": a string contains a NUL byte"
				return nil, nil, e
			}
		}
		p := C.CString(f.v)
		keep = append(keep, unsafe.Pointer(p))
		*f.dst = p
	}
	if s.opts.Port != 0 {
		if s.opts.Port < 0 || s.opts.Port > math.MaxInt32 {
			return nil, nil, sticky.NewError(C.STICKY_ECONFIG, "redis options: port")
		}
		o.port = C.int32_t(s.opts.Port)
	}
	if s.opts.DB != 0 {
		if s.opts.DB < 0 || s.opts.DB > math.MaxInt32 {
			return nil, nil, sticky.NewError(C.STICKY_ECONFIG, "redis options: db")
		}
		o.db = C.int32_t(s.opts.DB)
	}
	u32 := []struct {
		v   uint32
		dst *C.uint32_t
	}{
		{s.opts.ConnectTimeoutMs, &o.connect_timeout_ms}, {s.opts.CommandTimeoutMs, &o.command_timeout_ms},
		{s.opts.PoolSize, &o.pool_size}, {s.opts.TTLSeconds, &o.ttl_seconds},
		{s.opts.BackoffMinMs, &o.backoff_min_ms}, {s.opts.BackoffMaxMs, &o.backoff_max_ms},
	}
	for _, f := range u32 {
		if f.v != 0 {
			*f.dst = C.uint32_t(f.v)
		}
	}
	if s.opts.DisableKeepalive {
		o.tcp_keepalive = 0
	}
	var st *C.sticky_store
	if rc := C.sticky_redis_store_new((*C.sticky_ctx)(ctx), &o, &st); rc != 0 {
		return nil, nil, sticky.NewError(int(rc), "redis store")
	}
	s.st = st
	return unsafe.Pointer(st), s.free, nil
}

func (s *Store) free() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st != nil {
		C.sticky_store_free(s.st)
		s.st = nil
	}
}

// Stats are the store's connection counters (sticky_redis_store_stats).
// Since 0.5.0.
type Stats struct {
	RoundTrips, Connects, Reconnects, ConnectFailures, Timeouts, IOErrors uint64
	ServerErrors, ProtocolErrors, NoscriptReloads, FastFails, PoolWaits   uint64
	PoolTimeouts, ConnectionsOpen, BackoffMs                              uint64
	HealthPublished, HealthReceived, HealthIgnored                        uint64
}

// Stats reads the counters (no I/O); sticky.ErrInvalid when the store is
// not open (before New or after Close). Since 0.5.0.
func (s *Store) Stats() (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st == nil {
		return Stats{}, sticky.NewError(C.STICKY_EINVAL, "redis stats: the store is not open")
	}
	var c C.sticky_redis_store_stats
	C.sticky_redis_store_stats_init_sized(&c, C.sizeof_sticky_redis_store_stats)
	if rc := C.sticky_redis_store_get_stats(s.st, &c); rc != 0 {
		return Stats{}, sticky.NewError(int(rc), "redis stats")
	}
	return Stats{
		RoundTrips: uint64(c.round_trips), Connects: uint64(c.connects), Reconnects: uint64(c.reconnects),
		ConnectFailures: uint64(c.connect_failures), Timeouts: uint64(c.timeouts), IOErrors: uint64(c.io_errors),
		ServerErrors: uint64(c.server_errors), ProtocolErrors: uint64(c.protocol_errors),
		NoscriptReloads: uint64(c.noscript_reloads), FastFails: uint64(c.fast_fails), PoolWaits: uint64(c.pool_waits),
		PoolTimeouts: uint64(c.pool_timeouts), ConnectionsOpen: uint64(c.connections_open), BackoffMs: uint64(c.backoff_ms),
		HealthPublished: uint64(c.health_published), HealthReceived: uint64(c.health_received),
		HealthIgnored: uint64(c.health_ignored),
	}, nil
}

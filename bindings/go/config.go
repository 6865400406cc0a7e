// config.go owns Config, the settings of a Router, and their conversion to
// the library's sticky_config (defaults, environment, range checks).
package sticky

/*
#include "glue.h"
*/
import "C"

import (
	"fmt"
	"math"
)

// Zero sets a numeric Config field to 0 where 0 is not the field's
// default (a Config field left 0 takes the library's default): e.g.
// Config{BreakerFailures: sticky.Zero} turns the circuit breaker off.
// Since 0.5.0.
const Zero = -1

// Policy is the placement policy of new sessions (docs/selection.md).
// Since 0.5.0.
type Policy int

// The placement policies (enum sticky_policy). Since 0.5.0.
const (
	PolicyLRU        Policy = C.STICKY_POLICY_LRU        // least recently used channel (default)
	PolicyRendezvous Policy = C.STICKY_POLICY_RENDEZVOUS // weighted rendezvous hashing by key
	PolicyRandom     Policy = C.STICKY_POLICY_RANDOM     // weighted random
)

// LogLevel is the severity of a library log line. Since 0.5.0.
type LogLevel int

// The log levels, most severe first; the zero LogLevel in Config means
// LogInfo. Since 0.5.0.
const (
	LogError LogLevel = 1 + C.STICKY_LOG_ERROR
	LogWarn  LogLevel = 1 + C.STICKY_LOG_WARN
	LogInfo  LogLevel = 1 + C.STICKY_LOG_INFO
	LogDebug LogLevel = 1 + C.STICKY_LOG_DEBUG
)

// Config holds the settings of a Router (the library's sticky_config,
// docs/api.md and docs/selection.md). The zero Config is the library's
// defaults with a memory store. Numeric fields: 0 = the library's default,
// Zero = the value 0, other values are range-checked by the library
// (ErrConfig). Read only by New. Since 0.5.0.
type Config struct {
	// FromEnv applies the STICKY_* / SESSION_* environment variables
	// (sticky_config_from_env) before the fields below, which win.
	FromEnv bool

	// Clock returns the current time in Unix milliseconds (any int64 is
	// accepted). nil: the system clock. Tests inject a fake clock here;
	// it is called from the goroutine of each Select / Report (a C-to-Go
	// callback, about a microsecond). It must not panic (a panic counts
	// as time 0).
	Clock func() int64
	// Log receives the library's log lines at LogLevel and more severe;
	// nil: silent. Called from the goroutine of the call that logs.
	Log func(level LogLevel, message string)
	// LogLevel is the most verbose level passed to Log (0: LogInfo).
	LogLevel LogLevel

	TTLSeconds             int64  // session lifetime, 1..31536000; default 3600
	RenewThresholdSeconds  int64  // renew when less is left, 0..TTL; default 300
	MaxSessions            int64  // memory store cap, 1..1e9; default 10000
	MessageCount           int64  // messages hashed into the key chain, 1..32; default 3
	IncludeSystemPrompt    bool   // the system prompt is part of the key
	ExplicitSources        int64  // STICKY_EXPLICIT_* bits honoured; default all (0xff)
	KeySecret              []byte // deployment secret: keys become HMAC-SHA256 (copied)
	Policy                 Policy
	MigrateBetterTier      bool  // move sessions to a better priority tier
	LeastBad               bool  // nothing usable: the channel recovering first
	BoundedLoadPermille    int64 // 0 (off) or 1000..100000
	Cooldown429Seconds     int64 // 429 without reset headers; default 60
	RetryAfterCapSeconds   int64 // longest Retry-After honoured; default 1800
	Cooldown529Seconds     int64 // 529 per model family; default 0
	Cooldown503Seconds     int64 // default 30
	Cooldown5xxSeconds     int64 // other 5xx, timeouts, transport; default 30
	CooldownAuthSeconds    int64 // 401/403; default 0 = until ClearChannelHealth
	BreakerFailures        int64 // consecutive failures opening the breaker; default 5
	BreakerCooldownSeconds int64 // default 30

	// ShmPath, when set, is a file (e.g. "/dev/shm/gateway.sticky") whose
	// shared-memory segment keeps the sessions (unless Store is set),
	// channel health and in-flight counts of every process that opens it:
	// the workers of one host (sticky_shm_open + sticky_ctx_use_shm).
	ShmPath string
	// Store, when set, keeps the sessions (e.g. redis.NewStore in package
	// libsticky/sticky/redis: shared by gateway hosts). The Router opens
	// it in New and closes it in Close.
	Store Store
}

// u32 converts a Config field: 0 leaves the default, Zero sets 0.
func u32(v int64, field string, dst *C.uint32_t) error {
	switch {
	case v == 0:
	case v == Zero:
		*dst = 0
	case v < 0 || v > math.MaxUint32:
		return goError(C.STICKY_ECONFIG, "config: "+field, fmt.Sprintf("%d is out of range", v))
	default:
		*dst = C.uint32_t(v)
	}
	return nil
}

// cConfig fills cfg from c (cfg already initialised). The key secret and
// callbacks are set by New.
func (c *Config) fill(cfg *C.sticky_config) error {
	if c.FromEnv {
		var bad *C.char
		if rc := C.sticky_config_from_env(cfg, &bad); rc != 0 {
			name := "?"
			if bad != nil {
				name = C.GoString(bad)
			}
			return newError(rc, "config from the environment: "+name)
		}
	}
	fields := []struct {
		v    int64
		name string
		dst  *C.uint32_t
	}{
		{c.TTLSeconds, "ttl_seconds", &cfg.ttl_seconds},
		{c.RenewThresholdSeconds, "renew_threshold_seconds", &cfg.renew_threshold_seconds},
		{c.MaxSessions, "max_sessions", &cfg.max_sessions},
		{c.MessageCount, "message_count", &cfg.message_count},
		{c.ExplicitSources, "explicit_sources", &cfg.explicit_sources},
		{c.BoundedLoadPermille, "bounded_load_permille", &cfg.bounded_load_permille},
		{c.Cooldown429Seconds, "cooldown_429_seconds", &cfg.cooldown_429_seconds},
		{c.RetryAfterCapSeconds, "retry_after_cap_seconds", &cfg.retry_after_cap_seconds},
		{c.Cooldown529Seconds, "cooldown_529_seconds", &cfg.cooldown_529_seconds},
		{c.Cooldown503Seconds, "cooldown_503_seconds", &cfg.cooldown_503_seconds},
		{c.Cooldown5xxSeconds, "cooldown_5xx_seconds", &cfg.cooldown_5xx_seconds},
		{c.CooldownAuthSeconds, "cooldown_auth_seconds", &cfg.cooldown_auth_seconds},
		{c.BreakerFailures, "breaker_failures", &cfg.breaker_failures},
		{c.BreakerCooldownSeconds, "breaker_cooldown_seconds", &cfg.breaker_cooldown_seconds},
	}
	for _, f := range fields {
		if err := u32(f.v, f.name, f.dst); err != nil {
			return err
		}
	}
	if c.IncludeSystemPrompt {
		cfg.include_system_prompt = 1
	}
	if c.MigrateBetterTier {
		cfg.migrate_better_tier = 1
	}
	if c.LeastBad {
		cfg.least_bad = 1
	}
	switch c.Policy {
	case PolicyLRU:
	case PolicyRendezvous, PolicyRandom:
		cfg.select_policy = C.int(c.Policy)
	default:
		return goError(C.STICKY_ECONFIG, "config: select_policy", fmt.Sprintf("unknown policy %d", c.Policy))
	}
	switch {
	case c.LogLevel == 0:
	case c.LogLevel >= LogError && c.LogLevel <= LogDebug:
		cfg.log_level = C.int(c.LogLevel - 1)
	default:
		return goError(C.STICKY_ECONFIG, "config: log_level", fmt.Sprintf("unknown level %d", c.LogLevel))
	}
	if len(c.KeySecret) > C.STICKY_MAX_KEY_SECRET_BYTES {
		return goError(C.STICKY_ECONFIG, "config: key_secret", "longer than 1024 bytes")
	}
	return nil
}

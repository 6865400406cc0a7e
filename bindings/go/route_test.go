// route_test.go owns the tests of the retry helper Route: moving on after
// retryable statuses and transport errors, NoChannel, cancellation, and an
// incident timeline the way a relay meets it.
package sticky_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"libsticky/sticky"
)

func TestRetryable(t *testing.T) {
	for _, s := range []int{401, 403, 408, 429, 500, 502, 503, 504, 529} {
		if !sticky.Retryable(s) {
			t.Fatalf("%d not retryable", s)
		}
	}
	for _, s := range []int{200, 201, 204, 400, 404, 413, 422, 501} {
		if sticky.Retryable(s) {
			t.Fatalf("%d retryable", s)
		}
	}
}

func TestRouteMovesOn(t *testing.T) {
	clk := newClock()
	r := newRouter(t, clk.config())
	cs := channelSet(t, "a", "b", "c")
	var tried []string
	d, status, err := r.Route(bg, &sticky.Request{Body: conv(1, 1, "")}, cs, func(d sticky.Decision) (int, http.Header, error) {
		tried = append(tried, d.Channel)
		switch len(tried) {
		case 1:
			return 429, http.Header{"Retry-After": {"60"}}, nil
		case 2:
			return 0, nil, syscall.ECONNREFUSED
		}
		return 200, nil, nil
	}, 4)
	if err != nil || status != 200 || len(tried) != 3 || d.Channel != tried[2] || d.Open() {
		t.Fatalf("route: %v %d %v %v", d, status, err, tried)
	}
	if tried[0] == tried[1] || tried[1] == tried[2] || tried[0] == tried[2] {
		t.Fatalf("channels tried: %v", tried)
	}
	// a non-retryable status is returned as is, after one attempt
	n := 0
	_, status, err = r.Route(bg, &sticky.Request{Body: conv(2, 1, "")}, cs, func(sticky.Decision) (int, http.Header, error) {
		n++
		return 400, nil, nil
	}, 3)
	if err != nil || status != 400 || n != 1 {
		t.Fatalf("400: %d %v %d", status, err, n)
	}
	// attempts used up: the last retryable status, no error
	n = 0
	_, status, err = r.Route(bg, &sticky.Request{Body: conv(3, 1, "")}, cs, func(sticky.Decision) (int, http.Header, error) {
		n++
		return 529, nil, nil
	}, 2)
	if err != nil || status != 529 || n != 2 {
		t.Fatalf("529: %d %v %d", status, err, n)
	}
	// the last attempt's transport error is returned
	_, _, err = r.Route(bg, &sticky.Request{Body: conv(4, 1, "")}, channelSet(t, "x", "y", "z"), func(sticky.Decision) (int, http.Header, error) {
		return 0, nil, syscall.ECONNRESET
	}, 2)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("transport: %v", err)
	}
}

func TestRouteNoChannelAndCancel(t *testing.T) {
	clk := newClock()
	r := newRouter(t, clk.config())
	cs := channelSet(t, "only")
	_, _, err := r.Route(bg, &sticky.Request{Body: conv(1, 1, "")}, cs, func(sticky.Decision) (int, http.Header, error) {
		return 429, http.Header{"Retry-After": {"120"}}, nil
	}, 3)
	var e *sticky.Error
	if !errors.As(err, &e) || !errors.Is(err, sticky.ErrNoChannel) || e.RetryAt != clk.now()+120_000 {
		t.Fatalf("no channel: %v", err)
	}
	clk.advance(121_000)
	ctx, cancel := context.WithCancel(bg)
	d, _, err := r.Route(ctx, &sticky.Request{Body: conv(1, 1, "")}, cs, func(sticky.Decision) (int, http.Header, error) {
		cancel() // the client went away mid-request
		return 0, nil, ctx.Err()
	}, 3)
	if !errors.Is(err, context.Canceled) || d.Open() {
		t.Fatalf("cancelled: %v", err)
	}
	if h, _ := r.ChannelHealth("only"); h.InFlight != 0 || h.State != sticky.HealthOK {
		t.Fatalf("a cancelled request must be released, not reported: %+v", h)
	}
}

// upstreams fakes Anthropic accounts for the incident timeline.
type upstreams struct {
	clk          *fakeClock
	rng          *rand.Rand
	limitedUntil map[string]int64 // account -> Unix seconds
	revoked      map[string]bool
	failNextMove bool
	served       []served
	incidents    map[string]map[int]bool // account -> turns it faulted
}

type served struct {
	acct       string
	conv, turn int
	model      string
}

func (u *upstreams) incident(acct string, turn int) {
	if u.incidents[acct] == nil {
		u.incidents[acct] = map[int]bool{}
	}
	u.incidents[acct][turn] = true
}

func (u *upstreams) send(n, turn int, model string, got *string) sticky.SendFunc {
	return func(d sticky.Decision) (int, http.Header, error) {
		now := u.clk.seconds()
		acct := d.Channel
		if u.failNextMove && d.Reason == sticky.ReasonFailover {
			u.failNextMove = false
			u.incident(acct, turn)
			return 0, nil, fmt.Errorf("dial %s: %w", acct, syscall.ECONNREFUSED)
		}
		if u.revoked[acct] {
			u.incident(acct, turn)
			return 401, http.Header{"Content-Type": {"application/json"}}, nil
		}
		if until := u.limitedUntil[acct]; now < until {
			u.incident(acct, turn)
			return 429, http.Header{
				"Retry-After":                        {strconv.FormatInt(until-now, 10)},
				"Anthropic-Ratelimit-Unified-Status": {"rejected"},
				"Anthropic-Ratelimit-Unified-Reset":  {strconv.FormatInt(until, 10)},
			}, nil
		}
		if u.rng.Float64() < 0.01 {
			return 529, nil, nil // overloaded noise: retried, not a reason to move
		}
		u.served = append(u.served, served{acct, n, turn, model})
		*got = acct
		return 200, nil, nil
	}
}

// TestIncidentTimelineLosesNoTurn: 80 conversations x 8 turns on four
// accounts through Route, with a 429 carrying reset headers on one
// account, 529 noise, a revoked key (401), haiku side requests and a
// failed move (the first channel a conversation moves to refuses the
// connection). No turn is lost while a healthy channel exists; a
// conversation moves only away from an incident, never onto the limited
// or revoked account, and its side requests do not move it.
func TestIncidentTimelineLosesNoTurn(t *testing.T) {
	const conversations, turns = 80, 8
	clk := newClock()
	up := &upstreams{clk: clk, rng: rand.New(rand.NewSource(7)), limitedUntil: map[string]int64{},
		revoked: map[string]bool{}, incidents: map[string]map[int]bool{}}
	r := newRouter(t, clk.config())
	cs := channelSet(t, "acct-a", "acct-b", "acct-c", "acct-d")
	home := map[int]string{}
	type move struct {
		turn     int
		old, new string
	}
	moves := map[int][]move{}
	for turn := 1; turn <= turns; turn++ {
		if turn == 3 { // account b is rate-limited for 10 minutes, and the first move fails
			up.limitedUntil["acct-b"] = clk.seconds() + 600
			up.failNextMove = true
		}
		if turn == 5 { // account c's key is revoked
			up.revoked["acct-c"] = true
		}
		for n := 0; n < conversations; n++ {
			clk.advance(250)
			var got string
			_, status, err := r.Route(bg, &sticky.Request{Tenant: "team-1", Body: conv(n, turn, "")}, cs,
				up.send(n, turn, "sonnet", &got), 4)
			if err != nil || status != 200 || got == "" {
				t.Fatalf("conversation %d turn %d lost: status %d, %v", n, turn, status, err)
			}
			if h, ok := home[n]; ok && got != h {
				moves[n] = append(moves[n], move{turn, h, got})
			}
			home[n] = got
			if n%3 == 0 { // a haiku side request of the same conversation
				var side string
				_, status, err := r.Route(bg, &sticky.Request{Tenant: "team-1", Body: conv(n, turn, "claude-haiku-4-5")}, cs,
					up.send(n, turn, "haiku", &side), 4)
				if err != nil || status != 200 || side == "" {
					t.Fatalf("side request %d turn %d lost: %d %v", n, turn, status, err)
				}
			}
		}
	}
	steady := 0
	for n := 0; n < conversations; n++ {
		ms := moves[n]
		if len(ms) == 0 {
			steady++
		}
		if len(ms) > 3 {
			t.Fatalf("conversation %d moved %d times: %v", n, len(ms), ms)
		}
		for _, m := range ms {
			if !up.incidents[m.old][m.turn] && !up.incidents[m.old][m.turn-1] {
				t.Fatalf("conversation %d moved %s -> %s at turn %d without an incident", n, m.old, m.new, m.turn)
			}
			if m.new == "acct-b" || (m.new == "acct-c" && m.turn >= 5) {
				t.Fatalf("conversation %d moved onto a faulty account: %v", n, ms)
			}
		}
	}
	for _, s := range up.served {
		if (s.acct == "acct-c" && s.turn >= 5) || (s.acct == "acct-b" && s.turn >= 3) {
			t.Fatalf("served by a faulty account: %+v", s)
		}
	}
	if steady < conversations/5 {
		t.Fatalf("only %d conversations kept their account", steady)
	}
	st, _ := r.Stats()
	if st.Failovers == 0 {
		t.Fatalf("stats %+v", st)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "upstream read timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestRouteCallerDeadlineReleases: a send failing because the caller's
// ctx passed its deadline is released (the client gave up: not the
// channel's fault); a timeout of the upstream's own with ctx alive is
// reported as a timeout.
func TestRouteCallerDeadlineReleases(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	cs := channelSet(t, "a")
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	_, _, err := r.Route(ctx, &sticky.Request{Body: conv(1, 1, "")}, cs, func(d sticky.Decision) (int, http.Header, error) {
		<-ctx.Done()
		return 0, nil, fmt.Errorf("post: %w", ctx.Err())
	}, 3)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("route past the caller's deadline: %v", err)
	}
	st, _ := r.Stats()
	h, _ := r.ChannelHealth("a")
	if st.Reports != 0 || h.Failures != 0 || h.InFlight != 0 {
		t.Fatalf("caller's deadline: reports %d failures %d in flight %d, want 0 0 0 (released)", st.Reports, h.Failures, h.InFlight)
	}
	_, _, err = r.Route(bg, &sticky.Request{Body: conv(2, 1, "")}, cs, func(d sticky.Decision) (int, http.Header, error) {
		return 0, nil, timeoutErr{}
	}, 1)
	st, _ = r.Stats()
	h, _ = r.ChannelHealth("a")
	if !errors.Is(err, timeoutErr{}) || st.Reports != 1 || h.Failures != 1 || h.InFlight != 0 {
		t.Fatalf("upstream timeout: %v, reports %d failures %d in flight %d, want 1 1 0", err, st.Reports, h.Failures, h.InFlight)
	}
}

// TestNilChannelsAndNULModel: a typed-nil *ChannelSet, nil channels or a
// nil send to Route, a NUL in Request.Model: ErrInvalid, no panic.
func TestNilChannelsAndNULModel(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	req := &sticky.Request{Body: conv(1, 1, "")}
	var nilSet *sticky.ChannelSet
	send := func(d sticky.Decision) (int, http.Header, error) { return 200, nil, nil }
	check := func(what string, f func() error) {
		t.Helper()
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("%s panicked: %v", what, p)
			}
		}()
		if err := f(); !errors.Is(err, sticky.ErrInvalid) {
			t.Fatalf("%s: %v, want ErrInvalid", what, err)
		}
	}
	check("Select(nil *ChannelSet)", func() error { _, err := r.Select(bg, req, nilSet); return err })
	check("Route(nil *ChannelSet)", func() error { _, _, err := r.Route(bg, req, nilSet, send, 1); return err })
	check("Route(nil channels)", func() error { _, _, err := r.Route(bg, req, nil, send, 1); return err })
	check("Route(nil send)", func() error { _, _, err := r.Route(bg, req, channelSet(t, "a"), nil, 1); return err })
	check("Select(Model with NUL)", func() error {
		_, err := r.Select(bg, &sticky.Request{Model: "claude\x00-opus", Body: conv(1, 1, "")}, channelSet(t, "a"))
		return err
	})
	if st, _ := r.Stats(); st.Requests != 0 {
		t.Fatalf("%d requests selected", st.Requests)
	}
}

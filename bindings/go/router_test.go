// router_test.go owns the unit tests of Router: placement and stickiness,
// a rate limit moving a conversation once, typed errors, NoChannel with
// RetryAt, stats and Prometheus, the injected clock, bad inputs, the key
// chain, headers, report/release rules and the leaked-decision finalizer.
package sticky_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"libsticky/sticky"
)

var bg = context.Background()

func mustSelect(t testing.TB, r *sticky.Router, req *sticky.Request, cs sticky.Channels) sticky.Decision {
	t.Helper()
	d, err := r.Select(bg, req, cs)
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	return d
}

func mustReport(t testing.TB, r *sticky.Router, d sticky.Decision, o sticky.Outcome) {
	t.Helper()
	if err := r.Report(d, o); err != nil {
		t.Fatalf("report: %v", err)
	}
}

func TestPlacementAndStickiness(t *testing.T) {
	clk := newClock()
	r := newRouter(t, clk.config())
	cs := channelSet(t, "acct-a", "acct-b", "acct-c", "acct-d")
	home := map[int]string{}
	used := map[string]int{}
	for turn := 1; turn <= 5; turn++ {
		for n := 0; n < 20; n++ {
			clk.advance(100)
			d := mustSelect(t, r, &sticky.Request{Tenant: "team-1", Body: conv(n, turn, "")}, cs)
			if turn == 1 {
				if d.Reason != sticky.ReasonNew {
					t.Fatalf("conversation %d turn 1: reason %s, want new", n, d.Reason)
				}
				home[n] = d.Channel
				used[d.Channel]++
			} else {
				if d.Channel != home[n] {
					t.Fatalf("conversation %d turn %d moved %s -> %s (%s)", n, turn, home[n], d.Channel, d.Reason)
				}
				if d.Reason != sticky.ReasonHit && d.Reason != sticky.ReasonPromotedHit {
					t.Fatalf("turn %d: reason %s", turn, d.Reason)
				}
			}
			if d.Channel != cs.IDs()[d.ChannelIndex] || d.Key == 0 || len(d.Key.String()) != 16 {
				t.Fatalf("decision fields: %+v", d)
			}
			if d.Model != "claude-sonnet-4-5" || d.ModelFamily != sticky.FamilySonnet {
				t.Fatalf("model %q family %s", d.Model, d.ModelFamily)
			}
			mustReport(t, r, d, sticky.Status(200))
		}
	}
	if len(used) != 4 {
		t.Fatalf("LRU placement used %d of 4 channels: %v", len(used), used)
	}
	st, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != 100 || st.NewSessions != 20 || st.Hits+st.PromotedHits != 80 || st.Reports != 100 {
		t.Fatalf("stats %+v", st)
	}
}

func rateLimitHeader(clk *fakeClock, seconds int64) http.Header {
	h := http.Header{}
	h.Set("Retry-After", strconv.FormatInt(seconds, 10))
	h.Set("Anthropic-Ratelimit-Unified-Status", "rejected")
	h.Set("Anthropic-Ratelimit-Unified-Reset", strconv.FormatInt(clk.seconds()+seconds, 10))
	return h
}

func TestRateLimitMovesOnceAndNotBack(t *testing.T) {
	clk := newClock()
	r := newRouter(t, clk.config())
	cs := channelSet(t, "acct-a", "acct-b", "acct-c")
	d := mustSelect(t, r, &sticky.Request{Tenant: "t", Body: conv(1, 1, "")}, cs)
	home := d.Channel
	mustReport(t, r, d, sticky.Status(200))

	d = mustSelect(t, r, &sticky.Request{Tenant: "t", Body: conv(1, 2, "")}, cs)
	if d.Channel != home {
		t.Fatalf("turn 2 on %s, want %s", d.Channel, home)
	}
	mustReport(t, r, d, sticky.Outcome{Status: 429, Header: rateLimitHeader(clk, 600)})
	h, err := r.ChannelHealth(home)
	if err != nil || h.State != sticky.HealthRateLimited || h.UntilMs != clk.now()+600_000 {
		t.Fatalf("health of %s after 429: %+v %v", home, h, err)
	}

	d = mustSelect(t, r, &sticky.Request{Tenant: "t", Body: conv(1, 2, "")}, cs)
	if d.Channel == home || d.Reason != sticky.ReasonFailover || d.MovedFrom != home {
		t.Fatalf("after 429: %v", d)
	}
	moved := d.Channel
	mustReport(t, r, d, sticky.Status(200))
	for turn := 3; turn <= 8; turn++ {
		clk.advance(5 * 60 * 1000) // past the reset after two turns
		d = mustSelect(t, r, &sticky.Request{Tenant: "t", Body: conv(1, turn, "")}, cs)
		if d.Channel != moved {
			t.Fatalf("turn %d went %s -> %s (%s): must not move back", turn, moved, d.Channel, d.Reason)
		}
		if d.MovedFrom != "" {
			t.Fatalf("moved_from %q after a success on the new channel", d.MovedFrom)
		}
		mustReport(t, r, d, sticky.Status(200))
	}
	st, _ := r.Stats()
	if st.Failovers != 1 {
		t.Fatalf("failovers %d, want 1", st.Failovers)
	}
}

func TestNoChannelRetryAt(t *testing.T) {
	clk := newClock()
	r := newRouter(t, clk.config())
	cs := channelSet(t, "only")
	d := mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs)
	h := http.Header{"Retry-After": {"30"}}
	mustReport(t, r, d, sticky.Outcome{Status: 429, Header: h})
	d, err := r.Select(bg, &sticky.Request{Body: conv(1, 1, "")}, cs)
	if !errors.Is(err, sticky.ErrNoChannel) {
		t.Fatalf("want ErrNoChannel, got %v", err)
	}
	var e *sticky.Error
	if !errors.As(err, &e) || e.Code != -7 || e.Name != "STICKY_ENOCHANNEL" || e.RetryAt != clk.now()+30_000 {
		t.Fatalf("error %#v", e)
	}
	if d.Reason != sticky.ReasonNoChannel || d.RetryAt != e.RetryAt || d.Open() {
		t.Fatalf("decision %+v", d)
	}
	if err := r.Report(d, sticky.Status(200)); !errors.Is(err, sticky.ErrInvalid) {
		t.Fatalf("report of a NoChannel decision: %v", err)
	}
	if err := r.Release(d); err != nil {
		t.Fatalf("release of a NoChannel decision: %v", err)
	}
	clk.advance(31_000)
	d = mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs)
	mustReport(t, r, d, sticky.Status(200))
}

func TestErrorsAreTyped(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	cs := channelSet(t, "a", "b")
	_, err := r.Select(bg, &sticky.Request{Body: []byte(`{"messages": [`)}, cs)
	var e *sticky.Error
	if !errors.Is(err, sticky.ErrParse) || !errors.As(err, &e) || e.Code != -3 || e.Name != "STICKY_EPARSE" {
		t.Fatalf("malformed body: %v", err)
	}
	if !strings.Contains(err.Error(), "STICKY_EPARSE") || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("message %q", err)
	}
	if errors.Is(err, sticky.ErrNoChannel) {
		t.Fatal("ErrParse matched ErrNoChannel")
	}
	dup, err := sticky.NewChannelSet([]sticky.Channel{{ID: "x"}, {ID: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Select(bg, &sticky.Request{Body: conv(1, 1, "")}, dup); !errors.Is(err, sticky.ErrInvalid) {
		t.Fatalf("duplicate ids: %v", err)
	}
	for _, bad := range [][]sticky.Channel{
		nil,
		{{ID: ""}},
		{{ID: "a\x00b"}},
		{{ID: strings.Repeat("x", 128)}},
		{{ID: "a", Models: []string{"claude\x00"}}},
		{{ID: "a", State: 7}},
		{{ID: "a", Priority: math.MaxInt64}},
	} {
		if _, err := sticky.NewChannelSet(bad); !errors.Is(err, sticky.ErrInvalid) {
			t.Fatalf("channels %q: %v", bad, err)
		}
	}
	if _, err := r.Select(bg, &sticky.Request{Body: conv(1, 1, "")}, sticky.ChannelList{{ID: "a\x00"}}); !errors.Is(err, sticky.ErrInvalid) {
		t.Fatalf("ChannelList with NUL: %v", err)
	}
	if _, err := r.ChannelHealth("a\x00"); !errors.Is(err, sticky.ErrInvalid) {
		t.Fatalf("health NUL: %v", err)
	}
	if _, err := r.ChannelHealth("never-seen"); !errors.Is(err, sticky.ErrNotFound) {
		t.Fatalf("health unknown: %v", err)
	}
}

func TestConfigValues(t *testing.T) {
	for name, cfg := range map[string]sticky.Config{
		"ttl huge":         {TTLSeconds: 1 << 40},
		"ttl negative":     {TTLSeconds: -5},
		"ttl over a year":  {TTLSeconds: 31536001},
		"threshold > ttl":  {TTLSeconds: 10, RenewThresholdSeconds: 20},
		"message count 33": {MessageCount: 33},
		"policy":           {Policy: 9},
		"log level":        {LogLevel: 42},
		"bounded load":     {BoundedLoadPermille: 5},
		"max sessions":     {MaxSessions: math.MaxInt64},
		"key secret":       {KeySecret: make([]byte, 2000)},
		"shm path NUL":     {ShmPath: "/dev/shm/x\x00y"},
	} {
		r, err := sticky.New(cfg)
		var e *sticky.Error
		if err == nil || !errors.As(err, &e) {
			t.Fatalf("%s: want an *Error, got %v", name, err)
		}
		if !errors.Is(err, sticky.ErrConfig) && !errors.Is(err, sticky.ErrInvalid) {
			t.Fatalf("%s: %v", name, err)
		}
		if r != nil {
			t.Fatalf("%s: router returned with an error", name)
		}
	}
	r, err := sticky.New(sticky.Config{TTLSeconds: 60, RenewThresholdSeconds: sticky.Zero,
		BreakerFailures: sticky.Zero, Cooldown429Seconds: sticky.Zero, Policy: sticky.PolicyRendezvous,
		KeySecret: []byte("secret"), ExplicitSources: sticky.Zero, LogLevel: sticky.LogDebug})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := r.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := r.Select(bg, &sticky.Request{}, channelSet(t, "a")); !errors.Is(err, sticky.ErrClosed) {
		t.Fatalf("select after close: %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("STICKY_POLICY", "bogus")
	_, err := sticky.New(sticky.Config{FromEnv: true})
	if !errors.Is(err, sticky.ErrConfig) || !strings.Contains(err.Error(), "STICKY_POLICY") {
		t.Fatalf("bad environment: %v", err)
	}
	t.Setenv("STICKY_POLICY", "random")
	r, err := sticky.New(sticky.Config{FromEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}

func TestClockExtremes(t *testing.T) {
	for _, now := range []int64{math.MinInt64, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64} {
		now := now
		r := newRouter(t, sticky.Config{Clock: func() int64 { return now }})
		cs := channelSet(t, "a", "b")
		for turn := 1; turn <= 3; turn++ {
			d, err := r.Select(bg, &sticky.Request{Body: conv(1, turn, "")}, cs)
			if errors.Is(err, sticky.ErrNoChannel) {
				continue // both channels limited: an answer, not a crash
			}
			if err != nil {
				t.Fatalf("clock %d: %v", now, err)
			}
			h := http.Header{"Retry-After": {"100000"}, "Anthropic-Ratelimit-Unified-Reset": {"9223372036854775807"}}
			if err := r.Report(d, sticky.Outcome{Status: 429, Header: h}); err != nil {
				t.Fatalf("clock %d report: %v", now, err)
			}
		}
		if _, err := r.Prometheus(); err != nil {
			t.Fatal(err)
		}
	}
	// a panicking clock reads as 0, never crashes the process
	r := newRouter(t, sticky.Config{Clock: func() int64 { panic("clock") }})
	d := mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, channelSet(t, "a"))
	mustReport(t, r, d, sticky.Status(200))
}

func TestBadInputs(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	cs := channelSet(t, "a", "b")
	// NULs inside tenant / model / session id / body are bytes: an error or
	// a decision, never a crash
	for _, req := range []*sticky.Request{
		{Tenant: "te\x00nant", Body: conv(1, 1, "")},
		{Model: "claude\x00sonnet", Body: conv(1, 1, "")},
		{SessionID: "s\x00id", Body: conv(1, 1, "")},
		{Body: []byte("{\"messages\":[{\"role\":\"user\",\"content\":\"a\x00b\"}]}")},
		{Body: []byte{0, 0, 0}},
		{Body: []byte(`{"model":"` + strings.Repeat("m", 500) + `","messages":[{"role":"user","content":"x"}]}`)},
		{Model: strings.Repeat("m", 1000), Body: conv(1, 1, "")},
		{SessionID: strings.Repeat("s", 100000), Body: conv(1, 1, "")},
		{Format: 99, Body: conv(1, 1, "")},
		{Format: -1, Body: conv(1, 1, "")},
		{},
	} {
		d, err := r.Select(bg, req, cs)
		if err != nil {
			var e *sticky.Error
			if !errors.As(err, &e) || e.Code >= 0 {
				t.Fatalf("%q: %v", req.Tenant, err)
			}
			continue
		}
		mustReport(t, r, d, sticky.Status(200))
	}
	deep := []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))
	if _, err := r.Select(bg, &sticky.Request{Body: deep}, cs); !errors.Is(err, sticky.ErrLimit) && !errors.Is(err, sticky.ErrParse) {
		t.Fatalf("deep body: %v", err)
	}
	huge := make([]byte, 64<<20+1)
	if _, err := r.Select(bg, &sticky.Request{Body: huge}, cs); !errors.Is(err, sticky.ErrLimit) {
		t.Fatalf("64 MiB + 1 body: %v", err)
	}
	d := mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs)
	for _, status := range []int{-1, 1000, math.MaxInt32 + 1, math.MinInt64} {
		d := mustSelect(t, r, &sticky.Request{Body: conv(2, 1, "")}, cs)
		if err := r.Report(d, sticky.Status(status)); !errors.Is(err, sticky.ErrInvalid) {
			t.Fatalf("status %d: %v", status, err)
		}
		if d.Open() {
			t.Fatal("a refused report leaves the attempt open")
		}
	}
	if err := r.Report(d, sticky.Outcome{Kind: 42}); !errors.Is(err, sticky.ErrInvalid) {
		t.Fatalf("bad kind: %v", err)
	}
	if err := r.Report(sticky.Decision{}, sticky.Status(200)); !errors.Is(err, sticky.ErrInvalid) {
		t.Fatalf("zero decision: %v", err)
	}
	if err := r.Release(sticky.Decision{}); err != nil {
		t.Fatalf("release zero decision: %v", err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := r.Select(ctx, &sticky.Request{Body: conv(1, 1, "")}, cs); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	if _, err := r.Select(bg, nil, cs); !errors.Is(err, sticky.ErrInvalid) {
		t.Fatalf("nil request: %v", err)
	}
	if _, err := r.Select(bg, &sticky.Request{}, nil); !errors.Is(err, sticky.ErrInvalid) {
		t.Fatalf("nil channels: %v", err)
	}
	for _, status := range []int{0, 999} {
		d := mustSelect(t, r, &sticky.Request{Body: conv(3, 1, "")}, cs)
		mustReport(t, r, d, sticky.Status(status))
	}
}

func TestReportOnceReleaseIdempotent(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	cs, _ := sticky.NewChannelSet([]sticky.Channel{{ID: "a", MaxInflight: 1}})
	d := mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs)
	copyOfD := d
	if !d.Open() || !copyOfD.Open() {
		t.Fatal("not open")
	}
	if h, _ := r.ChannelHealth("a"); h.InFlight != 1 {
		t.Fatalf("in flight %d", h.InFlight)
	}
	mustReport(t, r, d, sticky.Status(200))
	err := r.Report(copyOfD, sticky.Status(200))
	if !errors.Is(err, sticky.ErrNotFound) || err != sticky.ErrReleased {
		t.Fatalf("second report through a copy: %v", err)
	}
	if err := r.Release(d); err != nil || d.Open() {
		t.Fatalf("release after report: %v", err)
	}
	if h, _ := r.ChannelHealth("a"); h.InFlight != 0 {
		t.Fatalf("in flight %d", h.InFlight)
	}
	d = mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs)
	if err := r.Release(d); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(d); err != nil {
		t.Fatal(err)
	}
	if err := r.Report(d, sticky.Status(200)); err != sticky.ErrReleased {
		t.Fatalf("report after release: %v", err)
	}
	other := newRouter(t, sticky.Config{})
	d = mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs)
	if err := other.Report(d, sticky.Status(200)); !errors.Is(err, sticky.ErrInvalid) || !d.Open() {
		t.Fatalf("report to another router: %v", err)
	}
	mustReport(t, r, d, sticky.Status(200))
}

func TestKeyChainSelectsLikeTheBody(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	cs := channelSet(t, "a", "b", "c")
	body := conv(5, 3, "")
	k, err := r.Key(&sticky.Request{Tenant: "t", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if k.Depth() != 3 || k.Source() != sticky.KeySourceContent || k.Deepest() == 0 {
		t.Fatalf("chain depth %d source %d", k.Depth(), k.Source())
	}
	d1 := mustSelect(t, r, &sticky.Request{Tenant: "t", Body: body}, cs)
	mustReport(t, r, d1, sticky.Status(200))
	d2 := mustSelect(t, r, &sticky.Request{Tenant: "t", Chain: k, Model: "claude-sonnet-4-5"}, cs)
	mustReport(t, r, d2, sticky.Status(200))
	if d1.Channel != d2.Channel || d1.Key != d2.Key || d2.Key != k.Deepest() {
		t.Fatalf("body %v vs chain %v", d1, d2)
	}
	if _, err := r.Key(&sticky.Request{Body: []byte("{")}); !errors.Is(err, sticky.ErrParse) {
		t.Fatalf("key of a bad body: %v", err)
	}
}

func TestExplicitSessionHeader(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	cs := channelSet(t, "a", "b", "c", "d")
	h := http.Header{}
	for i := 0; i < 60; i++ { // more than the C stack array holds
		h.Set(fmt.Sprintf("X-Noise-%d", i), "v")
	}
	h.Set("X-Claude-Code-Session-Id", "3f1c9a2e-session")
	var first sticky.Decision
	for n := 0; n < 8; n++ {
		d := mustSelect(t, r, &sticky.Request{Body: conv(n, 1, ""), Header: h}, cs)
		mustReport(t, r, d, sticky.Status(200))
		if n == 0 {
			first = d
			continue
		}
		if d.Channel != first.Channel || d.Key != first.Key || d.Reason != sticky.ReasonExplicitHit {
			t.Fatalf("explicit session id not honoured: %v vs %v", d, first)
		}
	}
	k, err := r.Key(&sticky.Request{Body: conv(9, 1, ""), Header: h})
	if err != nil || k.Source() != sticky.KeySourceExplicit || k.Deepest() != first.Key {
		t.Fatalf("key %v %v", k, err)
	}
}

func TestStatsAndPrometheus(t *testing.T) {
	clk := newClock()
	r := newRouter(t, clk.config())
	cs := channelSet(t, "acct-a", "acct-b")
	for n := 0; n < 10; n++ {
		d := mustSelect(t, r, &sticky.Request{Body: conv(n, 1, "")}, cs)
		status := 200
		if n == 0 {
			status = 529
		}
		mustReport(t, r, d, sticky.Status(status))
	}
	st, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != 10 || st.Reports != 10 || st.Channels != 2 ||
		st.Requests != st.Hits+st.PromotedHits+st.NewSessions+st.Failovers+st.Spills+st.Migrations+st.StrictRejections+st.NoChannel {
		t.Fatalf("stats %+v", st)
	}
	text, err := r.Prometheus()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sticky_requests_total 10", "acct-a", "acct-b", "# TYPE"} {
		if !strings.Contains(text, want) {
			t.Fatalf("prometheus text lacks %q:\n%s", want, text)
		}
	}
	// a large exposition (many channels) grows the buffer
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = fmt.Sprintf("channel-with-a-long-name-%04d", i)
	}
	big := channelSet(t, ids...)
	for n := 0; n < 300; n++ {
		d := mustSelect(t, r, &sticky.Request{Body: conv(1000+n, 1, "")}, big)
		mustReport(t, r, d, sticky.Status(200))
	}
	text, err = r.Prometheus()
	if err != nil || len(text) < 8192 || !strings.Contains(text, ids[299]) {
		t.Fatalf("large prometheus text: %d bytes, %v", len(text), err)
	}
}

func TestClearChannelHealthAfter401(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	cs := channelSet(t, "a")
	d := mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs)
	mustReport(t, r, d, sticky.Status(401))
	if h, _ := r.ChannelHealth("a"); h.State != sticky.HealthAuth || h.UntilMs != math.MaxInt64 {
		t.Fatalf("after 401: %+v", h)
	}
	if _, err := r.Select(bg, &sticky.Request{Body: conv(1, 1, "")}, cs); !errors.Is(err, sticky.ErrNoChannel) {
		t.Fatalf("revoked: %v", err)
	}
	if err := r.ClearChannelHealth("a"); err != nil {
		t.Fatal(err)
	}
	d = mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs)
	mustReport(t, r, d, sticky.Status(200))
}

func TestStrictAndChannelStates(t *testing.T) {
	clk := newClock()
	r := newRouter(t, clk.config())
	cs := channelSet(t, "a", "b")
	d := mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs)
	home := d.Channel
	mustReport(t, r, d, sticky.Outcome{Status: 429, Header: http.Header{"Retry-After": {"60"}}})
	_, err := r.Select(bg, &sticky.Request{Body: conv(1, 2, ""), Strict: true}, cs)
	var e *sticky.Error
	if !errors.As(err, &e) || !errors.Is(err, sticky.ErrNoChannel) || e.RetryAt != clk.now()+60_000 {
		t.Fatalf("strict: %v", err)
	}
	// the other channel disabled, draining: a ChannelList per call
	other := "a"
	if home == "a" {
		other = "b"
	}
	list := sticky.ChannelList{{ID: home}, {ID: other, State: sticky.ChannelDisabled}}
	if _, err := r.Select(bg, &sticky.Request{Body: conv(1, 2, "")}, list); !errors.Is(err, sticky.ErrNoChannel) {
		t.Fatalf("only a disabled channel left: %v", err)
	}
	list[1].State = sticky.ChannelActive
	d = mustSelect(t, r, &sticky.Request{Body: conv(1, 2, "")}, list)
	if d.Channel != other || (d.Reason != sticky.ReasonFailover && d.Reason != sticky.ReasonSide) {
		t.Fatalf("%v", d)
	}
	mustReport(t, r, d, sticky.Status(200))
	// models: a channel serving only haiku never gets a sonnet request
	hs, _ := sticky.NewChannelSet([]sticky.Channel{{ID: "h", Models: []string{"claude-haiku-*"}}, {ID: "o", Models: []string{"claude-opus-*"}}})
	if _, err := r.Select(bg, &sticky.Request{Body: conv(2, 1, "")}, hs); !errors.Is(err, sticky.ErrNoChannel) {
		t.Fatalf("no channel serves sonnet: %v", err)
	}
	d = mustSelect(t, r, &sticky.Request{Body: conv(2, 1, "claude-haiku-4-5")}, hs)
	if d.Channel != "h" || d.ModelFamily != sticky.FamilyHaiku {
		t.Fatalf("%v", d)
	}
	mustReport(t, r, d, sticky.Status(200))
}

func TestLeakedDecisionIsReleasedByTheFinalizer(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	cs, _ := sticky.NewChannelSet([]sticky.Channel{{ID: "a", MaxInflight: 1}})
	func() {
		d := mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs)
		_ = d // dropped without Report / Release
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		st, _ := r.Stats()
		if st.LeakedDecisions == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the leaked decision was not released")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h, _ := r.ChannelHealth("a"); h.InFlight != 0 {
		t.Fatalf("in flight %d after the finalizer", h.InFlight)
	}
	d := mustSelect(t, r, &sticky.Request{Body: conv(1, 1, "")}, cs) // the slot is free again
	mustReport(t, r, d, sticky.Status(200))
}

func TestLibraryCheck(t *testing.T) {
	if err := sticky.CheckLibrary(); err != nil {
		t.Fatal(err)
	}
	if v := sticky.LibraryVersion(); !strings.HasPrefix(v, fmt.Sprintf("%d.%d.", sticky.HeaderVersionMajor, sticky.HeaderVersionMinor)) {
		t.Fatalf("library %s", v)
	}
	sizes := sticky.StructSizes()
	good := func(id int) uintptr { return sizes[id] }
	version := uint(sticky.HeaderVersionMajor<<16 | sticky.HeaderVersionMinor<<8 | 7)
	if err := sticky.CheckLibraryWith(version, good); err != nil {
		t.Fatalf("same version, other patch: %v", err)
	}
	err := sticky.CheckLibraryWith(version+1<<8, good)
	if !errors.Is(err, sticky.ErrABI) || !strings.Contains(err.Error(), "compiled against") {
		t.Fatalf("other minor: %v", err)
	}
	for id := range sizes {
		id := id
		err := sticky.CheckLibraryWith(version, func(i int) uintptr {
			if i == id {
				return sizes[i] + 8
			}
			return sizes[i]
		})
		if !errors.Is(err, sticky.ErrABI) {
			t.Fatalf("struct %d larger: %v", id, err)
		}
		if err := sticky.CheckLibraryWith(version, func(i int) uintptr {
			if i == id {
				return 0
			}
			return sizes[i]
		}); !errors.Is(err, sticky.ErrABI) {
			t.Fatalf("struct %d unknown: %v", id, err)
		}
	}
}

func TestLogCallback(t *testing.T) {
	var lines []string
	logf := func(level sticky.LogLevel, msg string) {
		lines = append(lines, fmt.Sprintf("%d %s", level, msg))
	}
	_, err := sticky.New(sticky.Config{TTLSeconds: 10, RenewThresholdSeconds: 20, Log: logf})
	if !errors.Is(err, sticky.ErrConfig) {
		t.Fatalf("threshold above ttl: %v", err)
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], fmt.Sprint(int(sticky.LogError), " ")) {
		t.Fatalf("the library's reason was not logged: %q", lines)
	}
	lines = nil
	r := newRouter(t, sticky.Config{Log: logf, LogLevel: sticky.LogDebug})
	_, _ = r.Select(bg, &sticky.Request{Body: []byte("{")}, channelSet(t, "a"))
	_, _ = r.Select(bg, &sticky.Request{Body: conv(1, 1, "")}, channelSet(t, "a", "a"))
	if len(lines) == 0 {
		t.Fatal("no debug line for bad requests")
	}
	// a panicking logger does not take the process down
	r2 := newRouter(t, sticky.Config{Log: func(sticky.LogLevel, string) { panic("log") }, LogLevel: sticky.LogDebug})
	_, _ = r2.Select(bg, &sticky.Request{Body: conv(1, 1, "")}, channelSet(t, "a", "a"))
}

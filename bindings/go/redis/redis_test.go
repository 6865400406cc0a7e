// redis_test.go owns the tests of the Redis store against a real
// redis-server (REDIS_SERVER or PATH) started on a free 127.0.0.1 port
// in a temporary directory and killed afterwards; skipped when missing,
// a failure when CI=true.
package redis_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"libsticky/sticky"
	"libsticky/sticky/redis"
)

func conv(n, turns int) []byte {
	var msgs []map[string]string
	for t := 0; t < turns; t++ {
		msgs = append(msgs, map[string]string{"role": "user", "content": fmt.Sprintf("conversation %d question %d", n, t)})
		if t < turns-1 {
			msgs = append(msgs, map[string]string{"role": "assistant", "content": fmt.Sprintf("answer %d.%d", n, t)})
		}
	}
	b, _ := json.Marshal(map[string]interface{}{"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": msgs})
	return b
}

// startRedis starts redis-server and returns its port.
func startRedis(t *testing.T) (int, *exec.Cmd) {
	t.Helper()
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		bin, _ = exec.LookPath("redis-server")
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not found (REDIS_SERVER) and CI=true")
		}
		t.Skip("redis-server not found (set REDIS_SERVER)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprint("127.0.0.1:", port), 200*time.Millisecond)
		if err == nil {
			fmt.Fprint(c, "PING\r\n")
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return port, cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("redis-server did not answer PING")
	return 0, nil
}

func TestTwoRoutersShareSessionsAndHealth(t *testing.T) {
	port, server := startRedis(t)
	open := func() (*sticky.Router, *redis.Store) {
		st := redis.NewStore(redis.Options{Port: port, KeyPrefix: "gotest:", CommandTimeoutMs: 500, ConnectTimeoutMs: 500})
		r, err := sticky.New(sticky.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		if !r.Blocking() {
			t.Fatal("a Redis router must say it blocks")
		}
		return r, st
	}
	a, stA := open()
	b, _ := open()
	cs, _ := sticky.NewChannelSet([]sticky.Channel{{ID: "acct-a"}, {ID: "acct-b"}, {ID: "acct-c"}})
	ctx := context.Background()
	home := map[int]string{}
	for n := 0; n < 10; n++ {
		d, err := a.Select(ctx, &sticky.Request{Tenant: "t", Body: conv(n, 1)}, cs)
		if err != nil || d.StoreDegraded {
			t.Fatalf("host a: %v %v", d, err)
		}
		home[n] = d.Channel
		if err := a.Report(d, sticky.Status(200)); err != nil {
			t.Fatal(err)
		}
	}
	for n := 0; n < 10; n++ {
		d, err := b.Select(ctx, &sticky.Request{Tenant: "t", Body: conv(n, 2)}, cs)
		if err != nil || d.Channel != home[n] || d.Reason == sticky.ReasonNew {
			t.Fatalf("host b: conversation %d on %v (host a: %s), %v", n, d, home[n], err)
		}
		_ = b.Report(d, sticky.Status(200))
	}
	// a 429 with a reset time reported on host a is published: host b moves
	// the conversations of that account, once
	d, _ := a.Select(ctx, &sticky.Request{Tenant: "t", Body: conv(0, 2)}, cs)
	h := http.Header{"Retry-After": {"600"}, "Anthropic-Ratelimit-Unified-Status": {"rejected"}}
	if err := a.Report(d, sticky.Outcome{Status: 429, Header: h}); err != nil {
		t.Fatal(err)
	}
	limited := home[0]
	for n := 0; n < 10; n++ {
		d, err := b.Select(ctx, &sticky.Request{Tenant: "t", Body: conv(n, 3)}, cs)
		if err != nil {
			t.Fatal(err)
		}
		if home[n] == limited && (d.Channel == limited || d.Reason != sticky.ReasonFailover) {
			t.Fatalf("host b kept conversation %d on the limited %s: %v", n, limited, d)
		}
		if home[n] != limited && d.Channel != home[n] {
			t.Fatalf("host b moved healthy conversation %d: %v", n, d)
		}
		_ = b.Report(d, sticky.Status(200))
	}
	rs, err := stA.Stats()
	if err != nil || rs.RoundTrips == 0 || rs.HealthPublished == 0 {
		t.Fatalf("redis stats %+v %v", rs, err)
	}

	// the server frozen: a select still answers (without the store) within
	// the command timeout, flagged StoreDegraded
	if err := server.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d, err = b.Select(ctx, &sticky.Request{Tenant: "t", Body: conv(99, 1)}, cs)
	took := time.Since(start)
	_ = server.Process.Signal(syscall.SIGCONT)
	if err != nil || !d.StoreDegraded {
		t.Fatalf("frozen server: %v %v", d, err)
	}
	_ = b.Report(d, sticky.Status(200))
	if took > 2*time.Second {
		t.Fatalf("a select waited %v on a frozen server (command timeout 500 ms)", took)
	}
}

func TestOptionsErrors(t *testing.T) {
	for name, o := range map[string]redis.Options{
		"pool":    {PoolSize: 100000},
		"prefix":  {KeyPrefix: strings.Repeat("p", 100)},
		"port":    {Port: 70000},
		"nul":     {Host: "a\x00b"},
		"timeout": {CommandTimeoutMs: 70000},
	} {
		_, err := sticky.New(sticky.Config{Store: redis.NewStore(o)})
		var e *sticky.Error
		if !errors.As(err, &e) || (!errors.Is(err, sticky.ErrConfig) && !errors.Is(err, sticky.ErrInvalid)) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	st := redis.NewStore(redis.Options{Port: 1})
	if _, err := st.Stats(); !errors.Is(err, sticky.ErrInvalid) {
		t.Fatalf("stats before open: %v", err)
	}
	r, err := sticky.New(sticky.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sticky.New(sticky.Config{Store: st}); !errors.Is(err, sticky.ErrBusy) {
		t.Fatalf("a store used twice: %v", err)
	}
	// nothing listens on port 1: decisions are made without the store
	cs, _ := sticky.NewChannelSet([]sticky.Channel{{ID: "a"}})
	d, err := r.Select(context.Background(), &sticky.Request{Body: conv(1, 1)}, cs)
	if err != nil || !d.StoreDegraded {
		t.Fatalf("server down: %v %v", d, err)
	}
	_ = r.Report(d, sticky.Status(200))
	r.Close()
	if _, err := st.Stats(); !errors.Is(err, sticky.ErrInvalid) {
		t.Fatalf("stats after close: %v", err)
	}
}

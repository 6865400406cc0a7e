// concurrency_test.go owns the tests of one Router shared by many
// goroutines (run under -race by meson's go-race test), and the re-run of
// the unit tests with cgo's full checks, cgocheck=2 (every pointer cgo passes or
// stores is checked against the cgo rules).
package sticky_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"libsticky/sticky"
)

func TestConcurrentSelectReport(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	chs := []sticky.Channel{{ID: "a", MaxInflight: 8}, {ID: "b", MaxInflight: 8}, {ID: "c"}, {ID: "d", Priority: 1}}
	cs, err := sticky.NewChannelSet(chs)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, perG = 16, 1500
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = conv(i, 1+i%4, "")
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	var mu sync.Mutex
	home := map[int]map[string]bool{}
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			hdr := http.Header{"Retry-After": {"0"}}
			for i := 0; i < perG; i++ {
				n := (g*perG + i) % len(bodies)
				req := &sticky.Request{Tenant: fmt.Sprint("tenant-", g%3), Body: bodies[n]}
				if i%7 == 0 {
					k, err := r.Key(req)
					if err != nil {
						errs <- err
						return
					}
					req = &sticky.Request{Tenant: req.Tenant, Chain: k, Model: "claude-sonnet-4-5"}
				}
				d, err := r.Select(bg, req, cs)
				if errors.Is(err, sticky.ErrNoChannel) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if home[n] == nil {
					home[n] = map[string]bool{}
				}
				home[n][d.Channel] = true
				mu.Unlock()
				switch i % 50 {
				case 0:
					err = r.Release(d)
				case 1:
					err = r.Report(d, sticky.Outcome{Status: 200, Header: hdr})
				default:
					err = r.Report(d, sticky.Status(200))
				}
				if err != nil {
					errs <- err
					return
				}
				if i%500 == 0 {
					if _, err := r.Prometheus(); err != nil {
						errs <- err
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, _ := r.Stats()
	if st.Requests != goroutines*perG {
		t.Fatalf("requests %d, want %d", st.Requests, goroutines*perG)
	}
	for _, id := range cs.IDs() {
		if h, err := r.ChannelHealth(id); err == nil && h.InFlight != 0 {
			t.Fatalf("%s: %d in flight after every attempt ended", id, h.InFlight)
		}
	}
}

// TestConcurrentReportOfCopies: many goroutines end the same attempt
// through copies; exactly one report wins.
func TestConcurrentReportOfCopies(t *testing.T) {
	r := newRouter(t, sticky.Config{})
	cs := channelSet(t, "a", "b")
	for round := 0; round < 200; round++ {
		d := mustSelect(t, r, &sticky.Request{Body: conv(round, 1, "")}, cs)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int, d sticky.Decision) {
				defer wg.Done()
				var err error
				if g%2 == 0 {
					err = r.Report(d, sticky.Status(200))
					if err == nil {
						mu.Lock()
						wins++
						mu.Unlock()
					} else if err != sticky.ErrReleased {
						t.Error(err)
					}
				} else if err = r.Release(d); err != nil {
					t.Error(err)
				}
			}(g, d)
		}
		wg.Wait()
		if wins > 1 {
			t.Fatalf("%d reports of one attempt succeeded", wins)
		}
	}
	st, _ := r.Stats()
	if st.Reports > 200 {
		t.Fatalf("reports %d", st.Reports)
	}
	for _, id := range cs.IDs() {
		if h, err := r.ChannelHealth(id); err == nil && h.InFlight != 0 {
			t.Fatalf("%s: %d in flight after every attempt ended", id, h.InFlight)
		}
	}
}

// TestConcurrentClose: goroutines loop Select + Report (and the
// other calls using the context) while Close runs. Close must wait for the
// calls in flight and the later ones return ErrClosed: every call returns
// nil or ErrClosed, nothing crashes (without the lock, the context was
// freed under a running call: SIGSEGV, and a data race under -race).
func TestConcurrentClose(t *testing.T) {
	cs := channelSet(t, "a", "b")
	for round := 0; round < 20; round++ {
		r, err := sticky.New(sticky.Config{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var calls atomic.Int64
		errs := make(chan error, 64)
		ok := func(err error) bool {
			if err == nil {
				return true
			}
			if !errors.Is(err, sticky.ErrClosed) {
				select {
				case errs <- err:
				default:
				}
			}
			return false
		}
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; ; i++ {
					calls.Add(1)
					d, err := r.Select(bg, &sticky.Request{Tenant: "t", Body: conv(g*100000+i, 1, "")}, cs)
					if !ok(err) {
						if err != nil && errors.Is(err, sticky.ErrClosed) {
							return
						}
						continue
					}
					switch i % 4 {
					case 0:
						ok(r.Release(d))
					default:
						ok(r.Report(d, sticky.Status(200)))
					}
					if i%16 == 0 {
						_, err := r.Stats()
						ok(err)
						_, err = r.ChannelHealth("a")
						if !errors.Is(err, sticky.ErrNotFound) {
							ok(err)
						}
						ok(r.ClearChannelHealth("b"))
						_, err = r.Key(&sticky.Request{Body: conv(i, 1, "")})
						ok(err)
					}
				}
			}(g)
		}
		for calls.Load() < int64(50+round*20) {
			runtime.Gosched()
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: a call during Close returned %v, want nil or ErrClosed", round, err)
		}
		if _, err := r.Select(bg, &sticky.Request{Body: conv(1, 1, "")}, cs); !errors.Is(err, sticky.ErrClosed) {
			t.Fatalf("Select after Close: %v", err)
		}
	}
}

// TestCgoCheck2 re-runs the tests that pass bodies, headers, chains and
// channel sets to C with cgo's full pointer checks: a Go pointer stored in
// C memory, or Go memory holding Go pointers passed to C, aborts the child.
// Go < 1.21 turns them on at run time (GODEBUG=cgocheck=2); Go >= 1.21
// refuses that at startup and needs a binary built with
// GOEXPERIMENT=cgocheck2, so the test binary is rebuilt that way.
func TestCgoCheck2(t *testing.T) {
	if isChild() {
		t.Skip("child")
	}
	if testing.Short() {
		t.Skip("short")
	}
	bin, env := os.Args[0], append(os.Environ(), childEnv+"=cgocheck")
	if goAtLeast(runtime.Version(), 1, 21) {
		gotool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gotool); err != nil {
			if gotool, err = exec.LookPath("go"); err != nil {
				t.Skipf("%s needs a test binary built with GOEXPERIMENT=cgocheck2 and no go tool was found", runtime.Version())
			}
		}
		bin = filepath.Join(t.TempDir(), "sticky.cgocheck2.test")
		build := exec.Command(gotool, "test", "-c", "-o", bin, ".")
		build.Env = append(os.Environ(), "GOEXPERIMENT=cgocheck2")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building the tests with GOEXPERIMENT=cgocheck2: %v\n%s", err, out)
		}
	} else {
		env = append(env, "GODEBUG=cgocheck=2")
	}
	cmd := exec.Command(bin, "-test.run",
		"Placement|RateLimit|NoChannel|Errors|BadInputs|KeyChain|Explicit|Stats|Concurrent|Leaked|Route|Incident", "-test.count=1")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tests under cgocheck=2 (%s): %v\n%s", runtime.Version(), err, out)
	}
}

// goAtLeast reports whether the Go release named v (runtime.Version():
// "go1.21.3", "go1.22rc1", "go1.19.8 X:boringcrypto") is major.minor or
// later; a development version ("devel ...") counts as later.
func goAtLeast(v string, major, minor int) bool {
	if !strings.HasPrefix(v, "go") {
		return true
	}
	v = strings.TrimPrefix(v, "go")
	var nums [2]int
	for i := range nums {
		j := 0
		for j < len(v) && v[j] >= '0' && v[j] <= '9' {
			j++
		}
		nums[i], _ = strconv.Atoi(v[:j])
		v = v[j:]
		if !strings.HasPrefix(v, ".") {
			break
		}
		v = v[1:]
	}
	return nums[0] > major || (nums[0] == major && nums[1] >= minor)
}

func TestGoAtLeast(t *testing.T) {
	for v, want := range map[string]bool{
		"go1.19.8": false, "go1.20": false, "go1.21.0": true, "go1.21rc2": true, "go1.22.1 X:boringcrypto": true,
		"go1.3": false, "go2.0": true, "devel go1.23-abc": true,
	} {
		if got := goAtLeast(v, 1, 21); got != want {
			t.Errorf("goAtLeast(%q, 1, 21) = %v, want %v", v, got, want)
		}
	}
}

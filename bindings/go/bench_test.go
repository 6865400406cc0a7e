// bench_test.go owns the benchmark of what the binding adds to a select +
// report: Router.Select + Router.Report against the same calls made from
// C (internal/cbench) on the same request in the same process. Cases: a
// precomputed key chain, a small body, a 50 KB body (passed in place: the
// ratio must not grow with the body). `go test -bench .` runs them as Go
// benchmarks; TestBenchJSON (STICKY_GO_BENCH=1, meson's go-select
// benchmark) prints one JSON line per case.
package sticky_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	"libsticky/sticky"
	"libsticky/sticky/internal/cbench"
)

type benchCase struct {
	name string
	req  *sticky.Request
}

func benchBody(systemBytes int) []byte {
	b, _ := json.Marshal(map[string]interface{}{
		"model": "claude-sonnet-4-5", "system": strings.Repeat("s", systemBytes),
		"messages": []map[string]string{{"role": "user", "content": "hello there"}},
	})
	return b
}

func benchCases(tb testing.TB, r *sticky.Router) []benchCase {
	small := benchBody(0)
	k, err := r.Key(&sticky.Request{Tenant: "tenant-1", Body: small})
	if err != nil {
		tb.Fatal(err)
	}
	return []benchCase{
		{"select_report_key", &sticky.Request{Tenant: "tenant-1", Chain: k}},
		{"select_report_small_body", &sticky.Request{Tenant: "tenant-1", Body: small}},
		{"select_report_50kb_body", &sticky.Request{Tenant: "tenant-1", Body: benchBody(50_000)}},
	}
}

func goLoop(b *testing.B, r *sticky.Router, cs *sticky.ChannelSet, req *sticky.Request) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d, err := r.Select(bg, req, cs)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Report(d, sticky.Status(200)); err != nil {
			b.Fatal(err)
		}
	}
}

func cLoop(b *testing.B, r *sticky.Router, cs *sticky.ChannelSet, req *sticky.Request) {
	arr, n := sticky.ChannelArray(cs)
	var chain unsafe.Pointer
	if req.Chain != nil {
		chain = sticky.ChainPointer(req.Chain)
	}
	b.ResetTimer()
	if _, err := cbench.SelectReport(sticky.CtxPointer(r), req.Tenant, req.Body, chain, arr, n, b.N); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkSelectReport(b *testing.B) {
	r := newRouter(b, sticky.Config{})
	cs := channelSet(b, "acct-a", "acct-b", "acct-c", "acct-d")
	for _, c := range benchCases(b, r) {
		c := c
		b.Run("go_"+c.name, func(b *testing.B) { goLoop(b, r, cs, c.req) })
		b.Run("c_"+c.name, func(b *testing.B) { cLoop(b, r, cs, c.req) })
	}
}

// BenchmarkSelectReportParallel: one Router shared by GOMAXPROCS goroutines.
func BenchmarkSelectReportParallel(b *testing.B) {
	r := newRouter(b, sticky.Config{})
	cs := channelSet(b, "acct-a", "acct-b", "acct-c", "acct-d")
	body := benchBody(0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := &sticky.Request{Tenant: "tenant-1", Body: body}
		for pb.Next() {
			d, err := r.Select(bg, req, cs)
			if err != nil {
				b.Error(err)
				return
			}
			_ = r.Report(d, sticky.Status(200))
		}
	})
}

// TestBenchJSON prints {"bench","ns_per_op","ratio_vs","ratio"} (plus
// c_ns_per_op, added_ns, allocs_per_op) per case: the best of 3 rounds
// of testing.Benchmark for each side.
func TestBenchJSON(t *testing.T) {
	if os.Getenv("STICKY_GO_BENCH") == "" {
		t.Skip("set STICKY_GO_BENCH=1 (meson test --benchmark)")
	}
	r := newRouter(t, sticky.Config{})
	cs := channelSet(t, "acct-a", "acct-b", "acct-c", "acct-d")
	best := func(f func(b *testing.B)) (float64, int64) {
		var ns float64
		var allocs int64
		for round := 0; round < 3; round++ {
			res := testing.Benchmark(f)
			v := float64(res.T.Nanoseconds()) / float64(res.N)
			if round == 0 || v < ns {
				ns, allocs = v, res.AllocsPerOp()
			}
		}
		return ns, allocs
	}
	for _, c := range benchCases(t, r) {
		c := c
		goNs, allocs := best(func(b *testing.B) { goLoop(b, r, cs, c.req) })
		cNs, _ := best(func(b *testing.B) { cLoop(b, r, cs, c.req) })
		line, _ := json.Marshal(map[string]interface{}{
			"bench": "go_" + c.name, "ns_per_op": round1(goNs), "ratio_vs": "c_" + c.name,
			"ratio": float64(int(goNs/cNs*1000+0.5)) / 1000, "c_ns_per_op": round1(cNs),
			"added_ns": round1(goNs - cNs), "allocs_per_op": allocs,
		})
		fmt.Println(string(line))
	}
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

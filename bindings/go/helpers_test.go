// helpers_test.go owns what the tests share: Claude-style conversation
// bodies, a settable clock, channel sets, and the child-process switch
// used by the tests that re-execute the test binary.
package sticky_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"libsticky/sticky"
)

// conv is the body of turn turns (1-based) of conversation n: user /
// assistant messages growing by one exchange per turn, like Claude Code.
func conv(n, turns int, model string) []byte {
	if model == "" {
		model = "claude-sonnet-4-5"
	}
	var msgs []map[string]string
	for t := 0; t < turns; t++ {
		msgs = append(msgs, map[string]string{"role": "user", "content": fmt.Sprintf("conversation %d question %d", n, t)})
		if t < turns-1 {
			msgs = append(msgs, map[string]string{"role": "assistant", "content": fmt.Sprintf("answer %d.%d", n, t)})
		}
	}
	b, err := json.Marshal(map[string]interface{}{
		"model": model, "max_tokens": 1024,
		"system":   "You are Claude Code, Anthropic's official CLI for Claude.",
		"messages": msgs,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// fakeClock is a settable Unix-ms clock.
type fakeClock struct{ ms atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ms.Store(1_750_000_000_000)
	return c
}

func (c *fakeClock) now() int64            { return c.ms.Load() }
func (c *fakeClock) advance(ms int64)      { c.ms.Add(ms) }
func (c *fakeClock) seconds() int64        { return c.ms.Load() / 1000 }
func (c *fakeClock) config() sticky.Config { return sticky.Config{Clock: c.now} }

func channelSet(t testing.TB, ids ...string) *sticky.ChannelSet {
	t.Helper()
	chs := make([]sticky.Channel, len(ids))
	for i, id := range ids {
		chs[i] = sticky.Channel{ID: id}
	}
	cs, err := sticky.NewChannelSet(chs)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func newRouter(t testing.TB, cfg sticky.Config) *sticky.Router {
	t.Helper()
	r, err := sticky.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// childEnv names the environment variable that makes a test binary act
// as the child of a multi-process test.
const childEnv = "STICKY_GO_TEST_CHILD"

func isChild() bool { return os.Getenv(childEnv) != "" }

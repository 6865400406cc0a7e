// shm_test.go owns the shared-memory test: two live processes (this test
// binary re-executed as a child) open one segment and agree on the
// sessions' channels and on a rate limit reported by the other.
package sticky_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"libsticky/sticky"
)

// shmChild is the child's side: it reads commands on stdin ("select N
// TURN", "limit CHANNEL", "quit") and answers each with one line.
func shmChild(path string) {
	r, err := sticky.New(sticky.Config{ShmPath: path})
	if err != nil {
		fmt.Println("error", err)
		return
	}
	defer r.Close()
	cs, _ := sticky.NewChannelSet([]sticky.Channel{{ID: "a"}, {ID: "b"}, {ID: "c"}})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch f[0] {
		case "select":
			n, _ := strconv.Atoi(f[1])
			turn, _ := strconv.Atoi(f[2])
			d, err := r.Select(bg, &sticky.Request{Tenant: "t", Body: conv(n, turn, "")}, cs)
			if err != nil {
				fmt.Println("error", err)
				continue
			}
			_ = r.Report(d, sticky.Status(200))
			fmt.Println(d.Channel, d.Reason)
		case "quit":
			fmt.Println("bye")
			return
		}
	}
}

func TestShmTwoProcessesAgree(t *testing.T) {
	if isChild() {
		if p := os.Getenv("STICKY_GO_SHM_CHILD"); p != "" {
			shmChild(p)
		}
		t.Skip("child")
	}
	path := filepath.Join(t.TempDir(), "gw.sticky")
	if _, err := os.Stat("/dev/shm"); err == nil {
		path = filepath.Join("/dev/shm", fmt.Sprintf("sticky-go-test-%d", os.Getpid()))
		t.Cleanup(func() { os.Remove(path) })
	}
	r := newRouter(t, sticky.Config{ShmPath: path})
	cs := channelSet(t, "a", "b", "c")

	cmd := exec.Command(os.Args[0], "-test.run", "^TestShmTwoProcessesAgree$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=shm", "STICKY_GO_SHM_CHILD="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	out := bufio.NewReader(stdout)
	ask := func(line string) []string {
		t.Helper()
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatal(err)
		}
		reply, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		return strings.Fields(reply)
	}

	// the parent places 12 conversations; the child's next turns land on
	// the same channels (a hit in the shared segment)
	home := map[int]string{}
	for n := 0; n < 12; n++ {
		d := mustSelect(t, r, &sticky.Request{Tenant: "t", Body: conv(n, 1, "")}, cs)
		mustReport(t, r, d, sticky.Status(200))
		home[n] = d.Channel
	}
	for n := 0; n < 12; n++ {
		got := ask(fmt.Sprintf("select %d 2", n))
		if got[0] != home[n] || got[1] == "new" {
			t.Fatalf("child put conversation %d on %v, parent on %s", n, got, home[n])
		}
	}
	// a rate limit the parent reports is seen by the child: the
	// conversations of that channel move, once, for both
	limited := home[0]
	d := mustSelect(t, r, &sticky.Request{Tenant: "t", Body: conv(0, 2, "")}, cs)
	h := http.Header{"Retry-After": {"600"}, "Anthropic-Ratelimit-Unified-Status": {"rejected"}}
	mustReport(t, r, d, sticky.Outcome{Status: 429, Header: h})
	for n := 0; n < 12; n++ {
		got := ask(fmt.Sprintf("select %d 3", n))
		if home[n] == limited {
			if got[0] == limited || got[1] != "failover" {
				t.Fatalf("child: conversation %d still on the limited %s: %v", n, limited, got)
			}
			home[n] = got[0]
		} else if got[0] != home[n] {
			t.Fatalf("child moved healthy conversation %d: %v", n, got)
		}
	}
	for n := 0; n < 12; n++ { // and the parent follows the child's moves
		d := mustSelect(t, r, &sticky.Request{Tenant: "t", Body: conv(n, 4, "")}, cs)
		mustReport(t, r, d, sticky.Status(200))
		if d.Channel != home[n] {
			t.Fatalf("parent: conversation %d on %s, child moved it to %s", n, d.Channel, home[n])
		}
	}
	if got := ask("quit"); got[0] != "bye" {
		t.Fatalf("child: %v", got)
	}
}

// proxy_test.go owns the end-to-end test of the example relay: fake
// Anthropic upstreams on 127.0.0.1 (httptest servers answering POST
// /v1/messages like the Messages API, one switchable to 429 with
// retry-after and anthropic-ratelimit-unified-* headers) behind the
// Proxy; 20 conversations x 5 turns of Claude-style bodies.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"libsticky/sticky"
)

// fakeAnthropic is one upstream account.
type fakeAnthropic struct {
	id, key  string
	limited  atomic.Bool
	mu       sync.Mutex
	served   map[int][]int // conversation -> turns answered 200
	rejected atomic.Int64
	srv      *httptest.Server
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type messagesRequest struct {
	Model    string    `json:"model"`
	System   string    `json:"system"`
	Messages []message `json:"messages"`
}

func newFake(t *testing.T, id string) *fakeAnthropic {
	f := &fakeAnthropic{id: id, key: "sk-ant-" + id, served: map[int][]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
			w.WriteHeader(404)
			return
		}
		if r.Header.Get("X-Api-Key") != f.key || r.Header.Get("Authorization") != "" {
			w.WriteHeader(401)
			io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)
			return
		}
		var req messagesRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			w.WriteHeader(400)
			return
		}
		if f.limited.Load() {
			f.rejected.Add(1)
			reset := time.Now().Add(10 * time.Minute).Unix()
			w.Header().Set("Retry-After", "600")
			w.Header().Set("Anthropic-Ratelimit-Unified-Status", "rejected")
			w.Header().Set("Anthropic-Ratelimit-Unified-Reset", strconv.FormatInt(reset, 10))
			w.WriteHeader(429)
			io.WriteString(w, `{"type":"error","error":{"type":"rate_limit_error","message":"rate limited"}}`)
			return
		}
		var n, q int
		fmt.Sscanf(req.Messages[0].Content, "conversation %d question %d", &n, &q)
		turn := (len(req.Messages) + 1) / 2
		f.mu.Lock()
		f.served[n] = append(f.served[n], turn)
		f.mu.Unlock()
		w.Header().Set("X-Upstream", f.id)
		json.NewEncoder(w).Encode(map[string]interface{}{
			"id": fmt.Sprintf("msg_%s_%d_%d", f.id, n, turn), "type": "message", "role": "assistant",
			"model": req.Model, "stop_reason": "end_turn",
			"content": []map[string]string{{"type": "text", "text": fmt.Sprintf("answer %d.%d", n, turn-1)}},
			"usage":   map[string]int{"input_tokens": 10 * turn, "output_tokens": 5},
		})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func body(n, turns int) []byte {
	var msgs []message
	for t := 0; t < turns; t++ {
		msgs = append(msgs, message{"user", fmt.Sprintf("conversation %d question %d", n, t)})
		if t < turns-1 {
			msgs = append(msgs, message{"assistant", fmt.Sprintf("answer %d.%d", n, t)})
		}
	}
	b, _ := json.Marshal(map[string]interface{}{
		"model": "claude-sonnet-4-5", "max_tokens": 1024,
		"system": "You are Claude Code, Anthropic's official CLI for Claude.", "messages": msgs,
	})
	return b
}

func TestProxyKeepsConversationsAndMovesOnce(t *testing.T) {
	fakes := []*fakeAnthropic{newFake(t, "acct-a"), newFake(t, "acct-b"), newFake(t, "acct-c")}
	var ups []Upstream
	for _, f := range fakes {
		u, _ := url.Parse(f.srv.URL)
		ups = append(ups, Upstream{ID: f.id, URL: u, APIKey: f.key})
	}
	r, err := sticky.New(sticky.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := NewProxy(r, ups)
	if err != nil {
		t.Fatal(err)
	}
	relay := httptest.NewServer(p)
	defer relay.Close()

	const conversations, turns = 20, 5
	servedBy := make([][]string, conversations) // conversation -> upstream per turn
	for turn := 1; turn <= turns; turn++ {
		if turn == 3 {
			fakes[1].limited.Store(true) // acct-b starts answering 429
		}
		var wg sync.WaitGroup
		errs := make(chan error, conversations)
		for n := 0; n < conversations; n++ {
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				req, _ := http.NewRequest("POST", relay.URL+"/v1/messages", bytes.NewReader(body(n, turn)))
				req.Header.Set("X-Api-Key", "client-key-1")
				req.Header.Set("Anthropic-Version", "2023-06-01")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				var msg struct {
					Type    string                  `json:"type"`
					Content []struct{ Text string } `json:"content"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil || resp.StatusCode != 200 || msg.Type != "message" {
					errs <- fmt.Errorf("conversation %d turn %d: status %d %v", n, turn, resp.StatusCode, err)
					return
				}
				servedBy[n] = append(servedBy[n], resp.Header.Get("X-Upstream"))
			}(n)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err) // no request fails while a healthy upstream exists
		}
	}
	onB := 0
	for n, seq := range servedBy {
		if len(seq) != turns || seq[0] != seq[1] {
			t.Fatalf("conversation %d: %v", n, seq)
		}
		if seq[0] == "acct-b" {
			onB++
			for turn := 3; turn < turns; turn++ {
				if seq[turn] != seq[2] || seq[2] == "acct-b" {
					t.Fatalf("conversation %d did not move exactly once away from acct-b: %v", n, seq)
				}
			}
		} else {
			for _, u := range seq {
				if u != seq[0] {
					t.Fatalf("conversation %d on a healthy upstream moved: %v", n, seq)
				}
			}
		}
	}
	if onB == 0 {
		t.Fatal("no conversation was placed on acct-b")
	}
	if got := fakes[1].rejected.Load(); got < 1 || got > int64(onB) {
		t.Fatalf("acct-b answered %d 429s for %d conversations: each moves once", got, onB)
	}
	st, _ := r.Stats()
	if st.Failovers != uint64(onB) {
		t.Fatalf("failovers %d, conversations moved %d", st.Failovers, onB)
	}
	// nothing usable: 503 with Retry-After
	for _, f := range fakes {
		f.limited.Store(true)
	}
	for i := 0; i < 3; i++ {
		resp, err := http.Post(relay.URL+"/v1/messages", "application/json", bytes.NewReader(body(100+i, 1)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if i == 2 && (resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "") {
			t.Fatalf("all limited: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	// a malformed body is the client's error, not an upstream's
	resp, err := http.Post(relay.URL+"/v1/messages", "application/json", strings.NewReader("{"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("malformed body: %d", resp.StatusCode)
	}
}

func TestProxyTransportErrorMovesOn(t *testing.T) {
	good := newFake(t, "acct-good")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL, _ := url.Parse(dead.URL)
	dead.Close() // connection refused from now on
	gu, _ := url.Parse(good.srv.URL)
	r, _ := sticky.New(sticky.Config{})
	defer r.Close()
	p, _ := NewProxy(r, []Upstream{{ID: "acct-dead", URL: deadURL, APIKey: "x"}, {ID: good.id, URL: gu, APIKey: good.key}})
	relay := httptest.NewServer(p)
	defer relay.Close()
	for n := 0; n < 6; n++ {
		resp, err := http.Post(relay.URL+"/v1/messages", "application/json", bytes.NewReader(body(n, 1)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Upstream") != good.id {
			t.Fatalf("conversation %d: %d from %q", n, resp.StatusCode, resp.Header.Get("X-Upstream"))
		}
	}
	if _, err := parseUpstream("a=http://h:1/x,key"); err != nil {
		t.Fatal(err)
	}
	if _, err := parseUpstream("nope"); err == nil {
		t.Fatal("parseUpstream accepted a bad value")
	}
}

// TestProxyReportsStreamAtItsEnd: a served response (an SSE stream) holds
// its attempt's in-flight slot until the body ends, then reports its
// status; an upstream dying mid-stream is reported as a failure, not as
// the 200 of its header.
func TestProxyReportsStreamAtItsEnd(t *testing.T) {
	for _, dies := range []bool{false, true} {
		t.Run(fmt.Sprint("dies=", dies), func(t *testing.T) {
			proceed := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(200)
				io.WriteString(w, "event: message_start\ndata: {}\n\n")
				w.(http.Flusher).Flush()
				<-proceed
				if dies {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close() // the chunked stream ends without its last chunk
					}
					return
				}
				io.WriteString(w, "event: message_stop\ndata: {}\n\n")
			}))
			defer up.Close()
			u, _ := url.Parse(up.URL)
			r, err := sticky.New(sticky.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			p, _ := NewProxy(r, []Upstream{{ID: "a", URL: u, APIKey: "k"}})
			relay := httptest.NewServer(p)
			defer relay.Close()

			resp, err := http.Post(relay.URL+"/v1/messages", "application/json", bytes.NewReader(body(1, 1)))
			if err != nil {
				close(proceed)
				t.Fatal(err)
			}
			defer resp.Body.Close()
			first := make([]byte, len("event: message_start\ndata: {}\n\n"))
			if _, err := io.ReadFull(resp.Body, first); err != nil || resp.StatusCode != 200 {
				close(proceed)
				t.Fatalf("first event: %d %q %v", resp.StatusCode, first, err)
			}
			h, err := r.ChannelHealth("a")
			if err != nil || h.InFlight != 1 {
				close(proceed)
				t.Fatalf("during the stream: in flight %d (%v), want 1 (reported at header time?)", h.InFlight, err)
			}
			close(proceed)
			rest, rerr := io.ReadAll(resp.Body)
			if !dies && (rerr != nil || !strings.Contains(string(rest), "message_stop")) {
				t.Fatalf("end of stream: %q %v", rest, rerr)
			}
			// the relay ends the attempt as its handler finishes: wait for it
			var st sticky.Stats
			for i := 0; i < 200; i++ {
				h, _ = r.ChannelHealth("a")
				st, _ = r.Stats()
				if h.InFlight == 0 && st.Reports == 1 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if h.InFlight != 0 || st.Reports != 1 {
				t.Fatalf("after the stream: in flight %d, reports %d, want 0 and 1", h.InFlight, st.Reports)
			}
			if dies && (h.Failures != 1 || h.ConsecutiveFailures != 1) {
				t.Fatalf("upstream died mid-stream: failures %d consecutive %d, want 1 (counted as a success?)",
					h.Failures, h.ConsecutiveFailures)
			}
			if !dies && h.Failures != 0 {
				t.Fatalf("complete stream counted as %d failures", h.Failures)
			}
		})
	}
}

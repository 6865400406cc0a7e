// proxy.go owns Proxy, an Anthropic Messages API relay built on
// net/http/httputil.ReverseProxy and libsticky: each POST /v1/messages is
// routed to the upstream account libsticky chooses (the URL rewritten and
// the account's x-api-key set by the Director), a retryable status is
// reported with its headers at once (ModifyResponse), a served response
// when its body ends (reportingBody: a stream holds its in-flight slot,
// an upstream dying mid-stream is a failure), and a 429 / 5xx / 401 / transport
// error is retried on the next account: ReverseProxy cannot retry by
// itself, so ServeHTTP runs it once per attempt over the buffered body,
// and ModifyResponse turns a retryable answer into an error the
// ErrorHandler swallows while attempts remain.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"libsticky/sticky"
)

// Upstream is one account: its base URL and API key.
type Upstream struct {
	ID     string
	URL    *url.URL
	APIKey string
	Models []string // served models ("claude-sonnet-*"); empty = all
}

// Proxy is an http.Handler relaying /v1/messages through libsticky.
type Proxy struct {
	router      *sticky.Router
	channels    *sticky.ChannelSet
	upstreams   []Upstream
	rp          *httputil.ReverseProxy
	MaxAttempts int   // attempts per request (default 3)
	MaxBody     int64 // largest request body (default 32 MiB)
}

type attemptKey struct{}

// attempt is one try of one request, handed from ServeHTTP to the
// Director, ModifyResponse and ErrorHandler through the request context.
type attempt struct {
	d     sticky.Decision
	body  []byte
	last  bool
	retry bool
}

var errRetry = errors.New("retryable upstream status")

// NewProxy relays to ups through router r.
func NewProxy(r *sticky.Router, ups []Upstream) (*Proxy, error) {
	chs := make([]sticky.Channel, len(ups))
	for i, u := range ups {
		chs[i] = sticky.Channel{ID: u.ID, Models: u.Models}
	}
	cs, err := sticky.NewChannelSet(chs)
	if err != nil {
		return nil, err
	}
	p := &Proxy{router: r, channels: cs, upstreams: ups, MaxAttempts: 3, MaxBody: 32 << 20}
	p.rp = &httputil.ReverseProxy{
		Director:       p.director,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
		FlushInterval:  -1, // stream server-sent events as they come
	}
	return p, nil
}

func (p *Proxy) director(out *http.Request) {
	a := out.Context().Value(attemptKey{}).(*attempt)
	up := p.upstreams[a.d.ChannelIndex]
	out.URL.Scheme = up.URL.Scheme
	out.URL.Host = up.URL.Host
	out.URL.Path = strings.TrimSuffix(up.URL.Path, "/") + "/v1/messages"
	out.Host = up.URL.Host
	out.Header.Del("Authorization")
	out.Header.Set("X-Api-Key", up.APIKey)
	out.Body = io.NopCloser(bytes.NewReader(a.body))
	out.ContentLength = int64(len(a.body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(a.body)), nil }
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	a := resp.Request.Context().Value(attemptKey{}).(*attempt)
	if sticky.Retryable(resp.StatusCode) {
		// the status is the outcome: report it now (the body is an error)
		_ = p.router.Report(a.d, sticky.Outcome{Status: resp.StatusCode, Header: resp.Header})
		if !a.last {
			return errRetry // -> errorHandler, nothing written to the client
		}
		return nil
	}
	// A served response (often a server-sent-events stream): the attempt
	// holds its in-flight slot until the body ends, and an upstream dying
	// mid-stream is a failure, not the 200 of its header.
	resp.Body = &reportingBody{ReadCloser: resp.Body, router: p.router, d: a.d,
		ctx: resp.Request.Context(), outcome: sticky.Outcome{Status: resp.StatusCode, Header: resp.Header}}
	return nil
}

// reportingBody ends a served attempt when its response body ends: EOF
// reports the status, a read error reports a transport failure (or a
// timeout), a Close before either (the client went away) releases.
type reportingBody struct {
	io.ReadCloser
	router  *sticky.Router
	d       sticky.Decision
	ctx     context.Context // the outgoing request's: done when the client went away
	outcome sticky.Outcome
	ended   atomic.Bool
}

func (b *reportingBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	if err != nil && b.ended.CompareAndSwap(false, true) {
		switch {
		case err == io.EOF:
			_ = b.router.Report(b.d, b.outcome)
		case b.ctx.Err() != nil:
			_ = b.router.Release(b.d) // the client went away, not the upstream's fault
		default:
			_ = b.router.Report(b.d, sticky.ErrorOutcome(err))
		}
	}
	return n, err
}

func (b *reportingBody) Close() error {
	if b.ended.CompareAndSwap(false, true) {
		_ = b.router.Release(b.d) // closed before the end: the client went away
	}
	return b.ReadCloser.Close()
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	a := r.Context().Value(attemptKey{}).(*attempt)
	if errors.Is(err, errRetry) {
		a.retry = true
		return
	}
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		_ = p.router.Release(a.d) // the client went away
		return
	}
	_ = p.router.Report(a.d, sticky.ErrorOutcome(err))
	if !a.last {
		a.retry = true
		return
	}
	writeError(w, http.StatusBadGateway, "api_error", "upstream unreachable")
}

// ServeHTTP relays one request, retrying on the next account.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		writeError(w, http.StatusNotFound, "not_found_error", "only POST /v1/messages is relayed")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, p.MaxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "cannot read the body")
		return
	}
	if int64(len(body)) > p.MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", "body too large")
		return
	}
	tenant := r.Header.Get("X-Api-Key")
	if tenant == "" {
		tenant = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	req := &sticky.Request{Tenant: tenant, Body: body, Header: r.Header}
	for i := 0; i < p.MaxAttempts; i++ {
		d, err := p.router.Select(r.Context(), req, p.channels)
		if err != nil {
			var e *sticky.Error
			switch {
			case errors.Is(err, sticky.ErrNoChannel) && errors.As(err, &e):
				if e.RetryAt > 0 {
					wait := (e.RetryAt - time.Now().UnixMilli() + 999) / 1000
					if wait < 1 {
						wait = 1
					}
					w.Header().Set("Retry-After", strconv.FormatInt(wait, 10))
				}
				writeError(w, http.StatusServiceUnavailable, "overloaded_error", "no upstream account available")
			case errors.Is(err, sticky.ErrParse), errors.Is(err, sticky.ErrLimit):
				writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
			default:
				writeError(w, http.StatusInternalServerError, "api_error", err.Error())
			}
			return
		}
		a := &attempt{d: d, body: body, last: i+1 == p.MaxAttempts}
		p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), attemptKey{}, a)))
		if d.Open() { // a panic-free path always ends it; be safe
			_ = p.router.Release(d)
		}
		if !a.retry {
			return
		}
	}
}

func writeError(w http.ResponseWriter, status int, kind, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]interface{}{
		"type": "error", "error": map[string]string{"type": kind, "message": msg},
	})
}

// parseUpstream parses "id=https://host/base,KEY".
func parseUpstream(s string) (Upstream, error) {
	id, rest, ok := strings.Cut(s, "=")
	if !ok {
		return Upstream{}, fmt.Errorf("upstream %q: want id=URL,KEY", s)
	}
	raw, key, ok := strings.Cut(rest, ",")
	if !ok {
		return Upstream{}, fmt.Errorf("upstream %q: want id=URL,KEY", s)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Upstream{}, fmt.Errorf("upstream %q: bad URL", s)
	}
	return Upstream{ID: id, URL: u, APIKey: key}, nil
}

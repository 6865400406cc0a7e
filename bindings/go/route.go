// route.go owns the retry helper Router.Route: select, send, report, and
// again on the channel the library chooses next while the upstream answers
// a retryable status or the connection fails.
package sticky

/*
#include "glue.h"
*/
import "C"

import (
	"context"
	"net/http"
)

// Retryable reports whether Route moves on to another channel after this
// status: 401, 403 (the account's credential was refused: another account
// may serve), 408, 429, 500, 502, 503, 504, 529. Since 0.5.0.
func Retryable(status int) bool {
	switch status {
	case 401, 403, 408, 429, 500, 502, 503, 504, 529:
		return true
	}
	return false
}

// SendFunc sends the request to d.Channel and returns the upstream's
// status and response header, or an error when no response came (a
// timeout - net.Error.Timeout() or context.DeadlineExceeded - or a
// transport failure). Route reports the attempt when send returns, so
// send should read the response body to its end first (a body failing
// mid-way is an error); a send returning at header time has a stream
// counted as served before it is. Since 0.5.0.
type SendFunc func(d Decision) (status int, header http.Header, err error)

// Route runs select -> send -> report up to maxAttempts times (at least
// once), moving on while send fails or returns a Retryable status. Returns
// the last attempt's Decision (already reported) and status with a nil
// error when an upstream answered (also with a retryable status once the
// attempts are used up); send's error when the last attempt failed; an
// *Error wrapping ErrNoChannel (Error.RetryAt) when nothing is usable; or
// ctx.Err() when ctx is done before an attempt (a send failing while ctx
// is done - cancelled or past its deadline - is released, not reported:
// the client went away or gave up; a timeout of send's own with ctx alive
// is reported as a timeout). An *Error wrapping ErrInvalid for nil
// channels (also a nil *ChannelSet) or a nil send.
// Safe from any number of goroutines. Since 0.5.0.
func (r *Router) Route(ctx context.Context, req *Request, channels Channels, send SendFunc,
	maxAttempts int) (Decision, int, error) {
	if maxAttempts < 1 {
		maxAttempts = 1
	}
	if channels == nil {
		return Decision{}, 0, goError(C.STICKY_EINVAL, "route", "no channels")
	}
	if send == nil {
		return Decision{}, 0, goError(C.STICKY_EINVAL, "route", "nil send")
	}
	cs, err := channels.channelSet() // once, not per attempt
	if err != nil {
		return Decision{}, 0, err
	}
	var last Decision
	for i := 0; i < maxAttempts; i++ {
		d, err := r.Select(ctx, req, cs)
		if err != nil {
			return last, 0, err
		}
		last = d
		status, header, err := send(d)
		if err != nil {
			if ctx.Err() != nil {
				// the caller's ctx is done (cancelled, or its deadline
				// passed): the client's doing, not the channel's fault
				_ = r.Release(d)
				return d, 0, err
			}
			if rerr := r.Report(d, ErrorOutcome(err)); rerr != nil {
				return d, 0, rerr
			}
			if i+1 == maxAttempts || ctx.Err() != nil {
				return d, 0, err
			}
			continue
		}
		if rerr := r.Report(d, Outcome{Status: status, Header: header}); rerr != nil {
			return d, status, rerr
		}
		if !Retryable(status) {
			return d, status, nil
		}
		if i+1 == maxAttempts {
			return d, status, nil
		}
	}
	return last, 0, nil // not reached
}

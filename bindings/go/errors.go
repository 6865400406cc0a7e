// errors.go owns the package's error values: *Error, carrying the
// library's code and name, and one sentinel per code for errors.Is.
package sticky

/*
#include "glue.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// Error is a failed libsticky call, or a Go value the library would refuse
// (reported with the code the library would return). Use errors.As to get
// it and errors.Is(err, ErrNoChannel) (or another sentinel) to test the
// code. Immutable; safe to share between goroutines. Since 0.5.0.
type Error struct {
	// Op is what failed ("select", "report", "config: ttl_seconds", ...).
	Op string
	// Code is the library's negative error code (enum sticky_err).
	Code int
	// Name is the code's symbolic name, e.g. "STICKY_ENOCHANNEL".
	Name string
	// Message is the library's text for the code (sticky_strerror), plus
	// a detail for errors found in Go.
	Message string
	// RetryAt is, for ErrNoChannel, the earliest time (Unix ms, the
	// router's clock) a channel is usable again; 0 when unknown.
	RetryAt int64
}

// Error returns "sticky: <op>: <NAME>: <message>". Since 0.5.0.
func (e *Error) Error() string {
	return fmt.Sprintf("sticky: %s: %s: %s", e.Op, e.Name, e.Message)
}

// Unwrap returns the sentinel of e's code (ErrNoChannel, ...), or nil for a
// code this package does not know. Since 0.5.0.
func (e *Error) Unwrap() error {
	return sentinels[e.Code]
}

// codeError is a sentinel: a code alone.
type codeError struct {
	code int
	name string
}

func (c *codeError) Error() string { return "sticky: " + c.name }

// The sentinels, one per library code: errors.Is(err, sticky.ErrNoChannel).
// Since 0.5.0.
var (
	ErrInvalid    error = newSentinel(C.STICKY_EINVAL)      // an argument is invalid
	ErrNoMemory   error = newSentinel(C.STICKY_ENOMEM)      // out of memory
	ErrParse      error = newSentinel(C.STICKY_EPARSE)      // malformed JSON / id
	ErrNotFound   error = newSentinel(C.STICKY_ENOTFOUND)   // no such entry / attempt
	ErrExists     error = newSentinel(C.STICKY_EEXIST)      // already exists
	ErrStore      error = newSentinel(C.STICKY_ESTORE)      // the store failed
	ErrNoChannel  error = newSentinel(C.STICKY_ENOCHANNEL)  // nothing usable; see Error.RetryAt
	ErrABI        error = newSentinel(C.STICKY_EABI)        // struct size / version mismatch
	ErrBusy       error = newSentinel(C.STICKY_EBUSY)       // resource busy
	ErrConfig     error = newSentinel(C.STICKY_ECONFIG)     // a setting is out of range
	ErrCrypto     error = newSentinel(C.STICKY_ECRYPTO)     // libcrypto failed
	ErrLimit      error = newSentinel(C.STICKY_ELIMIT)      // input too large / deep
	ErrCorrupt    error = newSentinel(C.STICKY_ECORRUPT)    // a segment is damaged
	ErrInProgress error = newSentinel(C.STICKY_EINPROGRESS) // async: completes later
	ErrWouldBlock error = newSentinel(C.STICKY_EWOULDBLOCK) // async: store would block
)

var sentinels = map[int]error{}

func newSentinel(code C.int) error {
	e := &codeError{code: int(code), name: C.GoString(C.sticky_err_name(code))}
	sentinels[int(code)] = e
	return e
}

// newError is the *Error of library code rc for operation op.
func newError(rc C.int, op string) *Error {
	return &Error{
		Op:      op,
		Code:    int(rc),
		Name:    C.GoString(C.sticky_err_name(rc)),
		Message: C.GoString(C.sticky_strerror(rc)),
	}
}

// goError is an *Error found in Go before calling the library: code is
// the one the library would return, detail says what is wrong.
func goError(code C.int, op, detail string) *Error {
	e := newError(code, op)
	e.Message += ": " + detail
	return e
}

// check returns nil for 0, else the *Error of rc.
func check(rc C.int, op string) error {
	if rc == 0 {
		return nil
	}
	return newError(rc, op)
}

// ErrClosed is returned by calls on a closed Router. Since 0.5.0.
var ErrClosed = errors.New("sticky: router is closed")

// ErrReleased is returned by Report for a Decision whose attempt already
// ended (reported or released, through this value or a copy); it wraps
// ErrNotFound, the library's answer. Since 0.5.0.
var ErrReleased error = &Error{Op: "report", Code: int(C.STICKY_ENOTFOUND),
	Name: "STICKY_ENOTFOUND", Message: "the attempt already ended (reported or released)"}

// NewError returns the *Error of library code code for operation op: for
// store packages (libsticky/sticky/redis) reporting their library's codes
// the way this package does. Since 0.5.0.
func NewError(code int, op string) *Error {
	return newError(C.int(code), op)
}

// request.go owns Request, what the host knows about one request, and the
// flattening of HTTP headers into the byte blob the C glue reads.
package sticky

/*
#include "glue.h"
*/
import "C"

import (
	"net/http"
	"unsafe"
)

// Format is the body format (enum sticky_body_format). Since 0.5.0.
type Format int

// The body formats. Since 0.5.0.
const (
	FormatAuto            Format = C.STICKY_FORMAT_AUTO             // detect (default)
	FormatAnthropic       Format = C.STICKY_FORMAT_ANTHROPIC        // Anthropic Messages API
	FormatOpenAIChat      Format = C.STICKY_FORMAT_OPENAI_CHAT      // OpenAI Chat Completions
	FormatOpenAIResponses Format = C.STICKY_FORMAT_OPENAI_RESPONSES // OpenAI Responses
)

// Request is one request as the host sees it. Nothing is copied: Body and
// the strings are read in place during the call and not kept. Since 0.5.0.
type Request struct {
	// Tenant is the host's API-key or group id of the client; may be empty.
	Tenant string
	// Model is the request's model; "" = the body's top-level "model".
	Model string
	// Body is the raw JSON body (read in place, never copied).
	Body []byte
	// Format of Body; FormatAuto detects it.
	Format Format
	// Chain is a key chain from Router.Key: used instead of Body (which
	// is then not parsed; Model should be set).
	Chain *KeyChain
	// Header carries the request headers that may hold an explicit session
	// id (X-Claude-Code-Session-Id, session_id, x-session-id). Copied once
	// per call into one buffer (cgo rules); nil costs nothing.
	Header http.Header
	// SessionID is a host-given session id; "" = none.
	SessionID string
	// Strict never moves a bound session: ErrNoChannel with RetryAt instead.
	Strict bool
}

// headerBlob is a flattened http.Header: names and values back to back,
// and their lengths in pairs.
type headerBlob struct {
	blob []byte
	lens []C.size_t
}

func flattenHeader(h http.Header) headerBlob {
	if len(h) == 0 {
		return headerBlob{}
	}
	total, n := 0, 0
	for k, vs := range h {
		for _, v := range vs {
			total += len(k) + len(v)
			n++
		}
	}
	hb := headerBlob{blob: make([]byte, 0, total+1), lens: make([]C.size_t, 0, 2*n)}
	for k, vs := range h {
		for _, v := range vs {
			hb.blob = append(hb.blob, k...)
			hb.blob = append(hb.blob, v...)
			hb.lens = append(hb.lens, C.size_t(len(k)), C.size_t(len(v)))
		}
	}
	return hb
}

// ptrs returns the C view of the blob: data, lengths, count.
func (hb *headerBlob) ptrs() (*C.char, *C.size_t, C.size_t) {
	if len(hb.lens) == 0 {
		return nil, nil, 0
	}
	var data *C.char
	if cap(hb.blob) > 0 {
		data = (*C.char)(unsafe.Pointer(&hb.blob[:1][0]))
	}
	return data, &hb.lens[0], C.size_t(len(hb.lens) / 2)
}

// bytesPtr is the C view of a []byte (nil when empty).
func bytesPtr(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(&b[0]))
}

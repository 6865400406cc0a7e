// callbacks.go owns the Go side of the clock and log callbacks: the
// functions exported to callbacks.c, reached through a runtime/cgo.Handle
// of the Router's Config.Clock / Config.Log.
package sticky

/*
#include <stdint.h>
*/
import "C"

import (
	"runtime/cgo"
)

//export goStickyClock
func goStickyClock(h C.uintptr_t) (ms C.int64_t) {
	defer func() {
		if recover() != nil {
			ms = 0 // a panic must not unwind through C frames
		}
	}()
	return C.int64_t(cgo.Handle(h).Value().(func() int64)())
}

//export goStickyLog
func goStickyLog(h C.uintptr_t, level C.int, message *C.char) {
	defer func() { _ = recover() }()
	cgo.Handle(h).Value().(func(LogLevel, string))(LogLevel(level)+1, C.GoString(message))
}

// version.go owns the load-time check: the running libsticky must be the
// release (major.minor) of the headers this package was compiled against,
// with the same size for every struct the package uses. cgo takes the
// structs from the headers at compile time, so this protects against
// running with a different libsticky.so than the one built against.
package sticky

/*
#include "glue.h"
*/
import "C"

import "fmt"

// Version of the headers this package was compiled against, and of the
// running library. Since 0.5.0.
const (
	HeaderVersionMajor = C.STICKY_VERSION_MAJOR // headers' STICKY_VERSION_MAJOR
	HeaderVersionMinor = C.STICKY_VERSION_MINOR // headers' STICKY_VERSION_MINOR
)

// LibraryVersion returns the running library's version string, e.g.
// "0.5.0" (sticky_version_string). Safe from any goroutine. Since 0.5.0.
func LibraryVersion() string {
	return C.GoString(C.sticky_version_string())
}

// structCheck is one struct the package uses: its id and its size as cgo
// compiled it.
type structCheck struct {
	id   int
	name string
	size uintptr
}

var usedStructs = []structCheck{
	{C.STICKY_STRUCT_CONFIG, "sticky_config", C.sizeof_sticky_config},
	{C.STICKY_STRUCT_CHANNEL, "sticky_channel", C.sizeof_sticky_channel},
	{C.STICKY_STRUCT_REQUEST, "sticky_request", C.sizeof_sticky_request},
	{C.STICKY_STRUCT_DECISION, "sticky_decision", C.sizeof_sticky_decision},
	{C.STICKY_STRUCT_OUTCOME, "sticky_outcome", C.sizeof_sticky_outcome},
	{C.STICKY_STRUCT_CTX_STATS, "sticky_ctx_stats", C.sizeof_sticky_ctx_stats},
	{C.STICKY_STRUCT_KEY_CHAIN, "sticky_key_chain", C.sizeof_sticky_key_chain},
	{C.STICKY_STRUCT_HEADER, "sticky_header", C.sizeof_sticky_header},
	{C.STICKY_STRUCT_CHANNEL_HEALTH, "sticky_channel_health", C.sizeof_sticky_channel_health},
}

// checkLibrary compares a library's version number (0xMMmmpp) and struct
// sizes (by id) with the compiled-in ones; nil when they match.
func checkLibrary(version uint, structSize func(id int) uintptr) error {
	major, minor := version>>16&0xff, version>>8&0xff
	if major != HeaderVersionMajor || minor != HeaderVersionMinor {
		return goError(C.STICKY_EABI, "load",
			fmt.Sprintf("libsticky %d.%d is loaded, this package was compiled against %d.%d",
				major, minor, HeaderVersionMajor, HeaderVersionMinor))
	}
	for _, s := range usedStructs {
		if got := structSize(s.id); got != s.size {
			return goError(C.STICKY_EABI, "load",
				fmt.Sprintf("%s is %d bytes in the loaded libsticky, %d in the headers compiled against",
					s.name, got, s.size))
		}
	}
	return nil
}

// loadErr is the result of the check, made once at package initialisation.
var loadErr = checkLibrary(uint(C.sticky_version_number()), func(id int) uintptr {
	return uintptr(C.sticky_struct_size(C.int(id)))
})

// CheckLibrary reports whether the running libsticky matches the headers
// this package was compiled against (version major.minor and the size of
// every struct used); an *Error wrapping ErrABI if not. New and
// NewChannelSet return the same error. Safe from any goroutine. Since 0.5.0.
func CheckLibrary() error {
	return loadErr
}

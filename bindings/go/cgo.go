// cgo.go owns how the package finds libsticky: the cgo flags (pkg-config
// package "sticky": the installed sticky.pc, or the build tree's in meson).
package sticky

/*
#cgo pkg-config: sticky
#include "glue.h"
*/
import "C"

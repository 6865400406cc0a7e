// export_test.go owns the test-only hooks of package sticky: the raw
// pointers the C benchmark loop needs and the ABI check with injected
// library answers.
package sticky

import "unsafe"

// CtxPointer is the router's *C.sticky_ctx.
func CtxPointer(r *Router) unsafe.Pointer { return unsafe.Pointer(r.ctx) }

// ChannelArray is the set's C array and its length.
func ChannelArray(cs *ChannelSet) (unsafe.Pointer, int) { return unsafe.Pointer(cs.arr), cs.n }

// ChainPointer is the chain's C struct (Go memory without Go pointers).
func ChainPointer(k *KeyChain) unsafe.Pointer { return unsafe.Pointer(&k.raw) }

// CheckLibraryWith runs the load-time check against a fake library.
func CheckLibraryWith(version uint, structSize func(id int) uintptr) error {
	return checkLibrary(version, structSize)
}

// StructSizes are the compiled-in sizes by id.
func StructSizes() map[int]uintptr {
	m := map[int]uintptr{}
	for _, s := range usedStructs {
		m[s.id] = s.size
	}
	return m
}

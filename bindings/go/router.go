// router.go owns Router: one libsticky context with its store (memory,
// shared memory or a Store), its callbacks, and its lifetime (New, Close).
package sticky

/*
#include "glue.h"
*/
import "C"

import (
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Router is one libsticky context: the sessions (in its store), channel
// health, in-flight counts and counters. Safe for concurrent use by any
// number of goroutines; each Select and each Report is one cgo call
// (together about 0.5-1 us added to the library's own work, see
// README.md). Close it
// (io.Closer) when done: it waits for the calls in flight. Since 0.5.0.
type Router struct {
	ctx    *C.sticky_ctx
	closed atomic.Bool
	// mu guards ctx: every cgo call using ctx holds it for reading
	// (rlock), Close holds it for writing, so Close waits for the calls
	// in flight and the calls after it see closed and return ErrClosed.
	mu       sync.RWMutex
	handles  []cgo.Handle
	cmem     []unsafe.Pointer
	freeSt   func()
	blocking bool
	leaked   atomic.Uint64
	// lastModel is the model name of a recent decision, reused when the
	// next one names the same model (most do).
	lastModel atomic.Pointer[string]
}

// New creates a Router from cfg (see Config; the zero Config is all
// defaults with a memory store). Returns an *Error: ErrConfig for an out
// of range setting, ErrABI when the loaded libsticky does not match the
// headers compiled against (CheckLibrary), the shared-memory or store
// errors (ErrStore, ErrCorrupt, ...). Since 0.5.0.
func New(cfg Config) (*Router, error) {
	if loadErr != nil {
		return nil, loadErr
	}
	var c C.sticky_config
	if rc := C.sticky_config_init_sized(&c, C.sizeof_sticky_config); rc != 0 {
		return nil, newError(rc, "config")
	}
	if err := cfg.fill(&c); err != nil {
		return nil, err
	}
	r := &Router{}
	if cfg.Clock != nil {
		c.clock_fn = C.sticky_clock_fn(C.gs_clock_trampoline)
		c.clock_user = r.handle(cfg.Clock)
	}
	if cfg.Log != nil {
		c.log_fn = C.sticky_log_fn(C.gs_log_trampoline)
		c.log_user = r.handle(cfg.Log)
	}
	var secret unsafe.Pointer
	if len(cfg.KeySecret) > 0 {
		secret = C.CBytes(cfg.KeySecret) // absorbed by sticky_ctx_new
		c.key_secret = secret
		c.key_secret_len = C.size_t(len(cfg.KeySecret))
	}
	rc := C.sticky_ctx_new(&c, &r.ctx)
	if secret != nil {
		C.gs_free(secret)
	}
	if rc != 0 {
		r.freeMem()
		return nil, newError(rc, "new context")
	}
	if err := r.attach(cfg); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// handle stores a cgo.Handle of v in C memory (the user pointer of a
// callback) and returns that memory.
func (r *Router) handle(v interface{}) unsafe.Pointer {
	h := cgo.NewHandle(v)
	p := C.malloc(C.sizeof_uintptr_t)
	*(*C.uintptr_t)(p) = C.uintptr_t(h)
	r.handles = append(r.handles, h)
	r.cmem = append(r.cmem, p)
	return p
}

// attach opens the Store and the shared-memory segment of cfg.
func (r *Router) attach(cfg Config) error {
	if cfg.Store != nil {
		st, free, err := cfg.Store.OpenStore(unsafe.Pointer(r.ctx))
		if err != nil {
			return err
		}
		if rc := C.sticky_ctx_set_store(r.ctx, (*C.sticky_store)(st)); rc != 0 {
			free()
			return newError(rc, "set store")
		}
		r.freeSt = free
		r.blocking = cfg.Store.Blocking()
	}
	if cfg.ShmPath != "" {
		if err := r.useShm(cfg.ShmPath); err != nil {
			return err
		}
	}
	return nil
}

func (r *Router) useShm(path string) error {
	cpath, err := cString(path, "shm path")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cpath))
	var seg *C.sticky_shm
	if rc := C.sticky_shm_open(r.ctx, cpath, nil, &seg); rc != 0 {
		return newError(rc, "shared memory "+path)
	}
	rc := C.sticky_ctx_use_shm(r.ctx, seg)
	C.sticky_shm_close(seg) // the context keeps its own reference
	return check(rc, "use shared memory "+path)
}

// Blocking reports whether Select / Report may wait on the network (a
// Redis store): each such call then holds its goroutine's OS thread for
// up to the store's command timeout; a context cancelled meanwhile cannot
// interrupt it. Since 0.5.0.
func (r *Router) Blocking() bool {
	return r.blocking
}

// Close frees the store the Router opened, then the context. Idempotent.
// It waits for the calls in flight (Select, Report, ...) to return; calls
// starting after it return ErrClosed (Release returns nil). Decisions
// still open are released by the garbage collector (their memory only).
// Implements io.Closer. Since 0.5.0.
func (r *Router) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Swap(true) {
		return nil
	}
	if r.freeSt != nil {
		r.freeSt()
		r.freeSt = nil
	}
	if r.ctx != nil {
		C.sticky_ctx_free(r.ctx)
		r.ctx = nil
	}
	r.freeMem()
	return nil
}

// rlock takes r.mu for reading around a use of r.ctx; false (and not
// locked) once the Router is closed. Not reentrant with a Close pending:
// never call it twice in one goroutine.
func (r *Router) rlock() bool {
	r.mu.RLock()
	if r.ctx == nil || r.closed.Load() {
		r.mu.RUnlock()
		return false
	}
	return true
}

func (r *Router) freeMem() {
	for _, h := range r.handles {
		h.Delete()
	}
	for _, p := range r.cmem {
		C.free(p)
	}
	r.handles, r.cmem = nil, nil
}

// cString is s as a C string (C.free it), or ErrInvalid if s holds a NUL.
func cString(s, what string) (*C.char, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return nil, goError(C.STICKY_EINVAL, what, "contains a NUL byte")
		}
	}
	return C.CString(s), nil
}

// store.go owns Store, the extension point through which a session store
// made by another package (libsticky/sticky/redis) is given to a Router.
package sticky

import "unsafe"

// Store makes the session store of one Router. Implemented by store
// packages (redis.NewStore); an application only passes one in
// Config.Store. Since 0.5.0.
type Store interface {
	// OpenStore creates the store for the context ctx (a *C.sticky_ctx as
	// unsafe.Pointer) and returns it (a *C.sticky_store) and a function
	// freeing it, which the Router calls in Close before freeing the
	// context. Called once, from New.
	OpenStore(ctx unsafe.Pointer) (store unsafe.Pointer, free func(), err error)
	// Blocking reports whether the store's calls wait on the network
	// (a Select or Report then blocks its goroutine's thread).
	Blocking() bool
}

// channels.go owns the host's upstream channels: Channel (one account, key
// or endpoint), ChannelSet (a list converted once to the library's C array
// and reused by every Select) and ChannelList (a []Channel converted per
// call, for convenience).
package sticky

/*
#include "glue.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// ChannelState is what the host says about a channel. Since 0.5.0.
type ChannelState int

// The channel states (enum sticky_channel_state). Since 0.5.0.
const (
	ChannelActive   ChannelState = C.STICKY_CHANNEL_ACTIVE   // usable
	ChannelDisabled ChannelState = C.STICKY_CHANNEL_DISABLED // never chosen; its sessions move
	ChannelDraining ChannelState = C.STICKY_CHANNEL_DRAINING // keeps its sessions, takes no new ones
)

// Channel is one upstream channel as the host offers it. Since 0.5.0.
type Channel struct {
	// ID is the channel's stable id: 1..127 bytes, no NUL, unique in a set.
	ID string
	// Models are the model names it serves: exact names or prefixes
	// ending in '*' ("claude-sonnet-*"); empty (nil) serves every model.
	Models []string
	// Priority: a lower number wins (tiers); default 0.
	Priority int
	// Weight for the rendezvous / random policies; 0 = 1.
	Weight uint32
	// State: ChannelActive (default), ChannelDisabled or ChannelDraining.
	State ChannelState
	// MaxInflight caps the channel's open attempts; 0 = no cap.
	MaxInflight uint32
}

// Channels is what Select accepts: a *ChannelSet (built once, the fast
// path) or a ChannelList (converted on every call). Since 0.5.0.
type Channels interface {
	channelSet() (*ChannelSet, error)
}

// ChannelList is a []Channel usable as Channels: sticky.ChannelList(chs).
// Each Select converts it (C allocations); prefer a ChannelSet for a list
// used more than once. Since 0.5.0.
type ChannelList []Channel

func (l ChannelList) channelSet() (*ChannelSet, error) { return NewChannelSet(l) }

// ChannelSet is an immutable channel list in the library's layout (a C
// array, freed by the garbage collector). Build one per change of the
// channel list and pass it to every Select: converting a list costs more
// than a select. Safe for concurrent use. Since 0.5.0.
type ChannelSet struct {
	arr      *C.sticky_channel
	n        int
	ids      []string
	channels []Channel
	cmem     []unsafe.Pointer
}

// NewChannelSet converts chs (1..1024 channels) once. Returns an *Error
// wrapping ErrInvalid for an empty list, an empty or too long id, a NUL in
// an id or model name, or an unknown state. Since 0.5.0.
func NewChannelSet(chs []Channel) (*ChannelSet, error) {
	if loadErr != nil {
		return nil, loadErr
	}
	if len(chs) == 0 || len(chs) > 1024 {
		return nil, goError(C.STICKY_EINVAL, "channel set", fmt.Sprintf("%d channels (1..1024)", len(chs)))
	}
	cs := &ChannelSet{n: len(chs), ids: make([]string, len(chs)), channels: append([]Channel(nil), chs...)}
	runtime.SetFinalizer(cs, (*ChannelSet).free)
	cs.arr = (*C.sticky_channel)(cs.alloc(C.size_t(len(chs)) * C.sizeof_sticky_channel))
	arr := unsafe.Slice(cs.arr, len(chs))
	for i, c := range chs {
		ch := &arr[i]
		if rc := C.sticky_channel_init_sized(ch, C.sizeof_sticky_channel); rc != 0 {
			return nil, newError(rc, "channel")
		}
		if len(c.ID) == 0 || len(c.ID) >= C.STICKY_ID_SIZE {
			return nil, goError(C.STICKY_EINVAL, "channel", fmt.Sprintf("id %q: 1..%d bytes", c.ID, C.STICKY_ID_SIZE-1))
		}
		id, err := cs.str(c.ID, "channel id")
		if err != nil {
			return nil, err
		}
		ch.id = id
		cs.ids[i] = c.ID
		if len(c.Models) > 0 {
			ch.n_models = C.size_t(len(c.Models))
			names := unsafe.Slice((**C.char)(cs.alloc(C.size_t(len(c.Models))*C.size_t(unsafe.Sizeof(id)))), len(c.Models))
			for j, m := range c.Models {
				if names[j], err = cs.str(m, "channel "+c.ID+": model"); err != nil {
					return nil, err
				}
			}
			ch.models = &names[0]
		}
		if c.Priority < -1<<31 || c.Priority > 1<<31-1 {
			return nil, goError(C.STICKY_EINVAL, "channel "+c.ID, "priority out of range")
		}
		ch.priority = C.int(c.Priority)
		ch.weight = C.uint32_t(c.Weight)
		ch.max_inflight = C.uint32_t(c.MaxInflight)
		switch c.State {
		case ChannelActive, ChannelDisabled, ChannelDraining:
			ch.state = C.int(c.State)
		default:
			return nil, goError(C.STICKY_EINVAL, "channel "+c.ID, fmt.Sprintf("unknown state %d", c.State))
		}
	}
	return cs, nil
}

func (cs *ChannelSet) channelSet() (*ChannelSet, error) {
	if cs == nil {
		return nil, goError(C.STICKY_EINVAL, "channels", "nil *ChannelSet")
	}
	return cs, nil
}

// alloc is zeroed C memory owned by the set.
func (cs *ChannelSet) alloc(n C.size_t) unsafe.Pointer {
	p := C.calloc(1, n)
	if p == nil {
		panic("sticky: out of memory")
	}
	cs.cmem = append(cs.cmem, p)
	return p
}

func (cs *ChannelSet) str(s, what string) (*C.char, error) {
	p, err := cString(s, what)
	if err != nil {
		return nil, err
	}
	cs.cmem = append(cs.cmem, unsafe.Pointer(p))
	return p, nil
}

func (cs *ChannelSet) free() {
	for _, p := range cs.cmem {
		C.free(p)
	}
	cs.cmem = nil
}

// Len is the number of channels. Since 0.5.0.
func (cs *ChannelSet) Len() int { return cs.n }

// IDs returns the channel ids in order (a copy). Since 0.5.0.
func (cs *ChannelSet) IDs() []string { return append([]string(nil), cs.ids...) }

// Channel returns the i-th channel as given to NewChannelSet. Since 0.5.0.
func (cs *ChannelSet) Channel(i int) Channel { return cs.channels[i] }

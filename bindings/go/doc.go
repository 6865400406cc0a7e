// Package sticky is the Go binding of libsticky: sticky-session routing
// decisions for LLM API gateways (new-api / one-api / sub2api style
// relays). Per request it picks one upstream channel (account, key or
// endpoint), keeps a conversation on it while it is healthy, and moves the
// conversation once when it is not.
//
//	channels, _ := sticky.NewChannelSet([]sticky.Channel{{ID: "acct-a"}, {ID: "acct-b"}})
//	r, _ := sticky.New(sticky.Config{})
//	defer r.Close()
//	d, err := r.Select(ctx, &sticky.Request{Tenant: clientKey, Body: body}, channels)
//	if err != nil { ... }                        // errors.Is(err, sticky.ErrNoChannel)
//	resp, err := forward(d.Channel, body)
//	r.Report(d, sticky.ResponseOutcome(resp, err)) // status + rate-limit headers
//
// The package calls the C library through cgo (one cgo call per Select,
// one per Report; no copy of a []byte body). A Router is safe for
// concurrent use by any number of goroutines. Every Decision must be
// reported or released exactly once. See README.md in this directory.
//
// Since 0.5.0.
package sticky

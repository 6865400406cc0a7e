// Command proxy is an example Anthropic Messages API relay on libsticky:
// every conversation stays on one upstream account while it is healthy
// and moves once when it is not (see proxy.go).
//
//	go run ./examples/proxy -listen 127.0.0.1:8080 \
//	    -upstream 'acct-a=https://api.anthropic.com,sk-ant-...' \
//	    -upstream 'acct-b=https://api.anthropic.com,sk-ant-...' \
//	    -shm /dev/shm/relay.sticky
package main

import (
	"flag"
	"log"
	"net/http"
	"strings"

	"libsticky/sticky"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	shm := flag.String("shm", "", "shared-memory segment shared by the relay's processes (optional)")
	var ups multiFlag
	flag.Var(&ups, "upstream", "an account as id=URL,KEY (repeat)")
	flag.Parse()
	var upstreams []Upstream
	for _, s := range ups {
		u, err := parseUpstream(s)
		if err != nil {
			log.Fatal(err)
		}
		upstreams = append(upstreams, u)
	}
	if len(upstreams) == 0 {
		log.Fatal("no -upstream given")
	}
	r, err := sticky.New(sticky.Config{FromEnv: true, ShmPath: *shm})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	p, err := NewProxy(r, upstreams)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("relaying POST /v1/messages on %s to %d accounts", *listen, len(upstreams))
	log.Fatal(http.ListenAndServe(*listen, p))
}

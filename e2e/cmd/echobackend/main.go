// Command echobackend is the benchmark's backend: a small fixed JSON answer,
// so the measurement is dominated by the proxy in front of it.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	addrFile := flag.String("addrFile", "", "write the bound address here")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(`{"main":"`+ln.Addr().String()+`"}`), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	body := []byte(`{"status":"ok","service":"echo"}`)
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", length)
		_, _ = w.Write(body)
	})
	log.Fatal((&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln))
}

package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
)

// healthMonitor probes a load balancer's servers every interval (TCP
// connect or an HTTP request) and puts a server that passes back into
// rotation, or takes one that fails out of it.
type healthMonitor struct {
	interval time.Duration
	probe    func(ctx context.Context, s *lbServer) bool
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

func newHealthMonitor(hm *bundle.HealthMonitor, lb *loadBalancer, opts Options) (*healthMonitor, error) {
	interval := time.Duration(hm.IntervalInSec) * time.Second
	if interval <= 0 {
		return nil, fmt.Errorf("IntervalInSec must be at least 1")
	}
	m := &healthMonitor{interval: interval}
	switch {
	case hm.TCPMonitor != nil:
		timeout := time.Duration(hm.TCPMonitor.ConnectTimeoutInSec) * time.Second
		if timeout <= 0 {
			timeout = opts.ConnectTimeout
		}
		port := hm.TCPMonitor.Port
		m.probe = func(ctx context.Context, s *lbServer) bool {
			addr := s.base.Host
			if port > 0 {
				addr = net.JoinHostPort(s.base.Hostname(), strconv.Itoa(port))
			}
			d := net.Dialer{Timeout: timeout}
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return false
			}
			_ = conn.Close()
			return true
		}
	case hm.HTTPMonitor != nil:
		req := hm.HTTPMonitor.Request
		verb := req.Verb
		if verb == "" {
			verb = http.MethodGet
		}
		timeout := time.Duration(req.ConnectTimeoutInSec+req.SocketReadTimeoutInSec) * time.Second
		if timeout <= 0 {
			timeout = opts.ConnectTimeout + opts.IOTimeout
		}
		codes := map[int]bool{}
		for _, c := range hm.HTTPMonitor.SuccessResponse.ResponseCodes {
			codes[c] = true
		}
		if len(codes) == 0 {
			codes[http.StatusOK] = true
		}
		wantHeaders := hm.HTTPMonitor.SuccessResponse.Headers
		client := &http.Client{Timeout: timeout}
		m.probe = func(ctx context.Context, s *lbServer) bool {
			u := *s.base
			if req.IsSSL {
				u.Scheme = "https"
			}
			if req.Port > 0 {
				u.Host = net.JoinHostPort(s.base.Hostname(), strconv.Itoa(req.Port))
			}
			u.Path = req.Path
			r, err := http.NewRequestWithContext(ctx, verb, u.String(), nil)
			if err != nil {
				return false
			}
			for _, h := range req.Headers {
				r.Header.Add(h.Name, h.Value)
			}
			if req.IncludeHealthCheckIDHeader {
				r.Header.Set("X-Apigee-Healthcheck-Id", fmt.Sprintf("%s-%d", s.name, time.Now().UnixNano()))
			}
			if s.rt != nil {
				client.Transport = s.rt
			}
			resp, err := client.Do(r)
			if err != nil {
				return false
			}
			_ = resp.Body.Close()
			if !codes[resp.StatusCode] {
				return false
			}
			for _, h := range wantHeaders {
				if resp.Header.Get(h.Name) != h.Value {
					return false
				}
			}
			return true
		}
	default:
		return nil, fmt.Errorf("needs a <TCPMonitor> or an <HTTPMonitor>")
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.done.Add(1)
	go m.run(ctx, lb)
	return m, nil
}

func (m *healthMonitor) run(ctx context.Context, lb *loadBalancer) {
	defer m.done.Done()
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, s := range append(append([]*lbServer(nil), lb.primary...), lb.fallback...) {
			if m.probe(ctx, s) {
				s.failures.Store(0)
				s.down.Store(false)
			} else {
				lb.failed(s)
			}
		}
	}
}

func (m *healthMonitor) stop() {
	m.cancel()
	m.done.Wait()
}

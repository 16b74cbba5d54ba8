package faults

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/outagereport"
)

// HTTP wraps h, a handler of service, with its faults: added latency,
// then a 503 UNAVAILABLE in Google's error shape or a connection reset.
func (in *Injector) HTTP(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if in.spares(service, r) {
			h.ServeHTTP(w, r)
			return
		}
		down := in.downSignal(service) // before decide: no start is missed
		delay, mode := in.decide(service)
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if mode != ModeNone {
			in.fail(w, service, mode)
			return
		}
		// A call held open when the outage starts (the synchronizer's
		// contract long-poll) is cut as a real outage cuts it, unless its
		// answer has begun.
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		gw := &guardWriter{ResponseWriter: w}
		go func() {
			select {
			case <-down:
				if gw.drop() {
					cancel()
				}
			case <-ctx.Done():
			}
		}()
		h.ServeHTTP(gw, r.WithContext(ctx))
		if gw.isDropped() {
			in.fail(w, service, in.mode(service))
		}
	})
}

// fail answers a faulted call: a reset connection, or 503 UNAVAILABLE.
func (in *Injector) fail(w http.ResponseWriter, service string, mode Mode) {
	if mode == ModeReset {
		if reset(w) {
			return
		}
		// Not hijackable (HTTP/2): the nearest a handler can do.
		panic(http.ErrAbortHandler)
	}
	// Google's front end closes the connection with the error, so a
	// client does not reuse it across the outage.
	w.Header().Set("Connection", "close")
	apierr.Write(w, apierr.Unavailable("%s", unavailableMessage(service)))
}

// guardWriter lets the outage take a call over until its handler starts
// answering; after drop, the handler's writes are discarded.
type guardWriter struct {
	http.ResponseWriter
	mu      sync.Mutex
	wrote   bool
	dropped bool
}

func (g *guardWriter) begin() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dropped {
		return false
	}
	g.wrote = true
	return true
}

func (g *guardWriter) drop() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.wrote {
		return false
	}
	g.dropped = true
	return true
}

func (g *guardWriter) isDropped() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dropped
}

func (g *guardWriter) WriteHeader(code int) {
	if g.begin() {
		g.ResponseWriter.WriteHeader(code)
	}
}

func (g *guardWriter) Write(b []byte) (int, error) {
	if !g.begin() {
		return len(b), nil
	}
	return g.ResponseWriter.Write(b)
}

func (g *guardWriter) Flush() {
	if g.begin() {
		if f, ok := g.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
	}
}

// Unwrap serves http.ResponseController.
func (g *guardWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// reset closes the client's connection with a TCP RST (SO_LINGER 0), as
// a proxy or firewall dropping the path does.
func reset(w http.ResponseWriter) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = tc.NetConn() // TLS: reset the TCP connection under it
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
	return true
}

// grpcError is the status a faulted gRPC call ends with.
func grpcError(service string) error {
	return status.Error(codes.Unavailable, unavailableMessage(service))
}

// wait sleeps d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// UnaryInterceptor applies service's faults to unary gRPC calls.
func (in *Injector) UnaryInterceptor(service string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		delay, mode := in.decide(service)
		if err := wait(ctx, delay); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		if mode != ModeNone {
			return nil, grpcError(service)
		}
		return h(ctx, req)
	}
}

// StreamInterceptor applies service's faults to new streams, and ends
// streams already open when a failing fault starts: an outage drops the
// Connect agent's tether, which must notice and reconnect.
func (in *Injector) StreamInterceptor(service string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		down := in.downSignal(service)
		delay, mode := in.decide(service)
		if err := wait(ss.Context(), delay); err != nil {
			return status.FromContextError(err).Err()
		}
		if mode != ModeNone {
			return grpcError(service)
		}
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		dropped := make(chan struct{})
		go func() {
			select {
			case <-down:
				close(dropped)
				cancel()
			case <-ctx.Done():
			}
		}()
		err := h(srv, &stream{ServerStream: ss, ctx: ctx})
		select {
		case <-dropped:
			return grpcError(service)
		default:
			return err
		}
	}
}

// stream is a server stream whose context the outage can cancel.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// StatusView is the body of the outage API's answers: each upstream
// service with its fault (latency as a Go duration), in the shape the
// outage report reads (pkg/outagereport).
type StatusView = outagereport.OutageStatus

// Status is every service with its fault, if any.
func (in *Injector) Status() StatusView {
	active := map[string]Fault{}
	for _, f := range in.Active() {
		active[f.Service] = f
	}
	out := StatusView{Services: []outagereport.OutageService{}}
	for _, s := range Services {
		v := outagereport.OutageService{Service: s}
		if f, ok := active[s]; ok {
			v.Active = true
			v.Scope = string(f.Scope)
			v.Mode = f.modeName()
			if f.Latency > 0 {
				v.Latency = f.Latency.String()
			}
			v.ErrorRate = f.ErrorRate
			v.Since = f.Since.Format(time.RFC3339Nano)
		}
		out.Services = append(out.Services, v)
	}
	return out
}

// Path is where the outage API is served. It is outside the organization
// tree because an outage is of the whole control plane, and it is never
// itself faulted.
const Path = "/v1/emulator/outage"

// Handler serves the outage API:
//
//	GET    /v1/emulator/outage                 every service and its fault
//	POST   /v1/emulator/outage  {Spec}         start faults (PUT too)
//	DELETE /v1/emulator/outage[?service=NAME]… restore (all by default)
//
// authorize vets each call (the server allows admin principals only).
func (in *Injector) Handler(authorize func(r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := authorize(r); err != nil {
			apierr.Write(w, err)
			return
		}
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost, http.MethodPut:
			var spec Spec
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&spec); err != nil {
				apierr.Write(w, apierr.InvalidArgument("Invalid JSON payload received. %v", err))
				return
			}
			if _, err := in.Start(spec); err != nil {
				apierr.Write(w, apierr.InvalidArgument("%v", err))
				return
			}
		case http.MethodDelete:
			if _, err := in.Stop(r.URL.Query()["service"]...); err != nil {
				apierr.Write(w, apierr.InvalidArgument("%v", err))
				return
			}
		default:
			w.Header().Set("Allow", "GET, POST, PUT, DELETE")
			apierr.Write(w, apierr.New(http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "Method %s is not allowed on %s.", r.Method, Path))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(in.Status())
	})
}

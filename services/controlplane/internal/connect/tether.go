package connect

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// ErrNoAgent is returned (wrapped) by Do when no agent has a stream open for
// the project's endpoint.
var ErrNoAgent = errors.New("no Apigee Connect agent is connected")

// Request is one HTTP request to send down a tether.
type Request struct {
	Method string
	// Path is the escaped path with its query string ("/v1/…?count=10"); the
	// tether protocol carries the query in Url.path.
	Path   string
	Header http.Header
	Body   []byte
	// Host names the target in Url.host (informational: the agent calls its
	// own target server).
	Host    string
	TraceID string
	// Timeout bounds the call (0: the service's RequestTimeout). The
	// caller's context deadline bounds it too.
	Timeout time.Duration
}

// Response is the target's answer.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// StreamID is the tether that carried the answer.
	StreamID string
}

// stream is one open Tether/Egress stream.
type stream struct {
	id      string
	ep      endpointKey
	cluster Cluster
	agent   string
	// out feeds the handler goroutine, the stream's only sender.
	out chan outMsg
	// dead is closed when the handler has returned.
	dead chan struct{}

	// Guarded by Service.mu.
	pending  map[string]*call
	draining bool
	drained  chan struct{} // closed once draining with nothing pending
	gone     bool
}

type outMsg struct {
	req *pb.EgressRequest
	c   *call // nil for control messages
}

// call is one request waiting for its response.
type call struct {
	id   string
	done chan callResult // buffered: the deliverer never blocks
	// sent is set once the request has been handed to gRPC; a request lost
	// before that may be retried whatever its method.
	sent atomic.Bool
}

type callResult struct {
	resp *pb.EgressResponse
	lost error // the stream ended before the response
}

// newRequestID makes a version 4 UUID from the runtime's ChaCha8 generator:
// ids need to be unique, not secret, and this keeps a getrandom syscall
// off every request.
func newRequestID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], mrand.Uint64())
	binary.BigEndian.PutUint64(b[8:], mrand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

// newStreamID makes a tether id shaped like the real ones (a decimal uint64).
func newStreamID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatUint(binary.BigEndian.Uint64(b[:]), 10)
}

// Egress implements pb.TetherServer: one agent stream, from accept to end.
func (s *Service) Egress(srv pb.Tether_EgressServer) error {
	ctx := srv.Context()
	id, err := identityFrom(ctx)
	if err != nil {
		return err
	}
	resource := ResourceName(id.ep.project, id.ep.endpoint)
	if err := s.authorize(ctx, "DATA_WRITE", MethodEgress, PermConnect, resource); err != nil {
		return err
	}
	st := &stream{
		id: newStreamID(), ep: id.ep, cluster: id.cluster, agent: id.agent,
		out: make(chan outMsg, 64), dead: make(chan struct{}),
		pending: map[string]*call{}, drained: make(chan struct{}),
	}
	log := s.log.With(zap.String("tether", st.id), zap.String("project", id.ep.project),
		zap.String("cluster", id.cluster.Name), zap.String("region", id.cluster.Region), zap.String("agent", id.agent))

	// Registered before the agent hears of it, so that once an agent counts
	// a stream as open the control plane routes to it; requests queue in
	// st.out behind the StreamInfo sent here.
	if !s.register(st) {
		return status.Error(codes.Unavailable, "the control plane is shutting down")
	}
	if err := srv.Send(&pb.EgressRequest{
		Id:       newRequestID(),
		Payload:  &pb.Payload{Kind: &pb.Payload_StreamInfo{StreamInfo: &pb.StreamInfo{Id: st.id}}},
		Endpoint: id.ep.endpoint,
		Project:  "projects/" + id.ep.project,
	}); err != nil {
		s.unregister(st, "send failed")
		close(st.dead)
		return err
	}
	log.Info("tether stream opened")

	recvErr := make(chan error, 1)
	go func() {
		for {
			resp, err := srv.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			s.deliver(st, resp, log)
		}
	}()

	var end error
	reason := ""
loop:
	for {
		select {
		case m := <-st.out:
			if m.c != nil {
				m.c.sent.Store(true)
			}
			if err := srv.Send(m.req); err != nil {
				end, reason = err, "send failed"
				break loop
			}
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				reason = "agent closed the stream"
			} else {
				end, reason = err, "stream broken"
			}
			break loop
		case <-st.drained:
			reason = "drained"
			break loop
		case <-s.closing:
			end, reason = status.Error(codes.Unavailable, "the control plane is shutting down"), "control plane shutting down"
			break loop
		case <-ctx.Done():
			end, reason = ctx.Err(), "context ended"
			break loop
		}
	}
	lost := s.unregister(st, reason)
	close(st.dead)
	log.Info("tether stream closed", zap.String("reason", reason), zap.Int("lostRequests", lost), zap.Error(end))
	if end != nil && status.Code(end) == codes.Unavailable {
		return end
	}
	return nil
}

// register adds the stream unless the service is closing.
func (s *Service) register(st *stream) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closing:
		return false
	default:
	}
	s.streams[st.ep] = append(s.streams[st.ep], st)
	// A new stream of a cluster answers our OPEN_NEW_STREAM; if the
	// cluster is still busy, ask again right away.
	delete(s.asked, clusterID{st.ep, st.cluster})
	s.maybeAskForStreamLocked(st)
	s.m.streams.Inc()
	s.notifyLocked()
	return true
}

// unregister removes the stream and fails what it still owed; it returns
// how many requests were lost.
func (s *Service) unregister(st *stream, reason string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.streams[st.ep]
	for i, x := range list {
		if x == st {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.streams, st.ep)
	} else {
		s.streams[st.ep] = list
	}
	st.gone = true
	n := len(st.pending)
	for id, c := range st.pending {
		c.done <- callResult{lost: fmt.Errorf("tether %s ended (%s) before the response arrived", st.id, reason)}
		delete(st.pending, id)
	}
	s.m.streams.Dec()
	s.notifyLocked()
	return n
}

// deliver routes one agent message.
func (s *Service) deliver(st *stream, resp *pb.EgressResponse, log *zap.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if isDrainNotice(resp) {
		if !st.draining {
			st.draining = true
			log.Info("agent is draining the tether", zap.Int("inFlight", len(st.pending)))
			s.checkDrainedLocked(st)
			s.notifyLocked()
		}
		return
	}
	c := st.pending[resp.GetId()]
	if c == nil {
		// Timed out or cancelled already.
		log.Debug("response for no pending request", zap.String("id", resp.GetId()))
		return
	}
	delete(st.pending, resp.GetId())
	c.done <- callResult{resp: resp}
	s.checkDrainedLocked(st)
}

func (s *Service) forget(st *stream, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(st.pending, id)
	s.checkDrainedLocked(st)
}

func (s *Service) checkDrainedLocked(st *stream) {
	if st.draining && len(st.pending) == 0 {
		select {
		case <-st.drained:
		default:
			close(st.drained)
		}
	}
}

// acquire picks a stream for c — the open, non-draining stream with the
// fewest requests in flight, round robin among equals — and registers c on
// it. While the endpoint's only streams are draining it waits for a new one
// (or for them to go).
func (s *Service) acquire(ctx context.Context, ep endpointKey, c *call) (*stream, error) {
	for {
		s.mu.Lock()
		list := s.streams[ep]
		if len(list) == 0 {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w for project %s (endpoint %s)", ErrNoAgent, ep.project, ep.endpoint)
		}
		var best *stream
		n := len(list)
		start := int(s.rr % uint64(n))
		s.rr++
		for i := range n {
			st := list[(start+i)%n]
			if st.draining || st.gone {
				continue
			}
			if best == nil || len(st.pending) < len(best.pending) {
				best = st
			}
		}
		if best != nil {
			best.pending[c.id] = c
			s.maybeAskForStreamLocked(best)
			s.mu.Unlock()
			return best, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.closing:
			return nil, errShuttingDown
		}
	}
}

var errShuttingDown = &apierr.Error{Code: http.StatusServiceUnavailable, Status: "UNAVAILABLE", Message: "The control plane is shutting down."}

// maybeAskForStreamLocked sends OPEN_NEW_STREAM down st when its cluster is
// busy: InFlightPerStream or more requests in flight per open stream.
func (s *Service) maybeAskForStreamLocked(st *stream) {
	cid := clusterID{st.ep, st.cluster}
	open, inFlight := 0, 0
	for _, x := range s.streams[st.ep] {
		if x.cluster == st.cluster && !x.draining {
			open++
			inFlight += len(x.pending)
		}
	}
	if open >= s.opts.MaxStreamsPerCluster || inFlight < open*s.opts.InFlightPerStream {
		return
	}
	// One question at a time: the answer is a new stream (which clears
	// it); an agent at its own limit is asked again later.
	if t, ok := s.asked[cid]; ok && s.opts.Now().Sub(t) < 10*time.Second {
		return
	}
	msg := outMsg{req: &pb.EgressRequest{
		Id:       newRequestID(),
		Payload:  &pb.Payload{Kind: &pb.Payload_Action{Action: pb.Action_OPEN_NEW_STREAM}},
		Endpoint: st.ep.endpoint,
		Project:  "projects/" + st.ep.project,
	}}
	select {
	case st.out <- msg:
		s.asked[cid] = s.opts.Now()
		s.m.openNewStream.Inc()
		s.log.Info("asking the agent for a new stream", zap.String("tether", st.id),
			zap.String("cluster", st.cluster.Name), zap.Int("streams", open), zap.Int("inFlight", inFlight))
	default: // the stream is backed up; ask on a later request
	}
}

// idempotent methods may be sent again after a stream loss.
func idempotent(method string) bool {
	switch strings.ToUpper(method) {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// Do sends req to the project's endpoint through one of its tethers and
// returns the target's answer. Errors: ErrNoAgent (wrapped) when no agent
// is connected; *apierr.Error 504 when the timeout passes, 502 when the
// stream carrying the request ends before its answer (after one retry on
// another stream for idempotent methods, or for requests never sent), or
// the agent reports it could not reach the target.
func (s *Service) Do(ctx context.Context, project string, endpoint pb.TetherEndpoint, req *Request) (*Response, error) {
	start := s.opts.Now()
	resp, err := s.do(ctx, endpointKey{trimProject(project), endpoint}, req)
	code := "error"
	if resp != nil {
		code = strconv.Itoa(resp.StatusCode)
	} else if ae := (*apierr.Error)(nil); errors.As(err, &ae) {
		code = strconv.Itoa(ae.Code)
	} else if errors.Is(err, ErrNoAgent) {
		code = "no_agent"
	}
	s.m.requests.WithLabelValues(code).Inc()
	s.m.latency.Observe(s.opts.Now().Sub(start).Seconds())
	return resp, err
}

func (s *Service) do(ctx context.Context, ep endpointKey, req *Request) (*Response, error) {
	select {
	case <-s.closing:
		return nil, errShuttingDown
	default:
	}
	timeout := s.opts.RequestTimeout
	if req.Timeout > 0 && req.Timeout < timeout {
		timeout = req.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id := newRequestID()
	traceID := req.TraceID
	if traceID == "" {
		traceID = id
	}
	headers := make([]*pb.Header, 0, len(req.Header))
	keys := make([]string, 0, len(req.Header))
	for k := range req.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		headers = append(headers, &pb.Header{Key: k, Values: req.Header[k]})
	}
	retried := false
	for {
		c := &call{id: id, done: make(chan callResult, 1)}
		st, err := s.acquire(ctx, ep, c)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, timeoutError(id, timeout)
			}
			return nil, err
		}
		remaining := timeout
		if dl, ok := ctx.Deadline(); ok {
			remaining = time.Until(dl)
		}
		msg := outMsg{c: c, req: &pb.EgressRequest{
			Id: id,
			Payload: &pb.Payload{Kind: &pb.Payload_HttpRequest{HttpRequest: &pb.HttpRequest{
				Id:      id,
				Method:  req.Method,
				Url:     &pb.Url{Scheme: pb.Scheme_HTTPS, Host: req.Host, Path: req.Path},
				Headers: headers,
				Body:    req.Body,
			}}},
			Endpoint: ep.endpoint,
			Project:  "projects/" + ep.project,
			TraceId:  traceID,
			Timeout:  durationpb.New(remaining),
		}}
		select {
		case st.out <- msg:
		case <-st.dead:
			// The stream ended before taking the request; unregister has
			// already failed c, which the wait below picks up.
		case <-ctx.Done():
			s.forget(st, id)
			return nil, s.ctxError(ctx, id, timeout)
		}
		select {
		case r := <-c.done:
			if r.lost != nil {
				if !retried && (idempotent(req.Method) || !c.sent.Load()) {
					retried = true
					s.m.retries.Inc()
					s.log.Info("retrying request on another tether", zap.String("id", id), zap.String("method", req.Method), zap.Error(r.lost))
					continue
				}
				return nil, &apierr.Error{Code: http.StatusBadGateway, Status: "UNAVAILABLE",
					Message: fmt.Sprintf("Apigee Connect: request %s (%s %s) failed: %v", id, req.Method, req.Path, r.lost)}
			}
			return toResponse(st.id, id, timeout, r.resp)
		case <-ctx.Done():
			s.forget(st, id)
			return nil, s.ctxError(ctx, id, timeout)
		}
	}
}

func (s *Service) ctxError(ctx context.Context, id string, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutError(id, timeout)
	}
	return ctx.Err()
}

func timeoutError(id string, timeout time.Duration) error {
	return &apierr.Error{Code: http.StatusGatewayTimeout, Status: "DEADLINE_EXCEEDED",
		Message: fmt.Sprintf("Apigee Connect: no response to request %s within %s.", id, timeout)}
}

// toResponse turns an agent's answer into a Response or, when the agent
// reports it could not call the target, a 502/504.
func toResponse(streamID, id string, timeout time.Duration, r *pb.EgressResponse) (*Response, error) {
	if st := r.GetStatus(); st != nil && codes.Code(st.GetCode()) != codes.OK {
		if codes.Code(st.GetCode()) == codes.DeadlineExceeded {
			// The agent holds the same deadline and may notice first.
			e := timeoutError(id, timeout).(*apierr.Error)
			e.Message += " The agent reports: " + st.GetMessage()
			return nil, e
		}
		return nil, &apierr.Error{Code: http.StatusBadGateway, Status: "UNAVAILABLE",
			Message: fmt.Sprintf("Apigee Connect: the agent could not complete request %s: %s", id, st.GetMessage())}
	}
	hr := r.GetHttpResponse()
	if hr == nil {
		return nil, &apierr.Error{Code: http.StatusBadGateway, Status: "UNAVAILABLE",
			Message: fmt.Sprintf("Apigee Connect: the agent answered request %s without an HTTP response.", id)}
	}
	h := make(http.Header, len(hr.GetHeaders()))
	for _, kv := range hr.GetHeaders() {
		for _, v := range kv.GetValues() {
			h.Add(kv.GetKey(), v)
		}
	}
	code := int(hr.GetStatusCode())
	if code == 0 {
		code = http.StatusOK
	}
	return &Response{StatusCode: code, Header: h, Body: hr.GetBody(), StreamID: streamID}, nil
}

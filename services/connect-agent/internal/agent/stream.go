package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"go.uber.org/zap"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// maxResponseBytes bounds a MART response carried back (it must fit one
// gRPC message).
const maxResponseBytes = maxMessageBytes - 1<<20

// tether is one open stream; responses from many goroutines share it.
type tether struct {
	id     string
	mu     sync.Mutex
	stream pb.Tether_EgressClient
}

func (t *tether) send(r *pb.EgressResponse) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stream.Send(r)
}

// drainNotice asks the server to send this stream nothing new.
func drainNotice() *pb.EgressResponse {
	return &pb.EgressResponse{Status: &spb.Status{Code: int32(codes.Unavailable), Message: "agent is draining"}}
}

// serveStream opens one stream and serves it until it ends. established
// reports whether the server accepted it (sent StreamInfo).
func (a *Agent) serveStream() (established bool, err error) {
	a.mu.Lock()
	hard := a.hard
	a.mu.Unlock()
	ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(hard, a.md))
	defer cancel()
	s, err := a.tether.Egress(ctx)
	if err != nil {
		return false, err
	}
	first, err := s.Recv()
	if err != nil {
		return false, err
	}
	id := first.GetPayload().GetStreamInfo().GetId()
	if id == "" {
		return false, errors.New("the server's first message on the stream carried no StreamInfo")
	}
	t := &tether{id: id, stream: s}
	a.log.Info("listening on tether "+id, zap.String("tether", id))
	a.open.Add(1)
	a.m.streamOpens.Inc()
	defer func() {
		a.open.Add(-1)
		a.log.Info("tether id "+id+" is closed", zap.String("tether", id), zap.Error(err))
	}()

	var work sync.WaitGroup
	streamEnded := make(chan struct{})
	work.Go(func() {
		select {
		case <-a.drainCh:
			// Answers already sent for still count; the server ends the
			// stream once it has them all.
			if err := t.send(drainNotice()); err != nil {
				a.log.Warn("could not send the drain notice", zap.String("tether", id), zap.Error(err))
				return
			}
			a.log.Info("draining tether "+id, zap.String("tether", id))
		case <-streamEnded:
		}
	})
	for {
		msg, rerr := s.Recv()
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				err = rerr
			}
			break
		}
		switch k := msg.GetPayload().GetKind().(type) {
		case *pb.Payload_HttpRequest:
			work.Go(func() { a.handle(hard, t, msg) })
		case *pb.Payload_Action:
			if k.Action == pb.Action_OPEN_NEW_STREAM {
				opened := a.addSlot()
				a.log.Info("server asked for a new stream", zap.String("tether", id), zap.Bool("opening", opened))
			}
		case *pb.Payload_StreamInfo:
		}
	}
	close(streamEnded)
	work.Wait()
	return true, err
}

// handle carries one request to the target server and the answer back.
func (a *Agent) handle(hard context.Context, t *tether, msg *pb.EgressRequest) {
	start := time.Now()
	hr := msg.GetPayload().GetHttpRequest()
	id := msg.GetId()
	if id == "" {
		id = hr.GetId()
	}
	timeout := a.cfg.HTTPClientTimeout
	if d := msg.GetTimeout().AsDuration(); msg.GetTimeout() != nil && d > 0 && d < timeout {
		timeout = d
	}
	ctx, cancel := context.WithTimeout(hard, timeout)
	defer cancel()

	out := &pb.EgressResponse{
		Id: id, Project: msg.GetProject(), TraceId: msg.GetTraceId(), Endpoint: msg.GetEndpoint(),
		Name: msg.GetProject() + "/endpoints/" + msg.GetEndpoint().String(),
	}
	resp, err := a.call(ctx, hr)
	code := "error"
	if err != nil && hard.Err() != nil {
		// Cut at the end of the grace period: no answer, so the server
		// sees the stream lost and can send the request elsewhere.
		a.m.requests.WithLabelValues("abandoned").Inc()
		a.log.Warn(fmt.Sprintf("%q: abandoned, the agent is stopping", id), zap.String("id", id))
		return
	}
	if err != nil {
		c := codes.Unavailable
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			c = codes.DeadlineExceeded
		}
		out.Status = &spb.Status{Code: int32(c), Message: err.Error()}
		a.log.Warn(fmt.Sprintf("%q: request to target %q failed: %v", id, a.host, err), zap.String("id", id))
	} else {
		out.HttpResponse = resp
		code = strconv.Itoa(int(resp.GetStatusCode()))
		a.log.Info(fmt.Sprintf("%q: received response from target %q, status code: %d", id, a.host, resp.GetStatusCode()), zap.String("id", id))
	}
	a.m.requests.WithLabelValues(code).Inc()
	a.m.latency.Observe(time.Since(start).Seconds())
	a.log.Info(fmt.Sprintf("Attempting to send response %s on tether %s", id, t.id), zap.String("id", id), zap.String("tether", t.id))
	if err := t.send(out); err != nil {
		a.log.Warn(fmt.Sprintf("could not send response %s on tether %s: %v", id, t.id, err), zap.String("id", id))
	}
}

// Request headers the agent sets itself.
var dropHeader = map[string]bool{"Host": true, "Content-Length": true, "User-Agent": true, SecretHeader: true, "Connection": true, "Transfer-Encoding": true}

// call makes the HTTP request to the target server.
func (a *Agent) call(ctx context.Context, hr *pb.HttpRequest) (*pb.HttpResponse, error) {
	path := hr.GetUrl().GetPath()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	method := hr.GetMethod()
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(hr.GetBody()))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for _, h := range hr.GetHeaders() {
		k := http.CanonicalHeaderKey(h.GetKey())
		if !dropHeader[k] {
			req.Header[k] = h.GetValues()
		}
	}
	req.Header.Set("User-Agent", UserAgent)
	if a.cfg.MARTSecret != "" {
		req.Header.Set(SecretHeader, a.cfg.MARTSecret)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", maxResponseBytes)
	}
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	headers := make([]*pb.Header, 0, len(keys))
	for _, k := range keys {
		headers = append(headers, &pb.Header{Key: k, Values: resp.Header[k]})
	}
	return &pb.HttpResponse{
		Id: hr.GetId(), Status: resp.Status, StatusCode: int32(resp.StatusCode),
		Body: body, Headers: headers, ContentLength: int64(len(body)),
	}, nil
}

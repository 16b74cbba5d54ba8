package faults

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func ptr[T any](v T) *T { return &v }

func TestStartValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"unknown service", Spec{Services: []string{"bigquery"}}, `unknown service "bigquery"`},
		{"negative latency", Spec{Latency: "-1s"}, "negative"},
		{"bad latency", Spec{Latency: "soon"}, "invalid latency"},
		{"rate above 1", Spec{ErrorRate: ptr(1.5)}, "outside 0-1"},
		{"rate below 0", Spec{ErrorRate: ptr(-0.1)}, "outside 0-1"},
		{"unknown mode", Spec{Mode: "explode"}, "unknown mode"},
		{"unknown scope", Spec{Scope: "everyone"}, "unknown scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := New(nil, nil)
			_, err := in.Start(tc.spec)
			require.ErrorContains(t, err, tc.want)
			require.True(t, IsValidation(err))
			require.Empty(t, in.Active(), "a bad spec applies nothing")
		})
	}
}

func TestStartDefaultsAndAliases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spec     Spec
		services []string
		mode     Mode
		rate     float64
	}{
		{"all by default", Spec{}, Services, ModeUnavailable, 1},
		{"aliases", Spec{Services: []string{"oauth2", "iam", "connect.googleapis.com"}}, []string{IAMCredentials, ApigeeConnect}, ModeUnavailable, 1},
		{"latency only", Spec{Services: []string{"apigee"}, Latency: "10ms"}, []string{Apigee}, ModeNone, 0},
		{"error rate", Spec{Services: []string{"storage"}, ErrorRate: ptr(0.5), Mode: "reset"}, []string{Storage}, ModeReset, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := New(nil, nil)
			_, err := in.Start(tc.spec)
			require.NoError(t, err)
			var got []string
			for _, f := range in.Active() {
				got = append(got, f.Service)
				require.Equal(t, tc.mode, f.Mode)
				require.Equal(t, tc.rate, f.ErrorRate)
			}
			require.Equal(t, tc.services, got)
		})
	}
}

func TestHTTPModes(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	reg := prometheus.NewRegistry()
	in := New(zap.New(core), reg)
	srv := httptest.NewServer(in.HTTP(Apigee, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})))
	defer srv.Close()
	get := func() (*http.Response, error) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
		return http.DefaultClient.Do(req)
	}

	res, err := get()
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
	res.Body.Close()

	_, err = in.Start(Spec{Services: []string{Apigee}})
	require.NoError(t, err)
	res, err = get()
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, 503, res.StatusCode)
	var g struct {
		Error struct {
			Code   int    `json:"code"`
			Status string `json:"status"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &g), string(body))
	require.Equal(t, 503, g.Error.Code)
	require.Equal(t, "UNAVAILABLE", g.Error.Status)

	_, err = in.Start(Spec{Services: []string{Apigee}, Mode: "reset"})
	require.NoError(t, err)
	_, err = get()
	require.Error(t, err, "a reset connection is a transport error")

	_, err = in.Start(Spec{Services: []string{Apigee}, Latency: "150ms"})
	require.NoError(t, err)
	start := time.Now()
	res, err = get()
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	_, err = in.Stop()
	require.NoError(t, err)
	res, err = get()
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)

	require.Equal(t, 1.0, testutil.ToFloat64(in.injected.WithLabelValues(Apigee, "unavailable")))
	require.Equal(t, 1.0, testutil.ToFloat64(in.injected.WithLabelValues(Apigee, "reset")))
	var modes []string
	for _, e := range logs.All() {
		require.Equal(t, zap.WarnLevel, e.Level)
		modes = append(modes, e.ContextMap()["service"].(string)+"/"+e.ContextMap()["mode"].(string))
	}
	require.Equal(t, []string{"apigee/unavailable", "apigee/reset", "apigee/latency", "apigee/restored"}, modes)
}

func TestErrorRateIsAProbability(t *testing.T) {
	in := New(nil, nil)
	_, err := in.Start(Spec{Services: []string{Storage}, ErrorRate: ptr(0.3)})
	require.NoError(t, err)
	failed := 0
	for range 2000 {
		if _, m := in.decide(Storage); m != ModeNone {
			failed++
		}
	}
	require.InDelta(t, 600, failed, 150)
	_, m := in.decide(Apigee)
	require.Equal(t, ModeNone, m, "other services are untouched")
}

// fakeStream is the part of a grpc.ServerStream the interceptor uses.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f fakeStream) Context() context.Context { return f.ctx }

func TestStreamInterceptorDropsOpenStreams(t *testing.T) {
	in := New(nil, nil)
	icpt := in.StreamInterceptor(ApigeeConnect)
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- icpt(nil, fakeStream{ctx: context.Background()}, nil, func(_ any, ss grpc.ServerStream) error {
			close(started)
			<-ss.Context().Done() // a tether waits on its stream's context
			return ss.Context().Err()
		})
	}()
	<-started
	_, err := in.Start(Spec{Services: []string{"apigeeconnect"}})
	require.NoError(t, err)
	select {
	case err := <-errc:
		require.Equal(t, codes.Unavailable, status.Code(err))
	case <-time.After(5 * time.Second):
		t.Fatal("the open stream was not dropped")
	}
	// New streams are refused while the outage lasts.
	err = icpt(nil, fakeStream{ctx: context.Background()}, nil, func(any, grpc.ServerStream) error { return errors.New("reached") })
	require.Equal(t, codes.Unavailable, status.Code(err))
}

func TestHandler(t *testing.T) {
	in := New(nil, nil)
	allow := true
	h := in.Handler(func(*http.Request) error {
		if !allow {
			return errors.New("denied")
		}
		return nil
	})
	do := func(method, target, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, target, strings.NewReader(body)))
		return w
	}
	for _, tc := range []struct {
		name, method, target, body string
		code                       int
		active                     int
	}{
		{"status", "GET", Path, "", 200, 0},
		{"unknown service", "POST", Path, `{"services":["nope"]}`, 400, 0},
		{"bad rate", "POST", Path, `{"errorRate":2}`, 400, 0},
		{"negative latency", "POST", Path, `{"latency":"-5s"}`, 400, 0},
		{"start two", "POST", Path, `{"services":["apigee","oauth2"]}`, 200, 2},
		{"stop one", "DELETE", Path + "?service=apigee", "", 200, 1},
		{"start all", "PUT", Path, `{}`, 200, len(Services)},
		{"stop all", "DELETE", Path, "", 200, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(tc.method, tc.target, tc.body)
			require.Equal(t, tc.code, w.Code, w.Body.String())
			require.Len(t, in.Active(), tc.active)
			if tc.code == 200 {
				var v StatusView
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
				require.Len(t, v.Services, len(Services))
			}
		})
	}
	allow = false
	require.NotEqual(t, 200, do("DELETE", Path, "").Code)
}

// A call held open when the outage starts (a long-poll) is cut with a 503.
func TestHTTPCutsHeldCalls(t *testing.T) {
	in := New(nil, nil)
	holding := make(chan struct{})
	srv := httptest.NewServer(in.HTTP(Apigee, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(holding)
		<-r.Context().Done()
		w.WriteHeader(http.StatusOK) // discarded: the outage took the call over
	})))
	defer srv.Close()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		res, err := http.Get(srv.URL)
		if err != nil {
			done <- result{err: err}
			return
		}
		res.Body.Close()
		done <- result{code: res.StatusCode}
	}()
	<-holding
	_, err := in.Start(Spec{Services: []string{Apigee}})
	require.NoError(t, err)
	select {
	case r := <-done:
		require.NoError(t, r.err)
		require.Equal(t, http.StatusServiceUnavailable, r.code)
	case <-time.After(5 * time.Second):
		t.Fatal("the held call was not cut")
	}
}

// A runtime-scoped outage cuts the runtime plane's calls and spares the
// operator's, so a deploy made during it goes live on recovery.
func TestRuntimeScopeSparesOperators(t *testing.T) {
	in := New(nil, nil)
	in.SetOperator(func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer admin" })
	h := in.HTTP(Apigee, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	call := func(token string) int {
		req := httptest.NewRequest(http.MethodGet, "/v1/organizations/o", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	_, err := in.Start(Spec{Scope: "runtime"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, call("admin"), "the operator still reaches the API")
	require.Equal(t, http.StatusServiceUnavailable, call("synchronizer"), "the runtime plane is cut off")
	require.Equal(t, "runtime", in.Status().Services[0].Scope)

	_, err = in.Start(Spec{})
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, call("admin"), "a whole outage cuts everyone")
}

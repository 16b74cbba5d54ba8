package connect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/connect-agent/agenttest"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/connect"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const martEP = pb.TetherEndpoint_APIGEE_MART

func TestListConnectionsRealClient(t *testing.T) {
	c := startCP(t)
	m := startMART(t)
	// Two agents of one cluster add up; another cluster; another project
	// does not show.
	c.startAgent(t, c.agentConfig(m.URL, "cluster-a", "us-central1", 2))
	c.startAgent(t, c.agentConfig(m.URL, "cluster-a", "us-central1", 1))
	c.startAgent(t, c.agentConfig(m.URL, "cluster-b", "australia-southeast1", 4))
	c.startAgent(t, c.agentConfig(m.URL, "cluster-c", "europe-west1", 1))
	other := c.agentConfig(m.URL, "cluster-z", "x", 1)
	other.Project = "projects/other"
	c.startAgent(t, other)
	c.waitStreams(t, 8)

	client := c.connectionClient(t, adminToken)
	parent := "projects/" + testProject + "/endpoints/apigee_mart"
	want := []string{"cluster-a/us-central1/3", "cluster-b/australia-southeast1/4", "cluster-c/europe-west1/1"}

	t.Run("all", func(t *testing.T) {
		var got []string
		it := client.ListConnections(context.Background(), &pb.ListConnectionsRequest{Parent: parent})
		for {
			conn, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			require.NoError(t, err)
			require.Equal(t, parent, conn.GetEndpoint())
			got = append(got, fmt.Sprintf("%s/%s/%d", conn.GetCluster().GetName(), conn.GetCluster().GetRegion(), conn.GetStreamCount()))
		}
		require.Equal(t, want, got)
	})

	t.Run("pages of one", func(t *testing.T) {
		var got []string
		pages := 0
		pager := iterator.NewPager(client.ListConnections(context.Background(), &pb.ListConnectionsRequest{Parent: parent}), 1, "")
		for {
			var page []*pb.Connection
			next, err := pager.NextPage(&page)
			require.NoError(t, err)
			pages++
			require.LessOrEqual(t, len(page), 1)
			for _, conn := range page {
				got = append(got, fmt.Sprintf("%s/%s/%d", conn.GetCluster().GetName(), conn.GetCluster().GetRegion(), conn.GetStreamCount()))
			}
			if next == "" {
				break
			}
		}
		require.Equal(t, want, got)
		require.Equal(t, 3, pages)
	})

	t.Run("errors", func(t *testing.T) {
		cases := []struct {
			name, token, parent string
			code                codes.Code
			msg                 string
		}{
			{"bad parent", adminToken, "projects/" + testProject, codes.InvalidArgument, "projects/{project}/endpoints/{endpoint}"},
			{"unknown endpoint", adminToken, "projects/p/endpoints/nope", codes.InvalidArgument, "unknown endpoint"},
			{"no token", "", parent, codes.Unauthenticated, "missing required authentication credential"},
			{"bad token", "wrong", parent, codes.Unauthenticated, "invalid authentication credentials"},
			{"no role", noRoleToken, parent, codes.PermissionDenied, "Permission denied on resource '//apigeeconnect.googleapis.com/" + parent + "' (or it may not exist)."},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				cl := c.connectionClient(t, tc.token)
				_, err := cl.ListConnections(context.Background(), &pb.ListConnectionsRequest{Parent: tc.parent}).Next()
				require.Equal(t, tc.code, status.Code(err), "%v", err)
				require.Contains(t, err.Error(), tc.msg)
			})
		}
		_, err := client.ListConnections(context.Background(), &pb.ListConnectionsRequest{Parent: parent, PageToken: "!!"}).Next()
		require.Equal(t, codes.InvalidArgument, status.Code(err))
	})

	t.Run("audit", func(t *testing.T) {
		entries := c.logs.FilterMessage("audit").FilterField(zap.String("methodName", connect.MethodListConnections)).All()
		require.NotEmpty(t, entries)
		f := entries[0].ContextMap()
		require.Equal(t, "DATA_READ", f["logType"])
		require.Equal(t, "admin", f["principal"])
		require.Equal(t, "//apigeeconnect.googleapis.com/"+parent, f["resource"])
		egress := c.logs.FilterMessage("audit").FilterField(zap.String("methodName", connect.MethodEgress)).All()
		require.NotEmpty(t, egress)
		require.Equal(t, "DATA_WRITE", egress[0].ContextMap()["logType"])
		require.Equal(t, "agent", egress[0].ContextMap()["principal"])
	})

	t.Run("REST", func(t *testing.T) {
		h := c.svc.ConnectionsHandler()
		get := func(token, query string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodGet, "/v1/projects/"+testProject+"/endpoints/apigee_mart/connections"+query, nil)
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		w := get(adminToken, "?pageSize=2")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var body struct {
			Connections []struct {
				Endpoint string `json:"endpoint"`
				Cluster  struct {
					Name   string `json:"name"`
					Region string `json:"region"`
				} `json:"cluster"`
				StreamCount int `json:"streamCount"`
			} `json:"connections"`
			NextPageToken string `json:"nextPageToken"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
		require.Len(t, body.Connections, 2)
		require.Equal(t, "projects/"+testProject+"/endpoints/apigee_mart", body.Connections[0].Endpoint)
		require.Equal(t, "cluster-a", body.Connections[0].Cluster.Name)
		require.Equal(t, 3, body.Connections[0].StreamCount)
		require.NotEmpty(t, body.NextPageToken)

		w = get(adminToken, "?pageSize=2&pageToken="+body.NextPageToken)
		require.Equal(t, http.StatusOK, w.Code)
		require.Contains(t, w.Body.String(), "cluster-c")
		require.NotContains(t, w.Body.String(), "nextPageToken")

		for _, tc := range []struct {
			token, query string
			code         int
			status       string
		}{
			{noRoleToken, "", http.StatusForbidden, "PERMISSION_DENIED"},
			{adminToken, "?pageSize=x", http.StatusBadRequest, "INVALID_ARGUMENT"},
			{adminToken, "?pageSize=-1", http.StatusBadRequest, "INVALID_ARGUMENT"},
		} {
			w := get(tc.token, tc.query)
			require.Equal(t, tc.code, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), `"status":"`+tc.status+`"`)
		}
	})
}

func TestRequestRoundTrip(t *testing.T) {
	c := startCP(t)
	m := startMART(t)
	core, logs := observer.New(zapcore.InfoLevel)
	cfg := c.agentConfig(m.URL, "cluster-a", "r", 2)
	a := agenttest.Start(t, cfg, zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core)))
	require.Eventually(t, func() bool { return a.OpenStreams() == 2 }, 10*time.Second, 5*time.Millisecond)

	cases := []struct {
		name, method, path, body string
		status                   int
	}{
		{"get with query", http.MethodGet, "/v1/organizations/o/developers?count=100&expand=true&startKey=4ee9e8f7", "", 200},
		{"post body", http.MethodPost, "/v1/organizations/o/developers", `{"email":"a@example.com"}`, 200},
		{"status passes", http.MethodGet, "/v1/organizations/o/developers/missing@example.com", "", 404},
		{"escaped path", http.MethodDelete, "/v1/organizations/o/keyvaluemaps/m/entries/a%2Fb", "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.svc.Do(context.Background(), "projects/"+testProject, martEP, &connect.Request{
				Method: tc.method, Path: tc.path, Body: []byte(tc.body),
				Header: http.Header{"Content-Type": {"application/json"}},
			})
			require.NoError(t, err)
			require.Equal(t, tc.status, resp.StatusCode)
			require.Equal(t, "yes", resp.Header.Get("X-Mart"))
			require.NotEmpty(t, resp.StreamID)
			var e echo
			require.NoError(t, json.Unmarshal(resp.Body, &e))
			path, query, _ := strings.Cut(tc.path, "?")
			require.Equal(t, tc.method, e.Method)
			require.Equal(t, strings.ReplaceAll(path, "%2F", "/"), e.Path)
			require.Equal(t, query, e.Query)
			require.Equal(t, tc.body, e.Body)
			require.Equal(t, "apigee-connect-agent-1.0", e.UserAgent)
			require.Equal(t, martSecret, e.Secret)
			require.Equal(t, "application/json", e.Type)
			require.Empty(t, e.Auth)
		})
	}

	t.Run("agent logs like the real one", func(t *testing.T) {
		require.NotEmpty(t, logs.FilterMessageSnippet("listening on tether ").All())
		require.NotEmpty(t, logs.FilterMessageSnippet(`": received response from target "`+strings.TrimPrefix(m.URL, "http://")+`", status code: 200`).All())
		require.NotEmpty(t, logs.FilterMessageSnippet("Attempting to send response ").All())
	})

	t.Run("no agent for project", func(t *testing.T) {
		_, err := c.svc.Do(context.Background(), "nobody", martEP, &connect.Request{Method: http.MethodGet, Path: "/"})
		require.ErrorIs(t, err, connect.ErrNoAgent)
		require.Contains(t, err.Error(), "project nobody")
	})

	t.Run("target unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		cfg := c.agentConfig(dead.URL, "cluster-dead", "r", 1)
		cfg.Project = "projects/dead-target"
		a := agenttest.Start(t, cfg, zaptest.NewLogger(t, zaptest.Level(zapcore.ErrorLevel)))
		require.Eventually(t, func() bool { return a.OpenStreams() == 1 }, 10*time.Second, 5*time.Millisecond)
		_, err := c.svc.Do(context.Background(), "dead-target", martEP, &connect.Request{Method: http.MethodGet, Path: "/x"})
		var ae *apierr.Error
		require.ErrorAs(t, err, &ae)
		require.Equal(t, http.StatusBadGateway, ae.Code)
		require.Contains(t, ae.Message, "the agent could not complete request")
	})
}

func TestTimeout(t *testing.T) {
	c := startCP(t)
	m := startMART(t)
	c.startAgent(t, c.agentConfig(m.URL, "cluster-a", "r", 1))
	_, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{
		Method: http.MethodGet, Path: "/block", Timeout: 100 * time.Millisecond,
	})
	var ae *apierr.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusGatewayTimeout, ae.Code)
	require.Equal(t, "DEADLINE_EXCEEDED", ae.Status)
	require.Contains(t, ae.Message, "within 100ms")
	m.Release()

	// The stream is still good for the next request.
	resp, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{Method: http.MethodGet, Path: "/next"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestStreamLoss(t *testing.T) {
	cases := []struct {
		method string
		want   int // 200: retried on the other agent; 502: failed clearly
	}{
		{http.MethodGet, http.StatusOK},
		{http.MethodPut, http.StatusOK},
		{http.MethodPost, http.StatusBadGateway},
	}
	for _, tc := range cases {
		t.Run(tc.method, func(t *testing.T) {
			c := startCP(t)
			blocking, echoing := startMART(t), startMART(t)
			echoing.Release() // answers /block at once
			// Agent A takes the request and hangs on MART; then agent B
			// joins and A dies without draining (grace 0).
			cfgA := c.agentConfig(blocking.URL, "cluster-a", "r", 1)
			cfgA.TerminationGracePeriod = 0
			a := c.startAgent(t, cfgA)

			type result struct {
				resp *connect.Response
				err  error
			}
			res := make(chan result, 1)
			go func() {
				resp, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{Method: tc.method, Path: "/block"})
				res <- result{resp, err}
			}()
			require.Equal(t, tc.method, <-blocking.arrived)
			c.startAgent(t, c.agentConfig(echoing.URL, "cluster-b", "r", 1))
			require.NoError(t, a.Stop())

			r := <-res
			if tc.want == http.StatusOK {
				require.NoError(t, r.err)
				require.Equal(t, http.StatusOK, r.resp.StatusCode)
				var e echo
				require.NoError(t, json.Unmarshal(r.resp.Body, &e))
				require.Equal(t, tc.method, e.Method)
				return
			}
			var ae *apierr.Error
			require.ErrorAs(t, r.err, &ae)
			require.Equal(t, tc.want, ae.Code)
			require.Contains(t, ae.Message, "ended")
			require.Contains(t, ae.Message, "before the response arrived")
		})
	}
}

func TestOpenNewStream(t *testing.T) {
	c := startCP(t, func(o *connect.Options) { o.InFlightPerStream = 2; o.MaxStreamsPerCluster = 3 })
	m := startMART(t)
	cfg := c.agentConfig(m.URL, "cluster-a", "r", 1)
	a := c.startAgent(t, cfg)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			resp, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{Method: http.MethodGet, Path: "/block"})
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			errs <- err
		})
	}
	// Busy (two or more in flight per stream): the server asks for more
	// streams, up to its limit of 3.
	require.Eventually(t, func() bool { return a.OpenStreams() == 3 }, 10*time.Second, 5*time.Millisecond)
	c.waitStreams(t, 3)
	require.NotEmpty(t, c.logs.FilterMessage("asking the agent for a new stream").All())
	m.Release()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestPermissionDenied(t *testing.T) {
	c := startCP(t)
	m := startMART(t)
	cfg := c.agentConfig(m.URL, "cluster-a", "r", 2)
	cfg.Token = noRoleToken
	core, logs := observer.New(zapcore.InfoLevel)
	a := agenttest.Start(t, cfg, zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core)))
	err := a.Err()
	require.Error(t, err)
	want := "failed to register stream with Apigee Connect, got 'PermissionDenied': rpc error: code = PermissionDenied desc = " +
		"Permission denied on resource '//apigeeconnect.googleapis.com/projects/" + testProject + "/endpoints/APIGEE_MART' (or it may not exist)."
	require.Contains(t, err.Error(), want)
	fatal := logs.FilterLevelExact(zapcore.FatalLevel).All()
	require.NotEmpty(t, fatal)
	require.Equal(t, want, fatal[0].Message)

	denied := c.logs.FilterMessage("audit").FilterField(zap.Bool("granted", false)).All()
	require.NotEmpty(t, denied)
	require.Equal(t, "DATA_WRITE", denied[0].ContextMap()["logType"])
	require.Equal(t, noRolePrinci, denied[0].ContextMap()["principal"])

	// The standalone main path (service.Main exits 1 on this error).
	cfg.Listen = "127.0.0.1:0"
	err = agenttest.Run(context.Background(), &cfg)
	require.ErrorContains(t, err, want)
}

// TestRollingRestart restarts both agents, one after the other, while
// clients keep sending non-idempotent requests (which are never retried):
// not one may fail.
func TestRollingRestart(t *testing.T) {
	c := startCP(t)
	m := startMART(t)
	cfgA := c.agentConfig(m.URL, "cluster-a", "r", 2)
	cfgB := c.agentConfig(m.URL, "cluster-a", "r", 2)
	a := c.startAgent(t, cfgA)
	b := c.startAgent(t, cfgB)
	c.waitStreams(t, 4)

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				body := fmt.Sprintf(`{"worker":%d,"n":%d}`, w, i)
				resp, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{
					Method: http.MethodPost, Path: "/v1/organizations/o/developers", Body: []byte(body),
				})
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
				if err == nil {
					var e echo
					if err = json.Unmarshal(resp.Body, &e); err == nil && e.Body != body {
						err = fmt.Errorf("answer to the wrong request: %q", e.Body)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		})
	}
	progress := func(n int64) {
		t.Helper()
		from := ok.Load()
		require.Eventually(t, func() bool { return ok.Load() >= from+n || failed.Load() > 0 }, 20*time.Second, time.Millisecond)
	}
	progress(50)
	require.NoError(t, a.Stop()) // graceful: drains under load
	a2 := c.startAgent(t, cfgA)
	progress(50)
	require.NoError(t, b.Stop())
	progress(50)
	c.startAgent(t, cfgB)
	progress(50)
	require.NoError(t, a2.Stop())
	progress(50)
	stop()
	wg.Wait()
	require.Zero(t, failed.Load(), "first failure: %v", firstErr.Load())
	t.Logf("%d requests, none failed", ok.Load())
	require.NotEmpty(t, c.logs.FilterMessage("agent is draining the tether").All())
}

// TestDrainWaitsForInFlight: a stopping agent finishes what it was sent
// before its streams close.
func TestDrainWaitsForInFlight(t *testing.T) {
	c := startCP(t)
	m := startMART(t)
	a := c.startAgent(t, c.agentConfig(m.URL, "cluster-a", "r", 1))
	res := make(chan error, 1)
	go func() {
		resp, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{Method: http.MethodPost, Path: "/block"})
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		res <- err
	}()
	<-m.arrived
	a.StopAsync()
	// Draining: the stream stays until the answer is back.
	require.Eventually(t, func() bool {
		return len(c.logs.FilterMessage("agent is draining the tether").All()) == 1
	}, 10*time.Second, time.Millisecond)
	require.Equal(t, 1, c.svc.Streams(testProject, martEP))
	select {
	case <-a.Done():
		t.Fatal("agent stopped with a request in flight")
	default:
	}
	m.Release()
	require.NoError(t, <-res)
	require.NoError(t, a.Err())
	c.waitStreams(t, 0)
	// New requests have nowhere to go.
	_, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{Method: http.MethodGet, Path: "/"})
	require.ErrorIs(t, err, connect.ErrNoAgent)
}

// TestServiceAccountKey: the agent authenticates with a key file through
// the standard Google library (JWT-bearer flow against token_uri).
func TestServiceAccountKey(t *testing.T) {
	var grants atomic.Int64
	tokenServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Stands in for the control plane's token endpoint (emulated IAM).
		_ = r.ParseForm()
		if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.Form.Get("assertion") == "" {
			http.Error(w, "bad grant", http.StatusBadRequest)
			return
		}
		grants.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"`+agentToken+`","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(tokenServer.Close)
	c := startCP(t)
	m := startMART(t)
	cfg := c.agentConfig(m.URL, "cluster-a", "r", 1)
	cfg.Token = ""
	cfg.ServiceAccountPath = writeKeyFile(t, tokenServer.URL+"/token")
	c.startAgent(t, cfg)
	require.Positive(t, grants.Load())
	resp, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{Method: http.MethodGet, Path: "/x"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestCloseEndsStreams(t *testing.T) {
	c := startCP(t)
	m := startMART(t)
	a := c.startAgent(t, c.agentConfig(m.URL, "cluster-a", "r", 2))
	c.svc.Close()
	c.waitStreams(t, 0)
	_, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{Method: http.MethodGet, Path: "/"})
	require.Error(t, err)
	require.NoError(t, a.Stop())
}

// TestSpreadsAcrossStreams: concurrent requests go to the stream with the
// fewest in flight, so three at once use all three streams.
func TestSpreadsAcrossStreams(t *testing.T) {
	c := startCP(t)
	m := startMART(t)
	c.startAgent(t, c.agentConfig(m.URL, "cluster-a", "r", 3))
	ids := make(chan string, 3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			resp, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{Method: http.MethodGet, Path: "/block"})
			if err != nil {
				ids <- "error: " + err.Error()
				return
			}
			ids <- resp.StreamID
		})
	}
	for range 3 {
		<-m.arrived
	}
	m.Release()
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		require.NotContains(t, id, "error")
		seen[id] = true
	}
	require.Len(t, seen, 3)
}

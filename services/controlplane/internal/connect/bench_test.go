package connect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hybrid-emulator/hybrid/services/connect-agent/agenttest"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/connect"
)

// developerJSON is a MART-sized answer (one developer).
const developerJSON = `{"email":"dev@example.com","firstName":"Dev","lastName":"Eloper","userName":"dev",` +
	`"developerId":"4ee9e8f7-12b2-4cde-bf10-32d991469876","organizationName":"hybrid","status":"active",` +
	`"apps":["app-1","app-2"],"createdAt":"1576040392317","lastModifiedAt":"1576040392317",` +
	`"attributes":[{"name":"tier","value":"gold"}]}`

type developer struct {
	Email            string              `json:"email"`
	FirstName        string              `json:"firstName"`
	LastName         string              `json:"lastName"`
	UserName         string              `json:"userName"`
	DeveloperID      string              `json:"developerId"`
	OrganizationName string              `json:"organizationName"`
	Status           string              `json:"status"`
	Apps             []string            `json:"apps"`
	CreatedAt        string              `json:"createdAt"`
	LastModifiedAt   string              `json:"lastModifiedAt"`
	Attributes       []map[string]string `json:"attributes"`
}

// BenchmarkTetherVsDirect measures MART-like calls the control plane makes
// through an Apigee Connect tether (control plane → gRPC stream → agent →
// MART) against calling MART directly over HTTP (the mart.hostAlias path),
// with the same concurrency, and reports both rates and their ratio
// (tether/direct; the goal is at least 0.5).
func BenchmarkTetherVsDirect(b *testing.B) {
	// MART-like echo: MART decodes the developer it is sent, validates it
	// and answers with the stored form; Cassandra is left out, so the
	// comparison is the transport's cost alone.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var dev developer
		if err := json.NewDecoder(r.Body).Decode(&dev); err != nil || dev.Email == "" {
			http.Error(w, `{"error":{"code":400,"status":"INVALID_ARGUMENT"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(dev)
	}))
	b.Cleanup(srv.Close)
	c := startCP(b, func(o *connect.Options) { o.Log = zap.NewNop() })
	// The agent logs two info lines per request, as the real one does; a
	// JSON logger to nowhere keeps that cost in the measurement.
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	agentLog := zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	cfg := c.agentConfig(srv.URL, "bench", "local", 2)
	a := agenttest.Start(b, cfg, agentLog)
	require.Eventually(b, func() bool { return a.OpenStreams() == 2 }, 10*time.Second, 5*time.Millisecond)

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	client := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	path := "/v1/organizations/hybrid/developers"
	body := []byte(developerJSON)
	direct := func() error {
		resp, err := client.Post(srv.URL+path, "application/json", strings.NewReader(developerJSON))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return err
	}
	tether := func() error {
		resp, err := c.svc.Do(context.Background(), testProject, martEP, &connect.Request{
			Method: http.MethodPost, Path: path, Body: body, Header: http.Header{"Content-Type": {"application/json"}},
		})
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return err
	}
	const workers = 16
	rate := func(n int, call func() error) float64 {
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		start := time.Now()
		for w := range workers {
			wg.Go(func() {
				for i := w; i < n; i += workers {
					if err := call(); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		return float64(n) / elapsed.Seconds()
	}
	// Warm both paths (connections, stream windows).
	rate(200, direct)
	rate(200, tether)
	b.ResetTimer()
	d := rate(b.N, direct)
	t := rate(b.N, tether)
	b.ReportMetric(d, "direct-req/s")
	b.ReportMetric(t, "tether-req/s")
	b.ReportMetric(t/d, "tether/direct")
}

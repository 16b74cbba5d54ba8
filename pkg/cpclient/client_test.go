package cpclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClient(t *testing.T) {
	var gotReport RuntimeStatus
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/organizations/o/environments/test/contract/version", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		require.Equal(t, "20261122.100000.000", r.URL.Query().Get("waitForChangeFrom"))
		require.Equal(t, "30s", r.URL.Query().Get("timeout"))
		_, _ = w.Write([]byte(`{"version":"20261122.100001.000"}`))
	})
	mux.HandleFunc("GET /v1/organizations/o/environments/test/contract", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"organization":"o","environment":"test","version":"20261122.100001.000"}`))
	})
	mux.HandleFunc("POST /v1/organizations/o/environments/test/runtimeStatus", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, json.NewDecoder(r.Body).Decode(&gotReport))
		_, _ = w.Write([]byte(`{}`))
	})
	mux.HandleFunc("GET /v1/organizations/o/environments/bad/contract/version", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"version":"yesterday"}`))
	})
	mux.HandleFunc("GET /v1/organizations/o/environments/missing/contract", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":{"code":404}}`, http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(Config{URL: srv.URL + "/", Token: "tok", Timeout: 5 * time.Second})
	ctx := context.Background()

	v, err := c.ContractVersion(ctx, "o", "test", "20261122.100000.000", 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, "20261122.100001.000", v)

	ct, err := c.Contract(ctx, "o", "test")
	require.NoError(t, err)
	require.Equal(t, "20261122.100001.000", ct.Version)

	require.NoError(t, c.ReportRuntimeStatus(ctx, "o", "test", RuntimeStatus{Instance: "i", Deployments: []DeploymentStatus{{APIProxy: "p", State: "READY"}}}))
	require.Equal(t, "p", gotReport.Deployments[0].APIProxy)

	_, err = c.ContractVersion(ctx, "o", "bad", "", 0)
	require.ErrorContains(t, err, "invalid contract version")

	_, err = c.Contract(ctx, "o", "missing")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.Status)
	require.False(t, IsUnreachable(err), "an answer is not an outage")

	down := New(Config{URL: "http://127.0.0.1:1", Token: "tok", Timeout: time.Second})
	_, err = down.Contract(ctx, "o", "test")
	require.True(t, IsUnreachable(err))
	require.False(t, errors.As(err, &apiErr))
}

// Package gcpapitest holds the test helpers of the control plane's mock
// Google Cloud APIs: serving an API on a test server, calling it and
// reading Google's error shape.
package gcpapitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Serve serves an API's routes (register is its Register method) on a test
// server closed when the test ends.
func Serve(tb testing.TB, register func(handle func(pattern string, h http.Handler))) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	register(mux.Handle)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// Call sends body (a JSON string, or "" for none) and returns the status
// and the body of the answer.
func Call(tb testing.TB, method, u, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(tb, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(tb, err)
	return res.StatusCode, string(raw)
}

// APIError is Google's JSON error shape.
type APIError struct {
	Error struct {
		Code    int              `json:"code"`
		Message string           `json:"message"`
		Status  string           `json:"status"`
		Details []map[string]any `json:"details"`
	} `json:"error"`
}

// ProjectSet is a fixed set of existing projects (an API's Projects).
type ProjectSet map[string]bool

// ProjectExists reports whether id is in the set.
func (p ProjectSet) ProjectExists(id string) bool { return p[id] }

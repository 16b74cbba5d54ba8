package cpclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIAMCredentials(t *testing.T) {
	const sa = "proxy-sa@hybrid.iam.gserviceaccount.com"
	exp := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"a","exp":` + jsonInt(exp.Unix()) + `}`))
	mux := http.NewServeMux()
	var gotAccess, gotID map[string]any
	mux.HandleFunc("POST /v1/projects/-/serviceAccounts/{ref}", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		var in map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&in))
		switch r.PathValue("ref") {
		case sa + ":generateAccessToken":
			gotAccess = in
			_, _ = w.Write([]byte(`{"accessToken":"ya29.x","expireTime":"2026-11-22T11:00:00Z"}`))
		case sa + ":generateIdToken":
			gotID = in
			_, _ = w.Write([]byte(`{"token":"e30.` + payload + `.sig"}`))
		default:
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).","status":"PERMISSION_DENIED"}}`))
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(Config{URL: srv.URL, Token: "tok", Timeout: 5 * time.Second})
	ctx := context.Background()

	tok, err := c.GenerateAccessToken(ctx, sa, []string{"s1", "s2"}, 20*time.Minute)
	require.NoError(t, err)
	require.Equal(t, Token{Value: "ya29.x", Expiry: exp}, tok)
	require.Equal(t, map[string]any{"scope": []any{"s1", "s2"}, "lifetime": "1200s"}, gotAccess)

	tok, err = c.GenerateIDToken(ctx, sa, "https://a", true)
	require.NoError(t, err)
	require.True(t, exp.Equal(tok.Expiry), "%v", tok.Expiry)
	require.Equal(t, map[string]any{"audience": "https://a", "includeEmail": true}, gotID)

	_, err = c.GenerateAccessToken(ctx, "other@hybrid.iam.gserviceaccount.com", []string{"s"}, 0)
	require.Error(t, err)
	require.Equal(t, "HTTP 403: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).", ErrorMessage(err))
}

func jsonInt(n int64) string {
	raw, _ := json.Marshal(n)
	return string(raw)
}

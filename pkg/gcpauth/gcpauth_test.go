package gcpauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
)

// tokenServer stands in for the control plane's token endpoint (the real
// one is tested with this package in services/controlplane): it checks the
// JWT-bearer request's shape and hands out numbered tokens.
func tokenServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/token" || r.ParseForm() != nil ||
			r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		parts := strings.Split(r.PostForm.Get("assertion"), ".")
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct {
			Iss, Aud, Scope string
		}
		if len(parts) != 3 || err != nil || json.Unmarshal(raw, &claims) != nil ||
			claims.Aud != "http://"+r.Host+"/token" || claims.Scope != gcpauth.CloudPlatformScope || claims.Iss != "sa@p.iam.gserviceaccount.com" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"ya29.token` + string(rune('0'+n.Load())) + `","expires_in":3599,"token_type":"Bearer"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func keyFile(t *testing.T, tokenURI string) []byte {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	raw, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "p", "private_key_id": "0123abcd",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "sa@p.iam.gserviceaccount.com", "client_id": "1234", "token_uri": tokenURI,
		"universe_domain": "googleapis.com",
	})
	require.NoError(t, err)
	return raw
}

func TestClients(t *testing.T) {
	srv, minted := tokenServer(t)
	path := filepath.Join(t.TempDir(), "p-sa.json")
	require.NoError(t, os.WriteFile(path, keyFile(t, srv.URL+"/token"), 0o600))
	ts, err := gcpauth.TokenSourceFromFile(context.Background(), path)
	require.NoError(t, err)

	// HTTP: the bearer token rides on every request, fetched once.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Header.Get("Authorization")))
	}))
	t.Cleanup(api.Close)
	client := gcpauth.HTTPClient(ts, nil)
	for range 3 {
		res, err := client.Get(api.URL)
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, "Bearer ya29.token1", string(body))
	}
	require.EqualValues(t, 1, minted.Load())

	// gRPC per-RPC credentials.
	creds := gcpauth.PerRPCCredentials(ts, false)
	md, err := creds.GetRequestMetadata(context.Background())
	require.NoError(t, err)
	require.Equal(t, map[string]string{"authorization": "Bearer ya29.token1"}, md)
	require.False(t, creds.RequireTransportSecurity())
	require.True(t, gcpauth.PerRPCCredentials(ts, true).RequireTransportSecurity())
}

func TestKeyFileErrors(t *testing.T) {
	srv, _ := tokenServer(t)
	ctx := context.Background()
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"not JSON", []byte("{"), "key file is not JSON"},
		{"user credentials", []byte(`{"type":"authorized_user"}`), `key file type is "authorized_user"`},
		{"no token_uri", []byte(`{"type":"service_account","client_email":"a@b"}`), "lacks client_email or token_uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gcpauth.TokenSource(ctx, tt.raw)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err := gcpauth.TokenSourceFromFile(ctx, filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorContains(t, err, "read key file")

	// A refused exchange surfaces from the RPC credentials.
	ts, err := gcpauth.TokenSource(ctx, keyFile(t, srv.URL+"/token"), "https://www.googleapis.com/auth/userinfo.email")
	require.NoError(t, err)
	_, err = gcpauth.PerRPCCredentials(ts, false).GetRequestMetadata(ctx)
	require.ErrorContains(t, err, "invalid_grant")
	info, err := gcpauth.ReadKeyInfo(keyFile(t, srv.URL+"/token"))
	require.NoError(t, err)
	require.Equal(t, gcpauth.KeyInfo{Type: "service_account", ProjectID: "p", ClientEmail: "sa@p.iam.gserviceaccount.com", TokenURI: srv.URL + "/token"}, info)
}

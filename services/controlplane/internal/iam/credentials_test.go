package iam_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

// post sends a JSON body with the admin token and decodes the answer.
func (e *env) post(path string, in any) (int, map[string]any) {
	e.tb.Helper()
	body, err := json.Marshal(in)
	require.NoError(e.tb, err)
	req, err := http.NewRequest("POST", e.url+path, bytes.NewReader(body))
	require.NoError(e.tb, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	return e.send(req)
}

func (e *env) send(req *http.Request) (int, map[string]any) {
	e.tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.tb, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.tb, err)
	var out map[string]any
	require.NoError(e.tb, json.Unmarshal(raw, &out), "%s", raw)
	return resp.StatusCode, out
}

func (e *env) tokenInfo(kind, tok string) (int, map[string]any) {
	e.tb.Helper()
	req, err := http.NewRequest("GET", e.url+iam.TokenInfoPath+"?"+kind+"="+url.QueryEscape(tok), nil)
	require.NoError(e.tb, err)
	return e.send(req)
}

// TestMintedTokensExpire drives tokeninfo with the IAM's clock: access
// tokens live their requested lifetime, ID tokens an hour.
func TestMintedTokensExpire(t *testing.T) {
	e := newEnv(t)
	e.account("hybrid", "proxy-sa")
	const name = "/v1/projects/-/serviceAccounts/proxy-sa@hybrid.iam.gserviceaccount.com"
	status, at := e.post(name+":generateAccessToken", map[string]any{"scope": []string{iam.CloudPlatformScope}, "lifetime": "300s"})
	require.Equal(t, http.StatusOK, status, "%v", at)
	require.Equal(t, e.clock.now().Add(5*time.Minute).UTC().Format(time.RFC3339), at["expireTime"])
	status, id := e.post(name+":generateIdToken", map[string]any{"audience": "https://svc.example"})
	require.Equal(t, http.StatusOK, status, "%v", id)

	tests := []struct {
		advance           time.Duration
		accessOK, idTokOK bool
	}{
		{0, true, true},
		{299 * time.Second, true, true},
		{time.Second, false, true},
		{55 * time.Minute, false, false},
	}
	for i, tt := range tests {
		e.clock.advance(tt.advance)
		status, info := e.tokenInfo("access_token", at["accessToken"].(string))
		require.Equal(t, tt.accessOK, status == http.StatusOK, "step %d: %v", i, info)
		status, info = e.tokenInfo("id_token", id["token"].(string))
		require.Equal(t, tt.idTokOK, status == http.StatusOK, "step %d: %v", i, info)
		if !tt.idTokOK {
			require.Equal(t, map[string]any{"error": "invalid_token", "error_description": "Invalid Value"}, info)
		}
	}
}

// TestIDTokenKeySurvivesRestart: the signing key is persisted, so ID
// tokens a backend holds stay valid across control plane restarts.
func TestIDTokenKeySurvivesRestart(t *testing.T) {
	e := newEnv(t)
	e.account("hybrid", "proxy-sa")
	status, id := e.post("/v1/projects/-/serviceAccounts/proxy-sa@hybrid.iam.gserviceaccount.com:generateIdToken", map[string]any{"audience": "a"})
	require.Equal(t, http.StatusOK, status)
	e.iam = e.open()
	status, _ = e.tokenInfo("id_token", id["token"].(string))
	require.Equal(t, http.StatusOK, status)
}

// TestSeedServiceAccountBinding seeds a binding on one account's own
// policy: apigee-runtime may mint that account's tokens, no other's.
func TestSeedServiceAccountBinding(t *testing.T) {
	e := newEnv(t)
	accounts := append(iam.DefaultServiceAccounts(),
		iam.AccountSeed{AccountID: "proxy-sa", KeyFile: "-"}, iam.AccountSeed{AccountID: "other-sa", KeyFile: "-"})
	bindings := []iam.BindingSeed{{ServiceAccount: "proxy-sa", Role: "roles/iam.serviceAccountTokenCreator",
		Members: []string{"serviceAccount:apigee-runtime@hybrid.iam.gserviceaccount.com"}}}
	_, err := e.iam.Seed(accounts, bindings, "hybrid", filepath.Join(t.TempDir(), "keys"))
	require.NoError(t, err)
	runtime := iam.Principal{Member: "serviceAccount:apigee-runtime@hybrid.iam.gserviceaccount.com"}
	ctx := context.Background()
	require.NoError(t, e.iam.Authorize(ctx, runtime, iam.PermSAGetAccessToken, "projects/hybrid/serviceAccounts/proxy-sa@hybrid.iam.gserviceaccount.com"))
	require.Error(t, e.iam.Authorize(ctx, runtime, iam.PermSAGetAccessToken, "projects/hybrid/serviceAccounts/other-sa@hybrid.iam.gserviceaccount.com"))
	require.Error(t, e.iam.Authorize(ctx, runtime, iam.PermSAActAs, "projects/hybrid/serviceAccounts/proxy-sa@hybrid.iam.gserviceaccount.com"))
	pol, err := e.iam.GetAccountPolicy("-", "proxy-sa@hybrid.iam.gserviceaccount.com")
	require.NoError(t, err)
	require.Equal(t, []iam.Binding{{Role: "roles/iam.serviceAccountTokenCreator", Members: []string{"serviceAccount:apigee-runtime@hybrid.iam.gserviceaccount.com"}}}, pol.Bindings)

	// Seeded once: a binding removed later stays removed.
	_, err = e.iam.SetAccountPolicy("-", "proxy-sa@hybrid.iam.gserviceaccount.com", iam.Policy{})
	require.NoError(t, err)
	_, err = e.iam.Seed(accounts, bindings, "hybrid", filepath.Join(t.TempDir(), "keys"))
	require.NoError(t, err)
	pol, err = e.iam.GetAccountPolicy("-", "proxy-sa@hybrid.iam.gserviceaccount.com")
	require.NoError(t, err)
	require.Empty(t, pol.Bindings)
}

func TestMatchCredentialRoles(t *testing.T) {
	tests := []struct {
		role, permission string
		want             bool
	}{
		{"roles/iam.serviceAccountTokenCreator", iam.PermSAGetAccessToken, true},
		{"roles/iam.serviceAccountTokenCreator", iam.PermSAGetOpenIDToken, true},
		{"roles/iam.serviceAccountTokenCreator", iam.PermSAActAs, false},
		{"roles/iam.serviceAccountUser", iam.PermSAActAs, true},
		{"roles/iam.serviceAccountUser", iam.PermSAGetAccessToken, false},
		{"roles/iam.serviceAccountOpenIdTokenCreator", iam.PermSAGetOpenIDToken, true},
		{"roles/iam.serviceAccountOpenIdTokenCreator", iam.PermSAGetAccessToken, false},
		{"roles/iam.serviceAccountAdmin", iam.PermSASetIamPolicy, true},
		{"roles/iam.serviceAccountAdmin", iam.PermSAGetAccessToken, false},
		{"roles/iam.serviceAccountAdmin", iam.PermSAActAs, false},
		{"roles/editor", iam.PermSAActAs, true},
		{"roles/editor", iam.PermSAGetAccessToken, false},
		{"roles/editor", iam.PermSACreate, true},
	}
	for _, tt := range tests {
		r, ok := iam.LookupRole(tt.role)
		require.True(t, ok, tt.role)
		require.Equal(t, tt.want, r.Grants(tt.permission), "%s %s", tt.role, tt.permission)
	}
}

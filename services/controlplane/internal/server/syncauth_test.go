package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

const syncSA = "serviceAccount:apigee-synchronizer@hybrid.iam.gserviceaccount.com"

// TestSyncAuthorization: getSyncAuthorization/setSyncAuthorization with
// Google's Go client (etag round trip, stale etag, bad identity), and the
// synchronizer's contract access following the list.
func TestSyncAuthorization(t *testing.T) {
	dir := t.TempDir()
	c := startCP(t, dir)
	api := goClient(t, c, testToken)
	const org = "organizations/hybrid"

	// The seeded org authorizes the seeded synchronizer account.
	got, err := api.Organizations.GetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1GetSyncAuthorizationRequest{}).Do()
	require.NoError(t, err)
	require.Equal(t, []string{syncSA}, got.Identities)
	raw, err := base64.StdEncoding.DecodeString(got.Etag)
	require.NoError(t, err)
	require.Len(t, raw, 8)

	// The synchronizer, with its own key file, reads contracts.
	ts, err := gcpauth.TokenSource(context.Background(), c.seededKey("apigee-synchronizer"))
	require.NoError(t, err)
	syncClient := gcpauth.HTTPClient(ts, nil)
	const versionPath = "/v1/organizations/hybrid/environments/test/contract/version"
	require.Equal(t, http.StatusOK, send(t, syncClient, "GET", c.url+versionPath, "", nil).status)

	// Set with the current etag: a new etag comes back.
	other := "serviceAccount:other-sync@hybrid.iam.gserviceaccount.com"
	set, err := api.Organizations.SetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1SyncAuthorization{
		Identities: []string{other}, Etag: got.Etag,
	}).Do()
	require.NoError(t, err)
	require.Equal(t, []string{other}, set.Identities)
	require.NotEqual(t, got.Etag, set.Etag)
	again, err := api.Organizations.GetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1GetSyncAuthorizationRequest{}).Do()
	require.NoError(t, err)
	require.Equal(t, set.Etag, again.Etag)
	require.Equal(t, []string{other}, again.Identities)

	// A stale etag is refused and changes nothing.
	_, err = api.Organizations.SetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1SyncAuthorization{
		Identities: []string{syncSA}, Etag: got.Etag,
	}).Do()
	ge := requireAPIError(t, err, http.StatusConflict)
	require.Contains(t, ge.Body, `"status":"ABORTED"`)

	// Identities must be serviceAccount:{email}.
	for _, bad := range []string{"user:alice@example.com", "apigee-synchronizer@hybrid.iam.gserviceaccount.com", "serviceAccount:nobody", ""} {
		_, err = api.Organizations.SetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1SyncAuthorization{Identities: []string{bad}}).Do()
		ge = requireAPIError(t, err, http.StatusBadRequest)
		require.Contains(t, ge.Message, "serviceAccount:{email}")
	}
	again, err = api.Organizations.GetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1GetSyncAuthorizationRequest{}).Do()
	require.NoError(t, err)
	require.Equal(t, set.Etag, again.Etag)

	// The synchronizer is no longer in the list: 403 on both contract routes.
	for _, path := range []string{versionPath, "/v1/organizations/hybrid/environments/test/contract"} {
		r := send(t, syncClient, "GET", c.url+path, "", nil)
		require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
		e := r.apiError(t)
		require.Equal(t, "PERMISSION_DENIED", e.Error.Status)
		require.Equal(t, "apigee-synchronizer@hybrid.iam.gserviceaccount.com is not authorized to access the organization hybrid: "+
			"it is not in the organization's sync authorization (see setSyncAuthorization).", e.Error.Message)
	}
	// The admin token is not subject to it.
	c.contractVersion("hybrid", "test")

	// Without an etag the list is overwritten; the synchronizer is back.
	set, err = api.Organizations.SetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1SyncAuthorization{
		Identities: []string{syncSA, other, syncSA},
	}).Do()
	require.NoError(t, err)
	require.Equal(t, []string{syncSA, other}, set.Identities)
	require.Equal(t, http.StatusOK, send(t, syncClient, "GET", c.url+versionPath, "", nil).status)

	// An org admin account may manage it; the synchronizer may not.
	_, err = c.apigeeAs(c.seededKey("apigee-org-admin")).Organizations.GetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1GetSyncAuthorizationRequest{}).Do()
	require.NoError(t, err)
	_, err = c.apigeeAs(c.seededKey("apigee-synchronizer")).Organizations.SetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1SyncAuthorization{}).Do()
	requireDenied(t, err, "apigee.organizations.update", "//apigee.googleapis.com/organizations/hybrid")

	// Unknown custom method, unknown org.
	r := c.do("POST", "/v1/organizations/hybrid:frobnicate", "application/json", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	_, err = api.Organizations.GetSyncAuthorization("organizations/nowhere", &apigee.GoogleCloudApigeeV1GetSyncAuthorizationRequest{}).Do()
	requireAPIError(t, err, http.StatusNotFound)

	// The list survives a restart; the seed does not overwrite it.
	c.stop()
	c = startCP(t, dir)
	api = goClient(t, c, testToken)
	again, err = api.Organizations.GetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1GetSyncAuthorizationRequest{}).Do()
	require.NoError(t, err)
	require.Equal(t, set.Etag, again.Etag)
	require.Equal(t, []string{syncSA, other}, again.Identities)
}

// TestSyncAuthorizationSeed: an org seeded with an explicit (empty) list
// gets it instead of the default.
func TestSyncAuthorizationSeed(t *testing.T) {
	c := startCP(t, t.TempDir(), func(cfg *server.Config) {
		cfg.Orgs[0].SyncAuthorization = []string{}
	})
	api := goClient(t, c, testToken)
	got, err := api.Organizations.GetSyncAuthorization("organizations/hybrid", &apigee.GoogleCloudApigeeV1GetSyncAuthorizationRequest{}).Do()
	require.NoError(t, err)
	require.Empty(t, got.Identities)
	ts, err := gcpauth.TokenSource(context.Background(), c.seededKey("apigee-synchronizer"))
	require.NoError(t, err)
	r := send(t, gcpauth.HTTPClient(ts, nil), "GET", c.url+"/v1/organizations/hybrid/environments/test/contract/version", "", nil)
	require.Equal(t, http.StatusForbidden, r.status)
}

// TestSyncAuthorizationMigration: an org stored before sync authorization
// existed (no syncAuthorization in state.json) gets the seed's default at
// the next start, so an upgraded `make up` keeps syncing.
func TestSyncAuthorizationMigration(t *testing.T) {
	dir := t.TempDir()
	c := startCP(t, dir)
	c.stop()
	snapshot := filepath.Join(dir, "state.json")
	raw, err := os.ReadFile(snapshot)
	require.NoError(t, err)
	var st map[string]any
	require.NoError(t, json.Unmarshal(raw, &st))
	org := st["orgs"].(map[string]any)["hybrid"].(map[string]any)
	require.Contains(t, org, "syncAuthorization")
	delete(org, "syncAuthorization")
	raw, err = json.Marshal(st)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(snapshot, raw, 0o600))

	c = startCP(t, dir)
	got, err := goClient(t, c, testToken).Organizations.GetSyncAuthorization("organizations/hybrid", &apigee.GoogleCloudApigeeV1GetSyncAuthorizationRequest{}).Do()
	require.NoError(t, err)
	require.Equal(t, []string{syncSA}, got.Identities)
}

package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/googleapi"
)

// requireFieldViolation asserts a 400 INVALID_ARGUMENT whose details carry
// one google.rpc.BadRequest naming field (description = the message).
func requireFieldViolation(tb testing.TB, err error, field string) {
	tb.Helper()
	ge := requireAPIError(tb, err, http.StatusBadRequest)
	require.Contains(tb, ge.Body, `"status":"INVALID_ARGUMENT"`)
	require.Len(tb, ge.Details, 1, ge.Body)
	require.Equal(tb, map[string]any{
		"@type":           "type.googleapis.com/google.rpc.BadRequest",
		"fieldViolations": []any{map[string]any{"field": field, "description": ge.Message}},
	}, ge.Details[0], ge.Body)
}

// TestGoogleErrorDetails reads error.details[] through Google's Go client
// (googleapi.Error.Details): ErrorInfo on IAM refusals, BadRequest field
// violations on validation errors.
func TestGoogleErrorDetails(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const org = "organizations/hybrid"

	// 403 from IAM: the analytics agent may not create developers.
	ci := c.apigeeAs(c.seededKey("apigee-udca"))
	_, err := ci.Organizations.Developers.Create(org, &apigee.GoogleCloudApigeeV1Developer{
		Email: "a@example.com", FirstName: "A", LastName: "B", UserName: "ab",
	}).Do()
	var ge *googleapi.Error
	require.ErrorAs(t, err, &ge)
	require.Equal(t, http.StatusForbidden, ge.Code, ge.Body)
	require.Len(t, ge.Details, 1, ge.Body)
	info := ge.Details[0].(map[string]any)
	require.Equal(t, "type.googleapis.com/google.rpc.ErrorInfo", info["@type"])
	require.Equal(t, "IAM_PERMISSION_DENIED", info["reason"])
	require.Equal(t, "iam.googleapis.com", info["domain"])
	md := info["metadata"].(map[string]any)
	require.Equal(t, "apigee.developers.create", md["permission"])
	require.Equal(t, org, md["resource"])

	// 400 with a field: a bad name, a bad update mask, a bad identity.
	_, err = api.Organizations.Environments.Create(org, &apigee.GoogleCloudApigeeV1Environment{Name: "no spaces allowed"}).Do()
	requireFieldViolation(t, err, "name")
	_, err = api.Organizations.Environments.ModifyEnvironment(org+"/environments/test",
		&apigee.GoogleCloudApigeeV1Environment{DisplayName: "x"}).UpdateMask("nodeConfig").Do()
	requireFieldViolation(t, err, "update_mask")
	_, err = api.Organizations.SetSyncAuthorization(org, &apigee.GoogleCloudApigeeV1SyncAuthorization{
		Identities: []string{"serviceAccount:a@hybrid.iam.gserviceaccount.com", "user:alice@example.com"},
	}).Do()
	requireFieldViolation(t, err, "identities[1]")

	// Errors without details still omit the field.
	_, err = api.Organizations.Environments.Get(org + "/environments/nowhere").Do()
	ge = requireAPIError(t, err, http.StatusNotFound)
	require.Empty(t, ge.Details)
	require.NotContains(t, ge.Body, `"details"`)
}

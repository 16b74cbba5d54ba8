//go:build integration

package e2e

import (
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// Requests in the exact shapes apigeecli sends, which Google's front end
// accepts though they are not what Google's own clients send: through the
// control plane, Apigee Connect and MART.
func TestApigeecliRequestShapes(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{All: true})
	svc := apigeeClient(t, c)
	org := "organizations/" + c.Org
	raw := func(method, u, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+harness.AdminToken)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}

	// `apigeecli kvms entries create --value "$(cat key.pem)"` pastes the PEM
	// between quotes: raw newlines inside a JSON string.
	_, err := svc.Organizations.Keyvaluemaps.Create(org, &apigee.GoogleCloudApigeeV1KeyValueMap{Name: "certs", Encrypted: true}).Do()
	require.NoError(t, err)
	pem := "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWAYTjkGm5tU9HtKda9fDzY6l78C8\n-----END PUBLIC KEY-----"
	status, body := raw(http.MethodPost, c.APIURL()+"/v1/"+org+"/keyvaluemaps/certs/entries", `{"name":"pem","value":"`+pem+`"}`)
	require.Less(t, status, 300, body)
	entry, err := svc.Organizations.Keyvaluemaps.Entries.Get(org + "/keyvaluemaps/certs/entries/pem").Do()
	require.NoError(t, err)
	require.Equal(t, pem, entry.Value, "stored as if the newlines had been escaped")
	status, body = raw(http.MethodPost, c.APIURL()+"/v1/"+org+"/keyvaluemaps/certs/entries", "{\"name\":\"bad\",\"value\":\"x\n")
	require.Equal(t, http.StatusBadRequest, status, "still not JSON: %s", body)

	// `apigeecli developers get --email a+b@example.com` query-escapes the
	// email and the URL escapes it again: /developers/a%252Bb%2540example.com.
	const email = "a+b@example.com"
	_, err = svc.Organizations.Developers.Create(org, &apigee.GoogleCloudApigeeV1Developer{Email: email, FirstName: "A", LastName: "B", UserName: "ab"}).Do()
	require.NoError(t, err)
	u, err := url.Parse(c.APIURL() + "/v1")
	require.NoError(t, err)
	u.Path = path.Join(u.Path, org, "developers", url.QueryEscape(email))
	require.Contains(t, u.String(), "a%252Bb%2540example.com", "the bytes apigeecli sends")
	status, body = raw(http.MethodGet, u.String(), "")
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `"email":"a+b@example.com"`)
	// Singly escaped, as Google's clients send it, works too.
	status, body = raw(http.MethodGet, c.APIURL()+"/v1/"+org+"/developers/a+b%40example.com", "")
	require.Equal(t, http.StatusOK, status, body)
}

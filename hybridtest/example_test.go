//go:build integration

package hybridtest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/hybridtest"
)

// The whole of a user's integration test: a runtime plane in the test's
// process, a proxy deployed from testdata, and calls through the message
// processor, with and without an API key made through Google's client.
// Run it with a Cassandra up: make cassandra-start, then
// go test -tags integration ./hybridtest/.
func TestHelloProxy(t *testing.T) {
	t.Parallel()
	stack := hybridtest.Start(t, hybridtest.Options{})
	stack.Deploy(t, "testdata/hello")

	status, body := stack.Get(t, "/hello?name=world")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Hello, world!", body)

	// /hello/private needs an API key: none is refused the Apigee way.
	status, body = stack.Get(t, "/hello/private")
	require.Equal(t, http.StatusUnauthorized, status, body)
	require.Contains(t, body, "steps.oauth.v2.FailedToResolveAPIKey")

	// A product, a developer and an app, as a user's setup would make them.
	svc := stack.Apigee(t)
	org := "organizations/" + stack.Org
	_, err := svc.Organizations.Apiproducts.Create(org, &apigee.GoogleCloudApigeeV1ApiProduct{
		Name: "hello-product", DisplayName: "Hello", ApprovalType: "auto",
		Environments: []string{stack.Env}, Proxies: []string{"hello"}}).Do()
	require.NoError(t, err)
	_, err = svc.Organizations.Developers.Create(org, &apigee.GoogleCloudApigeeV1Developer{
		Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", UserName: "ada"}).Do()
	require.NoError(t, err)
	app, err := svc.Organizations.Developers.Apps.Create(org+"/developers/ada@example.com",
		&apigee.GoogleCloudApigeeV1DeveloperApp{Name: "hello-app", ApiProducts: []string{"hello-product"}}).Do()
	require.NoError(t, err)
	require.NotEmpty(t, app.Credentials)

	req, err := http.NewRequest(http.MethodGet, "/hello/private?name=Ada", nil)
	require.NoError(t, err)
	req.Header.Set("x-apikey", app.Credentials[0].ConsumerKey)
	resp := stack.Do(t, req)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// Two stacks in one test process never share anything: each has its own
// organization, ports and state.
func TestStacksAreIndependent(t *testing.T) {
	t.Parallel()
	a := hybridtest.Start(t, hybridtest.Options{WithoutMART: true})
	b := hybridtest.Start(t, hybridtest.Options{WithoutMART: true})
	require.NotEqual(t, a.Org, b.Org)
	a.Deploy(t, "testdata/hello")
	status, body := a.Get(t, "/hello")
	require.Equal(t, http.StatusOK, status, body)
	status, body = b.Get(t, "/hello")
	require.Equal(t, http.StatusNotFound, status, "b has no proxy deployed")
	require.Contains(t, body, "messaging.adaptors.http.flow.ApplicationNotFound")
}

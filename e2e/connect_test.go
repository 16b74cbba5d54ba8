//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apigeeconnect "cloud.google.com/go/apigeeconnect/apiv1"
	"cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
)

// The seed's "Test the installation" steps (shared/seeds/apigee-connect.txt),
// automated: with Connect on (the default), management calls for runtime
// data travel from the control plane over the agent's tether to MART and
// land in Cassandra; the MART log shows the agent's calls; ListConnections
// shows the cluster and its streams; the agent logs its tethers; and API
// calls to a proxy work meanwhile.
func TestApigeeConnectInstallation(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{All: true})
	svc := orgAdminClient(t, c)
	org := "organizations/" + c.Org

	// Step 7: create an API product, a developer and an app; also a KVM.
	_, err := svc.Organizations.Apiproducts.Create(org, &apigee.GoogleCloudApigeeV1ApiProduct{
		Name: "gold", DisplayName: "Gold", ApprovalType: "auto", Environments: []string{c.Env},
		Proxies: []string{"hello"}, Quota: "100", QuotaInterval: "1", QuotaTimeUnit: "minute",
	}).Do()
	require.NoError(t, err)
	_, err = svc.Organizations.Developers.Create(org, &apigee.GoogleCloudApigeeV1Developer{
		Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", UserName: "ada",
	}).Do()
	require.NoError(t, err)
	app, err := svc.Organizations.Developers.Apps.Create(org+"/developers/ada@example.com", &apigee.GoogleCloudApigeeV1DeveloperApp{
		Name: "ada-app", ApiProducts: []string{"gold"},
	}).Do()
	require.NoError(t, err)
	require.Len(t, app.Credentials, 1)
	key := app.Credentials[0].ConsumerKey
	require.NotEmpty(t, key)
	_, err = svc.Organizations.Keyvaluemaps.Create(org, &apigee.GoogleCloudApigeeV1KeyValueMap{Name: "settings", Encrypted: true}).Do()
	require.NoError(t, err)
	_, err = svc.Organizations.Keyvaluemaps.Entries.Create(org+"/keyvaluemaps/settings", &apigee.GoogleCloudApigeeV1KeyValueEntry{Name: "color", Value: "blue"}).Do()
	require.NoError(t, err)

	// They landed in the runtime plane's Cassandra.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var email, appName string
	require.NoError(t, h.Session().Query("SELECT email FROM "+cassandra.Keyspace("kms", c.Org)+".developers WHERE email = ?", "ada@example.com").ScanContext(ctx, &email))
	require.NoError(t, h.Session().Query("SELECT app_name FROM "+cassandra.Keyspace("kms", c.Org)+".credentials WHERE consumer_key = ?", key).ScanContext(ctx, &appName))
	require.Equal(t, "ada-app", appName)
	var encrypted bool
	require.NoError(t, h.Session().Query("SELECT encrypted FROM "+cassandra.Keyspace("kvm", c.Org)+".maps WHERE scope = ? AND name = ?", "organization", "settings").ScanContext(ctx, &encrypted))

	// Step 2: they are present when listed again (queried from MART).
	devs, err := svc.Organizations.Developers.List(org).Expand(true).Do()
	require.NoError(t, err)
	require.Len(t, devs.Developer, 1)
	require.Equal(t, "ada@example.com", devs.Developer[0].Email)
	entry, err := svc.Organizations.Keyvaluemaps.Entries.Get(org + "/keyvaluemaps/settings/entries/color").Do()
	require.NoError(t, err)
	require.Equal(t, "blue", entry.Value)

	// Step 3: the MART log shows the calls came from the Connect agent.
	require.Eventually(t, func() bool {
		return strings.Contains(c.MART.Log(), "apigee-connect-agent-1.0") && strings.Contains(c.MART.Log(), "/developers")
	}, 10*time.Second, 50*time.Millisecond)

	// Step 5: the available streams for the apigee_mart endpoint, with
	// Google's apigeeconnect client unchanged…
	conns := listConnections(t, c)
	require.Len(t, conns, 1)
	require.Equal(t, "e2e-cluster", conns[0].GetCluster().GetName())
	require.Equal(t, "local", conns[0].GetCluster().GetRegion())
	require.GreaterOrEqual(t, conns[0].GetStreamCount(), int32(2), "the agent opens --streams (2) streams")
	// …and with the seed's curl.
	var rest struct {
		Connections []struct {
			Endpoint    string `json:"endpoint"`
			StreamCount int    `json:"streamCount"`
			Cluster     struct{ Name, Region string }
		} `json:"connections"`
	}
	getJSON(t, c.APIURL()+"/v1/projects/"+c.Org+"/endpoints/apigee_mart/connections", &rest)
	require.Len(t, rest.Connections, 1)
	require.Equal(t, "e2e-cluster", rest.Connections[0].Cluster.Name)

	// Step 6: the agent's log.
	require.Contains(t, c.ConnectAgent.Log(), "listening on tether")

	// The audit log categories the seed lists.
	var audit struct {
		Entries []map[string]any `json:"entries"`
	}
	getJSON(t, c.APIURL()+"/v1/projects/"+c.Org+"/auditLogs?pageSize=1000", &audit)
	seen := map[string]bool{}
	for _, e := range audit.Entries {
		seen[fmt.Sprint(e["category"])+" "+fmt.Sprint(e["methodName"])] = true
	}
	require.True(t, seen["DATA_WRITE google.cloud.apigeeconnect.v1.Tether.Egress"], "audit: %v", seen)
	require.True(t, seen["DATA_READ google.cloud.apigeeconnect.v1.ConnectionService.ListConnections"], "audit: %v", seen)

	// API calls to a proxy go on meanwhile.
	be := backend(t)
	attachHost(t, svc, c, "g", "connect.e2e.example.com")
	rev := importProxy(t, svc, c, "hello", proxyZip(t, "hello", "/hello", be.URL))
	deployAndWait(t, svc, c, "hello", rev)
	for range 5 {
		require.Equal(t, 200, eventuallyStatus(t, c, "connect.e2e.example.com", "/hello/x", 200).status)
	}
}

// Connect on with no agent: a clear 503. Connect off: the control plane
// calls MART at mart.hostAlias instead.
func TestMARTRoutingConnectOnOff(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{All: true})
	svc := orgAdminClient(t, c)
	org := "organizations/" + c.Org
	_, err := svc.Organizations.Developers.Create(org, &apigee.GoogleCloudApigeeV1Developer{Email: "bo@example.com", FirstName: "Bo", LastName: "B", UserName: "bo"}).Do()
	require.NoError(t, err)

	c.ConnectAgent.Stop(t)
	require.Eventually(t, func() bool { return len(listConnections(t, c)) == 0 }, 30*time.Second, 50*time.Millisecond)
	_, err = svc.Organizations.Developers.Get(org + "/developers/bo@example.com").Do()
	require.ErrorContains(t, err, "503")
	require.ErrorContains(t, err, "Apigee Connect")

	setConnect(t, svc, c, false)
	dev, err := svc.Organizations.Developers.Get(org + "/developers/bo@example.com").Do()
	require.NoError(t, err, "with Connect off the control plane reaches MART at its host alias")
	require.Equal(t, "Bo", dev.FirstName)

	setConnect(t, svc, c, true)
	_, err = svc.Organizations.Developers.Get(org + "/developers/bo@example.com").Do()
	require.ErrorContains(t, err, "503", "with Connect on, MART is reached only through a tether")
}

// The seed's crash: an agent whose service account lacks
// roles/apigeeconnect.Agent is refused and exits non-zero.
func TestConnectAgentWithoutRoleExits(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{All: true})
	agent := h.StartNoWait(t, "connect-agent", c.ConnectAgentArgs(c.KeyFile("apigee-runtime"))...)
	err := agent.Wait(t, time.Minute)
	require.Error(t, err, "the agent must exit non-zero")
	log := agent.Log()
	require.Contains(t, log, "failed to register stream with Apigee Connect, got 'PermissionDenied'")
	require.Contains(t, log, "Permission denied on resource '//apigeeconnect.googleapis.com/projects/"+c.Org+"/endpoints/APIGEE_MART' (or it may not exist).")
}

// Rolling restart of the agents under load: agents drain on SIGTERM and the
// control plane moves new calls to the other agent, so no call fails.
func TestConnectAgentRollingRestartLosesNothing(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{All: true})
	svc := orgAdminClient(t, c)
	second := c.StartConnectAgent(t, c.KeyFile("apigee-mart"), "--agentID", "agent-2")
	second.WaitReady(t, time.Minute)

	var ok, failed atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("load-%d-%d@example.com", w, i)
				_, err := svc.Organizations.Developers.Create("organizations/"+c.Org, &apigee.GoogleCloudApigeeV1Developer{
					Email: email, FirstName: "L", LastName: "D", UserName: fmt.Sprintf("u%d%d", w, i)}).Do()
				if err != nil {
					failed.Add(1)
					failures.Store(email, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}
	waitCalls := func(n int64) {
		start := ok.Load()
		require.Eventually(t, func() bool { return ok.Load() >= start+n }, time.Minute, 10*time.Millisecond)
	}
	waitCalls(20)
	c.ConnectAgent.Stop(t) // drains, then exits
	third := c.StartConnectAgent(t, c.KeyFile("apigee-mart"), "--agentID", "agent-3")
	third.WaitReady(t, time.Minute)
	waitCalls(20)
	second.Stop(t)
	waitCalls(20)
	close(stop)
	wg.Wait()
	failures.Range(func(k, v any) bool { t.Logf("failed call %v: %v", k, v); return true })
	require.Zero(t, failed.Load(), "calls failed across the rolling restart")
	require.Positive(t, ok.Load())
}

// Bad input through the control plane reaches MART over the tether and comes
// back as the right 4xx with nothing half-written.
func TestMARTBadInputThroughConnect(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{All: true})
	svc := orgAdminClient(t, c)
	org := "/v1/organizations/" + c.Org
	_, err := svc.Organizations.Developers.Create("organizations/"+c.Org, &apigee.GoogleCloudApigeeV1Developer{Email: "cy@example.com", FirstName: "C", LastName: "Y", UserName: "cy"}).Do()
	require.NoError(t, err)
	_, err = svc.Organizations.Developers.Apps.Create("organizations/"+c.Org+"/developers/cy@example.com", &apigee.GoogleCloudApigeeV1DeveloperApp{Name: "cy-app"}).Do()
	require.NoError(t, err)

	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"unknown developer", http.MethodGet, org + "/developers/nobody@example.com", "", 404},
		{"app for unknown developer", http.MethodPost, org + "/developers/nobody@example.com/apps", `{"name":"x"}`, 404},
		{"duplicate app", http.MethodPost, org + "/developers/cy@example.com/apps", `{"name":"cy-app"}`, 409},
		{"app with unknown product", http.MethodPost, org + "/developers/cy@example.com/apps", `{"name":"other","apiProducts":["nope"]}`, 400},
		{"malformed JSON", http.MethodPost, org + "/developers", `{"email":`, 400},
		{"huge body", http.MethodPost, org + "/developers", `{"email":"big@example.com","firstName":"` + strings.Repeat("x", 2<<20) + `"}`, 413},
		{"unknown attribute", http.MethodGet, org + "/developers/cy@example.com/apps/cy-app/attributes/nope", "", 404},
		{"duplicate attribute names", http.MethodPost, org + "/developers/cy@example.com/attributes", `{"attribute":[{"name":"a","value":"1"},{"name":"a","value":"2"}]}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := adminCall(t, c, tt.method, tt.path, tt.body)
			require.Equal(t, tt.want, status, body)
			require.Contains(t, body, `"error"`)
		})
	}
	apps, err := svc.Organizations.Developers.Apps.List("organizations/" + c.Org + "/developers/cy@example.com").Do()
	require.NoError(t, err)
	require.Len(t, apps.App, 1, "no half-created app")
	// An attribute written through the attributes sub-resource comes back
	// through it and on the app.
	appName := "organizations/" + c.Org + "/developers/cy@example.com/apps/cy-app"
	_, err = svc.Organizations.Developers.Apps.Attributes_.UpdateDeveloperAppAttribute(appName+"/attributes/tier",
		&apigee.GoogleCloudApigeeV1Attribute{Name: "tier", Value: "gold"}).Do()
	require.NoError(t, err)
	attrs, err := svc.Organizations.Developers.Apps.Attributes_.List(appName).Do()
	require.NoError(t, err)
	require.Len(t, attrs.Attribute, 1)
	require.Equal(t, "gold", attrs.Attribute[0].Value)
	devs, err := svc.Organizations.Developers.List("organizations/" + c.Org).Do()
	require.NoError(t, err)
	require.Len(t, devs.Developer, 1, "no developer from the rejected bodies")
}

// orgAdminClient is Google's apigee client authenticating as the seeded
// apigee-org-admin service account, tokens minted by the mock's IAM.
func orgAdminClient(tb testing.TB, c *harness.Cluster) *apigee.Service {
	tb.Helper()
	ts, err := gcpauth.TokenSourceFromFile(context.Background(), c.KeyFile("apigee-org-admin"), gcpauth.CloudPlatformScope)
	require.NoError(tb, err)
	svc, err := apigee.NewService(context.Background(), option.WithEndpoint(c.APIURL()+"/"), option.WithHTTPClient(gcpauth.HTTPClient(ts, nil)))
	require.NoError(tb, err)
	return svc
}

func listConnections(tb testing.TB, c *harness.Cluster) []*apigeeconnectpb.Connection {
	tb.Helper()
	ts, err := gcpauth.TokenSourceFromFile(context.Background(), c.KeyFile("apigee-org-admin"), gcpauth.CloudPlatformScope)
	require.NoError(tb, err)
	client, err := apigeeconnect.NewConnectionClient(context.Background(),
		option.WithEndpoint(c.ControlPlane.Addr("grpc")),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		option.WithGRPCDialOption(grpc.WithPerRPCCredentials(gcpauth.PerRPCCredentials(ts, false))))
	require.NoError(tb, err)
	defer client.Close()
	it := client.ListConnections(context.Background(), &apigeeconnectpb.ListConnectionsRequest{
		Parent: "projects/" + c.Org + "/endpoints/apigee_mart", PageSize: 1})
	var out []*apigeeconnectpb.Connection
	for {
		conn, err := it.Next()
		if err == iterator.Done {
			return out
		}
		require.NoError(tb, err)
		out = append(out, conn)
	}
}

func setConnect(tb testing.TB, svc *apigee.Service, c *harness.Cluster, on bool) {
	tb.Helper()
	_, err := svc.Organizations.Update("organizations/"+c.Org, &apigee.GoogleCloudApigeeV1Organization{
		Name: c.Org,
		Properties: &apigee.GoogleCloudApigeeV1Properties{Property: []*apigee.GoogleCloudApigeeV1Property{
			{Name: "features.hybrid.enabled", Value: "true"},
			{Name: "features.mart.connect.enabled", Value: fmt.Sprint(on)},
		}},
	}).Do()
	require.NoError(tb, err)
}

func adminCall(tb testing.TB, c *harness.Cluster, method, url, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(method, c.APIURL()+url, bytes.NewBufferString(body))
	require.NoError(tb, err)
	req.Header.Set("Authorization", "Bearer "+harness.AdminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp.StatusCode, string(data)
}

func getJSON(tb testing.TB, url string, out any) {
	tb.Helper()
	status, body := adminCallURL(tb, url)
	require.Equal(tb, 200, status, body)
	require.NoError(tb, json.Unmarshal([]byte(body), out), body)
}

func adminCallURL(tb testing.TB, url string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(tb, err)
	req.Header.Set("Authorization", "Bearer "+harness.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp.StatusCode, string(data)
}

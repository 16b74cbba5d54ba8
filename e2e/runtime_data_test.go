//go:build integration

package e2e

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// withSteps puts request steps (name → condition, "" for none) into the
// proxy endpoint's PreFlow, in order.
func withSteps(files map[string]string, steps ...[2]string) map[string]string {
	var b strings.Builder
	b.WriteString("<Request>")
	for _, s := range steps {
		b.WriteString("<Step><Name>" + s[0] + "</Name>")
		if s[1] != "" {
			b.WriteString("<Condition>" + s[1] + "</Condition>")
		}
		b.WriteString("</Step>")
	}
	b.WriteString("</Request>")
	files["apiproxy/proxies/default.xml"] = strings.Replace(files["apiproxy/proxies/default.xml"], "<Request/>", b.String(), 1)
	return files
}

// send calls a message processor's traffic port.
func send(tb testing.TB, base, method, host, path string, header http.Header, body string) reply {
	tb.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	require.NoError(tb, err)
	req.Host = host
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return reply{status: resp.StatusCode, body: string(b), header: resp.Header}
}

// TestAPIKeyProductQuotaAndRevocation drives the whole runtime data flow with
// Google's Go client: an API product with an operation group and quota, a
// developer and an app are created through the control plane (Connect →
// MART → Cassandra); the message processor checks the app's key against
// the product's operations, meters it with the product's quota until 429,
// and stops accepting the key within its key cache TTL once it is revoked.
func TestAPIKeyProductQuotaAndRevocation(t *testing.T) {
	t.Parallel()
	const keyTTL = time.Second
	c := h.StartCluster(t, harness.Options{All: true, RuntimeArgs: []string{"--runtimeData.keyTTL", keyTTL.String()}})
	svc := orgAdminClient(t, c)
	org := "organizations/" + c.Org
	be := backend(t)
	const host = "store.e2e.example.com"
	attachHost(t, svc, c, "store-group", host)

	_, err := svc.Organizations.Apiproducts.Create(org, &apigee.GoogleCloudApigeeV1ApiProduct{
		Name: "items-gold", DisplayName: "Items (gold)", ApprovalType: "auto", Environments: []string{c.Env},
		OperationGroup: &apigee.GoogleCloudApigeeV1OperationGroup{
			OperationConfigType: "proxy",
			OperationConfigs: []*apigee.GoogleCloudApigeeV1OperationConfig{{
				ApiSource:  "store",
				Operations: []*apigee.GoogleCloudApigeeV1Operation{{Resource: "/items", Methods: []string{"GET"}}},
				Quota:      &apigee.GoogleCloudApigeeV1Quota{Limit: "3", Interval: "1", TimeUnit: "minute"},
			}},
		},
	}).Do()
	require.NoError(t, err)
	_, err = svc.Organizations.Developers.Create(org, &apigee.GoogleCloudApigeeV1Developer{
		Email: "grace@example.com", FirstName: "Grace", LastName: "Hopper", UserName: "grace",
	}).Do()
	require.NoError(t, err)
	app, err := svc.Organizations.Developers.Apps.Create(org+"/developers/grace@example.com", &apigee.GoogleCloudApigeeV1DeveloperApp{
		Name: "grace-app", ApiProducts: []string{"items-gold"},
	}).Do()
	require.NoError(t, err)
	key := app.Credentials[0].ConsumerKey

	files := withSteps(bundletest.Proxy("store", "/v1/store", be.URL),
		[2]string{"VA-Key", ""}, [2]string{"Q-Product", ""})
	files["apiproxy/policies/VA-Key.xml"] = `<VerifyAPIKey name="VA-Key"><APIKey ref="request.header.x-apikey"/></VerifyAPIKey>`
	files["apiproxy/policies/Q-Product.xml"] = `<Quota name="Q-Product">
  <Allow count="1000" countRef="verifyapikey.VA-Key.apiproduct.developer.quota.limit"/>
  <Interval ref="verifyapikey.VA-Key.apiproduct.developer.quota.interval">1</Interval>
  <TimeUnit ref="verifyapikey.VA-Key.apiproduct.developer.quota.timeunit">hour</TimeUnit>
  <Identifier ref="verifyapikey.VA-Key.client_id"/>
  <Distributed>true</Distributed>
  <Synchronous>true</Synchronous>
</Quota>`
	rev := importProxy(t, svc, c, "store", bundletest.Zip(t, files))
	deployAndWait(t, svc, c, "store", rev)

	withKey := http.Header{"X-Apikey": {key}}
	mp := c.TrafficURL()
	require.Equal(t, "steps.oauth.v2.FailedToResolveAPIKey", faultCode(t, send(t, mp, "GET", host, "/v1/store/items", nil, "").body))
	bad := send(t, mp, "GET", host, "/v1/store/items", http.Header{"X-Apikey": {"no-such-key"}}, "")
	require.Equal(t, 401, bad.status)
	require.Equal(t, "oauth.v2.InvalidApiKey", faultCode(t, bad.body))
	// The operation allows GET /items only.
	post := send(t, mp, "POST", host, "/v1/store/items", withKey, "")
	require.Equal(t, 401, post.status)
	require.Equal(t, "oauth.v2.InvalidApiKeyForGivenResource", faultCode(t, post.body))
	other := send(t, mp, "GET", host, "/v1/store/orders", withKey, "")
	require.Equal(t, "oauth.v2.InvalidApiKeyForGivenResource", faultCode(t, other.body))

	// The operation's quota (3 per minute) is enforced.
	for i := range 3 {
		got := send(t, mp, "GET", host, "/v1/store/items", withKey, "")
		require.Equal(t, 200, got.status, "call %d: %s", i+1, got.body)
	}
	over := send(t, mp, "GET", host, "/v1/store/items", withKey, "")
	require.Equal(t, 429, over.status, over.body)
	require.Equal(t, "policies.ratelimit.QuotaViolation", faultCode(t, over.body))

	// Revoking the key through the control plane reaches the running MP
	// within its key cache TTL.
	_, err = svc.Organizations.Developers.Apps.Keys.UpdateDeveloperAppKey(
		org+"/developers/grace@example.com/apps/grace-app/keys/"+key, &apigee.GoogleCloudApigeeV1DeveloperAppKey{}).Action("revoke").Do()
	require.NoError(t, err)
	revoked := time.Now()
	var last reply
	require.Eventually(t, func() bool {
		last = send(t, mp, "GET", host, "/v1/store/items", withKey, "")
		return last.status == 401
	}, keyTTL+5*time.Second, 20*time.Millisecond, "revoked key still accepted: %s", last.body)
	t.Logf("revoked key refused %s after revocation (key TTL %s)", time.Since(revoked).Round(time.Millisecond), keyTTL)
	require.Equal(t, "oauth.v2.ApiKeyNotApproved", faultCode(t, last.body))
}

// TestTwoMessageProcessorsShareRuntimeData: two runtime processes over one
// Cassandra enforce one distributed quota with an exact count, and share
// OAuth tokens: issued on one, verified and invalidated on the other.
func TestTwoMessageProcessorsShareRuntimeData(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{All: true})
	mp2 := c.StartRuntime(t)
	mp2.WaitLive(t, 90*time.Second)
	svc := orgAdminClient(t, c)
	org := "organizations/" + c.Org
	be := backend(t)
	const host = "shared.e2e.example.com"
	attachHost(t, svc, c, "shared-group", host)

	_, err := svc.Organizations.Apiproducts.Create(org, &apigee.GoogleCloudApigeeV1ApiProduct{
		Name: "shared", ApprovalType: "auto", Environments: []string{c.Env}, Proxies: []string{"shared"}, ApiResources: []string{"/**"},
	}).Do()
	require.NoError(t, err)
	_, err = svc.Organizations.Developers.Create(org, &apigee.GoogleCloudApigeeV1Developer{
		Email: "lin@example.com", FirstName: "Lin", LastName: "Q", UserName: "lin",
	}).Do()
	require.NoError(t, err)
	app, err := svc.Organizations.Developers.Apps.Create(org+"/developers/lin@example.com", &apigee.GoogleCloudApigeeV1DeveloperApp{
		Name: "lin-app", ApiProducts: []string{"shared"},
	}).Do()
	require.NoError(t, err)
	id, secret := app.Credentials[0].ConsumerKey, app.Credentials[0].ConsumerSecret

	const allow = 23
	files := withSteps(bundletest.Proxy("shared", "/shared", be.URL),
		[2]string{"OA-Token", `proxy.pathsuffix = "/token"`},
		[2]string{"OA-Invalidate", `proxy.pathsuffix = "/revoke"`},
		[2]string{"OA-Verify", `proxy.pathsuffix = "/resource"`},
		[2]string{"Q-Shared", `proxy.pathsuffix = "/resource"`})
	files["apiproxy/policies/OA-Token.xml"] = `<OAuthV2 name="OA-Token"><Operation>GenerateAccessToken</Operation>
  <ExpiresIn>3600000</ExpiresIn><SupportedGrantTypes><GrantType>client_credentials</GrantType></SupportedGrantTypes>
  <GrantType>request.formparam.grant_type</GrantType><GenerateResponse enabled="true"/></OAuthV2>`
	files["apiproxy/policies/OA-Verify.xml"] = `<OAuthV2 name="OA-Verify"><Operation>VerifyAccessToken</Operation></OAuthV2>`
	files["apiproxy/policies/OA-Invalidate.xml"] = `<OAuthV2 name="OA-Invalidate"><Operation>InvalidateToken</Operation>
  <Tokens><Token type="accesstoken" cascade="true">request.formparam.token</Token></Tokens><GenerateResponse enabled="true"/></OAuthV2>`
	files["apiproxy/policies/Q-Shared.xml"] = `<Quota name="Q-Shared"><Allow count="` + strconv.Itoa(allow) + `"/><Interval>1</Interval><TimeUnit>hour</TimeUnit>
  <Identifier ref="client_id"/><Distributed>true</Distributed><Synchronous>true</Synchronous></Quota>`
	// /token and /revoke are answered by the proxy itself: no target.
	files["apiproxy/proxies/default.xml"] = strings.Replace(files["apiproxy/proxies/default.xml"], `<RouteRule name="default">`,
		`<RouteRule name="no-target"><Condition>proxy.pathsuffix != "/resource"</Condition></RouteRule><RouteRule name="default">`, 1)
	rev := importProxy(t, svc, c, "shared", bundletest.Zip(t, files))
	deployAndWait(t, svc, c, "shared", rev)
	mps := []string{c.TrafficURL(), mp2.URL("traffic")}
	for _, mp := range mps { // the second MP gets the contract on its own
		require.Eventually(t, func() bool {
			return send(t, mp, "GET", host, "/shared/resource", nil, "").status == 401
		}, 30*time.Second, 20*time.Millisecond)
	}

	// A token issued by the first MP...
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
		"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}}
	issued := send(t, mps[0], "POST", host, "/shared/token", form, "grant_type=client_credentials")
	require.Equal(t, 200, issued.status, issued.body)
	token, _ := decode(t, issued.body)["access_token"].(string)
	require.NotEmpty(t, token, issued.body)
	bearer := http.Header{"Authorization": {"Bearer " + token}}

	// ...is accepted by both, and both count one quota exactly.
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range 2 * allow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := send(t, mps[i%2], "GET", host, "/shared/resource", bearer, "")
			mu.Lock()
			codes[got.status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	require.Equal(t, map[int]int{200: allow, 429: allow}, codes, "one exact count across both message processors")

	// The control plane (through Connect and MART) resets the counter for
	// every MP: the emulator's quotaCounters:reset.
	code, body := adminCall(t, c, "POST", "/v1/organizations/"+c.Org+"/environments/"+c.Env+"/apis/shared/quotaCounters:reset",
		`{"quota":"Q-Shared","identifier":"`+id+`"}`)
	require.Equal(t, 200, code, body)
	for _, mp := range mps {
		got := send(t, mp, "GET", host, "/shared/resource", bearer, "")
		require.Equal(t, 200, got.status, "after the reset: %s", got.body)
	}
	code, body = adminCall(t, c, "POST", "/v1/organizations/"+c.Org+"/environments/"+c.Env+"/apis/shared/quotaCounters:reset", `{}`)
	require.Equal(t, 400, code, body)
	require.Contains(t, body, "Field quota is required")

	// Invalidated on the second MP, refused by the first.
	inv := send(t, mps[1], "POST", host, "/shared/revoke", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		"token="+url.QueryEscape(token))
	require.Equal(t, 200, inv.status, inv.body)
	refused := send(t, mps[0], "GET", host, "/shared/resource", bearer, "")
	require.Equal(t, 401, refused.status, refused.body)
	require.Equal(t, "keymanagement.service.access_token_not_approved", faultCode(t, refused.body), "an invalidated token is revoked, as in Apigee")
}

// seedKey writes a developer, an app and a key allowed on proxies straight
// into the cluster's Cassandra, for clusters that run no MART.
func seedKey(tb testing.TB, org, env, key string, proxies ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kms := store.NewKMS(h.Session(), h.EncryptionKeys(tb, org))
	_, err := kms.CreateProduct(ctx, org, store.APIProduct{Name: "bench", ApprovalType: store.ApprovalAuto, Environments: []string{env},
		Proxies: proxies, APIResources: []string{"/**"}})
	require.NoError(tb, err)
	_, err = kms.CreateDeveloper(ctx, org, store.Developer{Email: "bench@example.com", FirstName: "B", LastName: "B", UserName: "bench"})
	require.NoError(tb, err)
	_, err = kms.CreateApp(ctx, org, "bench@example.com", store.NewApp{Name: "bench-app"})
	require.NoError(tb, err)
	_, err = kms.AddCredential(ctx, org, "bench@example.com", "bench-app", store.NewCredential{ConsumerKey: key, APIProducts: []string{"bench"}})
	require.NoError(tb, err)
}

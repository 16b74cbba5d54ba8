//go:build integration

package mart_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/googleapi"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func apiCode(t *testing.T, err error) int {
	t.Helper()
	var gerr *googleapi.Error
	require.True(t, errors.As(err, &gerr), "want a googleapi.Error, got %v", err)
	return gerr.Code
}

var generatedKey = regexp.MustCompile(`^[A-Za-z0-9]{48}$`)

// The real Google client drives developers, products, apps and keys end to
// end, and what it wrote is what the message processor's lookup finds.
func TestGoClientDevelopersProductsAppsKeys(t *testing.T) {
	m := startMART(t, true)
	ctx := m.ctx
	orgs := m.api.Organizations

	prod, err := orgs.Apiproducts.Create(m.parent(), &apigee.GoogleCloudApigeeV1ApiProduct{
		Name: "gold", DisplayName: "Gold", ApprovalType: "auto", Environments: []string{"test"}, Proxies: []string{"hello"},
		ApiResources: []string{"/**"}, Quota: "100", QuotaInterval: "1", QuotaTimeUnit: "minute", Scopes: []string{"read"},
		Attributes: []*apigee.GoogleCloudApigeeV1Attribute{{Name: "access", Value: "public"}},
		OperationGroup: &apigee.GoogleCloudApigeeV1OperationGroup{OperationConfigType: "proxy", OperationConfigs: []*apigee.GoogleCloudApigeeV1OperationConfig{{
			ApiSource: "hello", Operations: []*apigee.GoogleCloudApigeeV1Operation{{Resource: "/v1", Methods: []string{"GET"}}},
			Quota: &apigee.GoogleCloudApigeeV1Quota{Limit: "5", Interval: "1", TimeUnit: "minute"},
		}}},
	}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, prod.HTTPStatusCode)
	require.Positive(t, prod.CreatedAt)
	_, err = orgs.Apiproducts.Create(m.parent(), &apigee.GoogleCloudApigeeV1ApiProduct{Name: "manual", ApprovalType: "manual"}).Context(ctx).Do()
	require.NoError(t, err)

	gotProd, err := orgs.Apiproducts.Get(m.parent() + "/apiproducts/gold").Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "5", gotProd.OperationGroup.OperationConfigs[0].Quota.Limit)
	require.Equal(t, "minute", gotProd.QuotaTimeUnit)
	prods, err := orgs.Apiproducts.List(m.parent()).Expand(true).Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, prods.ApiProduct, 2)
	names, err := orgs.Apiproducts.List(m.parent()).Context(ctx).Do()
	require.NoError(t, err)
	require.Empty(t, names.ApiProduct[0].DisplayName, "without expand only names")
	upd, err := orgs.Apiproducts.Update(m.parent()+"/apiproducts/gold", &apigee.GoogleCloudApigeeV1ApiProduct{
		Name: "gold", DisplayName: "Gold 2", ApprovalType: "auto", Environments: []string{"test", "prod"}}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "Gold 2", upd.DisplayName)
	require.Equal(t, prod.CreatedAt, upd.CreatedAt)

	dev, err := orgs.Developers.Create(m.parent(), &apigee.GoogleCloudApigeeV1Developer{
		Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", UserName: "ann",
		Attributes: []*apigee.GoogleCloudApigeeV1Attribute{{Name: "tier", Value: "1"}},
	}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "active", dev.Status)
	require.Equal(t, m.org, dev.OrganizationName)
	require.NotEmpty(t, dev.DeveloperId)
	devName := m.parent() + "/developers/ann@example.com"
	for _, email := range []string{"bob@example.com", "cid@example.com"} {
		_, err := orgs.Developers.Create(m.parent(), &apigee.GoogleCloudApigeeV1Developer{Email: email, FirstName: "x", LastName: "y", UserName: "z"}).Context(ctx).Do()
		require.NoError(t, err)
	}

	list, err := orgs.Developers.List(m.parent()).Expand(true).Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, list.Developer, 3)
	page, err := orgs.Developers.List(m.parent()).Count(2).StartKey(list.Developer[1].Email).Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, page.Developer, 2)
	require.Equal(t, list.Developer[1].Email, page.Developer[0].Email, "startKey is inclusive")
	require.Empty(t, page.Developer[0].FirstName, "without expand only emails")
	byIDs, err := orgs.Developers.List(m.parent()).Ids(dev.DeveloperId).Expand(true).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "Ann", byIDs.Developer[0].FirstName)

	_, err = orgs.Developers.SetDeveloperStatus(devName).Action("inactive").Context(ctx).Do()
	require.NoError(t, err)
	got, err := orgs.Developers.Get(m.parent() + "/developers/" + dev.DeveloperId).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "inactive", got.Status)
	_, err = orgs.Developers.SetDeveloperStatus(devName).Action("active").Context(ctx).Do()
	require.NoError(t, err)
	updDev, err := orgs.Developers.Update(devName, &apigee.GoogleCloudApigeeV1Developer{Email: "ann@example.com", FirstName: "Anne", LastName: "Lee", UserName: "ann"}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "Anne", updDev.FirstName)

	app, err := orgs.Developers.Apps.Create(devName, &apigee.GoogleCloudApigeeV1DeveloperApp{
		Name: "weather", ApiProducts: []string{"gold", "manual"}, CallbackUrl: "https://example.com/cb", Scopes: []string{"read"},
		Attributes: []*apigee.GoogleCloudApigeeV1Attribute{{Name: "DisplayName", Value: "Weather"}},
	}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "approved", app.Status)
	require.Equal(t, dev.DeveloperId, app.DeveloperId)
	require.Len(t, app.Credentials, 1)
	cred := app.Credentials[0]
	require.Regexp(t, generatedKey, cred.ConsumerKey)
	require.Len(t, cred.ConsumerSecret, 64)
	require.Equal(t, int64(-1), cred.ExpiresAt)
	require.Equal(t, "approved", cred.Status)
	require.Equal(t, []*apigee.GoogleCloudApigeeV1ApiProductRef{{Apiproduct: "gold", Status: "approved"}, {Apiproduct: "manual", Status: "pending"}},
		cred.ApiProducts)
	appName := devName + "/apps/weather"

	gotApp, err := orgs.Developers.Apps.Get(appName).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, app.AppId, gotApp.AppId)
	apps, err := orgs.Developers.Apps.List(devName).Expand(true).Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, apps.App, 1)
	require.Len(t, apps.App[0].Credentials, 1)
	ids, err := orgs.Developers.Apps.List(devName).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, app.AppId, ids.App[0].AppId)
	require.Empty(t, ids.App[0].Name)

	// Keys: import, approve/revoke, per-product status, scopes, delete.
	imported, err := orgs.Developers.Apps.Keys.Create(appName, &apigee.GoogleCloudApigeeV1DeveloperAppKey{
		ConsumerKey: "imported-key", ConsumerSecret: "imported-secret"}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "imported-secret", imported.ConsumerSecret)
	viaCreatePath, err := orgs.Developers.Apps.Keys.Create_.Create(appName, &apigee.GoogleCloudApigeeV1DeveloperAppKey{
		ConsumerKey: "second-key", ConsumerSecret: "second-secret", ExpiresInSeconds: 3600}).Context(ctx).Do()
	require.NoError(t, err)
	require.Positive(t, viaCreatePath.ExpiresAt)
	keyName := appName + "/keys/imported-key"
	withProduct, err := orgs.Developers.Apps.Keys.UpdateDeveloperAppKey(keyName, &apigee.GoogleCloudApigeeV1DeveloperAppKey{
		ApiProducts: []any{"gold"}}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "gold", withProduct.ApiProducts[0].(map[string]any)["apiproduct"])
	_, err = orgs.Developers.Apps.Keys.UpdateDeveloperAppKey(keyName, &apigee.GoogleCloudApigeeV1DeveloperAppKey{}).Action("revoke").Context(ctx).Do()
	require.NoError(t, err)
	key, err := orgs.Developers.Apps.Keys.Get(keyName).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "revoked", key.Status)
	_, err = orgs.Developers.Apps.Keys.Apiproducts.UpdateDeveloperAppKeyApiProduct(keyName + "/apiproducts/gold").Action("revoke").Context(ctx).Do()
	require.NoError(t, err)
	key, err = orgs.Developers.Apps.Keys.Get(keyName).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "revoked", key.ApiProducts[0].(map[string]any)["status"])
	scoped, err := orgs.Developers.Apps.Keys.ReplaceDeveloperAppKey(keyName, &apigee.GoogleCloudApigeeV1DeveloperAppKey{Scopes: []string{"a", "b"}}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, scoped.Scopes)
	_, err = orgs.Developers.Apps.Keys.Apiproducts.Delete(keyName + "/apiproducts/gold").Context(ctx).Do()
	require.NoError(t, err)
	_, err = orgs.Developers.Apps.Keys.Delete(appName + "/keys/second-key").Context(ctx).Do()
	require.NoError(t, err)
	_, err = orgs.Developers.Apps.Keys.Get(appName + "/keys/second-key").Context(ctx).Do()
	require.Equal(t, http.StatusNotFound, apiCode(t, err))

	// Another generated key pair, then revoke the whole app.
	regen, err := orgs.Developers.Apps.GenerateKeyPairOrUpdateDeveloperAppStatus(appName, &apigee.GoogleCloudApigeeV1DeveloperApp{
		ApiProducts: []string{"gold"}, KeyExpiresIn: 60000}).Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, regen.Credentials, 3)
	_, err = orgs.Developers.Apps.GenerateKeyPairOrUpdateDeveloperAppStatus(appName, &apigee.GoogleCloudApigeeV1DeveloperApp{}).Action("revoke").Context(ctx).Do()
	require.NoError(t, err)

	// Organization-level views.
	orgApps, err := orgs.Apps.List(m.parent()).Expand(true).Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, orgApps.App, 1)
	require.Equal(t, "ann@example.com", orgApps.App[0].DeveloperEmail)
	require.Equal(t, "revoked", orgApps.App[0].Status)
	require.Len(t, orgApps.App[0].Credentials, 3)
	byID, err := orgs.Apps.Get(m.parent() + "/apps/" + app.AppId).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "weather", byID.Name)

	// What the Go client wrote is in Cassandra, where VerifyAPIKey looks.
	info, err := m.kms.LookupKey(ctx, m.org, cred.ConsumerKey)
	require.NoError(t, err)
	require.Equal(t, "weather", info.App.Name)
	require.Equal(t, store.StatusRevoked, info.App.Status)
	require.Equal(t, "ann@example.com", info.Developer.Email)
	require.Len(t, info.Products, 2)

	// Deletes return what was deleted and cascade.
	delApp, err := orgs.Developers.Apps.Delete(appName).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "weather", delApp.Name)
	_, err = m.kms.LookupKey(ctx, m.org, cred.ConsumerKey)
	require.ErrorIs(t, err, store.ErrNotFound)
	delDev, err := orgs.Developers.Delete(devName).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "ann@example.com", delDev.Email)
	_, err = orgs.Developers.Get(devName).Context(ctx).Do()
	require.Equal(t, http.StatusNotFound, apiCode(t, err))
	_, err = orgs.Apiproducts.Delete(m.parent() + "/apiproducts/gold").Context(ctx).Do()
	require.NoError(t, err)
}

// Key value maps at all three scopes through the Go client, including
// paging entries with Pages (pageSize/pageToken).
func TestGoClientKeyValueMaps(t *testing.T) {
	m := startMART(t, true)
	ctx := m.ctx
	orgs := m.api.Organizations
	type scopeAPI struct {
		name   string
		parent string
		create func(context.Context, *apigee.GoogleCloudApigeeV1KeyValueMap) (*apigee.GoogleCloudApigeeV1KeyValueMap, error)
	}
	env := m.parent() + "/environments/test"
	api := m.parent() + "/apis/hello"
	scopes := []scopeAPI{
		{"organization", m.parent(), func(ctx context.Context, k *apigee.GoogleCloudApigeeV1KeyValueMap) (*apigee.GoogleCloudApigeeV1KeyValueMap, error) {
			return orgs.Keyvaluemaps.Create(m.parent(), k).Context(ctx).Do()
		}},
		{"environment", env, func(ctx context.Context, k *apigee.GoogleCloudApigeeV1KeyValueMap) (*apigee.GoogleCloudApigeeV1KeyValueMap, error) {
			return orgs.Environments.Keyvaluemaps.Create(env, k).Context(ctx).Do()
		}},
		{"apiproxy", api, func(ctx context.Context, k *apigee.GoogleCloudApigeeV1KeyValueMap) (*apigee.GoogleCloudApigeeV1KeyValueMap, error) {
			return orgs.Apis.Keyvaluemaps.Create(api, k).Context(ctx).Do()
		}},
	}
	for _, sc := range scopes {
		t.Run(sc.name, func(t *testing.T) {
			km, err := sc.create(ctx, &apigee.GoogleCloudApigeeV1KeyValueMap{Name: "config", Encrypted: true})
			require.NoError(t, err)
			require.True(t, km.Encrypted)
			mapName := sc.parent + "/keyvaluemaps/config"

			// The entries API is the same under every scope (the org-level
			// service accepts any of the three names).
			entries := orgs.Keyvaluemaps.Entries
			for _, k := range []string{"a", "b", "c", "d", "e"} {
				e, err := entries.Create(mapName, &apigee.GoogleCloudApigeeV1KeyValueEntry{Name: k, Value: "value-" + k + "-" + sc.name}).Context(ctx).Do()
				require.NoError(t, err)
				require.Equal(t, k, e.Name)
			}
			var seen []string
			pages := 0
			require.NoError(t, entries.List(mapName).PageSize(2).Pages(ctx, func(r *apigee.GoogleCloudApigeeV1ListKeyValueEntriesResponse) error {
				pages++
				for _, e := range r.KeyValueEntries {
					seen = append(seen, e.Name+"="+e.Value)
				}
				return nil
			}))
			require.Equal(t, 3, pages)
			require.Len(t, seen, 5)
			require.Equal(t, "a=value-a-"+sc.name, seen[0])

			e, err := entries.Update(mapName+"/entries/b", &apigee.GoogleCloudApigeeV1KeyValueEntry{Name: "b", Value: "new"}).Context(ctx).Do()
			require.NoError(t, err)
			require.Equal(t, "new", e.Value)
			e, err = entries.Get(mapName + "/entries/b").Context(ctx).Do()
			require.NoError(t, err)
			require.Equal(t, "new", e.Value)
			_, err = entries.Delete(mapName + "/entries/b").Context(ctx).Do()
			require.NoError(t, err)
			_, err = entries.Get(mapName + "/entries/b").Context(ctx).Do()
			require.Equal(t, http.StatusNotFound, apiCode(t, err))
			_, err = sc.create(ctx, &apigee.GoogleCloudApigeeV1KeyValueMap{Name: "config", Encrypted: true})
			require.Equal(t, http.StatusConflict, apiCode(t, err))

			got, err := orgs.Keyvaluemaps.Get(mapName).Context(ctx).Do()
			require.NoError(t, err)
			require.Equal(t, "config", got.Name)
		})
	}

	// Masked maps hide values on read; they are stored like the others.
	_, err := orgs.Environments.Keyvaluemaps.Create(env, &apigee.GoogleCloudApigeeV1KeyValueMap{Name: "hidden", Encrypted: true, MaskedValues: true}).Context(ctx).Do()
	require.NoError(t, err)
	_, err = orgs.Environments.Keyvaluemaps.Entries.Create(env+"/keyvaluemaps/hidden", &apigee.GoogleCloudApigeeV1KeyValueEntry{Name: "pw", Value: "hunter2"}).Context(ctx).Do()
	require.NoError(t, err)
	e, err := orgs.Environments.Keyvaluemaps.Entries.Get(env + "/keyvaluemaps/hidden/entries/pw").Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "*****", e.Value)
	plain, err := store.NewKVM(m.session, m.keys).GetEntry(ctx, m.org, store.EnvScope("test"), "hidden", "pw")
	require.NoError(t, err)
	require.Equal(t, "hunter2", plain.Value, "the runtime reads the real value")

	del, err := orgs.Environments.Keyvaluemaps.Delete(env + "/keyvaluemaps/config").Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "config", del.Name)
	var names []string
	m.call("GET", m.orgPath("/environments/test/keyvaluemaps"), nil, http.StatusOK, &names)
	require.Equal(t, []string{"hidden"}, names, "the list is a JSON array of names")
}

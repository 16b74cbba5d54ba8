//go:build integration

package mart_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// appGroupRows counts the tables an AppGroups request may write, to prove
// that a refused one wrote nothing.
func (m *martT) appGroupRows() map[string]int {
	m.t.Helper()
	counts := m.rowCounts()
	var n int
	require.NoError(m.t, m.session.Query(fmt.Sprintf(`SELECT COUNT(*) FROM %s.app_groups`, cassandra.Keyspace("kms", m.org))).ScanContext(m.ctx, &n))
	counts["kms.app_groups"] = n
	return counts
}

// AppGroups through Google's Go client: create, get, list with a filter
// and with paging (Pages over nextPageToken, totalSize), update, status
// actions and delete.
func TestGoClientAppGroups(t *testing.T) {
	m := startMART(t, true)
	ctx := m.ctx
	groups := m.api.Organizations.Appgroups

	g, err := groups.Create(m.parent(), &apigee.GoogleCloudApigeeV1AppGroup{
		Name: "partners", DisplayName: "Partners", ChannelId: "portal", ChannelUri: "https://portal.example.com/groups/partners",
		Attributes: []*apigee.GoogleCloudApigeeV1Attribute{{Name: "tier", Value: "gold"}},
	}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, g.HTTPStatusCode)
	require.Equal(t, "active", g.Status, "a new AppGroup is active")
	require.Equal(t, m.org, g.Organization)
	require.NotEmpty(t, g.AppGroupId)
	require.Positive(t, g.CreatedAt)
	require.Equal(t, g.CreatedAt, g.LastModifiedAt)
	name := m.parent() + "/appgroups/partners"

	got, err := groups.Get(name).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, g.AppGroupId, got.AppGroupId)
	require.Equal(t, "https://portal.example.com/groups/partners", got.ChannelUri)
	require.Equal(t, "gold", got.Attributes[0].Value)

	// Five more, two of them on another channel.
	for i := range 5 {
		ch := "portal"
		if i < 2 {
			ch = "store"
		}
		_, err := groups.Create(m.parent(), &apigee.GoogleCloudApigeeV1AppGroup{Name: fmt.Sprintf("team-%d", i), ChannelId: ch}).Context(ctx).Do()
		require.NoError(t, err)
	}
	all, err := groups.List(m.parent()).Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, all.AppGroups, 6)
	require.Equal(t, int64(6), all.TotalSize)
	require.Empty(t, all.NextPageToken)

	var walked []string
	pages := 0
	require.NoError(t, groups.List(m.parent()).PageSize(4).Pages(ctx, func(r *apigee.GoogleCloudApigeeV1ListAppGroupsResponse) error {
		pages++
		require.LessOrEqual(t, len(r.AppGroups), 4)
		require.Equal(t, int64(6), r.TotalSize, "totalSize is the whole list's")
		for _, g := range r.AppGroups {
			walked = append(walked, g.Name)
		}
		return nil
	}))
	require.Equal(t, 2, pages)
	var want []string
	for _, g := range all.AppGroups {
		want = append(want, g.Name)
	}
	require.Equal(t, want, walked, "pages walk the list once, in order")

	onStore, err := groups.List(m.parent()).Filter("channelId=store").Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, onStore.AppGroups, 2)
	require.Equal(t, int64(2), onStore.TotalSize)

	// PUT replaces the details; the status changes only through action.
	upd, err := groups.Update(name, &apigee.GoogleCloudApigeeV1AppGroup{Name: "partners", DisplayName: "Partners (EU)", ChannelId: "portal", Status: "inactive"}).
		Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "Partners (EU)", upd.DisplayName)
	require.Empty(t, upd.ChannelUri)
	require.Empty(t, upd.Attributes)
	require.Equal(t, "active", upd.Status)
	require.Equal(t, g.CreatedAt, upd.CreatedAt)
	off, err := groups.Update(name, &apigee.GoogleCloudApigeeV1AppGroup{}).Action("inactive").Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "inactive", off.Status)
	require.Equal(t, "Partners (EU)", off.DisplayName, "an action leaves the details alone")
	inactive, err := groups.List(m.parent()).Filter("status=inactive").Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, inactive.AppGroups, 1)
	require.Equal(t, "partners", inactive.AppGroups[0].Name)
	// A read-modify-write echoes the output fields back; they are ignored.
	got, err = groups.Get(name).Context(ctx).Do()
	require.NoError(t, err)
	got.DisplayName = "Partners again"
	again, err := groups.Update(name, got).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "Partners again", again.DisplayName)
	require.Equal(t, "inactive", again.Status)

	del, err := groups.Delete(name).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "partners", del.Name)
	_, err = groups.Get(name).Context(ctx).Do()
	require.Equal(t, http.StatusNotFound, apiCode(t, err))
	_, err = groups.Delete(name).Context(ctx).Do()
	require.Equal(t, http.StatusNotFound, apiCode(t, err))
}

// AppGroup apps and their keys through Google's Go client, and what the
// message processor's key lookup then finds.
func TestGoClientAppGroupAppsAndKeys(t *testing.T) {
	m := startMART(t, true)
	ctx := m.ctx
	orgs := m.api.Organizations
	apps := orgs.Appgroups.Apps
	keys := orgs.Appgroups.Apps.Keys
	for _, p := range []*apigee.GoogleCloudApigeeV1ApiProduct{
		{Name: "gold", ApprovalType: "auto", Environments: []string{"test"}, ApiResources: []string{"/**"}},
		{Name: "silver", ApprovalType: "manual"},
	} {
		_, err := orgs.Apiproducts.Create(m.parent(), p).Context(ctx).Do()
		require.NoError(t, err)
	}
	_, err := orgs.Appgroups.Create(m.parent(), &apigee.GoogleCloudApigeeV1AppGroup{Name: "team"}).Context(ctx).Do()
	require.NoError(t, err)
	group := m.parent() + "/appgroups/team"

	app, err := apps.Create(group, &apigee.GoogleCloudApigeeV1AppGroupApp{
		Name: "weather", ApiProducts: []string{"gold", "silver"}, CallbackUrl: "https://example.com/cb", Scopes: []string{"read"},
		KeyExpiresIn: 3600, Attributes: []*apigee.GoogleCloudApigeeV1Attribute{{Name: "DisplayName", Value: "Weather"}},
	}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "weather", app.Name)
	require.Equal(t, "team", app.AppGroup)
	require.Equal(t, "approved", app.Status)
	require.Len(t, app.Credentials, 1)
	cred := app.Credentials[0]
	require.Regexp(t, generatedKey, cred.ConsumerKey)
	require.Len(t, cred.ConsumerSecret, 64)
	require.Equal(t, cred.IssuedAt+3600*1000, cred.ExpiresAt, "keyExpiresIn is in seconds for AppGroup apps")
	require.Equal(t, []*apigee.GoogleCloudApigeeV1ApiProductRef{{Apiproduct: "gold", Status: "approved"}, {Apiproduct: "silver", Status: "pending"}},
		cred.ApiProducts)
	appName := group + "/apps/weather"

	gotApp, err := apps.Get(appName).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, app.AppId, gotApp.AppId)
	require.Equal(t, cred.ConsumerSecret, gotApp.Credentials[0].ConsumerSecret)

	// The key resolves to the app and its group; no developer is behind it.
	info, err := m.kms.LookupKey(ctx, m.org, cred.ConsumerKey)
	require.NoError(t, err)
	require.Equal(t, "weather", info.App.Name)
	require.Equal(t, "team", info.AppGroup.Name)
	require.Empty(t, info.Developer.Email)

	// Listing pages by app name.
	for i := range 4 {
		_, err := apps.Create(group, &apigee.GoogleCloudApigeeV1AppGroupApp{Name: fmt.Sprintf("app-%d", i)}).Context(ctx).Do()
		require.NoError(t, err)
	}
	var names []string
	pages := 0
	require.NoError(t, apps.List(group).PageSize(2).Pages(ctx, func(r *apigee.GoogleCloudApigeeV1ListAppGroupAppsResponse) error {
		pages++
		require.LessOrEqual(t, len(r.AppGroupApps), 2)
		for _, a := range r.AppGroupApps {
			require.NotEmpty(t, a.Credentials, "apps are listed with their credentials")
			names = append(names, a.Name)
		}
		return nil
	}))
	require.Equal(t, 3, pages)
	require.Equal(t, []string{"app-0", "app-1", "app-2", "app-3", "weather"}, names)

	// PUT replaces callbackUrl and attributes and adds products to the
	// newest key; action approves or revokes the app.
	upd, err := apps.Update(appName, &apigee.GoogleCloudApigeeV1AppGroupApp{Name: "weather", CallbackUrl: "https://example.com/cb2", ApiProducts: []string{"gold"}}).
		Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "https://example.com/cb2", upd.CallbackUrl)
	require.Empty(t, upd.Attributes)
	require.Equal(t, app.CreatedAt, upd.CreatedAt)
	revoked, err := apps.Update(appName, &apigee.GoogleCloudApigeeV1AppGroupApp{}).Action("revoke").Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "revoked", revoked.Status)
	_, err = apps.Update(appName, &apigee.GoogleCloudApigeeV1AppGroupApp{}).Action("approve").Context(ctx).Do()
	require.NoError(t, err)

	// Keys: import without products, then associate, scope, attribute,
	// approve/revoke, per-product status, and delete.
	imported, err := keys.Create(appName, &apigee.GoogleCloudApigeeV1AppGroupAppKey{
		ConsumerKey: "team-key", ConsumerSecret: "team-secret", ExpiresInSeconds: 600}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "team-secret", imported.ConsumerSecret)
	require.Empty(t, imported.ApiProducts)
	require.Equal(t, imported.IssuedAt+600_000, imported.ExpiresAt)
	require.Equal(t, []string{"read"}, imported.Scopes, "a new key takes the app's scopes")
	keyName := appName + "/keys/team-key"
	withProducts, err := keys.UpdateAppGroupAppKey(keyName, &apigee.GoogleCloudApigeeV1UpdateAppGroupAppKeyRequest{
		ApiProducts: []string{"gold", "silver", "gold"},
		AppGroupAppKey: &apigee.GoogleCloudApigeeV1AppGroupAppKey{
			Scopes: []string{"write"}, Attributes: []*apigee.GoogleCloudApigeeV1Attribute{{Name: "env", Value: "eu"}},
		},
	}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, []*apigee.GoogleCloudApigeeV1APIProductAssociation{{Apiproduct: "gold", Status: "approved"}, {Apiproduct: "silver", Status: "pending"}},
		withProducts.ApiProducts)
	require.Equal(t, []string{"write"}, withProducts.Scopes)
	require.Equal(t, "eu", withProducts.Attributes[0].Value)
	revokedKey, err := keys.UpdateAppGroupAppKey(keyName, &apigee.GoogleCloudApigeeV1UpdateAppGroupAppKeyRequest{Action: "revoke"}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "revoked", revokedKey.Status)
	require.Equal(t, []string{"write"}, revokedKey.Scopes, "an action alone leaves scopes alone")
	_, err = keys.UpdateAppGroupAppKey(keyName, &apigee.GoogleCloudApigeeV1UpdateAppGroupAppKeyRequest{Action: "approve"}).Context(ctx).Do()
	require.NoError(t, err)
	_, err = keys.Apiproducts.UpdateAppGroupAppKeyApiProduct(keyName + "/apiproducts/silver").Action("approve").Context(ctx).Do()
	require.NoError(t, err)
	key, err := keys.Get(keyName).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "approved", key.Status)
	require.Equal(t, "approved", key.ApiProducts[1].Status)
	afterRemove, err := keys.Apiproducts.Delete(keyName + "/apiproducts/gold").Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, []*apigee.GoogleCloudApigeeV1APIProductAssociation{{Apiproduct: "silver", Status: "approved"}}, afterRemove.ApiProducts)
	deleted, err := keys.Delete(keyName).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "team-key", deleted.ConsumerKey)
	_, err = keys.Get(keyName).Context(ctx).Do()
	require.Equal(t, http.StatusNotFound, apiCode(t, err))

	// The organization's app list has AppGroup apps, filterable by owner.
	byType, err := orgs.Apps.List(m.parent()).Filter("appType=AppGroup").Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, byType.App, 5)
	byGroup, err := orgs.Apps.List(m.parent()).Filter("appGroup=team AND appName=weather").Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, byGroup.App, 1)
	require.Equal(t, "team", byGroup.App[0].AppGroup)
	require.Empty(t, byGroup.App[0].DeveloperId)
	developerApps, err := orgs.Apps.List(m.parent()).Filter("appType=Developer").Context(ctx).Do()
	require.NoError(t, err)
	require.Empty(t, developerApps.App)
	orgApp, err := orgs.Apps.Get(m.parent() + "/apps/" + app.AppId).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "team", orgApp.AppGroup)

	// Deletes return what was deleted; deleting the group takes the rest.
	delApp, err := apps.Delete(appName).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "weather", delApp.Name)
	_, err = m.kms.LookupKey(ctx, m.org, cred.ConsumerKey)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = orgs.Appgroups.Delete(group).Context(ctx).Do()
	require.NoError(t, err)
	_, err = apps.List(group).Context(ctx).Do()
	require.Equal(t, http.StatusNotFound, apiCode(t, err))
	counts := m.appGroupRows()
	for _, table := range []string{"kms.app_groups", "kms.apps", "kms.apps_by_id", "kms.credentials"} {
		require.Zero(t, counts[table], table)
	}
}

// Bad input: a clear 400, 404 or 409 in Google's error shape, and nothing
// written.
func TestAppGroupsBadInput(t *testing.T) {
	m := startMART(t, true)
	orgs := m.api.Organizations
	_, err := orgs.Apiproducts.Create(m.parent(), &apigee.GoogleCloudApigeeV1ApiProduct{Name: "gold"}).Context(m.ctx).Do()
	require.NoError(t, err)
	_, err = orgs.Developers.Create(m.parent(), &apigee.GoogleCloudApigeeV1Developer{Email: "d@example.com", FirstName: "D", LastName: "E", UserName: "d"}).Context(m.ctx).Do()
	require.NoError(t, err)
	devApp, err := orgs.Developers.Apps.Create(m.parent()+"/developers/d@example.com", &apigee.GoogleCloudApigeeV1DeveloperApp{Name: "dev-app"}).Context(m.ctx).Do()
	require.NoError(t, err)
	_, err = orgs.Appgroups.Create(m.parent(), &apigee.GoogleCloudApigeeV1AppGroup{Name: "team"}).Context(m.ctx).Do()
	require.NoError(t, err)
	_, err = orgs.Appgroups.Apps.Create(m.parent()+"/appgroups/team", &apigee.GoogleCloudApigeeV1AppGroupApp{Name: "app"}).Context(m.ctx).Do()
	require.NoError(t, err)
	_, err = orgs.Appgroups.Apps.Keys.Create(m.parent()+"/appgroups/team/apps/app", &apigee.GoogleCloudApigeeV1AppGroupAppKey{ConsumerKey: "team-k"}).Context(m.ctx).Do()
	require.NoError(t, err)
	baseline := m.appGroupRows()

	groups := "/appgroups"
	team := "/appgroups/team"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string // the BadRequest field violation, when one is named
	}{
		{"duplicate group", "POST", groups, `{"name":"team"}`, http.StatusConflict, ""},
		{"no name", "POST", groups, `{"displayName":"x"}`, http.StatusBadRequest, "name"},
		{"name with slash", "POST", groups, `{"name":"a/b"}`, http.StatusBadRequest, "name"},
		{"name with colon", "POST", groups, `{"name":"a:b"}`, http.StatusBadRequest, "name"},
		{"name too long", "POST", groups, fmt.Sprintf(`{"name":"%0256d"}`, 0), http.StatusBadRequest, "name"},
		{"bad status", "POST", groups, `{"name":"x","status":"paused"}`, http.StatusBadRequest, "status"},
		{"bad email", "POST", groups, `{"name":"x","email":"not-an-email"}`, http.StatusBadRequest, "email"},
		{"duplicate attributes", "POST", groups, `{"name":"x","attributes":[{"name":"a"},{"name":"a"}]}`, http.StatusBadRequest, ""},
		{"malformed JSON", "POST", groups, `{"name":`, http.StatusBadRequest, ""},
		{"unknown group", "GET", "/appgroups/ghost", "", http.StatusNotFound, ""},
		{"rename group", "PUT", team, `{"name":"other"}`, http.StatusBadRequest, "name"},
		{"bad group action", "PUT", team + "?action=pause", "", http.StatusBadRequest, "action"},
		{"update unknown group", "PUT", "/appgroups/ghost", `{"displayName":"x"}`, http.StatusNotFound, ""},
		{"bad filter", "GET", groups + "?filter=" + url.QueryEscape("owner=me"), "", http.StatusBadRequest, "filter"},
		{"page size zero", "GET", groups + "?pageSize=0", "", http.StatusBadRequest, "page_size"},
		{"page size not a number", "GET", groups + "?pageSize=ten", "", http.StatusBadRequest, "page_size"},
		{"malformed page token", "GET", groups + "?pageToken=%25%25", "", http.StatusBadRequest, "page_token"},
		{"malformed app page token", "GET", team + "/apps?pageToken=!!", "", http.StatusBadRequest, "page_token"},
		{"app in unknown group", "POST", "/appgroups/ghost/apps", `{"name":"a"}`, http.StatusNotFound, ""},
		{"app with unknown product", "POST", team + "/apps", `{"name":"a","apiProducts":["gold","ghost"]}`, http.StatusBadRequest, ""},
		{"duplicate app", "POST", team + "/apps", `{"name":"app"}`, http.StatusConflict, ""},
		{"app without name", "POST", team + "/apps", `{}`, http.StatusBadRequest, ""},
		{"app with bad status", "POST", team + "/apps", `{"name":"a","status":"pending"}`, http.StatusBadRequest, "status"},
		{"app with bad keyExpiresIn", "POST", team + "/apps", `{"name":"a","keyExpiresIn":"-2"}`, http.StatusBadRequest, "key_expires_in"},
		{"app of another group", "POST", team + "/apps", `{"name":"a","appGroup":"other"}`, http.StatusBadRequest, "app_group"},
		{"unknown app", "GET", team + "/apps/ghost", "", http.StatusNotFound, ""},
		{"rename app", "PUT", team + "/apps/app", `{"name":"other"}`, http.StatusBadRequest, "name"},
		{"app update with unknown product", "PUT", team + "/apps/app", `{"name":"app","apiProducts":["ghost"]}`, http.StatusBadRequest, ""},
		{"bad app action", "PUT", team + "/apps/app?action=approved", "", http.StatusBadRequest, "action"},
		{"key with bad characters", "POST", team + "/apps/app/keys", `{"consumerKey":"a b"}`, http.StatusBadRequest, ""},
		{"key another app holds", "POST", team + "/apps/app/keys", fmt.Sprintf(`{"consumerKey":%q}`, devApp.Credentials[0].ConsumerKey), http.StatusConflict, ""},
		{"key of unknown app", "POST", team + "/apps/ghost/keys", `{}`, http.StatusNotFound, ""},
		{"developer's key under the group", "GET", team + "/apps/app/keys/" + devApp.Credentials[0].ConsumerKey, "", http.StatusNotFound, ""},
		{"developer's key updated under the group", "POST", team + "/apps/app/keys/" + devApp.Credentials[0].ConsumerKey, `{"apiProducts":["gold"]}`, http.StatusNotFound, ""},
		{"key update with unknown product", "POST", team + "/apps/app/keys/team-k", `{"apiProducts":["gold","ghost"]}`, http.StatusBadRequest, ""},
		{"bad key action", "POST", team + "/apps/app/keys/team-k", `{"action":"approved"}`, http.StatusBadRequest, "action"},
		{"bad key product action", "POST", team + "/apps/app/keys/team-k/apiproducts/gold?action=x", "", http.StatusBadRequest, "action"},
		{"product not on the key", "DELETE", team + "/apps/app/keys/team-k/apiproducts/gold", "", http.StatusNotFound, ""},
		{"unknown key", "DELETE", team + "/apps/app/keys/ghost", "", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			status, resp := m.do(m.http, tc.method, m.orgPath(tc.path), body)
			require.Equal(t, tc.status, status, "%s", resp)
			var ge struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
					Status  string `json:"status"`
					Details []struct {
						Type            string `json:"@type"`
						FieldViolations []struct {
							Field string `json:"field"`
						} `json:"fieldViolations"`
					} `json:"details"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(resp, &ge), "%s", resp)
			require.Equal(t, tc.status, ge.Error.Code)
			require.NotEmpty(t, ge.Error.Message)
			require.Equal(t, map[int]string{400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 409: "ALREADY_EXISTS"}[tc.status], ge.Error.Status)
			if tc.field != "" {
				require.Len(t, ge.Error.Details, 1, "%s", resp)
				require.Equal(t, tc.field, ge.Error.Details[0].FieldViolations[0].Field)
			}
			require.Equal(t, baseline, m.appGroupRows(), "nothing written")
		})
	}

	// The real client sees the same: a googleapi.Error with the status.
	_, err = orgs.Appgroups.Apps.Create(m.parent()+"/appgroups/team", &apigee.GoogleCloudApigeeV1AppGroupApp{Name: "b", ApiProducts: []string{"ghost"}}).Context(m.ctx).Do()
	require.Equal(t, http.StatusBadRequest, apiCode(t, err))
	_, err = orgs.Appgroups.Create(m.parent(), &apigee.GoogleCloudApigeeV1AppGroup{Name: "team"}).Context(m.ctx).Do()
	require.Equal(t, http.StatusConflict, apiCode(t, err))
}

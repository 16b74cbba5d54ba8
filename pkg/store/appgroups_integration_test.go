//go:build integration

package store_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func (e *env) appGroup(t *testing.T, name string) *store.AppGroup {
	t.Helper()
	g, err := e.kms.CreateAppGroup(e.ctx, e.org, store.AppGroup{Name: name, DisplayName: "Group " + name})
	require.NoError(t, err)
	return g
}

func TestAppGroups(t *testing.T) {
	e := setup(t)
	g, err := e.kms.CreateAppGroup(e.ctx, e.org, store.AppGroup{
		Name: "partners", DisplayName: "Partners", ChannelURI: "https://portal.example.com/groups/partners", ChannelID: "portal",
		Status: store.StatusInactive, Attributes: []store.Attribute{{Name: "tier", Value: "gold"}},
	})
	require.NoError(t, err)
	require.Equal(t, store.StatusActive, g.Status, "a group starts active whatever the request says")
	require.NotEmpty(t, g.AppGroupID)
	require.Positive(t, g.CreatedAt)

	got, err := e.kms.GetAppGroup(e.ctx, e.org, "partners")
	require.NoError(t, err)
	require.Equal(t, *g, *got)

	for _, tc := range []struct {
		name string
		g    store.AppGroup
		kind error
	}{
		{"duplicate", store.AppGroup{Name: "partners"}, store.ErrAlreadyExists},
		{"no name", store.AppGroup{}, store.ErrInvalid},
		{"slash", store.AppGroup{Name: "a/b"}, store.ErrInvalid},
		{"colon", store.AppGroup{Name: "a:b"}, store.ErrInvalid},
		{"dot dot", store.AppGroup{Name: ".."}, store.ErrInvalid},
		{"duplicate attribute", store.AppGroup{Name: "x", Attributes: []store.Attribute{{Name: "a"}, {Name: "a"}}}, store.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.kms.CreateAppGroup(e.ctx, e.org, tc.g)
			require.ErrorIs(t, err, tc.kind)
			require.Equal(t, 1, e.count(t, "kms", "app_groups"))
		})
	}
	_, err = e.kms.CreateAppGroup(e.ctx, e.org, store.AppGroup{Name: "Team A.1_$ %-x"})
	require.NoError(t, err, "every character the API allows")

	upd, err := e.kms.UpdateAppGroup(e.ctx, e.org, "partners", store.AppGroup{Name: "partners", DisplayName: "Partners 2", ChannelID: "portal2"})
	require.NoError(t, err)
	require.Equal(t, "Partners 2", upd.DisplayName)
	require.Empty(t, upd.ChannelURI, "PUT replaces the details")
	require.Empty(t, upd.Attributes)
	require.Equal(t, store.StatusActive, upd.Status, "status changes only through its action")
	require.Equal(t, g.CreatedAt, upd.CreatedAt)
	_, err = e.kms.UpdateAppGroup(e.ctx, e.org, "partners", store.AppGroup{Name: "renamed"})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = e.kms.UpdateAppGroup(e.ctx, e.org, "ghost", store.AppGroup{})
	require.ErrorIs(t, err, store.ErrNotFound)

	off, err := e.kms.SetAppGroupStatus(e.ctx, e.org, "partners", store.StatusInactive)
	require.NoError(t, err)
	require.Equal(t, store.StatusInactive, off.Status)
	_, err = e.kms.SetAppGroupStatus(e.ctx, e.org, "partners", "paused")
	require.ErrorIs(t, err, store.ErrInvalid)

	del, err := e.kms.DeleteAppGroup(e.ctx, e.org, "partners")
	require.NoError(t, err)
	require.Equal(t, "Partners 2", del.DisplayName)
	_, err = e.kms.GetAppGroup(e.ctx, e.org, "partners")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.kms.DeleteAppGroup(e.ctx, e.org, "partners")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestAppGroupListingFiltersAndPages(t *testing.T) {
	e := setup(t)
	const n = 7
	for i := range n {
		ch := "portal"
		if i%2 == 1 {
			ch = "store"
		}
		_, err := e.kms.CreateAppGroup(e.ctx, e.org, store.AppGroup{Name: fmt.Sprintf("g%d", i), ChannelID: ch})
		require.NoError(t, err)
	}
	_, err := e.kms.SetAppGroupStatus(e.ctx, e.org, "g0", store.StatusInactive)
	require.NoError(t, err)

	all, next, total, err := e.kms.ListAppGroups(e.ctx, e.org, store.AppGroupsQuery{})
	require.NoError(t, err)
	require.Len(t, all, n)
	require.Empty(t, next)
	require.Equal(t, n, total)

	// Pages of 3 walk every group once, in the same order.
	var walked []string
	start := ""
	for {
		page, next, total, err := e.kms.ListAppGroups(e.ctx, e.org, store.AppGroupsQuery{StartName: start, Limit: 3})
		require.NoError(t, err)
		require.Equal(t, n, total)
		for _, g := range page {
			walked = append(walked, g.Name)
		}
		if next == "" {
			break
		}
		start = next
	}
	var want []string
	for _, g := range all {
		want = append(want, g.Name)
	}
	require.Equal(t, want, walked)

	store1, _, total, err := e.kms.ListAppGroups(e.ctx, e.org, store.AppGroupsQuery{Match: func(g *store.AppGroup) bool { return g.ChannelID == "store" }})
	require.NoError(t, err)
	require.Len(t, store1, 3)
	require.Equal(t, 3, total, "totalSize counts the matching groups")
}

func TestAppGroupAppsKeysAndLookup(t *testing.T) {
	e := setup(t)
	e.product(t, "auto-p", store.ApprovalAuto)
	e.product(t, "manual-p", store.ApprovalManual)
	g := e.appGroup(t, "team")
	d := e.developer(t, "dev@example.com")
	devApp, err := e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: "shared-name", APIProducts: []string{"auto-p"}})
	require.NoError(t, err)

	// The same app name under a developer and a group are different apps.
	a, err := e.kms.CreateAppGroupApp(e.ctx, e.org, "team", store.NewApp{
		Name: "shared-name", CallbackURL: "https://cb", Scopes: []string{"read"}, APIProducts: []string{"auto-p", "manual-p"},
		Attributes: []store.Attribute{{Name: "color", Value: "blue"}}, KeyExpiresIn: 3_600_000,
	})
	require.NoError(t, err)
	require.Equal(t, "team", a.AppGroup)
	require.Empty(t, a.DeveloperID)
	require.Empty(t, a.DeveloperEmail)
	require.NotEqual(t, devApp.AppID, a.AppID)
	c := a.Credentials[0]
	require.Regexp(t, keyRE, c.ConsumerKey)
	require.Equal(t, "team", c.AppGroup)
	require.Empty(t, c.DeveloperID)
	require.Equal(t, c.IssuedAt+3_600_000, c.ExpiresAt)
	require.Equal(t, []store.ProductRef{{APIProduct: "auto-p", Status: store.StatusApproved}, {APIProduct: "manual-p", Status: store.StatusPending}}, c.APIProducts)

	// The secret is sealed at rest like a developer app's.
	var raw []byte
	require.NoError(t, e.s.Query(fmt.Sprintf(`SELECT consumer_secret FROM %s.credentials WHERE consumer_key = ?`, cassandra.Keyspace("kms", e.org)),
		c.ConsumerKey).ScanContext(e.ctx, &raw))
	require.NotContains(t, string(raw), c.ConsumerSecret)

	info, err := e.kms.LookupKey(e.ctx, e.org, c.ConsumerKey)
	require.NoError(t, err)
	require.Equal(t, "shared-name", info.App.Name)
	require.Equal(t, a.AppID, info.App.AppID)
	require.NotNil(t, info.AppGroup)
	require.Equal(t, g.AppGroupID, info.AppGroup.AppGroupID)
	require.Equal(t, store.Developer{}, *info.Developer, "no developer behind an app group's app")
	require.Equal(t, c.ConsumerSecret, info.Credential.ConsumerSecret)
	require.Len(t, info.Products, 2)
	devInfo, err := e.kms.LookupKey(e.ctx, e.org, devApp.Credentials[0].ConsumerKey)
	require.NoError(t, err)
	require.Nil(t, devInfo.AppGroup)
	require.Equal(t, d.Email, devInfo.Developer.Email)

	byID, err := e.kms.GetAppByID(e.ctx, e.org, a.AppID)
	require.NoError(t, err)
	require.Equal(t, "team", byID.AppGroup)
	orgApps, _, err := e.kms.ListOrgApps(e.ctx, e.org, store.OrgAppsQuery{})
	require.NoError(t, err)
	require.Len(t, orgApps, 2, "the organization's apps include app groups' apps")

	// Consumer keys are unique across developer and app group apps.
	_, err = e.kms.AddAppGroupAppCredential(e.ctx, e.org, "team", "shared-name", store.NewCredential{ConsumerKey: devApp.Credentials[0].ConsumerKey})
	require.ErrorIs(t, err, store.ErrAlreadyExists)
	imported, err := e.kms.AddAppGroupAppCredential(e.ctx, e.org, "team", "shared-name", store.NewCredential{ConsumerKey: "team-key", ConsumerSecret: "team-secret"})
	require.NoError(t, err)
	require.Equal(t, []string{"read"}, imported.Scopes, "a new key takes the app's scopes")
	_, err = e.kms.AddCredential(e.ctx, e.org, d.Email, "shared-name", store.NewCredential{ConsumerKey: "team-key"})
	require.ErrorIs(t, err, store.ErrAlreadyExists)

	// Key lifecycle.
	scopes := []string{"write"}
	attrs := []store.Attribute{{Name: "k", Value: "v"}}
	upd, err := e.kms.UpdateAppGroupAppCredential(e.ctx, e.org, "team", "shared-name", "team-key", store.CredentialUpdate{
		AddAPIProducts: []string{"auto-p", "auto-p"}, Scopes: &scopes, Attributes: &attrs, Status: store.StatusRevoked,
	})
	require.NoError(t, err)
	require.Equal(t, []store.ProductRef{{APIProduct: "auto-p", Status: store.StatusApproved}}, upd.APIProducts)
	require.Equal(t, scopes, upd.Scopes)
	require.Equal(t, attrs, upd.Attributes)
	require.Equal(t, store.StatusRevoked, upd.Status)
	_, err = e.kms.UpdateAppGroupAppCredential(e.ctx, e.org, "team", "shared-name", "team-key", store.CredentialUpdate{AddAPIProducts: []string{"ghost"}})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = e.kms.SetAppGroupAppCredentialProductStatus(e.ctx, e.org, "team", "shared-name", "team-key", "auto-p", store.StatusRevoked)
	require.NoError(t, err)
	_, err = e.kms.SetAppGroupAppCredentialProductStatus(e.ctx, e.org, "team", "shared-name", "team-key", "manual-p", store.StatusRevoked)
	require.ErrorIs(t, err, store.ErrNotFound)
	rm, err := e.kms.RemoveAppGroupAppCredentialProduct(e.ctx, e.org, "team", "shared-name", "team-key", "auto-p")
	require.NoError(t, err)
	require.Empty(t, rm.APIProducts)
	_, err = e.kms.GetAppGroupAppCredential(e.ctx, e.org, "team", "shared-name", devApp.Credentials[0].ConsumerKey)
	require.ErrorIs(t, err, store.ErrNotFound, "a developer's key is not the group app's")
	gone, err := e.kms.DeleteAppGroupAppCredential(e.ctx, e.org, "team", "shared-name", "team-key")
	require.NoError(t, err)
	require.Equal(t, "team-secret", gone.ConsumerSecret)
	_, err = e.kms.LookupKey(e.ctx, e.org, "team-key")
	require.ErrorIs(t, err, store.ErrNotFound)

	// App update and status.
	updApp, err := e.kms.UpdateAppGroupApp(e.ctx, e.org, "team", "shared-name", store.AppUpdate{CallbackURL: "https://cb2", APIProducts: []string{"auto-p"}})
	require.NoError(t, err)
	require.Equal(t, "https://cb2", updApp.CallbackURL)
	require.Empty(t, updApp.Attributes)
	revoked, err := e.kms.SetAppGroupAppStatus(e.ctx, e.org, "team", "shared-name", store.StatusRevoked)
	require.NoError(t, err)
	require.Equal(t, store.StatusRevoked, revoked.Status)
	apps, err := e.kms.ListAppGroupApps(e.ctx, e.org, "team", store.Page{})
	require.NoError(t, err)
	require.Len(t, apps, 1)
	require.Len(t, apps[0].Credentials, 1)
	_, err = e.kms.ListAppGroupApps(e.ctx, e.org, "ghost", store.Page{})
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestAppGroupAppFailuresWriteNothing(t *testing.T) {
	e := setup(t)
	e.product(t, "p", store.ApprovalAuto)
	e.appGroup(t, "team")
	_, err := e.kms.CreateAppGroupApp(e.ctx, e.org, "team", store.NewApp{Name: "taken", APIProducts: []string{"p"}})
	require.NoError(t, err)
	baseline := map[string]int{"app_groups": 1, "apps": 1, "apps_by_id": 1, "credentials": 1}

	for _, tc := range []struct {
		name  string
		group string
		app   store.NewApp
		kind  error
	}{
		{"unknown product", "team", store.NewApp{Name: "a", APIProducts: []string{"p", "missing"}}, store.ErrInvalid},
		{"unknown group", "ghost", store.NewApp{Name: "a", APIProducts: []string{"p"}}, store.ErrNotFound},
		{"empty group", "", store.NewApp{Name: "a"}, store.ErrNotFound},
		{"duplicate app", "team", store.NewApp{Name: "taken"}, store.ErrAlreadyExists},
		{"bad status", "team", store.NewApp{Name: "a", Status: "pending"}, store.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.kms.CreateAppGroupApp(e.ctx, e.org, tc.group, tc.app)
			require.ErrorIs(t, err, tc.kind)
			for table, n := range baseline {
				require.Equal(t, n, e.count(t, "kms", table), table)
			}
		})
	}
}

// Deleting a group takes its apps and keys with it; a group created again
// under the same name starts empty (a new id), so nothing old resolves.
func TestDeleteAppGroupCascades(t *testing.T) {
	e := setup(t)
	e.appGroup(t, "team")
	a, err := e.kms.CreateAppGroupApp(e.ctx, e.org, "team", store.NewApp{Name: "app"})
	require.NoError(t, err)
	key := a.Credentials[0].ConsumerKey
	_, err = e.kms.CreateAppGroupApp(e.ctx, e.org, "team", store.NewApp{Name: "app2"})
	require.NoError(t, err)

	_, err = e.kms.DeleteAppGroup(e.ctx, e.org, "team")
	require.NoError(t, err)
	for _, table := range []string{"app_groups", "apps", "apps_by_id", "credentials"} {
		require.Zero(t, e.count(t, "kms", table), table)
	}
	_, err = e.kms.LookupKey(e.ctx, e.org, key)
	require.ErrorIs(t, err, store.ErrNotFound)

	e.appGroup(t, "team")
	apps, err := e.kms.ListAppGroupApps(e.ctx, e.org, "team", store.Page{})
	require.NoError(t, err)
	require.Empty(t, apps)
	_, err = e.kms.GetAppByID(e.ctx, e.org, a.AppID)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// A key whose group row was replaced (deleted and created again while the
// cleanup was cut short) no longer resolves: the owner check compares ids.
func TestAppGroupKeyOrphanedByRecreatedGroup(t *testing.T) {
	e := setup(t)
	e.appGroup(t, "team")
	a, err := e.kms.CreateAppGroupApp(e.ctx, e.org, "team", store.NewApp{Name: "app"})
	require.NoError(t, err)
	key := a.Credentials[0].ConsumerKey
	// Only the owning row goes, as if the cascade never ran.
	require.NoError(t, e.s.Query(fmt.Sprintf(`DELETE FROM %s.app_groups WHERE name = 'team'`, cassandra.Keyspace("kms", e.org))).ExecContext(e.ctx))
	e.appGroup(t, "team")
	_, err = e.kms.LookupKey(e.ctx, e.org, key)
	require.ErrorIs(t, err, store.ErrNotFound)
	orgApps, _, err := e.kms.ListOrgApps(e.ctx, e.org, store.OrgAppsQuery{})
	require.NoError(t, err)
	require.Empty(t, orgApps)
}

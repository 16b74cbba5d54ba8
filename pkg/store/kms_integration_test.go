//go:build integration

package store_test

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
	"github.com/hybrid-emulator/hybrid/pkg/seal"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

type env struct {
	ctx  context.Context
	s    *gocql.Session
	org  string
	kms  *store.KMS
	kvm  *store.KVM
	keys store.EncryptionKeys
}

func setup(t *testing.T) *env {
	t.Helper()
	s := cassandratest.Session(t)
	org := cassandratest.Org(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	t.Cleanup(func() { dropOrg(s, org) })
	_, err := schema.Apply(ctx, s, schema.Options{Orgs: []string{org}, WaitForLease: true}, zaptest.NewLogger(t))
	require.NoError(t, err)
	keys, err := store.GenerateEncryptionKeys()
	require.NoError(t, err)
	return &env{ctx: ctx, s: s, org: org, kms: store.NewKMS(s, keys), kvm: store.NewKVM(s, keys), keys: keys}
}

// dropOrg removes a test org's keyspaces: every org costs Cassandra about
// a dozen tables of heap, and tests create an org each.
func dropOrg(s *gocql.Session, org string) {
	for _, concern := range []string{"rtc", "kms", "kvm"} {
		_ = s.Query("DROP KEYSPACE IF EXISTS " + cassandra.Keyspace(concern, org)).Exec()
	}
	_ = s.Query(`DELETE FROM hybrid_system.schema_migrations WHERE keyspace_name = ?`, "org:"+org).Exec()
}

// count counts rows of a runtime-data table (concern "kms" or "kvm").
func (e *env) count(t *testing.T, concern, table string) int {
	t.Helper()
	var n int
	require.NoError(t, e.s.Query(fmt.Sprintf(`SELECT COUNT(*) FROM %s.%s`, cassandra.Keyspace(concern, e.org), table)).
		ScanContext(e.ctx, &n))
	return n
}

func (e *env) developer(t *testing.T, email string) *store.Developer {
	t.Helper()
	d, err := e.kms.CreateDeveloper(e.ctx, e.org, store.Developer{Email: email, FirstName: "F", LastName: "L", UserName: "u"})
	require.NoError(t, err)
	return d
}

func (e *env) product(t *testing.T, name, approval string) *store.APIProduct {
	t.Helper()
	p, err := e.kms.CreateProduct(e.ctx, e.org, store.APIProduct{Name: name, ApprovalType: approval, Environments: []string{"test"},
		Proxies: []string{"hello"}, APIResources: []string{"/**"}, Quota: "10", QuotaInterval: "1", QuotaTimeUnit: "minute"})
	require.NoError(t, err)
	return p
}

func TestDevelopers(t *testing.T) {
	e := setup(t)
	attrs := []store.Attribute{{Name: "b", Value: "2"}, {Name: "a", Value: "1"}}
	d, err := e.kms.CreateDeveloper(e.ctx, e.org, store.Developer{Email: "Ann@Example.com", FirstName: "Ann", LastName: "Lee", UserName: "ann", Attributes: attrs})
	require.NoError(t, err)
	require.Equal(t, "ann@example.com", d.Email, "emails are kept lower case")
	require.Equal(t, store.StatusActive, d.Status)
	_, err = gocql.ParseUUID(d.DeveloperID)
	require.NoError(t, err)
	require.Positive(t, d.CreatedAt)

	for _, ref := range []string{"ann@example.com", "ANN@example.com", d.DeveloperID} {
		got, err := e.kms.GetDeveloper(e.ctx, e.org, ref)
		require.NoError(t, err, ref)
		require.Equal(t, d.DeveloperID, got.DeveloperID)
		require.Equal(t, attrs, got.Attributes, "attribute order is kept")
	}

	_, err = e.kms.CreateDeveloper(e.ctx, e.org, store.Developer{Email: "ann@example.com", FirstName: "x"})
	require.ErrorIs(t, err, store.ErrAlreadyExists)
	require.Equal(t, 1, e.count(t, "kms", "developers_by_id"), "the loser left no index row")

	upd, err := e.kms.UpdateDeveloper(e.ctx, e.org, d.Email, store.Developer{FirstName: "Anne", LastName: "Lee", UserName: "anne"})
	require.NoError(t, err)
	require.Equal(t, "Anne", upd.FirstName)
	require.Nil(t, upd.Attributes, "PUT replaces the attributes")
	require.GreaterOrEqual(t, upd.LastModifiedAt, d.LastModifiedAt)
	_, err = e.kms.UpdateDeveloper(e.ctx, e.org, d.Email, store.Developer{Email: "other@example.com"})
	require.ErrorIs(t, err, store.ErrInvalid)

	require.NoError(t, e.kms.SetDeveloperStatus(e.ctx, e.org, d.DeveloperID, store.StatusInactive))
	got, err := e.kms.GetDeveloper(e.ctx, e.org, d.Email)
	require.NoError(t, err)
	require.Equal(t, store.StatusInactive, got.Status)
	require.ErrorIs(t, e.kms.SetDeveloperStatus(e.ctx, e.org, d.Email, "sleeping"), store.ErrInvalid)

	for _, ref := range []string{"nobody@example.com", "00000000-0000-0000-0000-000000000000", "not-an-id"} {
		_, err = e.kms.GetDeveloper(e.ctx, e.org, ref)
		require.ErrorIs(t, err, store.ErrNotFound, ref)
	}
}

func TestConcurrentDeveloperCreateHasOneWinner(t *testing.T) {
	e := setup(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.kms.CreateDeveloper(e.ctx, e.org, store.Developer{Email: "race@example.com", FirstName: fmt.Sprint(i)})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			require.ErrorIs(t, err, store.ErrAlreadyExists)
		}
	}
	require.Equal(t, 1, wins)
	require.Equal(t, 1, e.count(t, "kms", "developers"))
	require.Equal(t, 1, e.count(t, "kms", "developers_by_id"), "losers removed their id index rows")
}

func TestDeveloperPaging(t *testing.T) {
	e := setup(t)
	want := map[string]bool{}
	for i := range 7 {
		d := e.developer(t, fmt.Sprintf("dev%d@example.com", i))
		want[d.Email] = true
	}
	all, err := e.kms.ListDevelopers(e.ctx, e.org, store.Page{})
	require.NoError(t, err)
	require.Len(t, all, 7)

	// Page as Apigee clients do: startKey is the last one seen (inclusive).
	seen := map[string]int{}
	start := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		page, err := e.kms.ListDevelopers(e.ctx, e.org, store.Page{StartKey: start, Count: 3})
		require.NoError(t, err)
		if start != "" {
			require.Equal(t, start, page[0].Email, "startKey is inclusive")
			page = page[1:]
		}
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			seen[d.Email]++
		}
		start = page[len(page)-1].Email
	}
	require.Len(t, seen, 7)
	for email, n := range seen {
		require.True(t, want[email])
		require.Equal(t, 1, n, email)
	}

	// startKey may be a developer id (the UI pages that way).
	byID, err := e.kms.ListDevelopers(e.ctx, e.org, store.Page{StartKey: all[2].DeveloperID, Count: 2})
	require.NoError(t, err)
	require.Equal(t, []string{all[2].Email, all[3].Email}, []string{byID[0].Email, byID[1].Email})

	some, err := e.kms.DevelopersByID(e.ctx, e.org, []string{all[1].DeveloperID, "bogus", all[4].DeveloperID})
	require.NoError(t, err)
	require.Len(t, some, 2)
	require.Equal(t, all[1].Email, some[0].Email)
}

var (
	keyRE    = regexp.MustCompile(`^[A-Za-z0-9]{48}$`)
	secretRE = regexp.MustCompile(`^[A-Za-z0-9]{64}$`)
)

func TestAppCreateIssuesCredentialAndLookupFindsIt(t *testing.T) {
	e := setup(t)
	d := e.developer(t, "app@example.com")
	e.product(t, "auto-p", store.ApprovalAuto)
	e.product(t, "manual-p", store.ApprovalManual)

	a, err := e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{
		Name: "app1", CallbackURL: "https://cb", Scopes: []string{"read"}, Attributes: []store.Attribute{{Name: "DisplayName", Value: "App 1"}},
		APIProducts: []string{"auto-p", "manual-p", "auto-p"},
	})
	require.NoError(t, err)
	require.Equal(t, store.StatusApproved, a.Status)
	require.Equal(t, d.DeveloperID, a.DeveloperID)
	require.Len(t, a.Credentials, 1)
	c := a.Credentials[0]
	require.Regexp(t, keyRE, c.ConsumerKey)
	require.Regexp(t, secretRE, c.ConsumerSecret)
	require.Equal(t, store.NeverExpires, c.ExpiresAt)
	require.Equal(t, store.StatusApproved, c.Status)
	require.Equal(t, []store.ProductRef{{APIProduct: "auto-p", Status: store.StatusApproved}, {APIProduct: "manual-p", Status: store.StatusPending}}, c.APIProducts)
	require.Equal(t, []string{"read"}, c.Scopes)

	got, err := e.kms.GetApp(e.ctx, e.org, d.DeveloperID, "app1")
	require.NoError(t, err)
	require.Equal(t, a.AppID, got.AppID)
	require.Equal(t, c.ConsumerSecret, got.Credentials[0].ConsumerSecret)
	byID, err := e.kms.GetAppByID(e.ctx, e.org, a.AppID)
	require.NoError(t, err)
	require.Equal(t, "app@example.com", byID.DeveloperEmail)
	dev, err := e.kms.GetDeveloper(e.ctx, e.org, d.Email)
	require.NoError(t, err)
	require.Equal(t, []string{"app1"}, dev.Apps)

	info, err := e.kms.LookupKey(e.ctx, e.org, c.ConsumerKey)
	require.NoError(t, err)
	require.Equal(t, "app1", info.App.Name)
	require.Equal(t, d.Email, info.Developer.Email)
	require.Equal(t, c.ConsumerSecret, info.Credential.ConsumerSecret)
	require.Len(t, info.Products, 2)
	require.Equal(t, []string{"test"}, info.Products[0].Environments)

	expiring, err := e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: "app2", KeyExpiresIn: 3_600_000})
	require.NoError(t, err)
	ec := expiring.Credentials[0]
	require.Equal(t, ec.IssuedAt+3_600_000, ec.ExpiresAt)
	require.Empty(t, ec.APIProducts)

	_, err = e.kms.LookupKey(e.ctx, e.org, "no-such-key")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestAppCreateFailuresWriteNothing(t *testing.T) {
	e := setup(t)
	d := e.developer(t, "fail@example.com")
	e.product(t, "p", store.ApprovalAuto)
	_, err := e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: "taken", APIProducts: []string{"p"}})
	require.NoError(t, err)
	baseline := map[string]int{"apps": 1, "apps_by_id": 1, "credentials": 1}

	for _, tc := range []struct {
		name string
		dev  string
		app  store.NewApp
		kind error
	}{
		{"unknown product", d.Email, store.NewApp{Name: "a", APIProducts: []string{"p", "missing"}}, store.ErrInvalid},
		{"unknown developer", "ghost@example.com", store.NewApp{Name: "a", APIProducts: []string{"p"}}, store.ErrNotFound},
		{"duplicate app", d.Email, store.NewApp{Name: "taken", APIProducts: []string{"p"}}, store.ErrAlreadyExists},
		{"bad status", d.Email, store.NewApp{Name: "a", Status: "pending"}, store.ErrInvalid},
		{"no name", d.Email, store.NewApp{}, store.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.kms.CreateApp(e.ctx, e.org, tc.dev, tc.app)
			require.ErrorIs(t, err, tc.kind)
			for table, n := range baseline {
				require.Equal(t, n, e.count(t, "kms", table), table)
			}
		})
	}
}

func TestConcurrentAppCreateHasOneWinner(t *testing.T) {
	e := setup(t)
	d := e.developer(t, "race@example.com")
	const n = 5
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: "same"})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			require.ErrorIs(t, err, store.ErrAlreadyExists)
		}
	}
	require.Equal(t, 1, wins)
	require.Equal(t, 1, e.count(t, "kms", "apps"))
	require.Equal(t, 1, e.count(t, "kms", "apps_by_id"), "losers removed their index rows")
	require.Equal(t, 1, e.count(t, "kms", "credentials"), "losers removed their credentials")
}

func TestCredentialLifecycle(t *testing.T) {
	e := setup(t)
	d := e.developer(t, "keys@example.com")
	e.product(t, "p1", store.ApprovalAuto)
	e.product(t, "p2", store.ApprovalAuto)
	a, err := e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: "app", APIProducts: []string{"p1"}, Scopes: []string{"s"}})
	require.NoError(t, err)
	first := a.Credentials[0].ConsumerKey

	imported, err := e.kms.AddCredential(e.ctx, e.org, d.Email, "app", store.NewCredential{ConsumerKey: "my-key_1", ConsumerSecret: "my-secret"})
	require.NoError(t, err)
	require.Equal(t, "my-secret", imported.ConsumerSecret)
	require.Equal(t, []string{"s"}, imported.Scopes, "new keys inherit the app's scopes")
	generated, err := e.kms.AddCredential(e.ctx, e.org, d.Email, "app", store.NewCredential{APIProducts: []string{"p2"}, ExpiresAt: time.Now().Add(time.Hour).UnixMilli()})
	require.NoError(t, err)
	require.Regexp(t, keyRE, generated.ConsumerKey)

	app, err := e.kms.GetApp(e.ctx, e.org, d.Email, "app")
	require.NoError(t, err)
	var keys []string
	for _, c := range app.Credentials {
		keys = append(keys, c.ConsumerKey)
	}
	require.Equal(t, []string{first, "my-key_1", generated.ConsumerKey}, keys, "credentials in issue order")

	before := e.count(t, "kms", "credentials")
	for _, tc := range []struct {
		name string
		nc   store.NewCredential
		kind error
	}{
		{"duplicate key", store.NewCredential{ConsumerKey: "my-key_1"}, store.ErrAlreadyExists},
		{"duplicate of another app's key", store.NewCredential{ConsumerKey: first}, store.ErrAlreadyExists},
		{"bad characters", store.NewCredential{ConsumerKey: "a key!"}, store.ErrInvalid},
		{"bad secret", store.NewCredential{ConsumerKey: "ok", ConsumerSecret: "sp ace"}, store.ErrInvalid},
		{"unknown product", store.NewCredential{ConsumerKey: "ok2", APIProducts: []string{"nope"}}, store.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.kms.AddCredential(e.ctx, e.org, d.Email, "app", tc.nc)
			require.ErrorIs(t, err, tc.kind)
			require.Equal(t, before, e.count(t, "kms", "credentials"))
		})
	}

	c, err := e.kms.SetCredentialStatus(e.ctx, e.org, d.Email, "app", "my-key_1", store.StatusRevoked)
	require.NoError(t, err)
	require.Equal(t, store.StatusRevoked, c.Status)
	c, err = e.kms.UpdateCredential(e.ctx, e.org, d.Email, "app", "my-key_1", store.CredentialUpdate{
		AddAPIProducts: []string{"p1", "p2"}, Attributes: &[]store.Attribute{{Name: "k", Value: "v"}}})
	require.NoError(t, err)
	require.Equal(t, []store.ProductRef{{APIProduct: "p1", Status: store.StatusApproved}, {APIProduct: "p2", Status: store.StatusApproved}}, c.APIProducts)
	require.Equal(t, store.StatusRevoked, c.Status, "adding products does not change the key's status")
	c, err = e.kms.UpdateCredential(e.ctx, e.org, d.Email, "app", "my-key_1", store.CredentialUpdate{Scopes: &[]string{"a", "b"}})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, c.Scopes)
	require.Len(t, c.Attributes, 1, "scopes-only update keeps attributes")
	c, err = e.kms.SetCredentialProductStatus(e.ctx, e.org, d.Email, "app", "my-key_1", "p2", store.StatusRevoked)
	require.NoError(t, err)
	require.Equal(t, store.StatusRevoked, c.APIProducts[1].Status)
	_, err = e.kms.SetCredentialProductStatus(e.ctx, e.org, d.Email, "app", "my-key_1", "p9", store.StatusRevoked)
	require.ErrorIs(t, err, store.ErrNotFound)
	c, err = e.kms.RemoveCredentialProduct(e.ctx, e.org, d.Email, "app", "my-key_1", "p1")
	require.NoError(t, err)
	require.Equal(t, []store.ProductRef{{APIProduct: "p2", Status: store.StatusRevoked}}, c.APIProducts)

	// A key of this app is not reachable through another app.
	_, err = e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: "other"})
	require.NoError(t, err)
	_, err = e.kms.GetCredential(e.ctx, e.org, d.Email, "other", "my-key_1")
	require.ErrorIs(t, err, store.ErrNotFound)

	deleted, err := e.kms.DeleteCredential(e.ctx, e.org, d.Email, "app", "my-key_1")
	require.NoError(t, err)
	require.Equal(t, "my-secret", deleted.ConsumerSecret)
	_, err = e.kms.LookupKey(e.ctx, e.org, "my-key_1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.kms.GetCredential(e.ctx, e.org, d.Email, "app", "my-key_1")
	require.ErrorIs(t, err, store.ErrNotFound)

	// The freed key can be imported again.
	_, err = e.kms.AddCredential(e.ctx, e.org, d.Email, "other", store.NewCredential{ConsumerKey: "my-key_1"})
	require.NoError(t, err)
	info, err := e.kms.LookupKey(e.ctx, e.org, "my-key_1")
	require.NoError(t, err)
	require.Equal(t, "other", info.App.Name)
}

func TestAppUpdateStatusAndDelete(t *testing.T) {
	e := setup(t)
	d := e.developer(t, "upd@example.com")
	e.product(t, "p1", store.ApprovalAuto)
	e.product(t, "p2", store.ApprovalManual)
	a, err := e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: "app", APIProducts: []string{"p1"}, Attributes: []store.Attribute{{Name: "x", Value: "1"}}})
	require.NoError(t, err)

	_, err = e.kms.UpdateApp(e.ctx, e.org, d.Email, "app", store.AppUpdate{CallbackURL: "https://new", APIProducts: []string{"nope"}})
	require.ErrorIs(t, err, store.ErrInvalid)
	unchanged, err := e.kms.GetApp(e.ctx, e.org, d.Email, "app")
	require.NoError(t, err)
	require.Empty(t, unchanged.CallbackURL, "a rejected update writes nothing")

	u, err := e.kms.UpdateApp(e.ctx, e.org, d.Email, "app", store.AppUpdate{CallbackURL: "https://new", APIProducts: []string{"p1", "p2"}})
	require.NoError(t, err)
	require.Equal(t, "https://new", u.CallbackURL)
	require.Nil(t, u.Attributes)
	require.Equal(t, []store.ProductRef{{APIProduct: "p1", Status: store.StatusApproved}, {APIProduct: "p2", Status: store.StatusPending}}, u.Credentials[0].APIProducts)

	require.NoError(t, e.kms.SetAppStatus(e.ctx, e.org, d.Email, "app", store.StatusRevoked))
	info, err := e.kms.LookupKey(e.ctx, e.org, a.Credentials[0].ConsumerKey)
	require.NoError(t, err)
	require.Equal(t, store.StatusRevoked, info.App.Status)

	deleted, err := e.kms.DeleteApp(e.ctx, e.org, d.Email, "app")
	require.NoError(t, err)
	require.Len(t, deleted.Credentials, 1)
	for _, table := range []string{"apps", "apps_by_id", "credentials"} {
		require.Zero(t, e.count(t, "kms", table), table)
	}
	_, err = e.kms.DeleteApp(e.ctx, e.org, d.Email, "app")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestDeleteDeveloperCascades(t *testing.T) {
	e := setup(t)
	d := e.developer(t, "gone@example.com")
	keep := e.developer(t, "stay@example.com")
	for _, name := range []string{"a1", "a2"} {
		_, err := e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: name})
		require.NoError(t, err)
	}
	kept, err := e.kms.CreateApp(e.ctx, e.org, keep.Email, store.NewApp{Name: "a1"})
	require.NoError(t, err)

	deleted, err := e.kms.DeleteDeveloper(e.ctx, e.org, d.DeveloperID)
	require.NoError(t, err)
	require.Equal(t, []string{"a1", "a2"}, deleted.Apps)
	require.Equal(t, 1, e.count(t, "kms", "developers"))
	require.Equal(t, 1, e.count(t, "kms", "developers_by_id"))
	require.Equal(t, 1, e.count(t, "kms", "apps"))
	require.Equal(t, 1, e.count(t, "kms", "apps_by_id"))
	require.Equal(t, 1, e.count(t, "kms", "credentials"))
	_, err = e.kms.LookupKey(e.ctx, e.org, kept.Credentials[0].ConsumerKey)
	require.NoError(t, err)

	// Re-created with the same email, the developer starts empty.
	again := e.developer(t, "gone@example.com")
	require.NotEqual(t, d.DeveloperID, again.DeveloperID)
	require.Empty(t, again.Apps)
}

func TestOrgAppListingAndOrphans(t *testing.T) {
	e := setup(t)
	d1 := e.developer(t, "one@example.com")
	d2 := e.developer(t, "two@example.com")
	e.product(t, "p", store.ApprovalAuto)
	ids := map[string]bool{}
	for i, d := range []*store.Developer{d1, d2, d1, d2, d1} {
		a, err := e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: fmt.Sprintf("app%d", i), APIProducts: []string{"p"}})
		require.NoError(t, err)
		ids[a.AppID] = true
	}
	// A leftover index row of a create that never committed is invisible.
	require.NoError(t, e.s.Query(fmt.Sprintf(`INSERT INTO %s.apps_by_id (app_id, developer_id, name) VALUES (?, ?, 'ghost')`,
		cassandra.Keyspace("kms", e.org)), gocql.MustRandomUUID(), gocql.MustRandomUUID()).ExecContext(e.ctx))

	all, next, err := e.kms.ListOrgApps(e.ctx, e.org, store.OrgAppsQuery{})
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, all, 5)
	require.Nil(t, all[0].Credentials)

	seen := map[string]bool{}
	start := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		page, next, err := e.kms.ListOrgApps(e.ctx, e.org, store.OrgAppsQuery{StartKey: start, Limit: 2})
		require.NoError(t, err)
		for _, a := range page {
			require.False(t, seen[a.AppID], "no app twice")
			seen[a.AppID] = true
		}
		if next == "" {
			break
		}
		start = next
	}
	require.Equal(t, ids, seen)

	named, _, err := e.kms.ListOrgApps(e.ctx, e.org, store.OrgAppsQuery{WithCredentials: true, Match: func(a *store.App) bool { return a.Name == "app3" }})
	require.NoError(t, err)
	require.Len(t, named, 1)
	require.Equal(t, "two@example.com", named[0].DeveloperEmail)
	require.Len(t, named[0].Credentials, 1)
}

func TestConsumerSecretsAreEncryptedAtRest(t *testing.T) {
	e := setup(t)
	d := e.developer(t, "sec@example.com")
	a, err := e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: "app"})
	require.NoError(t, err)
	c := a.Credentials[0]
	var raw []byte
	require.NoError(t, e.s.Query(fmt.Sprintf(`SELECT consumer_secret FROM %s.credentials WHERE consumer_key = ?`, cassandra.Keyspace("kms", e.org)),
		c.ConsumerKey).ScanContext(e.ctx, &raw))
	require.NotEmpty(t, raw)
	require.NotContains(t, string(raw), c.ConsumerSecret)

	// Another process (its own session) with the same keys reads the
	// secret; one with other keys cannot, and without keys nothing opens.
	other := store.NewKMS(cassandratest.Session(t), e.keys)
	got, err := other.GetCredential(e.ctx, e.org, d.Email, "app", c.ConsumerKey)
	require.NoError(t, err)
	require.Equal(t, c.ConsumerSecret, got.ConsumerSecret)
	wrong, err := store.GenerateEncryptionKeys()
	require.NoError(t, err)
	_, err = store.NewKMS(e.s, wrong).GetCredential(e.ctx, e.org, d.Email, "app", c.ConsumerKey)
	require.ErrorIs(t, err, seal.ErrOpen)
	_, err = store.NewKMS(e.s, store.EncryptionKeys{}).GetCredential(e.ctx, e.org, d.Email, "app", c.ConsumerKey)
	require.ErrorIs(t, err, store.ErrNoEncryptionKeys)
}

// The keys that seal consumer secrets and KVM values never reach
// Cassandra: no table of the org's keyspaces holds key material.
func TestEncryptionKeysAreNotInCassandra(t *testing.T) {
	e := setup(t)
	var n int
	for _, concern := range []string{"kms", "kvm", "rtc"} {
		iter := e.s.Query(`SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?`, cassandra.Keyspace(concern, e.org)).IterContext(e.ctx)
		var table string
		for iter.Scan(&table) {
			n++
			require.NotContains(t, table, "key", "table %s.%s", concern, table)
		}
		require.NoError(t, iter.Close())
	}
	require.Positive(t, n, "the org's keyspaces exist")
}

func TestProducts(t *testing.T) {
	e := setup(t)
	og := &store.OperationGroup{OperationConfigType: "proxy", OperationConfigs: []store.OperationConfig{{
		APISource:  "hello",
		Operations: []store.Operation{{Resource: "/v1/**", Methods: []string{"GET"}}},
		Quota:      &store.OperationQuota{Limit: "5", Interval: "1", TimeUnit: "minute"},
	}}}
	p, err := e.kms.CreateProduct(e.ctx, e.org, store.APIProduct{Name: "gold", Description: "d", OperationGroup: og,
		Scopes: []string{"read"}, Attributes: []store.Attribute{{Name: "access", Value: "public"}}})
	require.NoError(t, err)
	require.Equal(t, "gold", p.DisplayName, "display name defaults to the name")
	require.Equal(t, store.ApprovalAuto, p.ApprovalType)

	got, err := e.kms.GetProduct(e.ctx, e.org, "gold")
	require.NoError(t, err)
	require.Equal(t, og, got.OperationGroup)
	require.Equal(t, p.CreatedAt, got.CreatedAt)

	_, err = e.kms.CreateProduct(e.ctx, e.org, store.APIProduct{Name: "gold"})
	require.ErrorIs(t, err, store.ErrAlreadyExists)
	_, err = e.kms.CreateProduct(e.ctx, e.org, store.APIProduct{Name: "x", ApprovalType: "sometimes"})
	require.ErrorIs(t, err, store.ErrInvalid)

	upd, err := e.kms.UpdateProduct(e.ctx, e.org, "gold", store.APIProduct{DisplayName: "Gold", ApprovalType: store.ApprovalManual, Environments: []string{"prod"}})
	require.NoError(t, err)
	require.Equal(t, p.CreatedAt, upd.CreatedAt)
	got, err = e.kms.GetProduct(e.ctx, e.org, "gold")
	require.NoError(t, err)
	require.Equal(t, "Gold", got.DisplayName)
	require.Nil(t, got.OperationGroup, "PUT replaces")
	require.Equal(t, []string{"prod"}, got.Environments)
	_, err = e.kms.UpdateProduct(e.ctx, e.org, "nope", store.APIProduct{})
	require.ErrorIs(t, err, store.ErrNotFound)

	for i := range 4 {
		e.product(t, fmt.Sprintf("p%d", i), "")
	}
	seen := map[string]int{}
	start := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		page, err := e.kms.ListProducts(e.ctx, e.org, store.Page{StartKey: start, Count: 2})
		require.NoError(t, err)
		if start != "" {
			page = page[1:]
		}
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			seen[p.Name]++
		}
		start = page[len(page)-1].Name
	}
	require.Len(t, seen, 5)

	// A deleted product drops out of key lookups.
	d := e.developer(t, "p@example.com")
	a, err := e.kms.CreateApp(e.ctx, e.org, d.Email, store.NewApp{Name: "app", APIProducts: []string{"p0", "p1"}})
	require.NoError(t, err)
	_, err = e.kms.DeleteProduct(e.ctx, e.org, "p0")
	require.NoError(t, err)
	info, err := e.kms.LookupKey(e.ctx, e.org, a.Credentials[0].ConsumerKey)
	require.NoError(t, err)
	require.Len(t, info.Products, 1)
	require.Equal(t, "p1", info.Products[0].Name)
	_, err = e.kms.DeleteProduct(e.ctx, e.org, "p0")
	require.ErrorIs(t, err, store.ErrNotFound)
}

//go:build integration

package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// TestBehaviourCasesWithRuntimeData runs the cases that declare
// runtimeData: each in a fresh organization of the real Cassandra, seeded
// through pkg/store, with a case clock the requests can move.
func TestBehaviourCasesWithRuntimeData(t *testing.T) {
	session := cassandratest.Session(t)
	n := 0
	for _, dir := range caseDirs(t) {
		cf := loadCaseFile(t, dir)
		if cf.RuntimeData == nil {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			org := cassandratest.NewOrg(t, session)
			clock := &testClock{now: time.Now()}
			keys, err := store.GenerateEncryptionKeys()
			require.NoError(t, err)
			data := rtdata.New(session, org, rtdata.Options{Now: clock.Now, Keys: keys})
			seedRuntimeData(t, data, store.NewKVM(session, keys), "test", cf.RuntimeData, clock)
			runCase(t, dir, cf, caseEnv{org: org, data: data, clock: clock})
		})
	}
	require.NotZero(t, n)
}

// seedRuntimeData writes the case's data as MART would (kvm shares the
// data store's encryption keys).
func seedRuntimeData(t *testing.T, data *rtdata.Store, kvm *store.KVM, env string, rd *caseRuntimeData, clock *testClock) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	org := data.Org()
	kms := data.KMS()
	for _, p := range rd.APIProducts {
		ap := store.APIProduct{Name: p.Name, DisplayName: p.DisplayName, ApprovalType: p.ApprovalType, Environments: p.Environments,
			Proxies: p.Proxies, APIResources: p.APIResources, Quota: p.Quota, QuotaInterval: p.QuotaInterval, QuotaTimeUnit: p.QuotaTimeUnit,
			Scopes: p.Scopes, Attributes: p.Attributes}
		if ap.ApprovalType == "" {
			ap.ApprovalType = store.ApprovalAuto
		}
		if g := p.OperationGroup; g != nil {
			ap.OperationGroup = &store.OperationGroup{OperationConfigType: g.OperationConfigType}
			for _, oc := range g.OperationConfigs {
				c := store.OperationConfig{APISource: oc.APISource, Operations: oc.Operations, Attributes: oc.Attributes}
				if oc.Quota != nil {
					c.Quota = &store.OperationQuota{Limit: oc.Quota.Limit, Interval: oc.Quota.Interval, TimeUnit: oc.Quota.TimeUnit}
				}
				ap.OperationGroup.OperationConfigs = append(ap.OperationGroup.OperationConfigs, c)
			}
		}
		_, err := kms.CreateProduct(ctx, org, ap)
		require.NoError(t, err, "apiProduct %s", p.Name)
	}
	for _, d := range rd.Developers {
		_, err := kms.CreateDeveloper(ctx, org, store.Developer{Email: d.Email, FirstName: d.FirstName, LastName: d.LastName,
			UserName: d.UserName, Attributes: d.Attributes})
		require.NoError(t, err, "developer %s", d.Email)
		if d.Status != "" && d.Status != store.StatusActive {
			require.NoError(t, kms.SetDeveloperStatus(ctx, org, d.Email, d.Status))
		}
	}
	for _, g := range rd.AppGroups {
		_, err := kms.CreateAppGroup(ctx, org, store.AppGroup{Name: g.Name, DisplayName: g.DisplayName, ChannelID: g.ChannelID,
			ChannelURI: g.ChannelURI, Attributes: g.Attributes})
		require.NoError(t, err, "appGroup %s", g.Name)
		if g.Status != "" && g.Status != store.StatusActive {
			_, err := kms.SetAppGroupStatus(ctx, org, g.Name, g.Status)
			require.NoError(t, err)
		}
	}
	for _, a := range rd.Apps {
		require.True(t, (a.Developer == "") != (a.AppGroup == ""), "app %s: give exactly one of developer and appGroup", a.Name)
		ops := developerAppOps(kms, org, a.Developer)
		if a.AppGroup != "" {
			ops = appGroupAppOps(kms, org, a.AppGroup)
		}
		_, err := ops.create(ctx, store.NewApp{Name: a.Name, CallbackURL: a.CallbackURL, Status: a.Status,
			Scopes: a.Scopes, Attributes: a.Attributes})
		require.NoError(t, err, "app %s", a.Name)
		for _, c := range a.Credentials {
			nc := store.NewCredential{ConsumerKey: c.ConsumerKey, ConsumerSecret: c.ConsumerSecret, APIProducts: c.APIProducts,
				Scopes: c.Scopes, Attributes: c.Attributes}
			if c.ExpiresInSeconds > 0 {
				nc.ExpiresAt = clock.Now().Add(time.Duration(c.ExpiresInSeconds) * time.Second).UnixMilli()
			}
			_, err := ops.addKey(ctx, a.Name, nc)
			require.NoError(t, err, "app %s credential %s", a.Name, c.ConsumerKey)
			if c.Status != "" && c.Status != store.StatusApproved {
				_, err := ops.updateKey(ctx, a.Name, c.ConsumerKey, store.CredentialUpdate{Status: c.Status})
				require.NoError(t, err)
			}
			for product, st := range c.ProductStatus {
				_, err := ops.setKeyProduct(ctx, a.Name, c.ConsumerKey, product, st)
				require.NoError(t, err, "app %s credential %s product %s", a.Name, c.ConsumerKey, product)
			}
		}
	}
	for _, m := range rd.KVMs {
		scope := store.OrgScope()
		switch {
		case m.Scope == "environment":
			scope = store.EnvScope(env)
		case strings.HasPrefix(m.Scope, "apiproxy:"):
			scope = store.ProxyScope(strings.TrimPrefix(m.Scope, "apiproxy:"))
		case m.Scope == "organization" || m.Scope == "":
		default:
			t.Fatalf("kvm %s: scope %q is not organization, environment or apiproxy:<name>", m.Name, m.Scope)
		}
		_, err := kvm.CreateMap(ctx, org, scope, m.Name, false)
		require.NoError(t, err, "kvm %s", m.Name)
		for k, v := range m.Entries {
			_, err := kvm.CreateEntry(ctx, org, scope, m.Name, k, v)
			require.NoError(t, err, "kvm %s entry %s", m.Name, k)
		}
	}
}

// appOps are the app writes the seeding needs, for a developer's apps or an
// app group's.
type appOps struct {
	create        func(ctx context.Context, app store.NewApp) (*store.App, error)
	addKey        func(ctx context.Context, app string, nc store.NewCredential) (*store.Credential, error)
	updateKey     func(ctx context.Context, app, key string, u store.CredentialUpdate) (*store.Credential, error)
	setKeyProduct func(ctx context.Context, app, key, product, status string) (*store.Credential, error)
}

func developerAppOps(kms *store.KMS, org, dev string) appOps {
	return appOps{
		create: func(ctx context.Context, app store.NewApp) (*store.App, error) {
			return kms.CreateApp(ctx, org, dev, app)
		},
		addKey: func(ctx context.Context, app string, nc store.NewCredential) (*store.Credential, error) {
			return kms.AddCredential(ctx, org, dev, app, nc)
		},
		updateKey: func(ctx context.Context, app, key string, u store.CredentialUpdate) (*store.Credential, error) {
			return kms.UpdateCredential(ctx, org, dev, app, key, u)
		},
		setKeyProduct: func(ctx context.Context, app, key, product, status string) (*store.Credential, error) {
			return kms.SetCredentialProductStatus(ctx, org, dev, app, key, product, status)
		},
	}
}

func appGroupAppOps(kms *store.KMS, org, group string) appOps {
	return appOps{
		create: func(ctx context.Context, app store.NewApp) (*store.App, error) {
			return kms.CreateAppGroupApp(ctx, org, group, app)
		},
		addKey: func(ctx context.Context, app string, nc store.NewCredential) (*store.Credential, error) {
			return kms.AddAppGroupAppCredential(ctx, org, group, app, nc)
		},
		updateKey: func(ctx context.Context, app, key string, u store.CredentialUpdate) (*store.Credential, error) {
			return kms.UpdateAppGroupAppCredential(ctx, org, group, app, key, u)
		},
		setKeyProduct: func(ctx context.Context, app, key, product, status string) (*store.Credential, error) {
			return kms.SetAppGroupAppCredentialProductStatus(ctx, org, group, app, key, product, status)
		},
	}
}

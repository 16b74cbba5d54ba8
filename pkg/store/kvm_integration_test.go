//go:build integration

package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func TestKVMScopesAreSeparate(t *testing.T) {
	e := setup(t)
	scopes := []store.Scope{store.OrgScope(), store.EnvScope("test"), store.EnvScope("prod"), store.ProxyScope("hello")}
	for i, sc := range scopes {
		m, err := e.kvm.CreateMap(e.ctx, e.org, sc, "config", false)
		require.NoError(t, err, sc)
		require.True(t, m.Encrypted, "hybrid maps are always encrypted")
		_, err = e.kvm.CreateEntry(e.ctx, e.org, sc, "config", "url", fmt.Sprintf("https://backend-%d", i))
		require.NoError(t, err)
	}
	for i, sc := range scopes {
		got, err := e.kvm.GetEntry(e.ctx, e.org, sc, "config", "url")
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("https://backend-%d", i), got.Value, sc)
		names, err := e.kvm.ListMaps(e.ctx, e.org, sc)
		require.NoError(t, err)
		require.Equal(t, []string{"config"}, names)
	}
	names, err := e.kvm.ListMaps(e.ctx, e.org, store.EnvScope("other"))
	require.NoError(t, err)
	require.Empty(t, names)

	_, err = e.kvm.CreateMap(e.ctx, e.org, store.EnvScope("test"), "config", false)
	require.ErrorIs(t, err, store.ErrAlreadyExists)
	_, err = e.kvm.GetMap(e.ctx, e.org, store.EnvScope("test"), "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestKVMEntries(t *testing.T) {
	e := setup(t)
	sc := store.EnvScope("test")
	_, err := e.kvm.CreateMap(e.ctx, e.org, sc, "m", false)
	require.NoError(t, err)

	_, err = e.kvm.CreateEntry(e.ctx, e.org, sc, "m", "k", "v1")
	require.NoError(t, err)
	_, err = e.kvm.CreateEntry(e.ctx, e.org, sc, "m", "k", "v2")
	require.ErrorIs(t, err, store.ErrAlreadyExists)
	got, err := e.kvm.GetEntry(e.ctx, e.org, sc, "m", "k")
	require.NoError(t, err)
	require.Equal(t, "v1", got.Value, "the duplicate did not overwrite")

	_, err = e.kvm.UpdateEntry(e.ctx, e.org, sc, "m", "k", "v3")
	require.NoError(t, err)
	_, err = e.kvm.UpdateEntry(e.ctx, e.org, sc, "m", "absent", "x")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, e.kvm.PutEntry(e.ctx, e.org, sc, "m", "put", "p1"))
	require.NoError(t, e.kvm.PutEntry(e.ctx, e.org, sc, "m", "put", "p2"))
	got, err = e.kvm.GetEntry(e.ctx, e.org, sc, "m", "put")
	require.NoError(t, err)
	require.Equal(t, "p2", got.Value)

	_, err = e.kvm.CreateEntry(e.ctx, e.org, sc, "nomap", "k", "v")
	require.ErrorIs(t, err, store.ErrNotFound)

	del, err := e.kvm.DeleteEntry(e.ctx, e.org, sc, "m", "k")
	require.NoError(t, err)
	require.Equal(t, "v3", del.Value)
	_, err = e.kvm.GetEntry(e.ctx, e.org, sc, "m", "k")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.kvm.DeleteEntry(e.ctx, e.org, sc, "m", "k")
	require.ErrorIs(t, err, store.ErrNotFound)

	m, err := e.kvm.SetMaskedValues(e.ctx, e.org, sc, "m", true)
	require.NoError(t, err)
	require.True(t, m.MaskedValues)
}

func TestKVMEntryPaging(t *testing.T) {
	e := setup(t)
	sc := store.OrgScope()
	_, err := e.kvm.CreateMap(e.ctx, e.org, sc, "m", false)
	require.NoError(t, err)
	for i := range 7 {
		_, err := e.kvm.CreateEntry(e.ctx, e.org, sc, "m", fmt.Sprintf("key%02d", i), fmt.Sprint(i))
		require.NoError(t, err)
	}
	var names []string
	token := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		page, next, err := e.kvm.ListEntries(e.ctx, e.org, sc, "m", token, 3)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 3)
		for _, en := range page {
			names = append(names, en.Name)
		}
		if next == "" {
			break
		}
		token = next
	}
	require.Equal(t, []string{"key00", "key01", "key02", "key03", "key04", "key05", "key06"}, names)

	all, next, err := e.kvm.ListEntries(e.ctx, e.org, sc, "m", "", 0)
	require.NoError(t, err)
	require.Len(t, all, 7)
	require.Empty(t, next)
}

func TestKVMValuesAreEncryptedAtRest(t *testing.T) {
	e := setup(t)
	sc := store.ProxyScope("p")
	_, err := e.kvm.CreateMap(e.ctx, e.org, sc, "secrets", false)
	require.NoError(t, err)
	const secret = "super-secret-password-123"
	_, err = e.kvm.CreateEntry(e.ctx, e.org, sc, "secrets", "db", secret)
	require.NoError(t, err)
	_, err = e.kvm.CreateEntry(e.ctx, e.org, sc, "secrets", "other", "x")
	require.NoError(t, err)

	ks := cassandra.Keyspace("kvm", e.org)
	var mapID gocql.UUID
	require.NoError(t, e.s.Query(fmt.Sprintf(`SELECT map_id FROM %s.maps WHERE scope = ? AND name = ?`, ks), sc.String(), "secrets").
		ScanContext(e.ctx, &mapID))
	var raw []byte
	require.NoError(t, e.s.Query(fmt.Sprintf(`SELECT value FROM %s.map_entries WHERE map_id = ? AND name = 'db'`, ks), mapID).
		ScanContext(e.ctx, &raw))
	require.NotContains(t, string(raw), secret, "the raw row holds ciphertext")
	require.False(t, strings.Contains(string(raw), "super"))

	// The ciphertext is bound to its row: copied under another entry's
	// name it does not open.
	require.NoError(t, e.s.Query(fmt.Sprintf(`UPDATE %s.map_entries SET value = ? WHERE map_id = ? AND name = 'other'`, ks), raw, mapID).
		ExecContext(e.ctx))
	_, err = e.kvm.GetEntry(e.ctx, e.org, sc, "secrets", "other")
	require.Error(t, err)

	// Another process with the org's keys reads the same value.
	other := store.NewKVM(cassandratest.Session(t), e.keys)
	got, err := other.GetEntry(e.ctx, e.org, sc, "secrets", "db")
	require.NoError(t, err)
	require.Equal(t, secret, got.Value)
}

// Processes sharing the org's keys read each other's entries.
func TestKVMProcessesShareKeys(t *testing.T) {
	e := setup(t)
	sc := store.OrgScope()
	_, err := e.kvm.CreateMap(e.ctx, e.org, sc, "m", false)
	require.NoError(t, err)
	procs := []*store.KVM{store.NewKVM(cassandratest.Session(t), e.keys), store.NewKVM(cassandratest.Session(t), e.keys), store.NewKVM(cassandratest.Session(t), e.keys)}
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.CreateEntry(e.ctx, e.org, sc, "m", fmt.Sprint(i), fmt.Sprint("value", i))
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	for _, p := range procs {
		for i := range procs {
			got, err := p.GetEntry(e.ctx, e.org, sc, "m", fmt.Sprint(i))
			require.NoError(t, err)
			require.Equal(t, fmt.Sprint("value", i), got.Value)
		}
	}
}

func TestKVMConcurrentEntryCreateHasOneWinner(t *testing.T) {
	e := setup(t)
	sc := store.EnvScope("test")
	_, err := e.kvm.CreateMap(e.ctx, e.org, sc, "m", false)
	require.NoError(t, err)
	const n = 5
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.kvm.CreateEntry(e.ctx, e.org, sc, "m", "k", fmt.Sprint(i))
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
}

func TestKVMDeleteMapDropsEntries(t *testing.T) {
	e := setup(t)
	sc := store.EnvScope("test")
	_, err := e.kvm.CreateMap(e.ctx, e.org, sc, "m", false)
	require.NoError(t, err)
	_, err = e.kvm.CreateEntry(e.ctx, e.org, sc, "m", "k", "v")
	require.NoError(t, err)
	m, err := e.kvm.DeleteMap(e.ctx, e.org, sc, "m")
	require.NoError(t, err)
	require.Equal(t, "m", m.Name)
	require.Zero(t, e.count(t, "kvm", "map_entries"))
	_, err = e.kvm.DeleteMap(e.ctx, e.org, sc, "m")
	require.ErrorIs(t, err, store.ErrNotFound)

	_, err = e.kvm.CreateMap(e.ctx, e.org, sc, "m", false)
	require.NoError(t, err)
	_, err = e.kvm.GetEntry(e.ctx, e.org, sc, "m", "k")
	require.ErrorIs(t, err, store.ErrNotFound, "a re-created map starts empty")
}

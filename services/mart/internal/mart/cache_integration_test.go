//go:build integration

package mart_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// Google's client clears a named environment cache
// (organizations.environments.caches.delete): the entries the message
// processors' cache policies wrote are gone from Cassandra; other caches
// and environments keep theirs.
func TestGoClientDeleteCache(t *testing.T) {
	m := startMART(t, true)
	caches := store.NewCaches(m.session)
	exp := time.Now().Add(time.Hour)
	seed := []struct{ env, cache, key string }{
		{"test", "items", "k1"}, {"test", "items", "k2"}, {"test", "other", "k1"}, {"prod", "items", "k1"}, {"test", "", "k1"},
	}
	for _, s := range seed {
		require.NoError(t, caches.Put(m.ctx, m.org, s.env, s.cache, s.key, []byte("v"), exp))
	}

	resp, err := m.api.Organizations.Environments.Caches.Delete(m.parent() + "/environments/test/caches/items").Context(m.ctx).Do()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.HTTPStatusCode)

	for _, s := range seed {
		_, err := caches.Get(m.ctx, m.org, s.env, s.cache, s.key)
		if s.env == "test" && s.cache == "items" {
			require.True(t, errors.Is(err, store.ErrNotFound), "%+v cleared", s)
		} else {
			require.NoError(t, err, "%+v kept", s)
		}
	}
	// Clearing again (or a cache never written to) succeeds: caches exist
	// implicitly once a policy names them.
	_, err = m.api.Organizations.Environments.Caches.Delete(m.parent() + "/environments/test/caches/never").Context(m.ctx).Do()
	require.NoError(t, err)
	// Another organization's path is not this MART's.
	code, _ := m.do(m.http, http.MethodDelete, "/v1/organizations/elsewhere/environments/test/caches/items", nil)
	require.Equal(t, http.StatusNotFound, code)
}

//go:build integration

package store_test

import (
	"fmt"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func TestOAuth2Tokens(t *testing.T) {
	e := setup(t)
	now := time.Now()
	e.kms.Now = func() time.Time { return now }
	app := gocql.MustRandomUUID().String()
	other := gocql.MustRandomUUID().String()
	put := func(token, kind, appID, user string, issued time.Time, exp int64) *store.OAuth2Token {
		t.Helper()
		tok := &store.OAuth2Token{Token: token, Kind: kind, ClientID: "ck", AppID: appID, APIProducts: []string{"p"}, Scope: "read",
			IssuedAt: issued.UnixMilli(), ExpiresAt: exp, EndUser: user, Attributes: []store.Attribute{{Name: "a", Value: "1"}}}
		require.NoError(t, e.kms.PutOAuth2Token(e.ctx, e.org, tok))
		return tok
	}
	hour := now.Add(time.Hour).UnixMilli()
	put("at1", store.OAuth2AccessToken, app, "alice", now.Add(-time.Minute), hour)
	put("at2", store.OAuth2AccessToken, app, "bob", now, hour)
	put("at3", store.OAuth2AccessToken, other, "alice", now, -1)
	put("code", store.OAuth2AuthorizationCode, app, "", now, hour)
	put("old", store.OAuth2AccessToken, app, "", now.Add(-2*time.Hour), now.Add(-time.Hour).UnixMilli())

	got, err := e.kms.GetOAuth2Token(e.ctx, e.org, "at1")
	require.NoError(t, err)
	require.Equal(t, app, got.AppID)
	require.Equal(t, store.StatusApproved, got.Status)
	require.Equal(t, []store.Attribute{{Name: "a", Value: "1"}}, got.Attributes)
	require.False(t, got.Expired(now.UnixMilli()))

	var n int
	require.NoError(t, e.s.Query(fmt.Sprintf(`SELECT COUNT(*) FROM %s.oauth2_tokens WHERE token_hash = 'at1'`, cassandra.Keyspace("kms", e.org))).
		ScanContext(e.ctx, &n))
	require.Zero(t, n, "tokens are stored by hash only")

	old, err := e.kms.GetOAuth2Token(e.ctx, e.org, "old")
	require.NoError(t, err, "expired tokens stay readable for the grace period")
	require.True(t, old.Expired(now.UnixMilli()))

	got.Attributes = append(got.Attributes, store.Attribute{Name: "b", Value: "2"})
	got.Status = store.StatusRevoked
	require.NoError(t, e.kms.UpdateOAuth2Token(e.ctx, e.org, got))
	got, err = e.kms.GetOAuth2Token(e.ctx, e.org, "at1")
	require.NoError(t, err)
	require.Equal(t, store.StatusRevoked, got.Status)
	require.Len(t, got.Attributes, 2)

	// By app and end user: only bob's token (alice's is already revoked).
	revoked, err := e.kms.RevokeOAuth2Tokens(e.ctx, e.org, app, "bob", now.UnixMilli()+1)
	require.NoError(t, err)
	require.Equal(t, 1, revoked)
	// By end user across apps, before a timestamp that excludes at3.
	revoked, err = e.kms.RevokeOAuth2Tokens(e.ctx, e.org, "", "alice", now.UnixMilli())
	require.NoError(t, err)
	require.Zero(t, revoked)
	revoked, err = e.kms.RevokeOAuth2Tokens(e.ctx, e.org, "", "alice", now.UnixMilli()+1)
	require.NoError(t, err)
	require.Equal(t, 1, revoked)
	code, err := e.kms.GetOAuth2Token(e.ctx, e.org, "code")
	require.NoError(t, err)
	require.Equal(t, store.StatusApproved, code.Status, "codes are not revoked")

	require.NoError(t, e.kms.DeleteOAuth2Token(e.ctx, e.org, code))
	_, err = e.kms.GetOAuth2Token(e.ctx, e.org, "code")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.kms.RevokeOAuth2Tokens(e.ctx, e.org, "", "", 0)
	require.ErrorIs(t, err, store.ErrInvalid)
}

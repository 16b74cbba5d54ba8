package store

import (
	"context"
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Kinds of OAuth2Token.
const (
	OAuth2AccessToken       = "access_token"
	OAuth2RefreshToken      = "refresh_token"
	OAuth2AuthorizationCode = "authorization_code"
)

// OAuth2Grace is how long a token row outlives its expiry, so that an
// expired token is told apart from an unknown one.
const OAuth2Grace = 72 * time.Hour

// OAuth2Token is an access token, refresh token or authorization code the
// OAuthV2 policy issued (kms_<org>.oauth2_tokens). Only the SHA-256 of the
// token is stored. ExpiresAt is epoch ms, or -1 for a token that never
// expires; reads return expired tokens (until OAuth2Grace has passed) so the
// caller can say "expired".
type OAuth2Token struct {
	Token          string // the token itself (never stored; set on writes)
	Hash           string // SHA-256 of the token (set on reads)
	Kind           string
	PairHash       string // the access token's refresh token hash, or the refresh token's access token hash
	ClientID       string
	AppID          string
	AppName        string
	DeveloperID    string
	DeveloperEmail string
	APIProducts    []string
	Scope          string
	GrantType      string
	Status         string // approved or revoked
	IssuedAt       int64
	ExpiresAt      int64
	RefreshCount   int
	EndUser        string
	RedirectURI    string
	State          string
	Attributes     []Attribute
}

// Expired reports whether the token has expired at now (epoch ms).
func (t *OAuth2Token) Expired(now int64) bool { return t.ExpiresAt >= 0 && t.ExpiresAt <= now }

// OAuth2TokenHash is the key a token is stored under.
func OAuth2TokenHash(token string) string { return tokenHash(token) }

const oauth2Cols = `kind, pair_hash, client_id, app_id, app_name, developer_id, developer_email, api_products, scope, grant_type, status, issued_at, expires_at, refresh_count, end_user, redirect_uri, state, attributes`

// oauth2TTL is the row TTL in seconds for a token expiring at expiresAt
// (0: none).
func (k *KMS) oauth2TTL(expiresAt int64) int {
	if expiresAt < 0 {
		return 0
	}
	ttl := time.Duration(expiresAt-k.now())*time.Millisecond + OAuth2Grace
	if ttl < time.Second {
		ttl = time.Second
	}
	return int(ttl.Seconds())
}

// PutOAuth2Token stores a token with its index rows.
func (k *KMS) PutOAuth2Token(ctx context.Context, org string, t *OAuth2Token) error {
	if t.Token == "" && t.Hash == "" {
		return errorf(ErrInvalid, "Token is required.")
	}
	if t.Hash == "" {
		t.Hash = tokenHash(t.Token)
	}
	if t.Status == "" {
		t.Status = StatusApproved
	}
	attrs, err := encodeJSON(t.Attributes)
	if err != nil {
		return err
	}
	ttl := k.oauth2TTL(t.ExpiresAt)
	err = k.session.Query(fmt.Sprintf(`INSERT INTO %s.oauth2_tokens (token_hash, %s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`, kmsKS(org), oauth2Cols),
		t.Hash, t.Kind, nullIfEmpty(t.PairHash), t.ClientID, uuidOrNil(t.AppID), nullIfEmpty(t.AppName), uuidOrNil(t.DeveloperID), nullIfEmpty(t.DeveloperEmail),
		t.APIProducts, nullIfEmpty(t.Scope), nullIfEmpty(t.GrantType), t.Status, t.IssuedAt, t.ExpiresAt, t.RefreshCount, nullIfEmpty(t.EndUser),
		nullIfEmpty(t.RedirectURI), nullIfEmpty(t.State), attrs, ttl).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("store: put oauth token: %w", err)
	}
	if app, ok := parseUUID(t.AppID); ok {
		if err := k.session.Query(fmt.Sprintf(`INSERT INTO %s.oauth2_tokens_by_app (app_id, token_hash, kind, end_user, issued_at) VALUES (?, ?, ?, ?, ?) USING TTL ?`, kmsKS(org)),
			app, t.Hash, t.Kind, nullIfEmpty(t.EndUser), t.IssuedAt, ttl).ExecContext(ctx); err != nil {
			return fmt.Errorf("store: index oauth token: %w", err)
		}
	}
	if t.EndUser != "" {
		if err := k.session.Query(fmt.Sprintf(`INSERT INTO %s.oauth2_tokens_by_enduser (end_user, token_hash, kind, issued_at) VALUES (?, ?, ?, ?) USING TTL ?`, kmsKS(org)),
			t.EndUser, t.Hash, t.Kind, t.IssuedAt, ttl).ExecContext(ctx); err != nil {
			return fmt.Errorf("store: index oauth token: %w", err)
		}
	}
	return nil
}

// GetOAuth2Token reads a token by its value; unknown: ErrNotFound.
func (k *KMS) GetOAuth2Token(ctx context.Context, org, token string) (*OAuth2Token, error) {
	return k.GetOAuth2TokenByHash(ctx, org, tokenHash(token))
}

// GetOAuth2TokenByHash reads a token by its hash; unknown: ErrNotFound.
func (k *KMS) GetOAuth2TokenByHash(ctx context.Context, org, hash string) (*OAuth2Token, error) {
	t := OAuth2Token{Hash: hash}
	var appID, devID gocql.UUID
	var attrs string
	err := k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.oauth2_tokens WHERE token_hash = ?`, oauth2Cols, kmsKS(org)), hash).
		ScanContext(ctx, &t.Kind, &t.PairHash, &t.ClientID, &appID, &t.AppName, &devID, &t.DeveloperEmail, &t.APIProducts, &t.Scope,
			&t.GrantType, &t.Status, &t.IssuedAt, &t.ExpiresAt, &t.RefreshCount, &t.EndUser, &t.RedirectURI, &t.State, &attrs)
	if isNotFound(err) || (err == nil && t.Kind == "") {
		return nil, errorf(ErrNotFound, "Token does not exist.")
	}
	if err != nil {
		return nil, fmt.Errorf("store: read oauth token: %w", err)
	}
	if appID != (gocql.UUID{}) {
		t.AppID = appID.String()
	}
	if devID != (gocql.UUID{}) {
		t.DeveloperID = devID.String()
	}
	if t.Attributes, err = decodeJSON[Attribute](attrs); err != nil {
		return nil, err
	}
	return &t, nil
}

// UpdateOAuth2Token rewrites a token's status and attributes (keeping its
// row TTL).
func (k *KMS) UpdateOAuth2Token(ctx context.Context, org string, t *OAuth2Token) error {
	attrs, err := encodeJSON(t.Attributes)
	if err != nil {
		return err
	}
	if _, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`UPDATE %s.oauth2_tokens USING TTL ? SET status = ?, attributes = ? WHERE token_hash = ? IF EXISTS`, kmsKS(org)),
		k.oauth2TTL(t.ExpiresAt), t.Status, attrs, t.Hash)); err != nil {
		return fmt.Errorf("store: update oauth token: %w", err)
	}
	return nil
}

// DeleteOAuth2Token removes a token (and its index rows) by hash.
func (k *KMS) DeleteOAuth2Token(ctx context.Context, org string, t *OAuth2Token) error {
	if err := k.session.Query(fmt.Sprintf(`DELETE FROM %s.oauth2_tokens WHERE token_hash = ?`, kmsKS(org)), t.Hash).ExecContext(ctx); err != nil {
		return fmt.Errorf("store: delete oauth token: %w", err)
	}
	if app, ok := parseUUID(t.AppID); ok {
		_ = k.session.Query(fmt.Sprintf(`DELETE FROM %s.oauth2_tokens_by_app WHERE app_id = ? AND token_hash = ?`, kmsKS(org)), app, t.Hash).ExecContext(ctx)
	}
	if t.EndUser != "" {
		_ = k.session.Query(fmt.Sprintf(`DELETE FROM %s.oauth2_tokens_by_enduser WHERE end_user = ? AND token_hash = ?`, kmsKS(org)), t.EndUser, t.Hash).ExecContext(ctx)
	}
	return nil
}

// RevokeOAuth2Tokens revokes the access and refresh tokens of an app
// (appID non-empty; endUser then narrows) or of an app end user, issued
// before `before` (epoch ms). It returns how many tokens it revoked.
func (k *KMS) RevokeOAuth2Tokens(ctx context.Context, org, appID, endUser string, before int64) (int, error) {
	var iter *gocql.Iter
	switch {
	case appID != "":
		app, ok := parseUUID(appID)
		if !ok {
			return 0, nil
		}
		iter = k.session.Query(fmt.Sprintf(`SELECT token_hash, kind, end_user, issued_at FROM %s.oauth2_tokens_by_app WHERE app_id = ?`, kmsKS(org)), app).IterContext(ctx)
	case endUser != "":
		iter = k.session.Query(fmt.Sprintf(`SELECT token_hash, kind, end_user, issued_at FROM %s.oauth2_tokens_by_enduser WHERE end_user = ?`, kmsKS(org)), endUser).IterContext(ctx)
	default:
		return 0, errorf(ErrInvalid, "An app id or an end user id is required.")
	}
	type row struct {
		hash, kind, user string
		issued           int64
	}
	var rows []row
	var r row
	for iter.Scan(&r.hash, &r.kind, &r.user, &r.issued) {
		rows = append(rows, r)
	}
	if err := iter.Close(); err != nil {
		return 0, fmt.Errorf("store: list oauth tokens: %w", err)
	}
	n := 0
	for _, r := range rows {
		if r.kind == OAuth2AuthorizationCode || r.issued >= before || (endUser != "" && r.user != endUser) {
			continue
		}
		t, err := k.GetOAuth2TokenByHash(ctx, org, r.hash)
		if isKind(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		if t.Status == StatusRevoked {
			continue
		}
		t.Status = StatusRevoked
		if err := k.UpdateOAuth2Token(ctx, org, t); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

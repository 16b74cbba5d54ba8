package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Token types of OAuthToken.
const (
	TokenTypeAccess  = "access_token"
	TokenTypeRefresh = "refresh_token"
)

// OAuthToken is an OAuth access or refresh token the message processor
// issued (OAuthV2 GenerateAccessToken) and later verifies. Only the token's
// SHA-256 is stored, so the table never holds a usable token.
type OAuthToken struct {
	Token       string // the token itself (never stored)
	TokenType   string // TokenTypeAccess or TokenTypeRefresh
	ClientID    string // consumer key
	AppID       string
	DeveloperID string
	APIProducts []string
	Scope       string
	GrantType   string
	Status      string // approved or revoked
	IssuedAt    int64  // epoch ms
	ExpiresAt   int64  // epoch ms; the row expires then
	Attributes  []Attribute
}

const tokenCols = `token_type, client_id, app_id, developer_id, api_products, scope, grant_type, status, issued_at, expires_at, attributes`

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func uuidOrNil(s string) any {
	if u, ok := parseUUID(s); ok {
		return u
	}
	return nil
}

// PutToken stores a token until it expires.
func (k *KMS) PutToken(ctx context.Context, org string, t *OAuthToken) error {
	if t.Token == "" {
		return errorf(ErrInvalid, "Token is required.")
	}
	ttl := time.Duration(t.ExpiresAt-k.now()) * time.Millisecond
	if ttl < time.Second {
		return errorf(ErrInvalid, "Token expires at %d, which is not in the future.", t.ExpiresAt)
	}
	attrs, err := encodeJSON(t.Attributes)
	if err != nil {
		return err
	}
	status := t.Status
	if status == "" {
		status = StatusApproved
	}
	err = k.session.Query(fmt.Sprintf(`INSERT INTO %s.oauth_tokens (token_hash, %s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`, kmsKS(org), tokenCols),
		tokenHash(t.Token), t.TokenType, t.ClientID, uuidOrNil(t.AppID), uuidOrNil(t.DeveloperID), t.APIProducts, nullIfEmpty(t.Scope),
		nullIfEmpty(t.GrantType), status, t.IssuedAt, t.ExpiresAt, attrs, int(ttl.Seconds())).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("store: put token: %w", err)
	}
	return nil
}

// GetToken reads a token; expired or unknown tokens: ErrNotFound.
func (k *KMS) GetToken(ctx context.Context, org, token string) (*OAuthToken, error) {
	t := OAuthToken{Token: token}
	var appID, devID gocql.UUID
	var attrs string
	err := k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.oauth_tokens WHERE token_hash = ?`, tokenCols, kmsKS(org)), tokenHash(token)).
		ScanContext(ctx, &t.TokenType, &t.ClientID, &appID, &devID, &t.APIProducts, &t.Scope, &t.GrantType, &t.Status,
			&t.IssuedAt, &t.ExpiresAt, &attrs)
	if isNotFound(err) || (err == nil && t.ExpiresAt <= k.now()) {
		return nil, errorf(ErrNotFound, "Token does not exist or has expired.")
	}
	if err != nil {
		return nil, fmt.Errorf("store: read token: %w", err)
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

// DeleteToken removes a token (revocation).
func (k *KMS) DeleteToken(ctx context.Context, org, token string) error {
	if err := k.session.Query(fmt.Sprintf(`DELETE FROM %s.oauth_tokens WHERE token_hash = ?`, kmsKS(org)), tokenHash(token)).
		ExecContext(ctx); err != nil {
		return fmt.Errorf("store: delete token: %w", err)
	}
	return nil
}

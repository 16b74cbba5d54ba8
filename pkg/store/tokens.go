package store

import (
	"crypto/sha256"
	"encoding/hex"
)

// OAuth tokens live in kms_<org>.oauth2_tokens (oauth.go, migration 0004).
// The oauth_tokens table of migration 0002 is no longer used: it could not
// hold refresh-token links or tell an expired token from an unknown one
// (its rows vanished with the token's TTL). Migrations are append-only, so
// the empty table stays.

// tokenHash is how a token is keyed: its SHA-256, so the tables never hold
// a usable token.
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

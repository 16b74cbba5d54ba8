package cpclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Google tokens of other service accounts, minted through the control
// plane's IAM Credentials API (iamcredentials.googleapis.com v1) as a
// hybrid message processor mints a proxy's tokens with its apigee-runtime
// identity: the caller needs roles/iam.serviceAccountTokenCreator on the
// account.

// Token is a minted token and when it expires.
type Token struct {
	Value  string
	Expiry time.Time
}

func credentialsPath(serviceAccount, verb string) string {
	return "/v1/projects/-/serviceAccounts/" + url.PathEscape(serviceAccount) + ":" + verb
}

// GenerateAccessToken mints an OAuth 2.0 access token of serviceAccount
// with scopes, living lifetime (0: the API's default, one hour).
func (c *Client) GenerateAccessToken(ctx context.Context, serviceAccount string, scopes []string, lifetime time.Duration) (Token, error) {
	in := map[string]any{"scope": scopes}
	if lifetime > 0 {
		in["lifetime"] = strconv.FormatInt(int64(lifetime/time.Second), 10) + "s"
	}
	var out struct {
		AccessToken string `json:"accessToken"`
		ExpireTime  string `json:"expireTime"`
	}
	if err := c.do(ctx, http.MethodPost, credentialsPath(serviceAccount, "generateAccessToken"), nil, in, 0, &out); err != nil {
		return Token{}, err
	}
	exp, err := time.Parse(time.RFC3339Nano, out.ExpireTime)
	if err != nil || out.AccessToken == "" {
		return Token{}, fmt.Errorf("control plane generateAccessToken: malformed answer (expireTime %q)", out.ExpireTime)
	}
	return Token{Value: out.AccessToken, Expiry: exp}, nil
}

// GenerateIDToken mints an OpenID Connect ID token of serviceAccount for
// audience, with the email claims when includeEmail; its expiry is read
// from the token's exp claim.
func (c *Client) GenerateIDToken(ctx context.Context, serviceAccount, audience string, includeEmail bool) (Token, error) {
	in := map[string]any{"audience": audience, "includeEmail": includeEmail}
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, credentialsPath(serviceAccount, "generateIdToken"), nil, in, 0, &out); err != nil {
		return Token{}, err
	}
	exp, err := jwtExpiry(out.Token)
	if err != nil {
		return Token{}, fmt.Errorf("control plane generateIdToken: %w", err)
	}
	return Token{Value: out.Token, Expiry: exp}, nil
}

// jwtExpiry reads a JWT's exp claim without verifying it (the caller only
// needs to know when to ask again).
func jwtExpiry(tok string) (time.Time, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("the ID token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, fmt.Errorf("the ID token's payload: %w", err)
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.Exp == 0 {
		return time.Time{}, errors.New("the ID token has no exp claim")
	}
	return time.Unix(claims.Exp, 0), nil
}

// ErrorMessage is the message of Google's error JSON in a control plane
// error ({"error":{"message":…}}), or the error's own text.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		var body struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(e.Body), &body) == nil && body.Error.Message != "" {
			return fmt.Sprintf("HTTP %d: %s", e.Status, body.Error.Message)
		}
	}
	return err.Error()
}

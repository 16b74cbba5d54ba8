package iam

import (
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Token endpoint constants (Google's OAuth 2.0 server).
const (
	GrantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// CloudPlatformScope is the scope every Google Cloud API accepts.
	CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"
	// TokenLifetime is how long minted access tokens live (Google: 1 h).
	TokenLifetime = time.Hour
	// accessTokenPrefix marks minted tokens, as "ya29." marks Google's.
	accessTokenPrefix = "ya29."
	// maxJWTLifetime is the longest exp - iat Google accepts.
	maxJWTLifetime = time.Hour
	// clockSkew tolerates clients whose clock runs a little ahead.
	clockSkew = 5 * time.Minute
)

// OAuth error texts, as Google's token endpoint words them.
const (
	msgBadSignature = "Invalid JWT Signature."
	msgBadTimes     = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	msgNoAccount    = "Invalid grant: account not found"
	msgBadScope     = "Invalid OAuth scope or ID token audience provided."
	msgUnauthClient = "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
)

// oauthError is an RFC 6749 error response.
type oauthError struct {
	status int
	Code   string `json:"error"`
	Desc   string `json:"error_description"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Desc }

func invalidGrant(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_grant", Desc: desc}
}

// TokenResponse is what the token endpoint returns.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// ServeToken is Google's OAuth 2.0 token endpoint (POST /token) for the
// JWT-bearer grant that service-account key files use.
func (m *IAM) ServeToken(w http.ResponseWriter, r *http.Request) {
	writeOAuth := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuth(http.StatusBadRequest, &oauthError{Code: "invalid_request", Desc: "Cannot parse the request body: " + err.Error()})
		return
	}
	tok, err := m.exchange(r.PostForm.Get("grant_type"), r.PostForm.Get("assertion"))
	if err != nil {
		var oe *oauthError
		if !errors.As(err, &oe) {
			oe = &oauthError{status: http.StatusInternalServerError, Code: "internal_failure", Desc: err.Error()}
		}
		m.log.Info("token request refused", zap.String("error", oe.Code), zap.String("error_description", oe.Desc))
		writeOAuth(oe.status, oe)
		return
	}
	writeOAuth(http.StatusOK, tok)
}

// exchange verifies a JWT-bearer assertion and mints an access token.
func (m *IAM) exchange(grantType, assertion string) (TokenResponse, error) {
	switch {
	case grantType == "":
		return TokenResponse{}, &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Desc: "Missing required parameter: grant_type"}
	case grantType != GrantTypeJWTBearer:
		return TokenResponse{}, &oauthError{status: http.StatusBadRequest, Code: "unsupported_grant_type", Desc: "Invalid grant_type: " + grantType}
	case assertion == "":
		return TokenResponse{}, &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Desc: "Missing required parameter: assertion"}
	}
	jwt, err := parseJWT(assertion)
	if err != nil {
		return TokenResponse{}, invalidGrant("Invalid JWT: the assertion is not a well-formed JWT.")
	}
	c := jwt.claims
	now := m.now()
	m.mu.RLock()
	a := m.d.Accounts[c.Iss]
	var pubs []*rsa.PublicKey
	var uid string
	audOK := slices.Contains(m.audiences, c.Aud)
	if a != nil && !a.Disabled {
		uid = a.UniqueID
		pubs = keysFor(a, jwt.header.Kid)
	}
	m.mu.RUnlock()
	switch {
	case a == nil || a.Disabled:
		return TokenResponse{}, invalidGrant(msgNoAccount)
	case !verifyAny(jwt, pubs):
		return TokenResponse{}, invalidGrant(msgBadSignature)
	case !audOK:
		return TokenResponse{}, invalidGrant("Invalid JWT: Failed audience check. The right audience is " + m.opts.TokenURI)
	case !timesOK(c, now):
		return TokenResponse{}, invalidGrant(msgBadTimes)
	case c.Sub != "" && c.Sub != c.Iss:
		// Domain-wide delegation is not emulated.
		return TokenResponse{}, &oauthError{status: http.StatusUnauthorized, Code: "unauthorized_client", Desc: msgUnauthClient}
	case strings.TrimSpace(c.Scope) == "":
		return TokenResponse{}, &oauthError{status: http.StatusBadRequest, Code: "invalid_scope", Desc: msgBadScope}
	}
	exp := now.Add(TokenLifetime)
	tok, err := m.mint(accessClaims{Sub: c.Iss, UID: uid, Scope: c.Scope, Iat: now.Unix(), Exp: exp.Unix()})
	if err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{AccessToken: tok, ExpiresIn: int(TokenLifetime/time.Second) - 1, TokenType: "Bearer"}, nil
}

// keysFor returns the account's enabled public keys: the one named by kid,
// or all of them when the assertion names none.
func keysFor(a *account, kid string) []*rsa.PublicKey {
	var out []*rsa.PublicKey
	for _, k := range a.Keys {
		if k.Disabled || (kid != "" && k.ID != kid) {
			continue
		}
		if pub, err := k.publicKey(); err == nil {
			out = append(out, pub)
		}
	}
	return out
}

func verifyAny(jwt *parsedJWT, pubs []*rsa.PublicKey) bool {
	for _, p := range pubs {
		if jwt.verify(p) {
			return true
		}
	}
	return false
}

// timesOK applies Google's rule: a short-lived (≤ 60 min) JWT that is
// valid now.
func timesOK(c jwtClaims, now time.Time) bool {
	if c.Iat == 0 || c.Exp == 0 || c.Exp <= c.Iat {
		return false
	}
	iat, exp := time.Unix(c.Iat, 0), time.Unix(c.Exp, 0)
	return exp.Sub(iat) <= maxJWTLifetime && iat.Before(now.Add(clockSkew)) && exp.After(now)
}

// accessClaims are what a minted access token carries.
type accessClaims struct {
	Sub   string `json:"sub"` // service account email
	UID   string `json:"uid"` // its unique id: a re-created account does not inherit tokens
	Scope string `json:"scope"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

// mint signs claims with the persisted secret: tokens need no server-side
// table and survive restarts, as Google's do.
func (m *IAM) mint(c accessClaims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	m.mu.RLock()
	mac := hmac.New(sha256.New, m.d.TokenSecret)
	m.mu.RUnlock()
	mac.Write([]byte(p))
	return accessTokenPrefix + p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Audiences of self-signed JWTs: the API a JWT is minted for, as Google's
// libraries name it ("https://<service>/"). A self-signed JWT is good for
// that API only.
const (
	ApigeeAudience          = "https://apigee.googleapis.com/"
	ApigeeConnectAudience   = "https://apigeeconnect.googleapis.com/"
	IAMAudience             = "https://iam.googleapis.com/"
	ResourceManagerAudience = "https://cloudresourcemanager.googleapis.com/"
	LoggingAudience         = "https://logging.googleapis.com/"
)

// Authenticate identifies the caller of an Apigee API request from its
// "Authorization: Bearer …" header (self-signed JWTs must name
// ApigeeAudience).
func (m *IAM) Authenticate(r *http.Request) (Principal, error) {
	return m.AuthenticateFor(r, ApigeeAudience)
}

// AuthenticateFor is Authenticate for a request to the API whose
// self-signed JWT audience is audience.
func (m *IAM) AuthenticateFor(r *http.Request, audience string) (Principal, error) {
	tok, ok := BearerToken(r.Header.Get("Authorization"))
	if !ok {
		return Principal{}, unauthenticated(MsgMissingCredential)
	}
	return m.AuthenticateTokenFor(tok, audience)
}

// BearerToken extracts the token of a "Bearer …" Authorization value.
func BearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// AuthenticateToken maps a bearer token to a principal: the admin token,
// a static token, an access token minted here, or a self-signed
// service-account JWT for the Apigee API (what cloud.google.com/go/auth
// sends when told to skip the token exchange).
func (m *IAM) AuthenticateToken(tok string) (Principal, error) {
	return m.AuthenticateTokenFor(tok, ApigeeAudience)
}

// AuthenticateTokenFor is AuthenticateToken for the API whose self-signed
// JWT audience is audience.
func (m *IAM) AuthenticateTokenFor(tok, audience string) (Principal, error) {
	if tok == "" {
		return Principal{}, unauthenticated(MsgMissingCredential)
	}
	if m.opts.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(m.opts.AdminToken)) == 1 {
		return AdminPrincipal, nil
	}
	for t, who := range m.opts.StaticTokens {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(t)) == 1 {
			if strings.Contains(who, ":") {
				return Principal{Member: who, Name: memberEmail(who)}, nil
			}
			return Principal{Admin: true, Name: who}, nil
		}
	}
	if strings.HasPrefix(tok, accessTokenPrefix) {
		return m.verifyAccessToken(strings.TrimPrefix(tok, accessTokenPrefix))
	}
	if looksLikeJWT(tok) {
		return m.verifySelfSignedJWT(tok, audience)
	}
	return Principal{}, unauthenticated(MsgInvalidCredential)
}

func (m *IAM) verifyAccessToken(rest string) (Principal, error) {
	c, a, err := m.checkAccessToken(rest)
	if err != nil {
		return Principal{}, err
	}
	if !slices.Contains(strings.Fields(c.Scope), CloudPlatformScope) {
		return Principal{}, insufficientScope()
	}
	return Principal{Member: serviceAccountMember(a.Email), Name: a.Email}, nil
}

// checkAccessToken verifies a minted access token (without its prefix):
// signature, expiry, and an account that is still the one it was minted
// for. It returns the claims and a copy of the account.
func (m *IAM) checkAccessToken(rest string) (accessClaims, account, error) {
	p, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return accessClaims{}, account{}, unauthenticated(MsgInvalidCredential)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return accessClaims{}, account{}, unauthenticated(MsgInvalidCredential)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	mac := hmac.New(sha256.New, m.d.TokenSecret)
	mac.Write([]byte(p))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return accessClaims{}, account{}, unauthenticated(MsgInvalidCredential)
	}
	var c accessClaims
	if err := decodeSegment(p, &c); err != nil {
		return accessClaims{}, account{}, unauthenticated(MsgInvalidCredential)
	}
	if !time.Unix(c.Exp, 0).After(m.now()) {
		return accessClaims{}, account{}, unauthenticated(MsgInvalidCredential)
	}
	a := m.d.Accounts[c.Sub]
	if a == nil || a.Disabled || a.UniqueID != c.UID {
		return accessClaims{}, account{}, unauthenticated(MsgInvalidCredential)
	}
	return c, *a, nil
}

// verifySelfSignedJWT accepts Google's "self-signed JWT" access: a JWT the
// service account signs itself with iss = sub = its email and either the
// audience of the API called (audience, e.g. ApigeeAudience) or scopes
// and no audience. Any other audience is refused — in particular the
// token endpoint's, so a JWT-bearer assertion is no bearer token.
func (m *IAM) verifySelfSignedJWT(tok, audience string) (Principal, error) {
	jwt, err := parseJWT(tok)
	if err != nil {
		return Principal{}, unauthenticated(MsgInvalidCredential)
	}
	c := jwt.claims
	m.mu.RLock()
	a := m.d.Accounts[c.Iss]
	var pubs []*rsa.PublicKey
	if a != nil && !a.Disabled && jwt.header.Kid != "" {
		pubs = keysFor(a, jwt.header.Kid)
	}
	m.mu.RUnlock()
	if len(pubs) == 0 || (c.Sub != "" && c.Sub != c.Iss) || !verifyAny(jwt, pubs) || !timesOK(c, m.now()) {
		return Principal{}, unauthenticated(MsgInvalidCredential)
	}
	if c.Scope != "" && !slices.Contains(strings.Fields(c.Scope), CloudPlatformScope) {
		return Principal{}, insufficientScope()
	}
	switch {
	case c.Aud != "" && c.Aud != audience:
		// Another API's JWT, or a JWT-bearer assertion (aud = token URI).
		return Principal{}, unauthenticated(MsgInvalidCredential)
	case c.Aud == "" && c.Scope == "":
		return Principal{}, unauthenticated(MsgInvalidCredential)
	}
	return Principal{Member: serviceAccountMember(a.Email), Name: a.Email}, nil
}

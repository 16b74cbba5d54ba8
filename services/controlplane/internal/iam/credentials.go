package iam

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// IAM Credentials (iamcredentials.googleapis.com v1) — the API a hybrid
// message processor calls to mint the tokens of a proxy's service account
// for <Authentication> — and the two Google OAuth 2.0 endpoints that let a
// backend check what was minted: tokeninfo and the ID token certificates.

// IAM Credentials constants.
const (
	// IAMCredentialsAudience is the self-signed JWT audience of the IAM
	// Credentials API.
	IAMCredentialsAudience = "https://iamcredentials.googleapis.com/"
	iamCredentialsService  = "iamcredentials.googleapis.com"
	// IDTokenIssuer is the iss of ID tokens, Google's: backends check it.
	IDTokenIssuer = "https://accounts.google.com"
	// MaxAccessTokenLifetime is generateAccessToken's longest lifetime
	// (Google's default; the organization policy that allows 12 hours is
	// not emulated) and its default.
	MaxAccessTokenLifetime = time.Hour
	// IDTokenLifetime is how long a generated ID token lives (Google: 1 h).
	IDTokenLifetime = time.Hour
	// CertsPath publishes the ID token signing keys as a JWK set, as
	// https://www.googleapis.com/oauth2/v3/certs does.
	CertsPath = "/oauth2/v3/certs"
	// TokenInfoPath validates an access or ID token, as
	// https://www.googleapis.com/oauth2/v3/tokeninfo does.
	TokenInfoPath = "/oauth2/v3/tokeninfo"
	// Scope values that make tokeninfo show the account's email.
	emailScope     = "https://www.googleapis.com/auth/userinfo.email"
	emailScopeName = "email"
)

// credentialsDenied is IAM Credentials' refusal, which unlike other
// Google APIs does not name the resource: "Permission
// 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not
// exist)."
func credentialsDenied(permission string) error {
	e := apierr.PermissionDenied("Permission '%s' denied on resource (or it may not exist).", permission)
	e.Details = []any{apierr.ErrorInfo{Type: apierr.TypeErrorInfo, Reason: "IAM_PERMISSION_DENIED", Domain: "iam.googleapis.com",
		Metadata: map[string]string{"permission": permission}}}
	return e
}

// credentialsCall is one generate* request after its body is read.
type credentialsCall struct {
	method     string // GenerateAccessToken, GenerateIdToken
	permission string // on the target account
	project    string // as the path names it ("-")
	ref        string // target account, email or unique id
	delegates  []string
}

// authorizeChain checks the delegation chain caller → delegates… →
// target: each link needs implicitDelegation on the next, the last one
// the call's permission on the target (all granted by
// roles/iam.serviceAccountTokenCreator). Each decision is audited. It
// returns the target account's view.
func (m *IAM) authorizeChain(ctx context.Context, p Principal, c credentialsCall) (ServiceAccount, error) {
	actor := p
	links := append(slices.Clone(c.delegates), "projects/"+c.project+"/serviceAccounts/"+c.ref)
	for i, link := range links {
		perm := PermSAImplicitDelegation
		if i == len(links)-1 {
			perm = c.permission
		}
		project, ref, ok := parseAccountName(link)
		if !ok || (i < len(links)-1 && project != "-") {
			return ServiceAccount{}, apierr.InvalidArgument("Invalid form of delegate %q: it must be projects/-/serviceAccounts/{ACCOUNT_EMAIL_OR_UNIQUEID}.", link)
		}
		sa, lookupErr := m.GetServiceAccount(project, ref)
		res := "projects/" + project + "/serviceAccounts/" + ref
		if lookupErr == nil {
			res = "projects/" + sa.ProjectID + "/serviceAccounts/" + sa.Email
		}
		err := m.Authorize(ctx, actor, perm, res)
		auditRes := "projects/-/serviceAccounts/" + ref
		if lookupErr == nil {
			auditRes = "projects/-/serviceAccounts/" + sa.UniqueID
		}
		m.Audit(ctx, Entry{ServiceName: iamCredentialsService, MethodName: c.method, Category: DataRead,
			Principal: actor.Name, Resource: auditRes, Permission: perm, Granted: err == nil, Project: sa.ProjectID})
		if err != nil {
			return ServiceAccount{}, credentialsDenied(perm)
		}
		if lookupErr != nil {
			// Only a caller allowed to see the account learns it is missing.
			return ServiceAccount{}, apierr.NotFound("Not found; Gaia id not found for email %s", ref)
		}
		if sa.Disabled {
			return ServiceAccount{}, apierr.FailedPrecondition("Precondition check failed.")
		}
		actor = Principal{Member: serviceAccountMember(sa.Email), Name: sa.Email}
	}
	return m.GetServiceAccount("-", c.ref)
}

// parseAccountName splits "projects/{p}/serviceAccounts/{ref}".
func parseAccountName(name string) (project, ref string, ok bool) {
	segs := strings.Split(name, "/")
	if len(segs) != 4 || segs[0] != "projects" || segs[2] != "serviceAccounts" || segs[1] == "" || segs[3] == "" {
		return "", "", false
	}
	return segs[1], segs[3], true
}

// parseDuration reads a google.protobuf.Duration in its JSON form ("3600s",
// "1.5s").
func parseDuration(s string) (time.Duration, error) {
	num, ok := strings.CutSuffix(s, "s")
	if !ok {
		return 0, errors.New("duration must end with 's'")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// generateAccessToken serves POST /v1/projects/-/serviceAccounts/{sa}:generateAccessToken.
func (m *IAM) generateAccessToken(w http.ResponseWriter, r *http.Request, p Principal, project, ref string) error {
	var in struct {
		Delegates []string `json:"delegates"`
		Scope     []string `json:"scope"`
		Lifetime  string   `json:"lifetime"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	lifetime := MaxAccessTokenLifetime
	if in.Lifetime != "" {
		d, err := parseDuration(in.Lifetime)
		if err != nil {
			return apierr.InvalidArgument("Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), Field 'lifetime', %v", err)
		}
		if d <= 0 || d > MaxAccessTokenLifetime {
			return apierr.InvalidArgument("The lifetime requested (%s) is outside the allowed range: a token lives at most %ds (extending it to 12 hours with an organization policy is not emulated).", in.Lifetime, int(MaxAccessTokenLifetime/time.Second))
		}
		lifetime = d
	}
	var scopes []string
	for _, s := range in.Scope {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 0 {
		return apierr.InvalidArgument("Scope required.")
	}
	sa, err := m.authorizeChain(r.Context(), p, credentialsCall{method: "GenerateAccessToken", permission: PermSAGetAccessToken,
		project: project, ref: ref, delegates: in.Delegates})
	if err != nil {
		return err
	}
	now := m.now()
	exp := now.Add(lifetime)
	tok, err := m.mint(accessClaims{Sub: sa.Email, UID: sa.UniqueID, Scope: strings.Join(scopes, " "), Iat: now.Unix(), Exp: exp.Unix()})
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]string{"accessToken": tok, "expireTime": exp.UTC().Format(time.RFC3339)})
}

// idClaims are an ID token's claims, as Google mints them for a service
// account.
type idClaims struct {
	Iss           string `json:"iss"`
	Aud           string `json:"aud"`
	Azp           string `json:"azp"`
	Sub           string `json:"sub"`
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	Iat           int64  `json:"iat"`
	Exp           int64  `json:"exp"`
}

// generateIDToken serves POST /v1/projects/-/serviceAccounts/{sa}:generateIdToken.
func (m *IAM) generateIDToken(w http.ResponseWriter, r *http.Request, p Principal, project, ref string) error {
	var in struct {
		Delegates                  []string `json:"delegates"`
		Audience                   string   `json:"audience"`
		IncludeEmail               bool     `json:"includeEmail"`
		OrganizationNumberIncluded bool     `json:"organizationNumberIncluded"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Audience) == "" {
		return apierr.InvalidArgument("Invalid value for audience: audience is required.")
	}
	sa, err := m.authorizeChain(r.Context(), p, credentialsCall{method: "GenerateIdToken", permission: PermSAGetOpenIDToken,
		project: project, ref: ref, delegates: in.Delegates})
	if err != nil {
		return err
	}
	now := m.now()
	c := idClaims{Iss: IDTokenIssuer, Aud: in.Audience, Azp: sa.UniqueID, Sub: sa.UniqueID,
		Iat: now.Unix(), Exp: now.Add(IDTokenLifetime).Unix()}
	if in.IncludeEmail {
		c.Email, c.EmailVerified = sa.Email, true
	}
	tok, err := m.signIDToken(c)
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]string{"token": tok})
}

// idSigner returns the ID token signing key, making (and persisting) it
// on first use: control planes that never mint ID tokens never pay for
// the RSA key generation.
func (m *IAM) idSigner() (*rsa.PrivateKey, string, error) {
	m.mu.RLock()
	key, kid := m.idKey, m.d.IDTokenKeyID
	stored := m.d.IDTokenKey
	m.mu.RUnlock()
	if key != nil {
		return key, kid, nil
	}
	if stored == "" {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, "", fmt.Errorf("iam: generate ID token key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, "", fmt.Errorf("iam: encode ID token key: %w", err)
		}
		if err := m.update(func(d *data) error {
			if d.IDTokenKey == "" { // another request may have made one
				d.IDTokenKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
				d.IDTokenKeyID = randomHex(20)
			}
			return nil
		}); err != nil {
			return nil, "", err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.idKey == nil {
		block, _ := pem.Decode([]byte(m.d.IDTokenKey))
		if block == nil {
			return nil, "", errors.New("iam: the stored ID token key is not PEM")
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, "", fmt.Errorf("iam: the stored ID token key: %w", err)
		}
		priv, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, "", errors.New("iam: the stored ID token key is not RSA")
		}
		m.idKey = priv
	}
	return m.idKey, m.d.IDTokenKeyID, nil
}

// signIDToken signs claims as an RS256 JWT with the ID token key.
func (m *IAM) signIDToken(c idClaims) (string, error) {
	key, kid, err := m.idSigner()
	if err != nil {
		return "", err
	}
	header, err := json.Marshal(jwtHeader{Alg: "RS256", Typ: "JWT", Kid: kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("iam: sign ID token: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// serveCertsV3 publishes the ID token signing key as a JWK set.
func (m *IAM) serveCertsV3(w http.ResponseWriter, _ *http.Request) {
	key, kid, err := m.idSigner()
	if err != nil {
		m.log.Error("ID token key", zap.Error(err))
		apierr.Write(w, apierr.Internal("Internal error encountered."))
		return
	}
	pub := key.PublicKey
	jwk := map[string]string{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_ = writeJSON(w, map[string]any{"keys": []any{jwk}})
}

// serveTokenInfo answers Google's tokeninfo for access_token or id_token
// (query or form): the token's claims, every value a string, or 400
// {"error":"invalid_token","error_description":"Invalid Value"}.
func (m *IAM) serveTokenInfo(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	var info map[string]string
	var ok bool
	if tok := r.Form.Get("id_token"); tok != "" {
		info, ok = m.idTokenInfo(tok)
	} else if tok := r.Form.Get("access_token"); tok != "" {
		info, ok = m.accessTokenInfo(tok)
	}
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	if !ok {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token", "error_description": "Invalid Value"})
		return
	}
	_ = writeJSON(w, info)
}

func (m *IAM) accessTokenInfo(tok string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(tok, accessTokenPrefix)
	if !ok {
		return nil, false
	}
	c, a, err := m.checkAccessToken(rest)
	if err != nil {
		return nil, false
	}
	now := m.now()
	info := map[string]string{
		"azp": a.UniqueID, "aud": a.UniqueID, "scope": c.Scope,
		"exp": strconv.FormatInt(c.Exp, 10), "expires_in": strconv.FormatInt(c.Exp-now.Unix(), 10),
		"access_type": "online",
	}
	// Like Google's, the email shows only when the token's scopes let the
	// bearer read it.
	if scopes := strings.Fields(c.Scope); slices.Contains(scopes, emailScope) || slices.Contains(scopes, emailScopeName) {
		info["email"], info["email_verified"] = a.Email, "true"
	}
	if slices.Contains(strings.Fields(c.Scope), "openid") {
		info["sub"] = a.UniqueID
	}
	return info, true
}

func (m *IAM) idTokenInfo(tok string) (map[string]string, bool) {
	jwt, err := parseJWT(tok)
	if err != nil {
		return nil, false
	}
	key, kid, err := m.idSigner()
	if err != nil || jwt.header.Kid != kid || !jwt.verify(&key.PublicKey) {
		return nil, false
	}
	var c idClaims
	parts := strings.Split(tok, ".")
	if decodeSegment(parts[1], &c) != nil || c.Iss != IDTokenIssuer || !time.Unix(c.Exp, 0).After(m.now()) {
		return nil, false
	}
	info := map[string]string{
		"iss": c.Iss, "aud": c.Aud, "azp": c.Azp, "sub": c.Sub,
		"iat": strconv.FormatInt(c.Iat, 10), "exp": strconv.FormatInt(c.Exp, 10),
		"alg": jwt.header.Alg, "kid": jwt.header.Kid, "typ": jwt.header.Typ,
	}
	if c.Email != "" {
		info["email"], info["email_verified"] = c.Email, strconv.FormatBool(c.EmailVerified)
	}
	return info, true
}

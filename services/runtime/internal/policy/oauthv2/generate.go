package oauthv2

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

// Token lengths as Apigee issues them.
const (
	accessTokenLen  = 28
	refreshTokenLen = 32
	authCodeLen     = 8
)

// clientCredentials returns the client id and secret: the configured
// variables, else the Basic Authorization header, else the client_id /
// client_secret parameters.
func (p *policy) clientCredentials(mc *flow.MessageContext) (id, secret string) {
	if p.clientID != "" {
		id = param(mc, p.clientID, "")
		switch {
		case p.secret != "":
			secret = param(mc, p.secret, "")
		default:
			if _, s, ok := basicAuth(mc); ok {
				secret = s
			} else {
				secret = param(mc, "", "client_secret")
			}
		}
		return id, secret
	}
	if id, secret, ok := basicAuth(mc); ok {
		return id, secret
	}
	id = param(mc, "", "client_id")
	if p.secret != "" {
		secret = param(mc, p.secret, "")
	} else {
		secret = param(mc, "", "client_secret")
	}
	return id, secret
}

// client resolves and checks a client: known key, matching secret (when
// checkSecret), approved and unexpired credential, approved app, active
// developer or, for an app group's app, active app group. A nil KeyInfo
// with a nil error means "invalid client".
func (p *policy) client(ctx context.Context, id, secret string, checkSecret bool) (*store.KeyInfo, error) {
	info, err := p.data.LookupKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := info.Credential
	switch {
	case checkSecret && c.ConsumerSecret != secret,
		c.Status != store.StatusApproved,
		c.ExpiresAt >= 0 && c.ExpiresAt <= p.now(),
		info.App.Status != store.StatusApproved,
		!ownerActive(info):
		return nil, nil
	}
	return info, nil
}

// ownerActive reports whether the app's owner is active: its developer,
// or its app group (an app group's app has no developer).
func ownerActive(info *store.KeyInfo) bool {
	if info.AppGroup != nil {
		return info.AppGroup.Status == store.StatusActive
	}
	return info.Developer.Status == "" || info.Developer.Status == store.StatusActive
}

// approvedProducts are the credential's products that exist and are
// approved on the key, in the key's order.
func approvedProducts(info *store.KeyInfo) []*store.APIProduct {
	byName := map[string]*store.APIProduct{}
	for _, p := range info.Products {
		byName[p.Name] = p
	}
	var out []*store.APIProduct
	for _, ref := range info.Credential.APIProducts {
		if p := byName[ref.APIProduct]; p != nil && ref.Status == store.StatusApproved {
			out = append(out, p)
		}
	}
	return out
}

// allowedScopes are the scopes a client may ask for: the credential's
// scopes, or the union of its products' scopes.
func allowedScopes(info *store.KeyInfo) []string {
	if len(info.Credential.Scopes) > 0 {
		return info.Credential.Scopes
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range approvedProducts(info) {
		for _, s := range p.Scopes {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// narrowScope checks a requested scope (space separated) against the
// allowed ones; an empty request gets them all.
func narrowScope(requested string, allowed []string) (string, bool) {
	req := strings.Fields(requested)
	if len(req) == 0 {
		return strings.Join(allowed, " "), true
	}
	ok := map[string]bool{}
	for _, s := range allowed {
		ok[s] = true
	}
	for _, s := range req {
		if !ok[s] {
			return "", false
		}
	}
	return strings.Join(req, " "), true
}

func (p *policy) requestedGrant(mc *flow.MessageContext) string {
	return param(mc, p.grantType, "grant_type")
}

func (p *policy) supports(gt string) bool {
	if len(p.grantTypes) == 0 {
		return gt != grantImplicit
	}
	for _, g := range p.grantTypes {
		if g == gt {
			return true
		}
	}
	return false
}

func (p *policy) generateAccessToken(ctx context.Context, mc *flow.MessageContext) error {
	gt := p.requestedGrant(mc)
	if gt == "" {
		return p.fail(mc, errInvalidRequest("Required param : grant_type"))
	}
	if gt == grantRefreshToken && p.supports(gt) {
		return p.refreshAccessToken(ctx, mc)
	}
	if !knownGrants[gt] || gt == grantImplicit || !p.supports(gt) {
		return p.fail(mc, errUnsupportedGrant(gt))
	}
	id, secret := p.clientCredentials(mc)
	if id == "" {
		return p.fail(mc, errInvalidClient("Client identifier is required"))
	}
	info, err := p.client(ctx, id, secret, !p.extAuth)
	if err != nil {
		return err
	}
	if info == nil {
		return p.fail(mc, errInvalidClient("ClientId is Invalid"))
	}
	allowed := allowedScopes(info)
	var products []string
	for _, ap := range approvedProducts(info) {
		products = append(products, ap.Name)
	}
	g := grant{info: info, grantType: gt, products: products, endUser: param(mc, p.appEndUser, "")}
	if p.appEndUser == "" {
		g.endUser = ""
	}
	switch gt {
	case grantPassword:
		if param(mc, p.userName, "username") == "" {
			return p.fail(mc, errInvalidRequest("Required param : username"))
		}
		if param(mc, p.password, "password") == "" {
			return p.fail(mc, errInvalidRequest("Required param : password"))
		}
		g.refresh = true
	case grantAuthorizationCode:
		code := param(mc, p.code, "code")
		if code == "" {
			return p.fail(mc, errInvalidRequest("Required param : code"))
		}
		ac, err := p.data.KMS().GetOAuth2Token(ctx, p.data.Org(), code)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (ac.Kind != store.OAuth2AuthorizationCode || ac.ClientID != id || ac.Expired(p.now()))) {
			return p.fail(mc, errInvalidRequest("Invalid Authorization Code"))
		}
		if err != nil {
			return err
		}
		if ac.RedirectURI != "" {
			ru := param(mc, p.redirectURI, "redirect_uri")
			if ru == "" {
				return p.fail(mc, errInvalidRequest("Required param : redirect_uri"))
			}
			if ru != ac.RedirectURI {
				return p.fail(mc, errInvalidRequest("Invalid redirect_uri : "+ru))
			}
		}
		if err := p.data.KMS().DeleteOAuth2Token(ctx, p.data.Org(), ac); err != nil {
			return err
		}
		allowed = strings.Fields(ac.Scope)
		if ac.EndUser != "" && g.endUser == "" {
			g.endUser = ac.EndUser
		}
		g.refresh = true
	}
	scope, ok := narrowScope(param(mc, p.scope, "scope"), allowed)
	if !ok {
		return p.fail(mc, errInvalidScope())
	}
	g.scope = scope
	if p.extToken != "" {
		g.external = param(mc, p.extToken, "")
	}
	return p.issue(ctx, mc, g)
}

// grant is what a new access token is issued for.
type grant struct {
	info         *store.KeyInfo
	grantType    string
	products     []string
	scope        string
	refresh      bool
	refreshCount int
	endUser      string
	external     string // an externally issued access token to store
	attributes   []store.Attribute
	// reuse is a refresh token kept across a refresh (ReuseRefreshToken).
	reuse *store.OAuth2Token
}

func (p *policy) evalAttributes(mc *flow.MessageContext, base []store.Attribute) []store.Attribute {
	attrs := append([]store.Attribute(nil), base...)
	for _, a := range p.attributes {
		attrs = setAttr(attrs, a.name, a.val.get(mc))
	}
	if len(attrs) == 0 {
		return nil
	}
	return attrs
}

// issue stores a new access token (and refresh token) and answers.
func (p *policy) issue(ctx context.Context, mc *flow.MessageContext, g grant) error {
	now := p.now()
	kms, org := p.data.KMS(), p.data.Org()
	info := g.info
	at := &store.OAuth2Token{
		Token: g.external, Kind: store.OAuth2AccessToken, ClientID: info.Credential.ConsumerKey, AppID: info.App.AppID,
		AppName: info.App.Name, DeveloperID: info.Developer.DeveloperID, DeveloperEmail: info.Developer.Email, APIProducts: g.products,
		Scope: g.scope, GrantType: g.grantType, IssuedAt: now, ExpiresAt: expiresAt(now, millis(mc, p.expiresIn, defaultExpiresInMs)),
		RefreshCount: g.refreshCount, EndUser: g.endUser, Attributes: p.evalAttributes(mc, g.attributes),
	}
	if at.Token == "" {
		at.Token = randomToken(accessTokenLen)
	}
	at.Hash = store.OAuth2TokenHash(at.Token)
	var rt *store.OAuth2Token
	if g.refresh {
		if g.reuse != nil {
			rt = g.reuse
		} else {
			rt = &store.OAuth2Token{Token: randomToken(refreshTokenLen), IssuedAt: now, ExpiresAt: expiresAt(now, millis(mc, p.refreshExp, -1))}
			rt.Hash = store.OAuth2TokenHash(rt.Token)
		}
		// The refresh row mirrors the grant so a refresh can rebuild it.
		rt.Kind, rt.ClientID, rt.AppID, rt.AppName = store.OAuth2RefreshToken, at.ClientID, at.AppID, at.AppName
		rt.DeveloperID, rt.DeveloperEmail, rt.APIProducts, rt.Scope = at.DeveloperID, at.DeveloperEmail, at.APIProducts, at.Scope
		rt.GrantType, rt.RefreshCount, rt.EndUser, rt.Attributes = at.GrantType, at.RefreshCount, at.EndUser, at.Attributes
		rt.Status = store.StatusApproved
		rt.PairHash = at.Hash
		at.PairHash = rt.Hash
		if err := kms.PutOAuth2Token(ctx, org, rt); err != nil {
			return err
		}
	}
	if err := kms.PutOAuth2Token(ctx, org, at); err != nil {
		return err
	}
	fields := tokenFields(p.org, at, rt, now)
	prefix := "oauthv2accesstoken." + p.name + "."
	for _, f := range fields {
		if s, ok := f.v.(string); ok {
			mc.SetVar(prefix+f.k, s)
		}
	}
	mc.SetVar(prefix+"api_product_list", productList(at.APIProducts))
	for _, a := range at.Attributes {
		mc.SetVar(prefix+a.Name, a.Value)
		mc.SetVar(prefix+"accesstoken."+a.Name, a.Value)
	}
	if !p.genResponse {
		return nil
	}
	for _, a := range p.attributes {
		if a.display {
			v, _ := attrValue(at.Attributes, a.name)
			fields = append(fields, kv{a.name, v})
		}
	}
	resp := message.NewResponse()
	resp.Header.Set("Content-Type", "application/json")
	resp.SetContent(orderedJSON(fields))
	mc.SetMessage("response", resp)
	return nil
}

type kv struct {
	k string
	v any
}

// productList formats product names as Apigee's api_product_list does.
func productList(names []string) string { return "[" + strings.Join(names, ", ") + "]" }

// tokenFields are the GenerateAccessToken response fields in Apigee's order.
func tokenFields(org string, at, rt *store.OAuth2Token, now int64) []kv {
	products := at.APIProducts
	if products == nil {
		products = []string{}
	}
	fields := []kv{{"refresh_token_expires_in", "0"}}
	if rt != nil {
		fields[0].v = itoa(secondsLeft(rt.ExpiresAt, now))
		fields = append(fields, kv{"refresh_token_status", rt.Status})
	}
	fields = append(fields,
		kv{"api_product_list", productList(at.APIProducts)},
		kv{"api_product_list_json", products},
		kv{"organization_name", org},
		kv{"developer.email", at.DeveloperEmail},
		kv{"token_type", "BearerToken"},
		kv{"issued_at", itoa(at.IssuedAt)},
		kv{"client_id", at.ClientID},
		kv{"access_token", at.Token},
	)
	if rt != nil {
		fields = append(fields, kv{"refresh_token", rt.Token}, kv{"refresh_token_issued_at", itoa(rt.IssuedAt)})
	}
	fields = append(fields,
		kv{"application_name", at.AppID},
		kv{"scope", at.Scope},
		kv{"expires_in", itoa(secondsLeft(at.ExpiresAt, now))},
		kv{"refresh_count", itoa(int64(at.RefreshCount))},
		kv{"status", at.Status},
	)
	if at.Status == "" {
		fields[len(fields)-1].v = store.StatusApproved
	}
	return fields
}

// orderedJSON writes an object keeping the field order.
func orderedJSON(fields []kv) []byte {
	var b strings.Builder
	b.WriteString("{\n")
	for i, f := range fields {
		k, _ := json.Marshal(f.k)
		v, _ := json.Marshal(f.v)
		b.WriteString("  ")
		b.Write(k)
		b.WriteString(" : ")
		b.Write(v)
		if i < len(fields)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}")
	return []byte(b.String())
}

func (p *policy) refreshAccessToken(ctx context.Context, mc *flow.MessageContext) error {
	gt := p.requestedGrant(mc)
	if gt == "" {
		return p.fail(mc, errInvalidRequest("Required param : grant_type"))
	}
	if gt != grantRefreshToken {
		return p.fail(mc, errUnsupportedGrant(gt))
	}
	rtoken := param(mc, p.refreshTok, "refresh_token")
	if rtoken == "" {
		return p.fail(mc, errInvalidRequest("Required param : refresh_token"))
	}
	id, secret := p.clientCredentials(mc)
	if id == "" {
		return p.fail(mc, errInvalidClient("Client identifier is required"))
	}
	info, err := p.client(ctx, id, secret, !p.extAuth)
	if err != nil {
		return err
	}
	if info == nil {
		return p.fail(mc, errInvalidClient("ClientId is Invalid"))
	}
	kms, org := p.data.KMS(), p.data.Org()
	rt, err := kms.GetOAuth2Token(ctx, org, rtoken)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (rt.Kind != store.OAuth2RefreshToken || rt.ClientID != id || rt.Status != store.StatusApproved)) {
		return p.fail(mc, errInvalidRequest("Invalid Refresh Token"))
	}
	if err != nil {
		return err
	}
	if rt.Expired(p.now()) {
		return p.fail(mc, errInvalidRequest("Refresh Token expired"))
	}
	scope, ok := narrowScope(param(mc, p.scope, "scope"), strings.Fields(rt.Scope))
	if !ok {
		return p.fail(mc, errInvalidScope())
	}
	// The access token the refresh token was issued with is replaced.
	if rt.PairHash != "" {
		if old, err := kms.GetOAuth2TokenByHash(ctx, org, rt.PairHash); err == nil {
			if err := kms.DeleteOAuth2Token(ctx, org, old); err != nil {
				return err
			}
		}
	}
	g := grant{info: info, grantType: rt.GrantType, products: rt.APIProducts, scope: scope, refresh: true,
		refreshCount: rt.RefreshCount + 1, endUser: rt.EndUser, attributes: rt.Attributes}
	if p.reuseRefresh {
		rt.Token = rtoken
		g.reuse = rt
	} else if err := kms.DeleteOAuth2Token(ctx, org, rt); err != nil {
		return err
	}
	return p.issue(ctx, mc, g)
}

func (p *policy) generateAuthorizationCode(ctx context.Context, mc *flow.MessageContext) error {
	id := param(mc, p.clientID, "client_id")
	if id == "" {
		return p.fail(mc, errInvalidRequest("The request is missing a required parameter : client_id"))
	}
	rtype := param(mc, p.respType, "response_type")
	if rtype == "" {
		return p.fail(mc, errInvalidRequest("The request is missing a required parameter : response_type"))
	}
	if rtype != "code" {
		return p.fail(mc, errInvalidRequest("Response type must be code"))
	}
	info, err := p.client(ctx, id, "", false)
	if err != nil {
		return err
	}
	if info == nil {
		e := errInvalidRequest("Invalid client id : " + id + ". ClientId is Invalid")
		e.status, e.faultCode, e.faultMsg = http.StatusUnauthorized, "oauth.v2.InvalidClientIdentifier", "Invalid client identifier {0}"
		return p.fail(mc, e)
	}
	redirect := param(mc, p.redirectURI, "redirect_uri")
	callback := info.App.CallbackURL
	switch {
	case redirect == "" && callback == "":
		return p.fail(mc, errInvalidRequest("Redirection URI is required"))
	case redirect == "":
		redirect = callback
	case callback != "" && redirect != callback:
		return p.fail(mc, errInvalidRequest("Invalid redirection uri "+redirect))
	}
	scope, ok := narrowScope(param(mc, p.scope, "scope"), allowedScopes(info))
	if !ok {
		return p.fail(mc, errInvalidScope())
	}
	state := param(mc, p.state, "state")
	now := p.now()
	var products []string
	for _, ap := range approvedProducts(info) {
		products = append(products, ap.Name)
	}
	code := randomToken(authCodeLen)
	ac := &store.OAuth2Token{
		Token: code, Kind: store.OAuth2AuthorizationCode, ClientID: id, AppID: info.App.AppID, AppName: info.App.Name,
		DeveloperID: info.Developer.DeveloperID, DeveloperEmail: info.Developer.Email, APIProducts: products, Scope: scope,
		GrantType: grantAuthorizationCode, IssuedAt: now, ExpiresAt: expiresAt(now, millis(mc, p.expiresIn, defaultCodeExpiresInMs)),
		RedirectURI: redirect, State: state, Attributes: p.evalAttributes(mc, nil),
	}
	if p.appEndUser != "" {
		ac.EndUser = param(mc, p.appEndUser, "")
	}
	if err := p.data.KMS().PutOAuth2Token(ctx, p.data.Org(), ac); err != nil {
		return err
	}
	prefix := "oauthv2authcode." + p.name + "."
	mc.SetVar(prefix+"code", code)
	mc.SetVar(prefix+"redirect_uri", redirect)
	mc.SetVar(prefix+"scope", scope)
	mc.SetVar(prefix+"client_id", id)
	mc.SetVar(prefix+"state", state)
	if !p.genResponse {
		return nil
	}
	q := url.Values{"code": {code}}
	if state != "" {
		q.Set("state", state)
	}
	sep := "?"
	if strings.Contains(redirect, "?") {
		sep = "&"
	}
	resp := message.NewResponse()
	resp.StatusCode = http.StatusFound
	resp.Reason = "Found"
	resp.Header.Set("Location", redirect+sep+q.Encode())
	mc.SetMessage("response", resp)
	return nil
}

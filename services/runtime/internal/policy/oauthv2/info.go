package oauthv2

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// infoPolicy is GetOAuthV2Info, SetOAuthV2Info, DeleteOAuthV2Info or
// RevokeOAuthV2.
type infoPolicy struct {
	kind  string
	name  string
	org   string
	data  *rtdata.Store
	attrs []attribute

	accessToken, refreshToken, clientID, authCode valueRef
	appID, endUserID, revokeBefore                valueRef
}

func compileInfo(cc *flow.CompileContext, kind string) (*infoPolicy, *xmltree.Element, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, nil, flow.Invalid(kind, "%v", err)
	}
	p := &infoPolicy{kind: kind, name: cc.Policy.Name, org: cc.Org}
	get := func(el string) valueRef {
		c := root.Child(el)
		if c == nil {
			return valueRef{}
		}
		return refOrLiteral(c)
	}
	p.accessToken, p.refreshToken, p.clientID, p.authCode = get("AccessToken"), get("RefreshToken"), get("ClientId"), get("AuthorizationCode")
	p.appID, p.endUserID, p.revokeBefore = get("AppId"), get("EndUserId"), get("RevokeBeforeTimestamp")
	return p, root, nil
}

func (p *infoPolicy) needData(cc *flow.CompileContext) error {
	var err error
	p.data, err = cc.NeedData()
	return err
}

// CompileGetInfo compiles a <GetOAuthV2Info> policy.
func CompileGetInfo(cc *flow.CompileContext) (flow.Policy, error) {
	p, _, err := compileInfo(cc, "GetOAuthV2Info")
	if err != nil {
		return nil, err
	}
	n := 0
	for _, v := range []valueRef{p.accessToken, p.refreshToken, p.clientID, p.authCode} {
		if v.set() {
			n++
		}
	}
	if n != 1 {
		return nil, flow.Invalid("GetOAuthV2Info", "exactly one of <AccessToken>, <RefreshToken>, <ClientId> or <AuthorizationCode> is required")
	}
	return p, p.needData(cc)
}

// CompileSetInfo compiles a <SetOAuthV2Info> policy.
func CompileSetInfo(cc *flow.CompileContext) (flow.Policy, error) {
	p, root, err := compileInfo(cc, "SetOAuthV2Info")
	if err != nil {
		return nil, err
	}
	if !p.accessToken.set() {
		return nil, flow.Invalid("SetOAuthV2Info/AccessToken", "the AccessToken element is required")
	}
	if p.attrs, err = compileAttributes(root, "SetOAuthV2Info"); err != nil {
		return nil, err
	}
	if len(p.attrs) == 0 {
		return nil, flow.Invalid("SetOAuthV2Info/Attributes", "at least one <Attribute> is required")
	}
	return p, p.needData(cc)
}

// CompileDeleteInfo compiles a <DeleteOAuthV2Info> policy.
func CompileDeleteInfo(cc *flow.CompileContext) (flow.Policy, error) {
	p, _, err := compileInfo(cc, "DeleteOAuthV2Info")
	if err != nil {
		return nil, err
	}
	if p.accessToken.set() == p.authCode.set() {
		return nil, flow.Invalid("DeleteOAuthV2Info", "exactly one of <AccessToken> or <AuthorizationCode> is required")
	}
	return p, p.needData(cc)
}

// CompileRevoke compiles a <RevokeOAuthV2> policy.
func CompileRevoke(cc *flow.CompileContext) (flow.Policy, error) {
	p, _, err := compileInfo(cc, "RevokeOAuthV2")
	if err != nil {
		return nil, err
	}
	if !p.appID.set() && !p.endUserID.set() {
		return nil, flow.Invalid("RevokeOAuthV2", "<AppId> or <EndUserId> is required")
	}
	return p, p.needData(cc)
}

func (p *infoPolicy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	switch p.kind {
	case "GetOAuthV2Info":
		return p.get(ctx, mc)
	case "SetOAuthV2Info":
		return p.setInfo(ctx, mc)
	case "DeleteOAuthV2Info":
		return p.delete(ctx, mc)
	default:
		return p.revoke(ctx, mc)
	}
}

// Unresolved references: Apigee's FailedToResolve* faults.
func unresolved(what string) *flow.Fault {
	return &flow.Fault{Code: "steps.oauth.v2.FailedToResolve" + what, Status: http.StatusInternalServerError,
		Message: "Failed to resolve " + what}
}

// lookupToken reads a token of a kind; the faults are the info policies'.
func (p *infoPolicy) lookupToken(ctx context.Context, value, kind string, status int) (*store.OAuth2Token, error) {
	invalid, expired := faultInvalidAccessToken(status), faultAccessTokenExpired(status)
	switch kind {
	case store.OAuth2RefreshToken:
		invalid, expired = faultInvalidRefreshToken(status), faultRefreshTokenExpired(status)
	case store.OAuth2AuthorizationCode:
		invalid, expired = faultInvalidCode(status), faultCodeExpired(status)
	}
	t, err := p.data.KMS().GetOAuth2Token(ctx, p.data.Org(), value)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Kind != kind) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if t.Expired(p.data.Now().UnixMilli()) {
		return nil, expired
	}
	return t, nil
}

func (p *infoPolicy) get(ctx context.Context, mc *flow.MessageContext) error {
	now := p.data.Now().UnixMilli()
	switch {
	case p.accessToken.set(), p.refreshToken.set():
		ref, kind, what := p.accessToken, store.OAuth2AccessToken, "AccessToken"
		if p.refreshToken.set() {
			ref, kind, what = p.refreshToken, store.OAuth2RefreshToken, "RefreshToken"
		}
		v := ref.get(mc)
		if v == "" {
			return unresolved(what)
		}
		t, err := p.lookupToken(ctx, v, kind, http.StatusInternalServerError)
		if err != nil {
			return err
		}
		prefix := "oauthv2accesstoken." + p.name + "."
		set := func(k, v string) { mc.SetVar(prefix+k, v) }
		if kind == store.OAuth2AccessToken {
			set("access_token", v)
			set("expires_in", itoa(secondsLeft(t.ExpiresAt, now)))
			set("status", t.Status)
		} else {
			set("refresh_token", v)
			set("refresh_token_expires_in", itoa(secondsLeft(t.ExpiresAt, now)))
			set("refresh_token_status", t.Status)
			set("refresh_token_issued_at", itoa(t.IssuedAt))
			if t.PairHash != "" {
				if at, err := p.data.KMS().GetOAuth2TokenByHash(ctx, p.data.Org(), t.PairHash); err == nil {
					set("expires_in", itoa(secondsLeft(at.ExpiresAt, now)))
					set("status", at.Status)
				}
			}
		}
		set("client_id", t.ClientID)
		set("issued_at", itoa(t.IssuedAt))
		set("scope", t.Scope)
		set("refresh_count", itoa(int64(t.RefreshCount)))
		set("api_product_list", productList(t.APIProducts))
		set("token_type", "BearerToken")
		set("grant_type", t.GrantType)
		set("organization_name", p.org)
		set("developer.id", t.DeveloperID)
		set("developer.email", t.DeveloperEmail)
		set("developer.app.name", t.AppName)
		set("developer.app.id", t.AppID)
		set("application_name", t.AppID)
		for _, a := range t.Attributes {
			set("accesstoken."+a.Name, a.Value)
			set(a.Name, a.Value)
		}
	case p.clientID.set():
		v := p.clientID.get(mc)
		if v == "" {
			return unresolved("ClientId")
		}
		info, err := p.data.LookupKey(ctx, v)
		if errors.Is(err, store.ErrNotFound) {
			return faultInvalidClientID(http.StatusInternalServerError)
		}
		if err != nil {
			return err
		}
		prefix := "oauthv2client." + p.name + "."
		set := func(k, v string) { mc.SetVar(prefix+k, v) }
		set("client_id", info.Credential.ConsumerKey)
		set("client_secret", info.Credential.ConsumerSecret)
		set("redirection_uris", info.App.CallbackURL)
		set("developer.email", info.Developer.Email)
		set("developer.id", info.Developer.DeveloperID)
		set("developer.app.name", info.App.Name)
		set("developer.app.id", info.App.AppID)
		set("status", info.Credential.Status)
		for _, a := range info.App.Attributes {
			set(a.Name, a.Value)
		}
		for _, a := range info.Credential.Attributes {
			set(a.Name, a.Value)
		}
	default:
		v := p.authCode.get(mc)
		if v == "" {
			return unresolved("AuthorizationCode")
		}
		t, err := p.lookupToken(ctx, v, store.OAuth2AuthorizationCode, http.StatusInternalServerError)
		if err != nil {
			return err
		}
		prefix := "oauthv2authcode." + p.name + "."
		set := func(k, v string) { mc.SetVar(prefix+k, v) }
		set("code", v)
		set("client_id", t.ClientID)
		set("organization_name", p.org)
		set("issued_at", itoa(t.IssuedAt))
		set("expires_in", itoa(secondsLeft(t.ExpiresAt, now)))
		set("redirect_uri", t.RedirectURI)
		set("status", t.Status)
		set("state", t.State)
		set("scope", t.Scope)
		for _, a := range t.Attributes {
			set(a.Name, a.Value)
		}
	}
	return nil
}

func (p *infoPolicy) setInfo(ctx context.Context, mc *flow.MessageContext) error {
	v := p.accessToken.get(mc)
	if v == "" {
		return unresolved("AccessToken")
	}
	t, err := p.lookupToken(ctx, v, store.OAuth2AccessToken, http.StatusInternalServerError)
	if err != nil {
		return err
	}
	for _, a := range p.attrs {
		t.Attributes = setAttr(t.Attributes, a.name, a.val.get(mc))
	}
	if err := p.data.KMS().UpdateOAuth2Token(ctx, p.data.Org(), t); err != nil {
		return err
	}
	prefix := "oauthv2accesstoken." + p.name + "."
	mc.SetVar(prefix+"access_token", v)
	mc.SetVar(prefix+"client_id", t.ClientID)
	for _, a := range t.Attributes {
		mc.SetVar(prefix+"accesstoken."+a.Name, a.Value)
		mc.SetVar(prefix+a.Name, a.Value)
	}
	return nil
}

func (p *infoPolicy) delete(ctx context.Context, mc *flow.MessageContext) error {
	ref, kind, what := p.accessToken, store.OAuth2AccessToken, "AccessToken"
	if p.authCode.set() {
		ref, kind, what = p.authCode, store.OAuth2AuthorizationCode, "AuthorizationCode"
	}
	v := ref.get(mc)
	if v == "" {
		return unresolved(what)
	}
	t, err := p.data.KMS().GetOAuth2Token(ctx, p.data.Org(), v)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Kind != kind) {
		if kind == store.OAuth2AuthorizationCode {
			return faultInvalidCode(http.StatusUnauthorized)
		}
		return faultInvalidAccessToken(http.StatusUnauthorized)
	}
	if err != nil {
		return err
	}
	return p.data.KMS().DeleteOAuth2Token(ctx, p.data.Org(), t)
}

func (p *infoPolicy) revoke(ctx context.Context, mc *flow.MessageContext) error {
	app := strings.TrimSpace(p.appID.get(mc))
	user := strings.TrimSpace(p.endUserID.get(mc))
	if app == "" && user == "" {
		if p.appID.set() {
			return unresolved("AppId")
		}
		return unresolved("EndUserId")
	}
	before := p.data.Now().UnixMilli() + 1
	if s := strings.TrimSpace(p.revokeBefore.get(mc)); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return &flow.Fault{Code: "steps.oauth.v2.InvalidRevokeBeforeTimestamp", Status: http.StatusInternalServerError,
				Message: "Invalid RevokeBeforeTimestamp " + s}
		}
		before = n
	}
	if app != "" {
		// AppId is the app's id; a consumer key names its app too.
		if _, err := uuid.Parse(app); err != nil {
			info, err := p.data.LookupKey(ctx, app)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return faultInvalidClientID(http.StatusInternalServerError)
			case err != nil:
				return err
			}
			app = info.App.AppID
		}
	}
	n, err := p.data.KMS().RevokeOAuth2Tokens(ctx, p.data.Org(), app, user, before)
	if err != nil {
		return err
	}
	mc.SetVar("oauthv2revoke."+p.name+".count", strconv.Itoa(n))
	return nil
}

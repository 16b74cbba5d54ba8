package oauthv2

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

// bearer extracts the access token: the configured variable (minus
// <AccessTokenPrefix>), else "Authorization: Bearer <token>".
func (p *policy) bearer(mc *flow.MessageContext) (string, bool) {
	if p.accessToken != "" {
		v, _ := mc.GetString(p.accessToken)
		v = strings.TrimSpace(v)
		if p.atPrefix != "" {
			rest, ok := cutPrefixFold(v, p.atPrefix)
			if !ok {
				return "", false
			}
			v = strings.TrimSpace(rest)
		}
		return v, v != ""
	}
	if mc.Request == nil {
		return "", false
	}
	rest, ok := cutPrefixFold(strings.TrimSpace(mc.Request.Header.Get("Authorization")), "Bearer ")
	if !ok {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	return rest, rest != ""
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

func (p *policy) verifyAccessToken(ctx context.Context, mc *flow.MessageContext) error {
	tok, ok := p.bearer(mc)
	if !ok {
		return faultBadAuthHeader()
	}
	t, err := p.data.KMS().GetOAuth2Token(ctx, p.data.Org(), tok)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Kind != store.OAuth2AccessToken) {
		return faultInvalidAccessToken(http.StatusUnauthorized)
	}
	if err != nil {
		return err
	}
	now := p.now()
	if t.Expired(now) {
		return faultAccessTokenExpired(http.StatusUnauthorized)
	}
	if t.Status != store.StatusApproved {
		return faultNotApproved()
	}
	// The app behind the token must still be usable (cached key lookup).
	info, err := p.data.LookupKey(ctx, t.ClientID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && info.App.AppID != t.AppID) {
		return faultInvalidAccessToken(http.StatusUnauthorized)
	}
	if err != nil {
		return err
	}
	switch {
	case info.App.Status != store.StatusApproved:
		return faultAppNotApproved()
	case info.Credential.Status != store.StatusApproved, !ownerActive(info):
		return faultNotApproved()
	}
	product, err := p.matchProduct(ctx, mc, info, t.APIProducts)
	if err != nil {
		return err
	}
	if product == nil {
		return faultNoProduct()
	}
	if p.scope != "" && !anyScope(p.scope, t.Scope) {
		return faultInsufficientScope(p.scope)
	}
	p.setVerifyVars(mc, tok, t, info, product, now)
	return nil
}

// anyScope reports whether the token has any of the required scopes.
func anyScope(required, have string) bool {
	got := map[string]bool{}
	for _, s := range strings.Fields(have) {
		got[s] = true
	}
	for _, s := range strings.Fields(required) {
		if got[s] {
			return true
		}
	}
	return false
}

func (p *policy) setVerifyVars(mc *flow.MessageContext, tok string, t *store.OAuth2Token, info *store.KeyInfo, product *store.APIProduct, now int64) {
	set := mc.SetVar
	set("organization_name", p.org)
	set("client_id", t.ClientID)
	set("access_token", tok)
	set("token_type", "BearerToken")
	set("grant_type", t.GrantType)
	set("issued_at", itoa(t.IssuedAt))
	set("expires_in", itoa(secondsLeft(t.ExpiresAt, now)))
	set("status", t.Status)
	set("scope", t.Scope)
	set("refresh_count", itoa(int64(t.RefreshCount)))
	set("api_product_list", productList(t.APIProducts))
	set("apiproduct.name", product.Name)
	for _, a := range product.Attributes {
		set("apiproduct."+a.Name, a.Value)
	}
	set("app.name", info.App.Name)
	set("app.id", info.App.AppID)
	set("developer.app.name", info.App.Name)
	set("developer.app.id", info.App.AppID)
	for _, a := range info.App.Attributes {
		set("app."+a.Name, a.Value)
	}
	// An app group's app has no developer: its developer variables stay
	// unset.
	if info.AppGroup == nil {
		set("developer.id", info.Developer.DeveloperID)
		set("developer.email", info.Developer.Email)
		for _, a := range info.Developer.Attributes {
			set("developer."+a.Name, a.Value)
		}
	}
	for _, a := range t.Attributes {
		set("accesstoken."+a.Name, a.Value)
	}
	if t.EndUser != "" {
		set("app_enduser", t.EndUser)
	}
}

// setTokenStatus runs InvalidateToken (revoke) and ValidateToken
// (re-approve) on each configured token.
func (p *policy) setTokenStatus(ctx context.Context, mc *flow.MessageContext) error {
	status := store.StatusRevoked
	if p.op == opValidateToken {
		status = store.StatusApproved
	}
	kms, org := p.data.KMS(), p.data.Org()
	now := p.now()
	for _, tr := range p.tokens {
		v, _ := mc.GetString(tr.ref)
		v = strings.TrimSpace(v)
		want := store.OAuth2AccessToken
		invalid, expired := faultInvalidAccessToken(http.StatusUnauthorized), faultAccessTokenExpired(http.StatusUnauthorized)
		if tr.refresh {
			want = store.OAuth2RefreshToken
			invalid, expired = faultInvalidRefreshToken(http.StatusBadRequest), faultRefreshTokenExpired(http.StatusBadRequest)
		}
		if v == "" {
			return invalid
		}
		t, err := kms.GetOAuth2Token(ctx, org, v)
		if errors.Is(err, store.ErrNotFound) || (err == nil && t.Kind != want) {
			return invalid
		}
		if err != nil {
			return err
		}
		if t.Expired(now) {
			return expired
		}
		t.Status = status
		if err := kms.UpdateOAuth2Token(ctx, org, t); err != nil {
			return err
		}
		if tr.cascade && t.PairHash != "" {
			pair, err := kms.GetOAuth2TokenByHash(ctx, org, t.PairHash)
			if err == nil && !pair.Expired(now) {
				pair.Status = status
				if err := kms.UpdateOAuth2Token(ctx, org, pair); err != nil {
					return err
				}
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

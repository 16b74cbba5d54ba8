// Package oauthv2 implements Apigee's OAuth 2.0 policies: OAuthV2
// (GenerateAccessToken, GenerateAuthorizationCode, RefreshAccessToken,
// VerifyAccessToken, InvalidateToken, ValidateToken), GetOAuthV2Info,
// SetOAuthV2Info, DeleteOAuthV2Info and RevokeOAuthV2.
//
// Tokens and authorization codes live in Cassandra (kms_<org>.oauth2_tokens,
// keyed by the token's SHA-256) and are never cached, so a token issued or
// revoked through one message processor is seen by all at once. Every
// expiry decision uses the runtime data clock (rtdata.Store.Now).
package oauthv2

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"math/big"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// Operations of the OAuthV2 policy.
const (
	opGenerateAccessToken       = "GenerateAccessToken"
	opGenerateAuthorizationCode = "GenerateAuthorizationCode"
	opRefreshAccessToken        = "RefreshAccessToken"
	opVerifyAccessToken         = "VerifyAccessToken"
	opInvalidateToken           = "InvalidateToken"
	opValidateToken             = "ValidateToken"
)

// Grant types.
const (
	grantClientCredentials = "client_credentials"
	grantPassword          = "password"
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantImplicit          = "implicit"
)

var knownGrants = map[string]bool{grantClientCredentials: true, grantPassword: true, grantAuthorizationCode: true, grantRefreshToken: true, grantImplicit: true}

// Defaults when the policy does not say.
const (
	defaultExpiresInMs     = 1800000 // 30 minutes
	defaultCodeExpiresInMs = 600000  // 10 minutes
)

// valueRef is a value taken from a flow variable (ref) with a literal
// fallback.
type valueRef struct {
	ref, lit string
}

func (v valueRef) set() bool { return v.ref != "" || v.lit != "" }

func (v valueRef) get(mc *flow.MessageContext) string {
	if v.ref != "" {
		if s, ok := mc.GetString(v.ref); ok && s != "" {
			return s
		}
	}
	return v.lit
}

// varOf reads an element whose text names a flow variable (<GrantType>
// request.formparam.grant_type</GrantType>) or that has a ref attribute.
func varOf(el *xmltree.Element) string {
	if el == nil {
		return ""
	}
	if r := el.Attr("ref"); r != "" {
		return r
	}
	return strings.TrimSpace(el.Text)
}

// refOrLiteral reads <X ref="var">literal</X>.
func refOrLiteral(el *xmltree.Element) valueRef {
	if el == nil {
		return valueRef{}
	}
	return valueRef{ref: el.Attr("ref"), lit: strings.TrimSpace(el.Text)}
}

// attribute is a custom token attribute (<Attributes><Attribute>).
type attribute struct {
	name    string
	val     valueRef
	display bool
}

func compileAttributes(root *xmltree.Element, where string) ([]attribute, error) {
	var out []attribute
	for _, a := range root.Child("Attributes").All("Attribute") {
		name := a.Attr("name")
		if name == "" {
			return nil, flow.Invalid(where+"/Attributes/Attribute", "the name attribute is required")
		}
		display, err := a.BoolAttr("display", false)
		if err != nil {
			return nil, flow.Invalid(where+"/Attributes/Attribute", "%v", err)
		}
		out = append(out, attribute{name: name, val: refOrLiteral(a), display: display})
	}
	return out, nil
}

// tokenRef is an <InvalidateToken>/<ValidateToken> <Token>.
type tokenRef struct {
	refresh bool
	cascade bool
	ref     string
}

type policy struct {
	name     string
	op       string
	data     *rtdata.Store
	org, env string

	genResponse  bool
	grantTypes   []string
	grantType    string // variable
	clientID     string // variable; "" = Basic auth / client_id param
	secret       string // variable
	expiresIn    valueRef
	refreshExp   valueRef
	scope        string // variable (generate) or literal (verify)
	attributes   []attribute
	userName     string
	password     string
	code         string
	redirectURI  string
	respType     string
	state        string
	refreshTok   string
	accessToken  string // variable
	atPrefix     string
	appEndUser   string
	extAuth      bool
	extToken     string
	storeToken   bool
	reuseRefresh bool
	tokens       []tokenRef
}

// Compile compiles a <OAuthV2> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("OAuthV2", "%v", err)
	}
	p := &policy{name: cc.Policy.Name, org: cc.Org, env: cc.Env}
	p.op = strings.TrimSpace(root.ChildText("Operation"))
	switch p.op {
	case "":
		return nil, flow.Invalid("OAuthV2/Operation", "the Operation element is required")
	case opGenerateAccessToken, opGenerateAuthorizationCode, opRefreshAccessToken, opVerifyAccessToken, opInvalidateToken, opValidateToken:
	case "GenerateAccessTokenImplicitGrant":
		return nil, flow.Invalid("OAuthV2/Operation", "operation %s is not supported by this runtime", p.op)
	default:
		return nil, flow.Invalid("OAuthV2/Operation", "unknown operation %q", p.op)
	}
	if gr := root.Child("GenerateResponse"); gr != nil {
		if p.genResponse, err = gr.BoolAttr("enabled", true); err != nil {
			return nil, flow.Invalid("OAuthV2/GenerateResponse", "%v", err)
		}
	}
	for _, g := range root.Child("SupportedGrantTypes").All("GrantType") {
		gt := strings.TrimSpace(g.Text)
		if !knownGrants[gt] {
			return nil, flow.Invalid("OAuthV2/SupportedGrantTypes/GrantType", "unknown grant type %q", gt)
		}
		p.grantTypes = append(p.grantTypes, gt)
	}
	p.grantType = varOf(root.Child("GrantType"))
	p.clientID = varOf(root.Child("ClientId"))
	p.secret = varOf(root.Child("ClientSecret"))
	p.expiresIn = refOrLiteral(root.Child("ExpiresIn"))
	p.refreshExp = refOrLiteral(root.Child("RefreshTokenExpiresIn"))
	for _, v := range []struct {
		el  string
		val valueRef
	}{{"ExpiresIn", p.expiresIn}, {"RefreshTokenExpiresIn", p.refreshExp}} {
		if v.val.lit != "" {
			if _, err := strconv.ParseInt(v.val.lit, 10, 64); err != nil {
				return nil, flow.Invalid("OAuthV2/"+v.el, "must be a number of milliseconds, not %q", v.val.lit)
			}
		}
	}
	if p.op == opVerifyAccessToken {
		p.scope = strings.TrimSpace(root.ChildText("Scope"))
	} else {
		p.scope = varOf(root.Child("Scope"))
	}
	if p.attributes, err = compileAttributes(root, "OAuthV2"); err != nil {
		return nil, err
	}
	p.userName = varOf(root.Child("UserName"))
	p.password = varOf(root.Child("PassWord"))
	p.code = varOf(root.Child("Code"))
	p.redirectURI = varOf(root.Child("RedirectUri"))
	p.respType = varOf(root.Child("ResponseType"))
	p.state = varOf(root.Child("State"))
	p.refreshTok = varOf(root.Child("RefreshToken"))
	p.accessToken = varOf(root.Child("AccessToken"))
	p.atPrefix = strings.TrimSpace(root.ChildText("AccessTokenPrefix"))
	p.appEndUser = varOf(root.Child("AppEndUser"))
	if p.extAuth, err = root.Bool("ExternalAuthorization", false); err != nil {
		return nil, flow.Invalid("OAuthV2/ExternalAuthorization", "%v", err)
	}
	p.extToken = varOf(root.Child("ExternalAccessToken"))
	if p.storeToken, err = root.Bool("StoreToken", false); err != nil {
		return nil, flow.Invalid("OAuthV2/StoreToken", "%v", err)
	}
	if p.reuseRefresh, err = root.Bool("ReuseRefreshToken", false); err != nil {
		return nil, flow.Invalid("OAuthV2/ReuseRefreshToken", "%v", err)
	}
	if p.op == opInvalidateToken || p.op == opValidateToken {
		toks := root.Child("Tokens").All("Token")
		if len(toks) == 0 {
			return nil, flow.Invalid("OAuthV2/Tokens", "operation %s needs <Tokens><Token type=\"accesstoken|refreshtoken\">", p.op)
		}
		for _, t := range toks {
			tr := tokenRef{ref: varOf(t)}
			switch t.Attr("type") {
			case "accesstoken":
			case "refreshtoken":
				tr.refresh = true
			default:
				return nil, flow.Invalid("OAuthV2/Tokens/Token", "type must be accesstoken or refreshtoken, not %q", t.Attr("type"))
			}
			if tr.ref == "" {
				return nil, flow.Invalid("OAuthV2/Tokens/Token", "the token's flow variable is required")
			}
			if tr.cascade, err = t.BoolAttr("cascade", false); err != nil {
				return nil, flow.Invalid("OAuthV2/Tokens/Token", "%v", err)
			}
			p.tokens = append(p.tokens, tr)
		}
	}
	if p.data, err = cc.NeedData(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	switch p.op {
	case opGenerateAccessToken:
		return p.generateAccessToken(ctx, mc)
	case opGenerateAuthorizationCode:
		return p.generateAuthorizationCode(ctx, mc)
	case opRefreshAccessToken:
		return p.refreshAccessToken(ctx, mc)
	case opVerifyAccessToken:
		return p.verifyAccessToken(ctx, mc)
	default:
		return p.setTokenStatus(ctx, mc)
	}
}

// now is the runtime data clock in epoch ms.
func (p *policy) now() int64 { return p.data.Now().UnixMilli() }

// param reads a request parameter: the configured variable, else the form
// parameter, else the query parameter.
func param(mc *flow.MessageContext, variable, name string) string {
	if variable != "" {
		s, _ := mc.GetString(variable)
		return strings.TrimSpace(s)
	}
	if mc.Request != nil {
		if v, _ := mc.Request.FormParams().Get(name); v != "" {
			return v
		}
		if v, _ := mc.Request.Query.Get(name); v != "" {
			return v
		}
	}
	return ""
}

// basicAuth decodes an "Authorization: Basic" header.
func basicAuth(mc *flow.MessageContext) (id, secret string, ok bool) {
	if mc.Request == nil {
		return "", "", false
	}
	h := mc.Request.Header.Get("Authorization")
	scheme, cred, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	id, secret, ok = strings.Cut(string(raw), ":")
	return id, secret, ok
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomToken returns n random characters of [A-Za-z0-9].
func randomToken(n int) string {
	var b strings.Builder
	max := big.NewInt(int64(len(tokenAlphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err)
		}
		b.WriteByte(tokenAlphabet[i.Int64()])
	}
	return b.String()
}

// millis resolves an expiry setting (ms); -1 means never.
func millis(mc *flow.MessageContext, v valueRef, def int64) int64 {
	s := v.get(mc)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return def
	}
	return n
}

// expiresAt turns a lifetime into an absolute expiry (-1: never).
func expiresAt(now, lifetime int64) int64 {
	if lifetime < 0 {
		return -1
	}
	return now + lifetime
}

// secondsLeft is Apigee's expires_in: whole seconds left, rounded down
// ("3599" for a fresh one-hour token); 0 for tokens that never expire.
func secondsLeft(exp, now int64) int64 {
	if exp < 0 {
		return 0
	}
	left := exp - now
	if left <= 0 {
		return 0
	}
	return (left - 1) / 1000
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func attrValue(attrs []store.Attribute, name string) (string, bool) {
	for _, a := range attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

func setAttr(attrs []store.Attribute, name, value string) []store.Attribute {
	for i := range attrs {
		if attrs[i].Name == name {
			attrs[i].Value = value
			return attrs
		}
	}
	return append(attrs, store.Attribute{Name: name, Value: value})
}

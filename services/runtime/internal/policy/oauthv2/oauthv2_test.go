package oauthv2

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

func TestNarrowScope(t *testing.T) {
	cases := []struct {
		requested string
		allowed   []string
		want      string
		ok        bool
	}{
		{"", []string{"read", "write"}, "read write", true},
		{"read", []string{"read", "write"}, "read", true},
		{"  write   read ", []string{"read", "write"}, "write read", true},
		{"read delete", []string{"read", "write"}, "", false},
		{"read", nil, "", false},
		{"", nil, "", true},
	}
	for _, c := range cases {
		got, ok := narrowScope(c.requested, c.allowed)
		require.Equal(t, c.ok, ok, "%q of %v", c.requested, c.allowed)
		require.Equal(t, c.want, got, "%q of %v", c.requested, c.allowed)
	}
}

func TestAnyScope(t *testing.T) {
	cases := []struct {
		required, have string
		want           bool
	}{
		{"write admin", "read write", true},
		{"admin", "read write", false},
		{"read", "", false},
		{"read", "read", true},
	}
	for _, c := range cases {
		require.Equal(t, c.want, anyScope(c.required, c.have), "%q in %q", c.required, c.have)
	}
}

func TestSecondsLeft(t *testing.T) {
	cases := []struct {
		exp, now, want int64
	}{
		{3_600_000, 0, 3599},
		{1_000, 0, 0},
		{1_001, 0, 1},
		{5, 10, 0},
		{-1, 10, 0},
	}
	for _, c := range cases {
		require.Equal(t, c.want, secondsLeft(c.exp, c.now), "%d at %d", c.exp, c.now)
	}
	require.Equal(t, int64(-1), expiresAt(100, -1))
	require.Equal(t, int64(150), expiresAt(100, 50))
}

func TestTokenResponse(t *testing.T) {
	at := &store.OAuth2Token{Token: "at", ClientID: "k", AppID: "app-id", DeveloperEmail: "d@x", APIProducts: []string{"p1", "p2"},
		Scope: "read", IssuedAt: 1000, ExpiresAt: 3_601_000, Status: "approved"}
	rt := &store.OAuth2Token{Token: "rt", IssuedAt: 1000, ExpiresAt: -1, Status: "approved"}
	body := orderedJSON(tokenFields("org", at, rt, 1000))
	require.Contains(t, string(body), `"refresh_token_expires_in" : "0",`)
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, map[string]any{
		"refresh_token_expires_in": "0", "refresh_token_status": "approved", "api_product_list": "[p1, p2]",
		"api_product_list_json": []any{"p1", "p2"}, "organization_name": "org", "developer.email": "d@x", "token_type": "BearerToken",
		"issued_at": "1000", "client_id": "k", "access_token": "at", "refresh_token": "rt", "refresh_token_issued_at": "1000",
		"application_name": "app-id", "scope": "read", "expires_in": "3599", "refresh_count": "0", "status": "approved",
	}, got)
	// Without products or refresh token.
	at.APIProducts = nil
	got = nil
	require.NoError(t, json.Unmarshal(orderedJSON(tokenFields("org", at, nil, 1000)), &got))
	require.Equal(t, []any{}, got["api_product_list_json"])
	require.Equal(t, "[]", got["api_product_list"])
	require.NotContains(t, got, "refresh_token")
}

func TestErrorBody(t *testing.T) {
	require.Equal(t, `{"ErrorCode" : "invalid_client", "Error" :"ClientId is Invalid"}`, string(errorBody("invalid_client", "ClientId is Invalid")))
}

func TestFail(t *testing.T) {
	mc := flow.New(&flow.Proxy{}, message.NewRequest(), "1.2.3.4:5", nil)
	p := &policy{name: "OA", genResponse: true}
	f := p.fail(mc, errInvalidClient("ClientId is Invalid")).(*flow.Fault)
	require.Equal(t, 401, f.Status)
	require.Equal(t, "invalid_client", f.FaultName())
	b, _ := f.Response.Content()
	require.JSONEq(t, `{"ErrorCode":"invalid_client","Error":"ClientId is Invalid"}`, string(b))
	require.Equal(t, "invalid_client", mc.Get("oauthV2.OA.fault.name"))

	p.genResponse = false
	f = p.fail(mc, errInvalidClient("ClientId is Invalid")).(*flow.Fault)
	require.Equal(t, "oauth.v2.InvalidClientIdentifier", f.Code)
	require.Equal(t, "Invalid client identifier {0}", f.Message)
	require.Nil(t, f.Response)
}

func TestBasicAuthAndBearer(t *testing.T) {
	req := message.NewRequest()
	req.Header.Set("Authorization", "basic azE6czE=")
	mc := flow.New(&flow.Proxy{}, req, "1.2.3.4:5", nil)
	id, secret, ok := basicAuth(mc)
	require.True(t, ok)
	require.Equal(t, "k1", id)
	require.Equal(t, "s1", secret)
	_, ok = (&policy{}).bearer(mc)
	require.False(t, ok)

	req.Header.Set("Authorization", "Bearer  abc ")
	tok, ok := (&policy{}).bearer(mc)
	require.True(t, ok)
	require.Equal(t, "abc", tok)
	req.Header.Set("Authorization", "Bearer ")
	_, ok = (&policy{}).bearer(mc)
	require.False(t, ok)
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		typ, xml, want string
		compile        func(*flow.CompileContext) (flow.Policy, error)
	}{
		{"OAuthV2", `<OAuthV2 name="P"/>`, "OAuthV2/Operation: the Operation element is required", Compile},
		{"OAuthV2", `<OAuthV2 name="P"><Operation>Mint</Operation></OAuthV2>`, `unknown operation "Mint"`, Compile},
		{"OAuthV2", `<OAuthV2 name="P"><Operation>GenerateAccessTokenImplicitGrant</Operation></OAuthV2>`, "not supported", Compile},
		{"OAuthV2", `<OAuthV2 name="P"><Operation>GenerateAccessToken</Operation><SupportedGrantTypes><GrantType>x</GrantType></SupportedGrantTypes></OAuthV2>`, `unknown grant type "x"`, Compile},
		{"OAuthV2", `<OAuthV2 name="P"><Operation>GenerateAccessToken</Operation><GenerateResponse enabled="yes"/></OAuthV2>`, "OAuthV2/GenerateResponse", Compile},
		{"OAuthV2", `<OAuthV2 name="P"><Operation>GenerateAccessToken</Operation><RefreshTokenExpiresIn>x</RefreshTokenExpiresIn></OAuthV2>`, "OAuthV2/RefreshTokenExpiresIn", Compile},
		{"OAuthV2", `<OAuthV2 name="P"><Operation>GenerateAccessToken</Operation><Attributes><Attribute>v</Attribute></Attributes></OAuthV2>`, "OAuthV2/Attributes/Attribute: the name attribute is required", Compile},
		{"OAuthV2", `<OAuthV2 name="P"><Operation>ValidateToken</Operation><Tokens><Token type="accesstoken"/></Tokens></OAuthV2>`, "the token's flow variable is required", Compile},
		{"OAuthV2", `<OAuthV2 name="P"><Operation>ValidateToken</Operation><Tokens><Token type="accesstoken" cascade="maybe">v</Token></Tokens></OAuthV2>`, "OAuthV2/Tokens/Token", Compile},
		{"OAuthV2", `<OAuthV2 name="P"><Operation>VerifyAccessToken</Operation></OAuthV2>`, "needs the runtime data store", Compile},
		{"GetOAuthV2Info", `<GetOAuthV2Info name="P"><AccessToken ref="a"/><ClientId ref="b"/></GetOAuthV2Info>`, "exactly one of", CompileGetInfo},
		{"DeleteOAuthV2Info", `<DeleteOAuthV2Info name="P"/>`, "exactly one of <AccessToken> or <AuthorizationCode>", CompileDeleteInfo},
		{"SetOAuthV2Info", `<SetOAuthV2Info name="P"><AccessToken ref="a"/><Attributes><Attribute name="x" display="no"/></Attributes></SetOAuthV2Info>`, "SetOAuthV2Info/Attributes/Attribute", CompileSetInfo},
		{"RevokeOAuthV2", `<RevokeOAuthV2 name="P"><RevokeBeforeTimestamp ref="t"/></RevokeOAuthV2>`, "<AppId> or <EndUserId> is required", CompileRevoke},
		{"RevokeOAuthV2", `<RevokeOAuthV2 name="P"><AppId ref="a"/></RevokeOAuthV2>`, "needs the runtime data store", CompileRevoke},
	}
	for _, c := range cases {
		cc := &flow.CompileContext{Policy: &bundle.Policy{Type: c.typ, Name: "P", XML: []byte(c.xml)}}
		_, err := c.compile(cc)
		require.Error(t, err, c.xml)
		require.Contains(t, err.Error(), c.want, c.xml)
	}
}

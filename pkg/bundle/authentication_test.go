package bundle_test

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

func TestDecodeHTTPTargetConnection(t *testing.T) {
	tests := []struct {
		name    string
		xml     string
		want    *bundle.HTTPTargetConnection
		wantErr string
	}{
		{
			name: "access token",
			xml: `<HTTPTargetConnection><URL> https://x.example </URL><Authentication>
				<GoogleAccessToken><Scopes><Scope> s1 </Scope><Scope>s2</Scope></Scopes>
				<LifetimeInSeconds ref="flow.lifetime">600</LifetimeInSeconds></GoogleAccessToken></Authentication></HTTPTargetConnection>`,
			want: &bundle.HTTPTargetConnection{URL: "https://x.example", Authentication: &bundle.Authentication{
				GoogleAccessToken: &bundle.GoogleAccessToken{Scopes: []string{"s1", "s2"}, LifetimeInSeconds: &bundle.RefValue{Value: "600", Ref: "flow.lifetime"}},
			}},
		},
		{
			name: "ID token in another header",
			xml: `<HTTPTargetConnection><URL>https://x.example</URL><Authentication><HeaderName>X-Serverless-Authorization</HeaderName>
				<GoogleIDToken><Audience ref="aud" useTargetUrl="true">https://a</Audience><IncludeEmail>true</IncludeEmail></GoogleIDToken>
				</Authentication></HTTPTargetConnection>`,
			want: &bundle.HTTPTargetConnection{URL: "https://x.example", Authentication: &bundle.Authentication{
				HeaderName:    "X-Serverless-Authorization",
				GoogleIDToken: &bundle.GoogleIDToken{Audience: &bundle.Audience{Value: "https://a", Ref: "aud", UseTargetURL: true}, IncludeEmail: true},
			}},
		},
		{
			name: "unknown elements are kept by name",
			xml:  `<HTTPTargetConnection><URL>https://x</URL><Timeout>5</Timeout><SSLInfo><Enabled>true</Enabled><Mystery/></SSLInfo><Authentication><Extra/><GoogleIDToken><Audience>a</Audience><Nope/></GoogleIDToken></Authentication></HTTPTargetConnection>`,
			want: &bundle.HTTPTargetConnection{URL: "https://x",
				SSLInfo: &bundle.SSLInfo{Enabled: true, Unknown: []bundle.UnknownElement{{XMLName: xmlName("Mystery")}}},
				Authentication: &bundle.Authentication{
					GoogleIDToken: &bundle.GoogleIDToken{Audience: &bundle.Audience{Value: "a"}, Unknown: []bundle.UnknownElement{{XMLName: xmlName("Nope")}}},
					Unknown:       []bundle.UnknownElement{{XMLName: xmlName("Extra")}},
				},
				Unknown: []bundle.UnknownElement{{XMLName: xmlName("Timeout")}},
			},
		},
		{
			name:    "bad boolean",
			xml:     `<HTTPTargetConnection><Authentication><GoogleIDToken><IncludeEmail>yes</IncludeEmail></GoogleIDToken></Authentication></HTTPTargetConnection>`,
			wantErr: `policies/SC.xml: invalid bundle: line 1: <IncludeEmail> value "yes" must be true or false`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bundle.DecodeHTTPTargetConnection("policies/SC.xml", []byte(tt.xml))
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestUsesGoogleAuthentication(t *testing.T) {
	withTarget := func(conn string) map[string]string {
		files := bundletest.Proxy("p", "/p", "http://x")
		files["apiproxy/targets/default.xml"] = `<TargetEndpoint name="default"><HTTPTargetConnection>` + conn + `</HTTPTargetConnection></TargetEndpoint>`
		return files
	}
	withPolicy := func(policy string) map[string]string {
		files := bundletest.Proxy("p", "/p", "http://x")
		files["apiproxy/policies/P.xml"] = policy
		return files
	}
	tests := []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"plain", bundletest.Proxy("p", "/p", "http://x"), false},
		{"target", withTarget(`<URL>http://x</URL><Authentication><GoogleIDToken><Audience>a</Audience></GoogleIDToken></Authentication>`), true},
		{"ServiceCallout", withPolicy(`<ServiceCallout name="P"><HTTPTargetConnection><URL>http://x</URL><Authentication><GoogleAccessToken><Scopes><Scope>s</Scope></Scopes></GoogleAccessToken></Authentication></HTTPTargetConnection></ServiceCallout>`), true},
		{"AssignMessage", withPolicy(`<AssignMessage name="P"><Authentication><GoogleIDToken><Audience>a</Audience></GoogleIDToken></Authentication></AssignMessage>`), true},
		{"the word only", withPolicy(`<AssignMessage name="P"><Set><Headers><Header name="Authentication">GoogleIDToken</Header></Headers></Set></AssignMessage>`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := bundle.Parse(bundletest.Zip(t, tt.files), bundle.KindProxy, bundle.Limits{})
			require.NoError(t, err)
			require.Equal(t, tt.want, b.UsesGoogleAuthentication())
		})
	}
}

func xmlName(local string) xml.Name { return xml.Name{Local: local} }

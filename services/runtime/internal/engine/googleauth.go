package engine

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

// GoogleTokens mints (and caches) the Google tokens of deployments'
// service accounts; googletoken.Cache over the control plane's IAM
// Credentials API is the message processor's.
type GoogleTokens interface {
	AccessToken(ctx context.Context, serviceAccount string, scopes []string, lifetime time.Duration) (string, error)
	IDToken(ctx context.Context, serviceAccount, audience string, includeEmail bool) (string, error)
}

// CodeGoogleTokenGenerationFailure is Apigee's fault when the token an
// <Authentication> asks for cannot be minted (the runtime's identity lacks
// roles/iam.serviceAccountTokenCreator on the account, the account is
// gone, IAM is unreachable).
const CodeGoogleTokenGenerationFailure = "messaging.adaptors.http.filter.GoogleTokenGenerationFailure"

// Apigee's defaults for <Authentication>.
const (
	defaultAuthHeader    = "Authorization"
	defaultTokenLifetime = 3600 // seconds
)

// missingServiceAccount is Apigee's deployment validation message for a
// revision with <Authentication> deployed without serviceAccount.
const missingServiceAccount = "deployment validations failed; MISSING_SERVICE_ACCOUNT: Deployment requires a service account identity, but one was not provided with the request."

// googleAuth is a compiled <Authentication>: which token, for which
// account, in which header.
type googleAuth struct {
	header         string
	serviceAccount string
	tokens         GoogleTokens

	idToken bool
	// GoogleAccessToken
	scopes      []string
	lifetime    int // seconds
	lifetimeRef string
	// GoogleIDToken
	audience, audienceRef string
	useTargetURL          bool
	includeEmail          bool
}

// compileGoogleAuth checks an <Authentication> at deploy time. element is
// the path of the element ("HTTPTargetConnection/Authentication"); errors
// are *flow.InvalidPolicyError naming what is wrong.
func (ec *envCompiler) compileGoogleAuth(a *bundle.Authentication, serviceAccount, element string) (*googleAuth, error) {
	if len(a.Unknown) > 0 {
		return nil, flow.Invalid(element+"/"+a.Unknown[0].XMLName.Local, "element <%s> is not allowed in <Authentication> (allowed: HeaderName, GoogleAccessToken, GoogleIDToken)", a.Unknown[0].XMLName.Local)
	}
	g := &googleAuth{header: defaultAuthHeader, serviceAccount: serviceAccount, tokens: ec.opts.GoogleTokens}
	if h := strings.TrimSpace(a.HeaderName); h != "" {
		if strings.ContainsAny(h, " :\t{}") {
			return nil, flow.Invalid(element+"/HeaderName", "%q is not a header name", h)
		}
		g.header = h
	}
	switch {
	case (a.GoogleAccessToken == nil) == (a.GoogleIDToken == nil):
		return nil, flow.Invalid(element, "<Authentication> needs exactly one of <GoogleAccessToken> and <GoogleIDToken>")
	case a.GoogleAccessToken != nil:
		at := a.GoogleAccessToken
		el := element + "/GoogleAccessToken"
		if len(at.Unknown) > 0 {
			return nil, flow.Invalid(el+"/"+at.Unknown[0].XMLName.Local, "element <%s> is not allowed in <GoogleAccessToken> (allowed: Scopes, LifetimeInSeconds)", at.Unknown[0].XMLName.Local)
		}
		for _, s := range at.Scopes {
			if s = strings.TrimSpace(s); s != "" {
				g.scopes = append(g.scopes, s)
			}
		}
		if len(g.scopes) == 0 {
			return nil, flow.Invalid(el+"/Scopes", "<GoogleAccessToken> needs at least one <Scopes>/<Scope>")
		}
		g.lifetime = defaultTokenLifetime
		if lt := at.LifetimeInSeconds; lt != nil {
			g.lifetimeRef = strings.TrimSpace(lt.Ref)
			if v := strings.TrimSpace(lt.Value); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n <= 0 {
					return nil, flow.Invalid(el+"/LifetimeInSeconds", "%q is not a positive number of seconds", v)
				}
				g.lifetime = n
			}
		}
	default:
		it := a.GoogleIDToken
		el := element + "/GoogleIDToken"
		if len(it.Unknown) > 0 {
			return nil, flow.Invalid(el+"/"+it.Unknown[0].XMLName.Local, "element <%s> is not allowed in <GoogleIDToken> (allowed: Audience, IncludeEmail)", it.Unknown[0].XMLName.Local)
		}
		g.idToken, g.includeEmail = true, it.IncludeEmail
		if it.Audience == nil {
			return nil, flow.Invalid(el+"/Audience", "<GoogleIDToken> needs an <Audience>")
		}
		g.audience, g.audienceRef, g.useTargetURL = strings.TrimSpace(it.Audience.Value), strings.TrimSpace(it.Audience.Ref), it.Audience.UseTargetURL
		if g.audience == "" && g.audienceRef == "" && !g.useTargetURL {
			return nil, flow.Invalid(el+"/Audience", "<Audience> is empty: give the audience, a ref, or useTargetUrl=\"true\"")
		}
	}
	if serviceAccount == "" {
		return nil, flow.Invalid(element, "%s", missingServiceAccount)
	}
	if g.tokens == nil {
		return nil, flow.Invalid(element, "this message processor cannot mint Google tokens: it has no control plane to call (controlPlane.url and controlPlane.serviceAccountPath, the apigee-runtime key file)")
	}
	return g, nil
}

// authorize puts the token on req, replacing any value the header had
// (a client's own Authorization does not reach the backend). targetURL is
// what useTargetUrl makes the audience, without its query: the
// target.url of a TargetEndpoint, a ServiceCallout's URL.
func (g *googleAuth) authorize(ctx context.Context, mc *flow.MessageContext, req *http.Request, targetURL string) error {
	var tok string
	var err error
	if g.idToken {
		aud := g.audience
		if g.audienceRef != "" {
			if v, ok := mc.GetString(g.audienceRef); ok && strings.TrimSpace(v) != "" {
				aud = strings.TrimSpace(v)
			}
		}
		if aud == "" && g.useTargetURL {
			aud, _, _ = strings.Cut(targetURL, "?")
			aud, _, _ = strings.Cut(aud, "#")
		}
		if aud == "" {
			return tokenFault(fmt.Errorf("no audience: variable %s is not set", g.audienceRef))
		}
		tok, err = g.tokens.IDToken(ctx, g.serviceAccount, aud, g.includeEmail)
	} else {
		lifetime := g.lifetime
		if g.lifetimeRef != "" {
			if v, ok := mc.GetString(g.lifetimeRef); ok {
				n, convErr := strconv.Atoi(strings.TrimSpace(v))
				if convErr != nil || n <= 0 {
					return tokenFault(fmt.Errorf("LifetimeInSeconds: variable %s is %q, not a positive number of seconds", g.lifetimeRef, v))
				}
				lifetime = n
			}
		}
		tok, err = g.tokens.AccessToken(ctx, g.serviceAccount, g.scopes, time.Duration(lifetime)*time.Second)
	}
	if err != nil {
		return tokenFault(err)
	}
	req.Header.Set(g.header, "Bearer "+tok)
	return nil
}

func tokenFault(err error) *flow.Fault {
	return &flow.Fault{Code: CodeGoogleTokenGenerationFailure, Status: http.StatusInternalServerError,
		Message: "Failed to generate Google token: " + cpclient.ErrorMessage(err)}
}

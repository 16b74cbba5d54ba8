// Package jwt implements Apigee's JOSE policies: GenerateJWT, VerifyJWT,
// DecodeJWT, GenerateJWS, VerifyJWS and DecodeJWS. Signing and
// verification use github.com/go-jose/go-jose/v4; this package only parses
// the policy, finds keys and claims, checks times and claims and sets the
// jwt.<policy>.* / jws.<policy>.* variables.
//
// Supported: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512
// and EdDSA (Ed25519) signed tokens; keys from variables (SecretKey with an
// encoding, PEM private keys — a legacy encrypted PEM with <Password> —,
// PEM public keys and certificates, a JWKS from a variable or fetched from
// <JWKS uri> and cached for five minutes, selected by kid). Encrypted JWTs
// (<Type>Encrypted</Type>): RSA-OAEP / RSA-OAEP-256 with A128GCM, A192GCM
// or A256GCM (encrypted.go); other key algorithms fail the deployment.
package jwt

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/template"
)

type action int

const (
	generate action = iota
	verify
	decode
)

// value is an element given literally or by ref="variable".
type value struct {
	ref string
	lit string
	set bool
}

func (v value) get(mc *flow.MessageContext) (string, bool) {
	if !v.set {
		return "", false
	}
	if v.ref != "" {
		s, ok := mc.GetString(v.ref)
		if !ok && v.lit != "" {
			return v.lit, true
		}
		return s, ok
	}
	return v.lit, true
}

func parseValue(el *xmltree.Element) value {
	if el == nil {
		return value{}
	}
	return value{ref: strings.TrimSpace(el.Attr("ref")), lit: strings.TrimSpace(el.Text), set: true}
}

type claim struct {
	name  string
	typ   string // string, number, boolean, map
	array bool
	val   value
}

type policy struct {
	name     string
	ns       string // "jwt" or "jws"
	jws      bool
	act      action
	algs     []string
	ignore   bool
	source   string
	output   string
	secret   value
	secretEn string
	privKey  value
	password value
	keyID    value
	pubKey   value
	cert     value
	jwksRef  string
	jwksURI  *template.Template
	jwks     *jwksCache

	subject, issuer, audience, id value
	expiresIn, notBefore          value
	timeAllowance                 time.Duration
	claims                        []claim
	claimsRef                     string
	headers                       []claim
	headersRef                    string
	critical                      []string
	ignoreCrit                    bool
	knownHeaders                  []string

	// Encrypted JWT (JWE): key management and content encryption.
	encrypted  bool
	keyAlg     string
	contentAlg string

	// JWS
	payload        value
	detach         bool
	detachedSource string
}

var knownAlgs = map[string]bool{
	"HS256": true, "HS384": true, "HS512": true,
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true,
}

var registeredClaims = map[string]bool{"kid": true, "iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true}
var registeredHeaders = map[string]bool{"alg": true, "typ": true, "kid": true, "crit": true, "b64": true}

func compile(cc *flow.CompileContext, typ string, jws bool, act action) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid(typ, "%v", err)
	}
	p := &policy{name: cc.Policy.Name, jws: jws, act: act, ns: "jwt"}
	if jws {
		p.ns = "jws"
	}
	el := func(n string) string { return typ + "/" + n }
	if t := strings.TrimSpace(root.ChildText("Type")); t != "" && !strings.EqualFold(t, "Signed") {
		if !strings.EqualFold(t, "Encrypted") {
			return nil, flow.Invalid(el("Type"), "InvalidValueForElement: %q is not Signed or Encrypted", t)
		}
		if jws || act == decode {
			return nil, flow.Invalid(el("Type"), "InvalidValueForElement: <Type>Encrypted</Type> is only valid in GenerateJWT and VerifyJWT")
		}
		p.encrypted = true
	}
	if p.ignore, err = root.Bool("IgnoreUnresolvedVariables", false); err != nil {
		return nil, flow.Invalid(el("IgnoreUnresolvedVariables"), "InvalidValueForElement: %v", err)
	}
	// Algorithms.
	if p.encrypted {
		return compileEncrypted(cc, root, p, typ)
	}
	if a := root.Child("Algorithms"); a != nil {
		if a.Child("Key") != nil || a.Child("Content") != nil {
			return nil, flow.Invalid(el("Algorithms"), "InvalidConfigurationForActionAndAlgorithm: <Key>/<Content> need <Type>Encrypted</Type>")
		}
		if act != verify {
			return nil, flow.Invalid(el("Algorithms"), "InvalidConfigurationForActionAndAlgorithm: <Algorithms> is only valid in a Verify policy")
		}
		for _, s := range strings.Split(a.Text, ",") {
			if s = strings.TrimSpace(s); s != "" {
				p.algs = append(p.algs, s)
			}
		}
	} else if s := strings.TrimSpace(root.ChildText("Algorithm")); s != "" {
		p.algs = []string{s}
	}
	for _, a := range p.algs {
		if strings.HasPrefix(a, "RSA-OAEP") || strings.HasPrefix(a, "A1") || strings.HasPrefix(a, "A2") || strings.HasPrefix(a, "ECDH") || a == "PBES2-HS256+A128KW" {
			return nil, flow.Invalid(el("Algorithm"), "encryption algorithm %s is not supported by this runtime (encrypted tokens are not supported)", a)
		}
		if !knownAlgs[a] {
			return nil, flow.Invalid(el("Algorithm"), "InvalidAlgorithm: %q is not a supported algorithm (HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)", a)
		}
	}
	if act != decode && len(p.algs) == 0 {
		return nil, flow.Invalid(el("Algorithm"), "MissingConfigurationElement: the Algorithm element is required")
	}
	// Keys.
	needSecret, needPriv, needPub := false, false, false
	for _, a := range p.algs {
		switch {
		case strings.HasPrefix(a, "HS"):
			needSecret = true
		case act == generate:
			needPriv = true
		default:
			needPub = true
		}
	}
	if act != decode {
		if sk := root.Child("SecretKey"); sk != nil {
			p.secret = parseValue(sk.Child("Value"))
			p.secretEn = strings.ToLower(strings.TrimSpace(sk.Attr("encoding")))
			switch p.secretEn {
			case "", "utf8", "utf-8", "base16", "hex", "base64", "base64url":
			default:
				return nil, flow.Invalid(el("SecretKey"), "InvalidValueForElement: encoding %q is not utf8, base16, hex, base64 or base64url", p.secretEn)
			}
			p.keyID = parseValue(sk.Child("Id"))
		}
		if pk := root.Child("PrivateKey"); pk != nil {
			p.privKey = parseValue(pk.Child("Value"))
			p.password = parseValue(pk.Child("Password"))
			p.keyID = parseValue(pk.Child("Id"))
		}
		if pk := root.Child("PublicKey"); pk != nil {
			p.pubKey = parseValue(pk.Child("Value"))
			p.cert = parseValue(pk.Child("Certificate"))
			if j := pk.Child("JWKS"); j != nil {
				p.jwksRef = strings.TrimSpace(j.Attr("ref"))
				if u := strings.TrimSpace(j.Attr("uri")); u != "" {
					t, err := template.Compile(u)
					if err != nil {
						return nil, flow.Invalid(el("PublicKey/JWKS"), "uri: %v", err)
					}
					p.jwksURI = t
					p.jwks = newJWKSCache(cc.HTTPClient)
				} else if p.jwksRef == "" {
					return nil, flow.Invalid(el("PublicKey/JWKS"), "InvalidKeyConfiguration: JWKS needs a ref or uri attribute")
				}
			}
		}
		for _, v := range []struct {
			name string
			v    value
		}{{"SecretKey/Value", p.secret}, {"PrivateKey/Password", p.password}} {
			if !v.v.set {
				continue
			}
			if v.v.ref == "" {
				if v.v.lit != "" {
					return nil, flow.Invalid(el(v.name), "InvalidSecretInConfig: the secret must be given with ref, not literally")
				}
				return nil, flow.Invalid(el(v.name), "EmptyElementForKeyConfiguration: the ref attribute is required")
			}
			if !strings.HasPrefix(v.v.ref, "private.") {
				return nil, flow.Invalid(el(v.name), "InvalidVariableNameForSecret: variable %q must start with \"private.\"", v.v.ref)
			}
		}
		switch {
		case needSecret && !p.secret.set:
			return nil, flow.Invalid(el("SecretKey"), "MissingConfigurationElement: algorithm %s needs <SecretKey><Value ref>", strings.Join(p.algs, ","))
		case needPriv && !p.privKey.set:
			return nil, flow.Invalid(el("PrivateKey"), "MissingConfigurationElement: algorithm %s needs <PrivateKey><Value ref>", strings.Join(p.algs, ","))
		case needPub && !p.pubKey.set && !p.cert.set && p.jwksRef == "" && p.jwksURI == nil:
			return nil, flow.Invalid(el("PublicKey"), "MissingConfigurationElement: algorithm %s needs <PublicKey> with <Value>, <Certificate> or <JWKS>", strings.Join(p.algs, ","))
		}
		if p.privKey.set && p.privKey.ref == "" && p.privKey.lit == "" {
			return nil, flow.Invalid(el("PrivateKey/Value"), "EmptyElementForKeyConfiguration: the ref attribute is required")
		}
		if p.pubKey.set && p.pubKey.ref == "" && p.pubKey.lit == "" {
			return nil, flow.Invalid(el("PublicKey/Value"), "EmptyElementForKeyConfiguration: a ref attribute or a PEM value is required")
		}
	}
	return compileCommon(root, p, typ)
}

// compileCommon reads what signed and encrypted tokens share: source,
// output, claims, times and headers.
func compileCommon(root *xmltree.Element, p *policy, typ string) (flow.Policy, error) {
	var err error
	el := func(n string) string { return typ + "/" + n }
	jws, act := p.jws, p.act
	p.source = strings.TrimSpace(root.ChildText("Source"))
	p.output = strings.TrimSpace(root.ChildText("OutputVariable"))
	if act == generate && p.output == "" {
		p.output = p.ns + "." + p.name + ".generated_" + p.ns
	}
	if act != generate && p.source == "" {
		p.source = "request.header.authorization"
	}
	p.subject = parseValue(root.Child("Subject"))
	p.issuer = parseValue(root.Child("Issuer"))
	p.audience = parseValue(root.Child("Audience"))
	p.id = parseValue(root.Child("Id")) // top-level <Id> is jti; <Id> in a key element is the kid
	p.expiresIn = parseValue(root.Child("ExpiresIn"))
	p.notBefore = parseValue(root.Child("NotBefore"))
	for _, v := range []struct {
		name string
		v    value
	}{{"ExpiresIn", p.expiresIn}, {"NotBefore", p.notBefore}} {
		if v.v.set && v.v.ref == "" {
			if _, err := parseInterval(v.v.lit); err != nil {
				if _, err2 := parseTime(v.v.lit); v.name == "ExpiresIn" || err2 != nil {
					return nil, flow.Invalid(el(v.name), "InvalidTimeFormat: %v", err)
				}
			}
		}
	}
	if ta := root.Child("TimeAllowance"); ta != nil {
		d, err := parseInterval(strings.TrimSpace(ta.Text))
		if err != nil {
			return nil, flow.Invalid(el("TimeAllowance"), "InvalidTimeFormat: %v", err)
		}
		p.timeAllowance = d
	}
	if p.ignoreCrit, err = root.Bool("IgnoreCriticalHeaders", false); err != nil {
		return nil, flow.Invalid(el("IgnoreCriticalHeaders"), "InvalidValueForElement: %v", err)
	}
	for _, s := range strings.Split(root.ChildText("CriticalHeaders"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			p.critical = append(p.critical, s)
		}
	}
	for _, s := range strings.Split(root.ChildText("KnownHeaders"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			p.knownHeaders = append(p.knownHeaders, s)
		}
	}
	if p.claims, p.claimsRef, err = parseClaims(p.name, root.Child("AdditionalClaims"), el("AdditionalClaims"), "Claim", registeredClaims, !jws); err != nil {
		return nil, err
	}
	if p.headers, p.headersRef, err = parseClaims(p.name, root.Child("AdditionalHeaders"), el("AdditionalHeaders"), "Claim", registeredHeaders, true); err != nil {
		return nil, err
	}
	if jws {
		p.payload = parseValue(root.Child("Payload"))
		if act == generate && !p.payload.set {
			return nil, flow.Invalid(el("Payload"), "MissingConfigurationElement: the Payload element is required")
		}
		if p.detach, err = root.Bool("DetachContent", false); err != nil {
			return nil, flow.Invalid(el("DetachContent"), "InvalidValueForElement: %v", err)
		}
		p.detachedSource = strings.TrimSpace(root.ChildText("DetachedContent"))
	}
	return p, nil
}

func parseClaims(policyName string, parent *xmltree.Element, path, child string, reserved map[string]bool, checkReserved bool) ([]claim, string, error) {
	if parent == nil {
		return nil, "", nil
	}
	var out []claim
	kind := "Claim"
	if strings.HasSuffix(path, "Headers") {
		kind = "Header"
	}
	for _, c := range parent.All(child) {
		name := strings.TrimSpace(c.Attr("name"))
		if name == "" {
			return nil, "", flow.Invalid(path+"/"+child, "MissingNameFor%s: the name attribute is required", "Additional"+kind)
		}
		if checkReserved && reserved[name] {
			// Apigee's text (verify-JWT-deployment-errors troubleshooting page).
			return nil, "", flow.Invalid(path+"/"+child, "InvalidNameForAdditional%s: Invalid name for additional %s : policy(%s) %s(%s).",
				kind, strings.ToLower(kind), policyName, strings.ToLower(kind), name)
		}
		typ := strings.TrimSpace(c.Attr("type"))
		if typ == "" {
			typ = "string"
		}
		switch typ {
		case "string", "number", "boolean", "map":
		default:
			return nil, "", flow.Invalid(path+"/"+child, "InvalidTypeForAdditional%s: type %q of %q is not string, number, boolean or map", kind, typ, name)
		}
		arr, err := c.BoolAttr("array", false)
		if err != nil {
			return nil, "", flow.Invalid(path+"/"+child, "InvalidValueOfArrayAttribute: %v", err)
		}
		cl := claim{name: name, typ: typ, array: arr, val: parseValue(c)}
		if cl.val.ref == "" && cl.val.lit != "" {
			if _, err := typed(cl, cl.val.lit); err != nil {
				return nil, "", flow.Invalid(path+"/"+child, "InvalidValueForElement: %s %q: %v", kind, name, err)
			}
		}
		out = append(out, cl)
	}
	return out, strings.TrimSpace(parent.Attr("ref")), nil
}

// typed converts a claim's text to its declared JSON type.
func typed(c claim, s string) (any, error) {
	one := func(s string) (any, error) {
		switch c.typ {
		case "number":
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i, nil
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", s)
			}
			return f, nil
		case "boolean":
			b, err := strconv.ParseBool(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not a boolean", s)
			}
			return b, nil
		case "map":
			var m map[string]any
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				return nil, fmt.Errorf("not a JSON object: %v", err)
			}
			return m, nil
		}
		return s, nil
	}
	if !c.array {
		return one(s)
	}
	st := strings.TrimSpace(s)
	if strings.HasPrefix(st, "[") {
		var arr []any
		if err := json.Unmarshal([]byte(st), &arr); err == nil {
			return arr, nil
		}
	}
	var arr []any
	for _, part := range strings.Split(s, ",") {
		v, err := one(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	return arr, nil
}

// parseInterval reads Apigee time intervals: a number with an optional
// unit ms, s, m, h, d, w (no unit: seconds).
func parseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a time interval (number with ms, s, m, h, d or w)", s)
	}
	n, _ := strconv.ParseInt(s[:i], 10, 64)
	units := map[string]time.Duration{"": time.Second, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	u, ok := units[strings.TrimSpace(s[i:])]
	if !ok {
		return 0, fmt.Errorf("%q has an unknown unit (ms, s, m, h, d, w)", s)
	}
	d := time.Duration(n) * u
	if neg {
		d = -d
	}
	return d, nil
}

func parseTime(s string) (time.Time, error) {
	for _, f := range []string{time.RFC3339, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(f, s); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}

// Compilers, one per policy type.

func CompileGenerateJWT(cc *flow.CompileContext) (flow.Policy, error) {
	return compile(cc, "GenerateJWT", false, generate)
}
func CompileVerifyJWT(cc *flow.CompileContext) (flow.Policy, error) {
	return compile(cc, "VerifyJWT", false, verify)
}
func CompileDecodeJWT(cc *flow.CompileContext) (flow.Policy, error) {
	return compile(cc, "DecodeJWT", false, decode)
}
func CompileGenerateJWS(cc *flow.CompileContext) (flow.Policy, error) {
	return compile(cc, "GenerateJWS", true, generate)
}
func CompileVerifyJWS(cc *flow.CompileContext) (flow.Policy, error) {
	return compile(cc, "VerifyJWS", true, verify)
}
func CompileDecodeJWS(cc *flow.CompileContext) (flow.Policy, error) {
	return compile(cc, "DecodeJWS", true, decode)
}

package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

// Now is the clock (tests may replace it).
var Now = time.Now

// fault builds steps.<ns>.<name>; Apigee's JWT/JWS runtime errors are all
// 401 in its error reference.
func (p *policy) fault(name, format string, args ...any) *flow.Fault {
	return &flow.Fault{Code: "steps." + p.ns + "." + name, Status: http.StatusUnauthorized,
		Message: fmt.Sprintf(format, args...)}
}

func (p *policy) v(name string) string { return p.ns + "." + p.name + "." + name }

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	var err error
	switch p.act {
	case generate:
		err = p.generate(mc)
	default:
		err = p.verifyOrDecode(ctx, mc)
	}
	if p.act != generate {
		var f *flow.Fault
		if errors.As(err, &f) {
			mc.SetVar(p.v("valid"), false)
			mc.SetVar(p.v("error"), f.Message)
		}
	}
	return err
}

func (p *policy) resolve(mc *flow.MessageContext, v value) (string, bool, error) {
	if !v.set {
		return "", false, nil
	}
	s, ok := v.get(mc)
	if !ok {
		if p.ignore {
			return "", false, nil
		}
		return "", false, p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", v.ref)
	}
	return s, true, nil
}

func (p *policy) typedClaims(mc *flow.MessageContext, cs []claim, ref string) (map[string]any, error) {
	out := map[string]any{}
	if ref != "" {
		raw, ok := mc.Lookup(ref)
		if !ok && !p.ignore {
			return nil, p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", ref)
		}
		switch m := raw.(type) {
		case map[string]any:
			for k, v := range m {
				out[k] = v
			}
		case string:
			if err := json.Unmarshal([]byte(m), &out); err != nil {
				return nil, p.fault("InvalidJsonFormat", "Invalid JSON format for variable %s: policy(%s)", ref, p.name)
			}
		}
	}
	for _, c := range cs {
		var s string
		if c.val.ref != "" {
			raw, ok := mc.Lookup(c.val.ref)
			if !ok {
				if c.val.lit != "" {
					s = c.val.lit
				} else if p.ignore {
					continue
				} else {
					return nil, p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", c.val.ref)
				}
			} else if arr, isArr := raw.([]any); isArr && c.array {
				out[c.name] = arr
				continue
			} else {
				s = fmt.Sprint(raw)
			}
		} else {
			s = c.val.lit
		}
		v, err := typed(c, s)
		if err != nil {
			return nil, p.fault("InvalidClaim", "Invalid Claim: policy(%s) claim(%s): %v", p.name, c.name, err)
		}
		out[c.name] = v
	}
	return out, nil
}

func algorithm(a string) jose.SignatureAlgorithm { return jose.SignatureAlgorithm(a) }

func (p *policy) signingKey(mc *flow.MessageContext, alg string) (any, string, error) {
	kid, _, err := p.resolve(mc, p.keyID)
	if err != nil {
		return nil, "", err
	}
	if strings.HasPrefix(alg, "HS") {
		s, ok, err := p.resolve(mc, p.secret)
		if err != nil || !ok {
			return nil, "", firstErr(err, p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", p.secret.ref))
		}
		k, derr := decodeSecret(s, p.secretEn)
		if derr != nil {
			return nil, "", p.fault("KeyParsingFailed", "Failed to parse key: policy(%s): %v", p.name, derr)
		}
		return k, kid, nil
	}
	s, ok, err := p.resolve(mc, p.privKey)
	if err != nil || !ok {
		return nil, "", firstErr(err, p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", p.privKey.ref))
	}
	pw, _, err := p.resolve(mc, p.password)
	if err != nil {
		return nil, "", err
	}
	k, perr := parsePrivateKey(s, pw)
	if perr != nil {
		return nil, "", p.fault("KeyParsingFailed", "Failed to parse key: policy(%s): %v", p.name, perr)
	}
	if !keyFits(alg, k) {
		return nil, "", p.fault("WrongKeyType", "Wrong key type for algorithm %s: policy(%s)", alg, p.name)
	}
	return k, kid, nil
}

func keyFits(alg string, k any) bool {
	switch k.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return strings.HasPrefix(alg, "ES")
	case ed25519.PrivateKey, ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

func firstErr(err error, def error) error {
	if err != nil {
		return err
	}
	return def
}

func (p *policy) generate(mc *flow.MessageContext) error {
	var (
		alg, kid string
		key      any
		err      error
	)
	if !p.encrypted {
		alg = p.algs[0]
		if key, kid, err = p.signingKey(mc, alg); err != nil {
			return err
		}
	}
	headers, err := p.typedClaims(mc, p.headers, p.headersRef)
	if err != nil {
		return err
	}
	var payload []byte
	if p.jws {
		s, ok, err := p.resolve(mc, p.payload)
		if err != nil {
			return err
		}
		if !ok && !p.ignore {
			return p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", p.payload.ref)
		}
		payload = []byte(s)
	} else {
		claims, err := p.typedClaims(mc, p.claims, p.claimsRef)
		if err != nil {
			return err
		}
		now := Now()
		claims["iat"] = now.Unix()
		for name, v := range map[string]value{"iss": p.issuer, "sub": p.subject, "jti": p.id} {
			s, ok, err := p.resolve(mc, v)
			if err != nil {
				return err
			}
			if ok && s != "" {
				claims[name] = s
			}
		}
		if s, ok, err := p.resolve(mc, p.audience); err != nil {
			return err
		} else if ok && s != "" {
			if parts := splitList(s); len(parts) > 1 {
				claims["aud"] = parts
			} else {
				claims["aud"] = s
			}
		}
		if s, ok, err := p.resolve(mc, p.expiresIn); err != nil {
			return err
		} else if ok && s != "" {
			d, perr := parseInterval(s)
			if perr != nil {
				return p.fault("InvalidConfiguration", "Invalid ExpiresIn %q: policy(%s)", s, p.name)
			}
			claims["exp"] = now.Add(d).Unix()
		}
		if s, ok, err := p.resolve(mc, p.notBefore); err != nil {
			return err
		} else if ok && s != "" {
			if d, perr := parseInterval(s); perr == nil {
				claims["nbf"] = now.Add(d).Unix()
			} else if t, terr := parseTime(s); terr == nil {
				claims["nbf"] = t.Unix()
			} else {
				return p.fault("InvalidConfiguration", "Invalid NotBefore %q: policy(%s)", s, p.name)
			}
		}
		if payload, err = json.Marshal(claims); err != nil {
			return p.fault("UnknownException", "%v", err)
		}
	}
	if p.encrypted {
		out, err := p.encrypt(mc, payload, headers)
		if err != nil {
			return err
		}
		mc.SetVar(p.output, out)
		return nil
	}
	opts := &jose.SignerOptions{}
	if !p.jws {
		opts = opts.WithType("JWT")
	}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	for k, v := range headers {
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	if len(p.critical) > 0 {
		opts = opts.WithHeader("crit", p.critical)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: algorithm(alg), Key: key}, opts)
	if err != nil {
		return p.fault("SigningFailed", "Failed to sign: policy(%s): %v", p.name, err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		if errors.Is(err, jose.ErrInvalidKeySize) {
			return p.fault("KeyParsingFailed", "Failed to parse key: policy(%s): the key is too short for %s", p.name, alg)
		}
		return p.fault("SigningFailed", "Failed to sign: policy(%s): %v", p.name, err)
	}
	var out string
	if p.detach {
		out, err = obj.DetachedCompactSerialize()
	} else {
		out, err = obj.CompactSerialize()
	}
	if err != nil {
		return p.fault("SigningFailed", "Failed to sign: policy(%s): %v", p.name, err)
	}
	mc.SetVar(p.output, out)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func b64json(s string, into *map[string]any) error {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	return dec.Decode(into)
}

func (p *policy) verifyOrDecode(ctx context.Context, mc *flow.MessageContext) error {
	raw, ok := mc.GetString(p.source)
	if !ok || strings.TrimSpace(raw) == "" {
		if p.ignore && p.act == decode {
			return nil
		}
		if !ok && !p.ignore {
			return p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", p.source)
		}
		return p.fault("InvalidToken", "Invalid token: policy(%s)", p.name)
	}
	token := strings.TrimSpace(raw)
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	parts := strings.Split(token, ".")
	if len(parts) == 5 && !p.jws {
		return p.verifyEncrypted(mc, token, parts[0])
	}
	if p.encrypted {
		return p.fault("InvalidToken", "Invalid token: policy(%s): the token is not encrypted", p.name)
	}
	if len(parts) != 3 {
		return p.fault("FailedToDecode", "Failed to Decode Token: policy(%s)", p.name)
	}
	var header map[string]any
	if err := b64json(parts[0], &header); err != nil {
		return p.fault("FailedToDecode", "Failed to Decode Token: policy(%s)", p.name)
	}
	var payload []byte
	detached := parts[1] == ""
	if detached {
		if p.detachedSource == "" {
			if p.act == verify {
				return p.fault("InvalidToken", "Invalid token: policy(%s): detached content without <DetachedContent>", p.name)
			}
		} else {
			s, ok := mc.GetString(p.detachedSource)
			if !ok {
				return p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", p.detachedSource)
			}
			payload = []byte(s)
		}
	} else {
		var err error
		if payload, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "=")); err != nil {
			return p.fault("FailedToDecode", "Failed to Decode Token: policy(%s)", p.name)
		}
	}
	var claims map[string]any
	if !p.jws {
		dec := json.NewDecoder(strings.NewReader(string(payload)))
		dec.UseNumber()
		if err := dec.Decode(&claims); err != nil {
			return p.fault("FailedToDecode", "Failed to Decode Token: policy(%s)", p.name)
		}
	}
	alg, _ := header["alg"].(string)
	// Decoded variables are set before verification.
	p.setHeaderVars(mc, "decoded.header.", header)
	if !p.jws {
		p.setClaimVars(mc, "decoded.claim.", claims)
	}
	if p.act == decode {
		p.setHeaderVars(mc, "header.", header)
		p.setHeaderJSON(mc, parts[0])
		if p.jws {
			mc.SetVar(p.v("payload"), string(payload))
		} else {
			p.setClaimVars(mc, "claim.", claims)
			p.setTimes(mc, claims)
		}
		return nil
	}
	if alg == "" {
		return p.fault("NoAlgorithmFoundInHeader", "No algorithm found in header: policy(%s)", p.name)
	}
	match := false
	for _, a := range p.algs {
		if a == alg {
			match = true
		}
	}
	if !match {
		return p.fault("AlgorithmMismatch", "Algorithm in header did not match any algorithm specified in Configuration: policy(%s)", p.name)
	}
	if crit, ok := header["crit"].([]any); ok && !p.ignoreCrit {
		for _, c := range crit {
			name, _ := c.(string)
			known := false
			for _, k := range p.knownHeaders {
				if k == name {
					known = true
				}
			}
			if !known {
				return p.fault("UnhandledCriticalHeader", "Critical header not handled: %s: policy(%s)", name, p.name)
			}
		}
	}
	kid, _ := header["kid"].(string)
	key, err := p.verificationKey(ctx, mc, alg, kid)
	if err != nil {
		return err
	}
	obj, perr := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{algorithm(alg)})
	if errors.Is(perr, jose.ErrUnsupportedCriticalHeader) {
		return p.fault("UnhandledCriticalHeader", "Critical header not handled: policy(%s)", p.name)
	}
	if perr != nil {
		return p.fault("InvalidToken", "Invalid token: policy(%s)", p.name)
	}
	if detached {
		err = obj.DetachedVerify(payload, key)
	} else {
		_, err = obj.Verify(key)
	}
	if err != nil {
		if errors.Is(err, jose.ErrInvalidKeySize) {
			return p.fault("KeyParsingFailed", "Failed to parse key: policy(%s): the key is too short for %s", p.name, alg)
		}
		if errors.Is(err, jose.ErrUnsupportedCriticalHeader) {
			return p.fault("UnhandledCriticalHeader", "Critical header not handled: policy(%s)", p.name)
		}
		return p.fault("InvalidSignature", "Signature could not be verified: policy(%s)", p.name)
	}
	p.setHeaderVars(mc, "header.", header)
	p.setHeaderJSON(mc, parts[0])
	if p.jws {
		mc.SetVar(p.v("payload"), string(payload))
		mc.SetVar(p.v("valid"), true)
		return nil
	}
	return p.checkClaims(mc, claims)
}

// verifyEncrypted decrypts a JWE (VerifyJWT) or, for DecodeJWT, reads
// only its header.
func (p *policy) verifyEncrypted(mc *flow.MessageContext, token, headerSeg string) error {
	var header map[string]any
	if err := b64json(headerSeg, &header); err != nil {
		return p.fault("FailedToDecode", "Failed to Decode Token: policy(%s)", p.name)
	}
	p.setHeaderVars(mc, "decoded.header.", header)
	if p.act == decode {
		p.setHeaderVars(mc, "header.", header)
		p.setHeaderJSON(mc, headerSeg)
		return nil
	}
	if !p.encrypted {
		return p.fault("InvalidToken", "Invalid token: policy(%s): the token is encrypted", p.name)
	}
	payload, err := p.decrypt(mc, token, header)
	if err != nil {
		return err
	}
	var claims map[string]any
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return p.fault("InvalidJsonFormat", "Invalid JSON format in the decrypted payload: policy(%s)", p.name)
	}
	p.setClaimVars(mc, "decoded.claim.", claims)
	p.setHeaderVars(mc, "header.", header)
	p.setHeaderJSON(mc, headerSeg)
	return p.checkClaims(mc, claims)
}

// checkClaims sets the claim variables of a verified token, then checks
// its times and the expected claims.
func (p *policy) checkClaims(mc *flow.MessageContext, claims map[string]any) error {
	p.setClaimVars(mc, "claim.", claims)
	p.setTimes(mc, claims)
	now := Now()
	if exp, ok := num(claims["exp"]); ok && now.After(time.Unix(exp, 0).Add(p.timeAllowance)) {
		return p.fault("TokenExpired", "The Token has expired: policy(%s)", p.name)
	}
	if nbf, ok := num(claims["nbf"]); ok && now.Add(p.timeAllowance).Before(time.Unix(nbf, 0)) {
		return p.fault("TokenNotYetValid", "The Token is not yet valid: policy(%s)", p.name)
	}
	for _, c := range []struct {
		v     value
		claim string
		code  string
		what  string
	}{{p.issuer, "iss", "JwtIssuerMismatch", "Issuer"}, {p.subject, "sub", "JwtSubjectMismatch", "Subject"}, {p.id, "jti", "InvalidClaim", "Id"}} {
		want, ok, err := p.resolve(mc, c.v)
		if err != nil {
			return err
		}
		if ok && fmt.Sprint(claims[c.claim]) != want {
			if c.code == "InvalidClaim" {
				return p.fault(c.code, "Invalid Claim: policy(%s) claim(%s)", p.name, c.claim)
			}
			return p.fault(c.code, "%s mismatch: policy(%s)", c.what, p.name)
		}
	}
	if want, ok, err := p.resolve(mc, p.audience); err != nil {
		return err
	} else if ok {
		got := map[string]bool{}
		switch a := claims["aud"].(type) {
		case string:
			got[a] = true
		case []any:
			for _, x := range a {
				got[fmt.Sprint(x)] = true
			}
		}
		found := false
		for _, w := range splitList(want) {
			if got[w] {
				found = true
			}
		}
		if !found {
			return p.fault("JwtAudienceMismatch", "Audience mismatch: policy(%s)", p.name)
		}
	}
	expected, err := p.typedClaims(mc, p.claims, p.claimsRef)
	if err != nil {
		return err
	}
	for name, want := range expected {
		if !claimMatches(claims[name], want) {
			return p.fault("InvalidClaim", "Invalid Claim: policy(%s) claim(%s)", p.name, name)
		}
	}
	mc.SetVar(p.v("valid"), true)
	return nil
}

func claimMatches(got, want any) bool {
	norm := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if norm(got) == norm(want) {
		return true
	}
	if gn, ok := num(got); ok {
		if wn, ok := num(want); ok {
			return gn == wn
		}
	}
	if arr, ok := got.([]any); ok {
		if wa, ok := want.([]any); ok {
			for _, w := range wa {
				if !claimMatches(arr, w) {
					return false
				}
			}
			return true
		}
		for _, g := range arr {
			if claimMatches(g, want) {
				return true
			}
		}
	}
	return false
}

func num(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		if f, err := n.Float64(); err == nil {
			return int64(f), true
		}
	case float64:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

func (p *policy) verificationKey(ctx context.Context, mc *flow.MessageContext, alg, kid string) (any, error) {
	if strings.HasPrefix(alg, "HS") {
		k, _, err := p.signingKey(mc, alg)
		return k, err
	}
	var set *jose.JSONWebKeySet
	switch {
	case p.jwksRef != "":
		s, ok := mc.GetString(p.jwksRef)
		if !ok {
			return nil, p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", p.jwksRef)
		}
		var err error
		if set, err = parseJWKS([]byte(s)); err != nil {
			return nil, p.fault("KeyParsingFailed", "Failed to parse key: policy(%s): %v", p.name, err)
		}
	case p.jwksURI != nil:
		uri, missing := p.jwksURI.Execute(mc)
		if missing != "" {
			return nil, p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", missing)
		}
		var err error
		if set, err = p.jwks.get(ctx, uri); err != nil {
			return nil, p.fault("UnknownException", "Failed to fetch JWKS: policy(%s): %v", p.name, err)
		}
	}
	if set != nil {
		var keys []jose.JSONWebKey
		if kid != "" {
			keys = set.Key(kid)
		} else if len(set.Keys) == 1 {
			keys = set.Keys
		}
		if len(keys) == 0 {
			return nil, p.fault("NoMatchingPublicKey", "No matching public key found: policy(%s)", p.name)
		}
		k := keys[0].Key
		if !keyFits(alg, k) {
			return nil, p.fault("WrongKeyType", "Wrong key type for algorithm %s: policy(%s)", alg, p.name)
		}
		return k, nil
	}
	v := p.pubKey
	if !v.set {
		v = p.cert
	}
	s, ok := v.get(mc)
	if !ok {
		return nil, p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", v.ref)
	}
	k, err := parsePublicKey(s)
	if err != nil {
		return nil, p.fault("KeyParsingFailed", "Failed to parse key: policy(%s): %v", p.name, err)
	}
	if !keyFits(alg, k) {
		return nil, p.fault("WrongKeyType", "Wrong key type for algorithm %s: policy(%s)", alg, p.name)
	}
	return k, nil
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (p *policy) setHeaderVars(mc *flow.MessageContext, prefix string, h map[string]any) {
	for k, v := range h {
		mc.SetVar(p.v(prefix+k), str(v))
	}
	if prefix == "header." {
		mc.SetVar(p.v("header.algorithm"), str(h["alg"]))
		if _, ok := h["typ"]; ok {
			mc.SetVar(p.v("header.type"), str(h["typ"]))
		}
	}
}

func (p *policy) setHeaderJSON(mc *flow.MessageContext, seg string) {
	if raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "=")); err == nil {
		mc.SetVar(p.v("header-json"), string(raw))
	}
}

func (p *policy) setClaimVars(mc *flow.MessageContext, prefix string, c map[string]any) {
	names := make([]string, 0, len(c))
	for k, v := range c {
		names = append(names, k)
		mc.SetVar(p.v(prefix+k), str(v))
	}
	sort.Strings(names)
	if prefix != "claim." {
		return
	}
	alias := map[string]string{"iss": "issuer", "sub": "subject", "aud": "audience", "exp": "expiry", "iat": "issued_at", "nbf": "notbefore", "jti": "id"}
	for short, long := range alias {
		if v, ok := c[short]; ok {
			mc.SetVar(p.v("claim."+long), str(v))
		}
	}
	mc.SetVar(p.v("claim.names"), strings.Join(names, ","))
	mc.SetVar(p.v("payload-claim-names"), strings.Join(names, ","))
	mc.SetVar(p.v("payload-claim_count"), strconv.Itoa(len(names)))
	if b, err := json.Marshal(c); err == nil {
		mc.SetVar(p.v("payload-json"), string(b))
	}
}

func (p *policy) setTimes(mc *flow.MessageContext, c map[string]any) {
	now := Now()
	if iat, ok := num(c["iat"]); ok {
		mc.SetVar(p.v("issued_at_formatted"), time.Unix(iat, 0).UTC().Format("2006-01-02T15:04:05Z"))
	}
	exp, ok := num(c["exp"])
	if !ok {
		mc.SetVar(p.v("is_expired"), "false")
		return
	}
	t := time.Unix(exp, 0)
	rem := t.Sub(now)
	mc.SetVar(p.v("expiry_formatted"), t.UTC().Format("2006-01-02T15:04:05Z"))
	mc.SetVar(p.v("is_expired"), strconv.FormatBool(rem < 0))
	secs := int64(math.Floor(rem.Seconds()))
	if secs < 0 {
		secs = 0
		rem = 0
	}
	mc.SetVar(p.v("seconds_remaining"), strconv.FormatInt(secs, 10))
	h := int64(rem / time.Hour)
	m := int64(rem/time.Minute) % 60
	s := int64(rem/time.Second) % 60
	ms := int64(rem/time.Millisecond) % 1000
	f := fmt.Sprintf("%02d:%02d:%02d.%03d", h, m, s, ms)
	mc.SetVar(p.v("time_remaining_formatted"), f)
	mc.SetVar(p.v("seconds_remaining_formatted"), f)
}

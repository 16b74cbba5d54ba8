// Package hmac implements Apigee's HMAC policy: it computes an HMAC of a
// <Message> template with a <SecretKey ref> and one of SHA-1, SHA-224,
// SHA-256, SHA-384, SHA-512 or MD5, writes it encoded (base16, base64,
// base64url) to hmac.<policy>.output and to <Output>, and, with
// <VerificationValue>, compares it in constant time with the expected
// value (steps.hmac.HmacVerificationFailed, 401, on a mismatch).
package hmac

import (
	"context"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // Apigee offers MD-5.
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/template"
)

// Runtime error codes (Apigee's HMAC policy error reference).
const (
	CodeVerificationFailed = "steps.hmac.HmacVerificationFailed"
	CodeUnresolvedVariable = "steps.hmac.UnresolvedVariable"
)

type policy struct {
	name      string
	newHash   func() hash.Hash
	keyRef    string
	keyEnc    string
	msg       *template.Template
	outEnc    string
	output    string
	verifyRef string
	verifyEnc string
	ignore    bool
}

var algorithms = map[string]func() hash.Hash{
	"SHA1": sha1.New, "SHA224": sha256.New224, "SHA256": sha256.New,
	"SHA384": sha512.New384, "SHA512": sha512.New, "MD5": md5.New,
}

func validEncoding(e string) bool {
	switch e {
	case "base16", "hex", "base64", "base64url":
		return true
	}
	return false
}

// Compile compiles an <HMAC> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("HMAC", "%v", err)
	}
	p := &policy{name: cc.Policy.Name, outEnc: "base64"}
	alg := strings.TrimSpace(root.ChildText("Algorithm"))
	if alg == "" {
		return nil, flow.Invalid("HMAC/Algorithm", "MissingConfigurationElement: the Algorithm element is required")
	}
	norm := strings.ToUpper(strings.ReplaceAll(alg, "-", ""))
	if p.newHash = algorithms[norm]; p.newHash == nil {
		return nil, flow.Invalid("HMAC/Algorithm", "InvalidValueForElement: %q is not SHA-1, SHA-224, SHA-256, SHA-384, SHA-512 or MD-5", alg)
	}
	sk := root.Child("SecretKey")
	if sk == nil {
		return nil, flow.Invalid("HMAC/SecretKey", "MissingConfigurationElement: the SecretKey element is required")
	}
	if p.keyRef = strings.TrimSpace(sk.Attr("ref")); p.keyRef == "" {
		if strings.TrimSpace(sk.Text) != "" {
			return nil, flow.Invalid("HMAC/SecretKey", "InvalidSecretInConfig: the secret key must be given with ref, not literally")
		}
		return nil, flow.Invalid("HMAC/SecretKey", "MissingConfigurationElement: the ref attribute is required")
	}
	if !strings.HasPrefix(p.keyRef, "private.") {
		return nil, flow.Invalid("HMAC/SecretKey", "InvalidVariableName: the secret key variable %q must start with \"private.\"", p.keyRef)
	}
	p.keyEnc = strings.ToLower(strings.TrimSpace(sk.Attr("encoding")))
	if p.keyEnc != "" && p.keyEnc != "utf8" && p.keyEnc != "utf-8" && !validEncoding(p.keyEnc) {
		return nil, flow.Invalid("HMAC/SecretKey", "InvalidValueForElement: encoding %q is not utf8, base16, base64 or base64url", p.keyEnc)
	}
	m := root.Child("Message")
	if m == nil {
		return nil, flow.Invalid("HMAC/Message", "MissingConfigurationElement: the Message element is required")
	}
	src := m.Text
	if ref := strings.TrimSpace(m.Attr("ref")); ref != "" {
		src = "{" + ref + "}"
	}
	if p.msg, err = template.Compile(src); err != nil {
		return nil, flow.Invalid("HMAC/Message", "%v", err)
	}
	if o := root.Child("Output"); o != nil {
		p.output = strings.TrimSpace(o.Text)
		if e := strings.ToLower(strings.TrimSpace(o.Attr("encoding"))); e != "" {
			if !validEncoding(e) {
				return nil, flow.Invalid("HMAC/Output", "InvalidValueForElement: encoding %q is not base16, base64 or base64url", e)
			}
			p.outEnc = e
		}
	}
	if v := root.Child("VerificationValue"); v != nil {
		if p.verifyRef = strings.TrimSpace(v.Attr("ref")); p.verifyRef == "" {
			return nil, flow.Invalid("HMAC/VerificationValue", "MissingConfigurationElement: the ref attribute is required")
		}
		p.verifyEnc = strings.ToLower(strings.TrimSpace(v.Attr("encoding")))
		if p.verifyEnc == "" {
			p.verifyEnc = "base64"
		}
		if !validEncoding(p.verifyEnc) {
			return nil, flow.Invalid("HMAC/VerificationValue", "InvalidValueForElement: encoding %q is not base16, base64 or base64url", p.verifyEnc)
		}
	}
	if p.ignore, err = root.Bool("IgnoreUnresolvedVariables", false); err != nil {
		return nil, flow.Invalid("HMAC/IgnoreUnresolvedVariables", "InvalidValueForElement: %v", err)
	}
	return p, nil
}

func encode(b []byte, enc string) string {
	switch enc {
	case "base16", "hex":
		return hex.EncodeToString(b)
	case "base64url":
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func decode(s, enc string) ([]byte, error) {
	s = strings.TrimSpace(s)
	switch enc {
	case "base16", "hex":
		return hex.DecodeString(strings.ToLower(s))
	case "base64url":
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	return base64.StdEncoding.DecodeString(s)
}

func (p *policy) unresolved(name string) *flow.Fault {
	return &flow.Fault{Code: CodeUnresolvedVariable, Status: http.StatusUnauthorized,
		Message: "Unresolved variable : " + name}
}

func (p *policy) Execute(_ context.Context, mc *flow.MessageContext) error {
	key, ok := mc.GetString(p.keyRef)
	if !ok {
		return p.unresolved(p.keyRef)
	}
	kb := []byte(key)
	if validEncoding(p.keyEnc) {
		var err error
		if kb, err = decode(key, p.keyEnc); err != nil {
			return &flow.Fault{Code: "steps.hmac.InvalidSecretKey", Status: http.StatusUnauthorized,
				Message: "The secret key is not valid " + p.keyEnc}
		}
	}
	msg, missing := p.msg.Execute(mc)
	if missing != "" && !p.ignore {
		return p.unresolved(missing)
	}
	mac := hmac.New(p.newHash, kb)
	mac.Write([]byte(msg))
	sum := mac.Sum(nil)
	out := encode(sum, p.outEnc)
	mc.SetVar("hmac."+p.name+".output", out)
	if p.output != "" {
		if err := mc.Set(p.output, out); err != nil {
			return err
		}
	}
	if p.verifyRef == "" {
		return nil
	}
	want, ok := mc.GetString(p.verifyRef)
	if !ok {
		return p.unresolved(p.verifyRef)
	}
	wb, err := decode(want, p.verifyEnc)
	if err != nil || !hmac.Equal(wb, sum) {
		return &flow.Fault{Code: CodeVerificationFailed, Status: http.StatusUnauthorized,
			Message: "HMAC Verification Failed"}
	}
	return nil
}

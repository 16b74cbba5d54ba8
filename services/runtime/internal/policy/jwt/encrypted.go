package jwt

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// Encrypted JWTs (<Type>Encrypted</Type>), by go-jose: RSA-OAEP and
// RSA-OAEP-256 key encryption to an RSA key, ECDH-ES (direct key agreement)
// and ECDH-ES+A128KW/A192KW/A256KW to an EC key (P-256, P-384, P-521); GCM
// or CBC-HMAC content encryption. GenerateJWT encrypts to
// <PublicKey><Value ref> (PEM); VerifyJWT decrypts with
// <PrivateKey><Value ref> (and <Password>).
var (
	keyAlgs = map[string]keyType{
		"RSA-OAEP": rsaKey, "RSA-OAEP-256": rsaKey,
		"ECDH-ES": ecKey, "ECDH-ES+A128KW": ecKey, "ECDH-ES+A192KW": ecKey, "ECDH-ES+A256KW": ecKey,
	}
	contentAlgs = map[string]bool{
		"A128GCM": true, "A192GCM": true, "A256GCM": true,
		"A128CBC-HS256": true, "A192CBC-HS384": true, "A256CBC-HS512": true,
	}
)

// keyType is the kind of key a key encryption algorithm works with.
type keyType uint8

const (
	rsaKey keyType = iota + 1
	ecKey
)

// fits reports whether k (a parsed public or private key) is of kind t.
func (t keyType) fits(k any) bool {
	switch k.(type) {
	case *rsa.PublicKey, *rsa.PrivateKey:
		return t == rsaKey
	case *ecdsa.PublicKey, *ecdsa.PrivateKey:
		return t == ecKey
	}
	return false
}

func compileEncrypted(_ *flow.CompileContext, root *xmltree.Element, p *policy, typ string) (flow.Policy, error) {
	el := func(n string) string { return typ + "/" + n }
	a := root.Child("Algorithms")
	if a == nil {
		return nil, flow.Invalid(el("Algorithms"), "MissingConfigurationElement: <Type>Encrypted</Type> needs <Algorithms><Key> and <Content>")
	}
	p.keyAlg = strings.TrimSpace(a.ChildText("Key"))
	p.contentAlg = strings.TrimSpace(a.ChildText("Content"))
	if p.keyAlg == "" {
		return nil, flow.Invalid(el("Algorithms/Key"), "MissingConfigurationElement: the key encryption algorithm is required")
	}
	if keyAlgs[p.keyAlg] == 0 {
		return nil, flow.Invalid(el("Algorithms/Key"), "key encryption algorithm %q is not supported by this runtime (RSA-OAEP, RSA-OAEP-256, ECDH-ES, ECDH-ES+A128KW, ECDH-ES+A192KW, ECDH-ES+A256KW)", p.keyAlg)
	}
	if p.contentAlg == "" {
		p.contentAlg = "A256GCM"
	}
	if !contentAlgs[p.contentAlg] {
		return nil, flow.Invalid(el("Algorithms/Content"), "content encryption algorithm %q is not supported by this runtime (A128GCM, A192GCM, A256GCM, A128CBC-HS256, A192CBC-HS384, A256CBC-HS512)", p.contentAlg)
	}
	if p.act == generate {
		pk := root.Child("PublicKey")
		if pk == nil || pk.Child("Value") == nil {
			return nil, flow.Invalid(el("PublicKey"), "MissingConfigurationElement: an encrypted JWT needs <PublicKey><Value ref>")
		}
		p.pubKey = parseValue(pk.Child("Value"))
		p.keyID = parseValue(pk.Child("Id"))
	} else {
		pk := root.Child("PrivateKey")
		if pk == nil || pk.Child("Value") == nil {
			return nil, flow.Invalid(el("PrivateKey"), "MissingConfigurationElement: decrypting a JWT needs <PrivateKey><Value ref>")
		}
		p.privKey = parseValue(pk.Child("Value"))
		p.password = parseValue(pk.Child("Password"))
		if p.password.set && !strings.HasPrefix(p.password.ref, "private.") {
			return nil, flow.Invalid(el("PrivateKey/Password"), "InvalidVariableNameForSecret: the password must be given with a ref starting with \"private.\"")
		}
	}
	return compileCommon(root, p, typ)
}

// encrypt serializes claims as a compact JWE.
func (p *policy) encrypt(mc *flow.MessageContext, payload []byte, headers map[string]any) (string, error) {
	s, ok, err := p.resolve(mc, p.pubKey)
	if err != nil || !ok {
		return "", firstErr(err, p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", p.pubKey.ref))
	}
	k, perr := parsePublicKey(s)
	if perr != nil {
		return "", p.fault("KeyParsingFailed", "Failed to parse key: policy(%s): %v", p.name, perr)
	}
	if !keyAlgs[p.keyAlg].fits(k) {
		return "", p.fault("WrongKeyType", "Wrong key type for algorithm %s: policy(%s)", p.keyAlg, p.name)
	}
	kid, _, err := p.resolve(mc, p.keyID)
	if err != nil {
		return "", err
	}
	opts := (&jose.EncrypterOptions{}).WithType("JWT")
	for name, v := range headers {
		opts = opts.WithHeader(jose.HeaderKey(name), v)
	}
	enc, err := jose.NewEncrypter(jose.ContentEncryption(p.contentAlg),
		jose.Recipient{Algorithm: jose.KeyAlgorithm(p.keyAlg), Key: k, KeyID: kid}, opts)
	if err != nil {
		return "", p.fault("UnknownException", "Failed to encrypt: policy(%s): %v", p.name, err)
	}
	obj, err := enc.Encrypt(payload)
	if err != nil {
		return "", p.fault("UnknownException", "Failed to encrypt: policy(%s): %v", p.name, err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		return "", p.fault("UnknownException", "Failed to encrypt: policy(%s): %v", p.name, err)
	}
	return out, nil
}

// decrypt opens a compact JWE and returns its plaintext.
func (p *policy) decrypt(mc *flow.MessageContext, token string, header map[string]any) ([]byte, error) {
	alg, _ := header["alg"].(string)
	encAlg, _ := header["enc"].(string)
	if alg == "" {
		return nil, p.fault("NoAlgorithmFoundInHeader", "No algorithm found in header: policy(%s)", p.name)
	}
	if alg != p.keyAlg || encAlg != p.contentAlg {
		return nil, p.fault("AlgorithmMismatch", "Algorithm in header did not match any algorithm specified in Configuration: policy(%s)", p.name)
	}
	s, ok, err := p.resolve(mc, p.privKey)
	if err != nil || !ok {
		return nil, firstErr(err, p.fault("FailedToResolveVariable", "Failed to resolve variable %s.", p.privKey.ref))
	}
	pw, _, err := p.resolve(mc, p.password)
	if err != nil {
		return nil, err
	}
	k, perr := parsePrivateKey(s, pw)
	if perr != nil {
		return nil, p.fault("KeyParsingFailed", "Failed to parse key: policy(%s): %v", p.name, perr)
	}
	if !keyAlgs[p.keyAlg].fits(k) {
		return nil, p.fault("WrongKeyType", "Wrong key type for algorithm %s: policy(%s)", p.keyAlg, p.name)
	}
	obj, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.KeyAlgorithm(p.keyAlg)},
		[]jose.ContentEncryption{jose.ContentEncryption(p.contentAlg)})
	if err != nil {
		return nil, p.fault("InvalidToken", "Invalid token: policy(%s)", p.name)
	}
	out, err := obj.Decrypt(k)
	if err != nil {
		return nil, p.fault("InvalidToken", "Invalid token: policy(%s): decryption failed", p.name)
	}
	return out, nil
}

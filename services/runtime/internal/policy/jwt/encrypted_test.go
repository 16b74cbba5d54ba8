package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

func pemKeys(t testing.TB, priv any, pub any) (privPEM, pubPEM string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
}

// Every supported key and content encryption pair round-trips through
// GenerateJWT and VerifyJWT with keys made by the standard library, and the
// decrypted claims and protected header land in the policy's variables.
func TestEncryptedRoundTrips(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKeys := map[string]*ecdsa.PrivateKey{}
	for name, c := range map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()} {
		ecKeys[name], err = ecdsa.GenerateKey(c, rand.Reader)
		require.NoError(t, err)
	}
	type keyPair struct{ name, priv, pub string }
	var rsaPair keyPair
	rsaPair.priv, rsaPair.pub = pemKeys(t, rsaKey, &rsaKey.PublicKey)
	rsaPair.name = "RSA-2048"
	var ecPairs []keyPair
	for name, k := range ecKeys {
		p := keyPair{name: name}
		p.priv, p.pub = pemKeys(t, k, &k.PublicKey)
		ecPairs = append(ecPairs, p)
	}
	for keyAlg, kind := range keyAlgs {
		pairs := []keyPair{rsaPair}
		if kind == ecKey {
			pairs = ecPairs
		}
		for contentAlg := range contentAlgs {
			for _, kp := range pairs {
				t.Run(fmt.Sprintf("%s/%s/%s", keyAlg, contentAlg, kp.name), func(t *testing.T) {
					algs := `<Type>Encrypted</Type><Algorithms><Key>` + keyAlg + `</Key><Content>` + contentAlg + `</Content></Algorithms>`
					gen := compileXML(t, "GenerateJWT", "G", `<GenerateJWT name="G">`+algs+`
						<PublicKey><Value ref="pub"/><Id>k1</Id></PublicKey><Subject>s</Subject><ExpiresIn>10m</ExpiresIn>
						<AdditionalClaims><Claim name="n" type="number">7</Claim></AdditionalClaims>
						<OutputVariable>tok</OutputVariable></GenerateJWT>`, nil)
					ver := compileXML(t, "VerifyJWT", "V", `<VerifyJWT name="V">`+algs+`
						<PrivateKey><Value ref="private.key"/></PrivateKey><Source>tok</Source><Subject>s</Subject></VerifyJWT>`, nil)
					mc := newMC()
					mc.SetVar("pub", kp.pub)
					mc.SetVar("private.key", kp.priv)
					require.NoError(t, gen.Execute(context.Background(), mc))
					tok, _ := mc.Get("tok").(string)
					require.Len(t, strings.Split(tok, "."), 5, "a compact JWE has five parts")
					require.NoError(t, ver.Execute(context.Background(), mc))
					require.Equal(t, true, mc.Get("jwt.V.valid"))
					require.Equal(t, keyAlg, mc.Get("jwt.V.header.alg"))
					require.Equal(t, contentAlg, mc.Get("jwt.V.header.enc"))
					require.Equal(t, "k1", mc.Get("jwt.V.header.kid"))
					require.Equal(t, "s", mc.Get("jwt.V.claim.subject"))
				})
			}
		}
	}
}

// A token opened with the wrong private key is an invalid token, never a
// panic or a success.
func TestEncryptedWrongKey(t *testing.T) {
	a, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	b, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, pubA := pemKeys(t, a, &a.PublicKey)
	privB, _ := pemKeys(t, b, &b.PublicKey)
	algs := `<Type>Encrypted</Type><Algorithms><Key>ECDH-ES+A128KW</Key><Content>A256GCM</Content></Algorithms>`
	gen := compileXML(t, "GenerateJWT", "G", `<GenerateJWT name="G">`+algs+`<PublicKey><Value ref="pub"/></PublicKey><OutputVariable>tok</OutputVariable></GenerateJWT>`, nil)
	ver := compileXML(t, "VerifyJWT", "V", `<VerifyJWT name="V">`+algs+`<PrivateKey><Value ref="private.key"/></PrivateKey><Source>tok</Source></VerifyJWT>`, nil)
	mc := newMC()
	mc.SetVar("pub", pubA)
	mc.SetVar("private.key", privB)
	require.NoError(t, gen.Execute(context.Background(), mc))
	err = ver.Execute(context.Background(), mc)
	var f *flow.Fault
	require.ErrorAs(t, err, &f)
	require.Equal(t, "steps.jwt.InvalidToken", f.Code)
	require.Equal(t, false, mc.Get("jwt.V.valid"))
}

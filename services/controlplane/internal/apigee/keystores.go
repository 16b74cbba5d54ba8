package apigee

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Keystores, truststores, their aliases and references, per environment,
// as the Apigee API serves them (organizations.environments.keystores,
// .keystores.aliases, .references). The contract carries them to the
// runtime, whose target SSLInfo resolves TrustStore/KeyStore/KeyAlias
// against them.

var (
	// Apigee: Keystore.name `[\w[:space:].-]{1,255}`; alias `[\w\s-.]{1,255}`
	// on create; reference `[\w\s\-.]+`.
	keystoreNameRE  = regexp.MustCompile(`^[\w\s.\-]{1,255}$`)
	aliasNameRE     = regexp.MustCompile(`^[\w\s.\-]{1,255}$`)
	referenceNameRE = regexp.MustCompile(`^[\w\s.\-]{1,255}$`)
)

// maxAliasBody bounds an alias upload: PEM or PKCS#12 material is small.
const maxAliasBody = 1 << 20

type keystoreView struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases"`
}

type aliasView struct {
	Alias     string          `json:"alias"`
	Type      string          `json:"type"`
	CertsInfo certificateView `json:"certsInfo"`
}

type certificateView struct {
	CertInfo []certInfoView `json:"certInfo"`
}

// certInfoView is Apigee's CertInfo; int64 fields travel as JSON strings,
// as in every Google API.
type certInfoView struct {
	Version                 int      `json:"version"`
	Subject                 string   `json:"subject"`
	Issuer                  string   `json:"issuer"`
	ExpiryDate              string   `json:"expiryDate"`
	ValidFrom               string   `json:"validFrom"`
	IsValid                 string   `json:"isValid"`
	SubjectAlternativeNames []string `json:"subjectAlternativeNames,omitempty"`
	SigAlgName              string   `json:"sigAlgName"`
	PublicKey               string   `json:"publicKey"`
	BasicConstraints        string   `json:"basicConstraints,omitempty"`
	SerialNumber            string   `json:"serialNumber"`
}

type referenceView struct {
	Name         string `json:"name"`
	Description  string `json:"description,omitempty"`
	ResourceType string `json:"resourceType"`
	Refers       string `json:"refers"`
}

func ksView(ks *state.Keystore) keystoreView {
	return keystoreView{Name: ks.Name, Aliases: nonNil(ks.AliasNames())}
}

func refView(r *state.Reference) referenceView {
	return referenceView{Name: r.Name, Description: r.Description, ResourceType: r.ResourceType, Refers: r.Refers}
}

func lookupKeystore(e *state.Environment, name string) (*state.Keystore, error) {
	ks := e.Keystores[name]
	if ks == nil {
		return nil, apierr.NotFound("Keystore %s not found in environment %s.", name, e.Name)
	}
	return ks, nil
}

func lookupAlias(e *state.Environment, keystore, alias string) (*state.Alias, error) {
	ks, err := lookupKeystore(e, keystore)
	if err != nil {
		return nil, err
	}
	al := ks.Aliases[alias]
	if al == nil {
		return nil, apierr.NotFound("Alias %s not found in keystore %s of environment %s.", alias, keystore, e.Name)
	}
	return al, nil
}

// ---- keystores ----

func (a *API) listKeystores(w http.ResponseWriter, r *http.Request) error {
	var names []string
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		names = e.KeystoreNames()
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, nonNil(names))
}

func (a *API) getKeystore(w http.ResponseWriter, r *http.Request) error {
	var v keystoreView
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		ks, err := lookupKeystore(e, r.PathValue("ks"))
		if err == nil {
			v = ksView(ks)
		}
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// createKeystore serves POST …/keystores[?name=N] with a Keystore body; the
// name parameter overrides the body's, as in Apigee.
func (a *API) createKeystore(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if n := r.URL.Query().Get("name"); n != "" {
		in.Name = n
	}
	if err := checkName("Keystore", in.Name, keystoreNameRE); err != nil {
		return err
	}
	var v keystoreView
	err := a.mutateEnv(r, func(tx *state.Tx, _ *state.Org, e *state.Environment) error {
		if e.Keystores[in.Name] != nil {
			return apierr.AlreadyExists("Keystore %s already exists in environment %s.", in.Name, e.Name)
		}
		if e.References[in.Name] != nil {
			return sharedNamespace("keystore", in.Name, "reference", e.Name)
		}
		if e.Keystores == nil {
			e.Keystores = map[string]*state.Keystore{}
		}
		ks := &state.Keystore{Name: in.Name, CreatedAt: tx.Millis()}
		e.Keystores[in.Name] = ks
		v = ksView(ks)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// sharedNamespace refuses a keystore and a reference of the same name: the
// runtime looks `ref://x` and `x` up among the contract's keystores alike.
func sharedNamespace(kind, name, other, env string) error {
	return apierr.AlreadyExists("Cannot create %s %s: environment %s has a %s of that name, and this runtime resolves keystore names and ref:// references in one namespace.",
		kind, name, env, other)
}

// deleteKeystore serves DELETE …/keystores/{ks}. Apigee lets a keystore in
// use by a deployed proxy go (the proxy's TLS calls then fail; here its
// revision is reported ERROR and stops serving); a reference must not be
// left dangling, so one pointing at it blocks the deletion.
func (a *API) deleteKeystore(w http.ResponseWriter, r *http.Request) error {
	var v keystoreView
	err := a.mutateEnv(r, func(tx *state.Tx, _ *state.Org, e *state.Environment) error {
		ks, err := lookupKeystore(e, r.PathValue("ks"))
		if err != nil {
			return err
		}
		if refs := e.ReferencesTo(ks.Name); len(refs) > 0 {
			return apierr.FailedPrecondition("Keystore %s is referred to by reference(s) %s in environment %s; update or delete them first.",
				ks.Name, strings.Join(refs, ", "), e.Name)
		}
		delete(e.Keystores, ks.Name)
		v = ksView(ks)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// ---- aliases ----

func (a *API) listAliases(w http.ResponseWriter, r *http.Request) error {
	var names []string
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		ks, err := lookupKeystore(e, r.PathValue("ks"))
		if err == nil {
			names = ks.AliasNames()
		}
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, nonNil(names))
}

func (a *API) getAlias(w http.ResponseWriter, r *http.Request) error {
	var v aliasView
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		al, err := lookupAlias(e, r.PathValue("ks"), r.PathValue("alias"))
		if err != nil {
			return err
		}
		v, err = aliasViewOf(al, a.store.Now())
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// getAliasCertificate serves GET …/aliases/{alias}/certificate: the chain
// as PEM (an HttpBody response, so the raw bytes).
func (a *API) getAliasCertificate(w http.ResponseWriter, r *http.Request) error {
	var certPEM string
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		al, err := lookupAlias(e, r.PathValue("ks"), r.PathValue("alias"))
		if err == nil {
			certPEM = al.CertPEM
		}
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = io.WriteString(w, certPEM)
	return nil
}

// getAliasCSR serves GET …/aliases/{alias}/csr: a PKCS #10 request for the
// alias's key with its certificate's subject and names.
func (a *API) getAliasCSR(w http.ResponseWriter, r *http.Request) error {
	var al state.Alias
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		x, err := lookupAlias(e, r.PathValue("ks"), r.PathValue("alias"))
		if err == nil {
			al = *x
		}
		return err
	})
	if err != nil {
		return err
	}
	if al.KeyPEM == "" {
		return apierr.FailedPrecondition("Alias %s holds a certificate only; a CSR needs a private key (KEY_CERT alias).", al.Name)
	}
	m, err := loadMaterial(&al)
	if err != nil {
		return apierr.Internal("alias %s: %v", al.Name, err)
	}
	leaf := m.chain[0]
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: leaf.Subject, DNSNames: leaf.DNSNames, IPAddresses: leaf.IPAddresses, EmailAddresses: leaf.EmailAddresses, URIs: leaf.URIs,
	}, m.key)
	if err != nil {
		return apierr.Internal("alias %s: create CSR: %v", al.Name, err)
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	return nil
}

// createAlias serves POST …/keystores/{ks}/aliases?format=…&alias=A:
// keycertfile (multipart keyFile, certFile, password), pkcs12 (multipart
// file, password) or selfsignedcert (JSON CertificateGenerationSpec). The
// Go client's JSON HttpBody wrapping of either body is accepted too.
// Nothing is stored unless the material is valid.
func (a *API) createAlias(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ignoreExpiry, err := boolParam(r, "ignoreExpiryValidation")
	if err != nil {
		return err
	}
	ignoreNewline, err := boolParam(r, "ignoreNewlineValidation")
	if err != nil {
		return err
	}
	body, err := readAliasBody(w, r)
	if err != nil {
		return err
	}
	password := body.parts["password"]
	if password == "" {
		// Deprecated query forms, still sent by older clients.
		password = firstNonEmpty(q.Get("_password"), q.Get("password"))
	}
	name := q.Get("alias")
	now := a.store.Now()
	var m *material
	switch format := q.Get("format"); format {
	case "keycertfile":
		if !body.multipart {
			return apierr.InvalidArgument("format=keycertfile needs a multipart/form-data body with a certFile part (and keyFile for a key/certificate pair).")
		}
		certFile, ok := body.parts["certFile"]
		if !ok {
			return apierr.InvalidArgument("format=keycertfile: the multipart body has no certFile part (found %s).", body.names())
		}
		m, err = parseKeyCertFile([]byte(certFile), []byte(body.parts["keyFile"]), password, ignoreNewline)
	case "pkcs12":
		if !body.multipart {
			return apierr.InvalidArgument("format=pkcs12 needs a multipart/form-data body with a file part.")
		}
		file, ok := body.parts["file"]
		if !ok {
			return apierr.InvalidArgument("format=pkcs12: the multipart body has no file part (found %s).", body.names())
		}
		m, err = parsePKCS12([]byte(file), password)
	case "selfsignedcert":
		var specAlias string
		m, specAlias, err = selfSignedCert(body.raw, now)
		if name == "" {
			name = specAlias
		}
	case "":
		return apierr.InvalidArgument("format is required: keycertfile, pkcs12 or selfsignedcert.")
	default:
		return apierr.InvalidArgument("Unsupported format %q: use keycertfile, pkcs12 or selfsignedcert.", format)
	}
	if err != nil {
		return err
	}
	if err := checkName("Alias", name, aliasNameRE); err != nil {
		return err
	}
	if err := m.checkExpiry(now, ignoreExpiry); err != nil {
		return err
	}
	al, err := m.alias(name, now.UnixMilli())
	if err != nil {
		return err
	}
	var v aliasView
	err = a.mutateEnv(r, func(tx *state.Tx, _ *state.Org, e *state.Environment) error {
		ks, err := lookupKeystore(e, r.PathValue("ks"))
		if err != nil {
			return err
		}
		if ks.Aliases[name] != nil {
			return apierr.AlreadyExists("Alias %s already exists in keystore %s.", name, ks.Name)
		}
		if ks.Aliases == nil {
			ks.Aliases = map[string]*state.Alias{}
		}
		ks.Aliases[name] = al
		v, err = aliasViewOf(al, tx.Now)
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// updateAlias serves PUT …/aliases/{alias}: a new certificate (PEM or DER,
// raw, as HttpBody JSON or as multipart certFile) for an existing alias;
// a KEY_CERT alias keeps its key, which must match the new certificate.
func (a *API) updateAlias(w http.ResponseWriter, r *http.Request) error {
	ignoreExpiry, err := boolParam(r, "ignoreExpiryValidation")
	if err != nil {
		return err
	}
	ignoreNewline, err := boolParam(r, "ignoreNewlineValidation")
	if err != nil {
		return err
	}
	body, err := readAliasBody(w, r)
	if err != nil {
		return err
	}
	certBytes := body.raw
	if body.multipart {
		c, ok := body.parts["certFile"]
		if !ok {
			c, ok = body.parts["file"]
		}
		if !ok {
			return apierr.InvalidArgument("The multipart body has no certFile part (found %s).", body.names())
		}
		certBytes = []byte(c)
	}
	if len(bytes.TrimSpace(certBytes)) == 0 {
		return apierr.InvalidArgument("The request carries no certificate (send it as PEM or DER).")
	}
	if !bytes.Contains(certBytes, []byte("-----BEGIN")) {
		// DER: one certificate.
		c, err := x509.ParseCertificate(certBytes)
		if err != nil {
			return apierr.InvalidArgument("The body is neither PEM nor a DER X.509 certificate: %v", err)
		}
		certBytes = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	chain, err := parseCertChain("certificate", certBytes, ignoreNewline)
	if err != nil {
		return err
	}
	now := a.store.Now()
	var v aliasView
	err = a.mutateEnv(r, func(tx *state.Tx, _ *state.Org, e *state.Environment) error {
		cur, err := lookupAlias(e, r.PathValue("ks"), r.PathValue("alias"))
		if err != nil {
			return err
		}
		m := &material{chain: chain}
		if cur.KeyPEM != "" {
			old, err := loadMaterial(cur)
			if err != nil {
				return apierr.Internal("alias %s: %v", cur.Name, err)
			}
			m.key = old.key
			if err := m.orderByKey(); err != nil {
				return err
			}
		}
		if err := m.checkExpiry(now, ignoreExpiry); err != nil {
			return err
		}
		al, err := m.alias(cur.Name, cur.CreatedAt)
		if err != nil {
			return err
		}
		al.LastModifiedAt = tx.Millis()
		*cur = *al
		v, err = aliasViewOf(cur, tx.Now)
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) deleteAlias(w http.ResponseWriter, r *http.Request) error {
	var v aliasView
	err := a.mutateEnv(r, func(tx *state.Tx, _ *state.Org, e *state.Environment) error {
		al, err := lookupAlias(e, r.PathValue("ks"), r.PathValue("alias"))
		if err != nil {
			return err
		}
		delete(e.Keystores[r.PathValue("ks")].Aliases, al.Name)
		v, err = aliasViewOf(al, tx.Now)
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// ---- references ----

type referenceInput struct {
	Name         string `json:"name"`
	Description  string `json:"description"`
	ResourceType string `json:"resourceType"`
	Refers       string `json:"refers"`
}

func (in *referenceInput) validate(e *state.Environment) (*state.Reference, error) {
	if err := checkName("Reference", in.Name, referenceNameRE); err != nil {
		return nil, err
	}
	switch in.ResourceType {
	case "KeyStore", "TrustStore":
	case "":
		return nil, apierr.InvalidArgument("Reference %s: resourceType is required (KeyStore or TrustStore).", in.Name)
	default:
		return nil, apierr.InvalidArgument("Reference %s: resourceType %q must be KeyStore or TrustStore.", in.Name, in.ResourceType)
	}
	if in.Refers == "" {
		return nil, apierr.InvalidArgument("Reference %s: refers is required (the name of a keystore of environment %s).", in.Name, e.Name)
	}
	if e.Keystores[in.Refers] == nil {
		return nil, apierr.InvalidArgument("Reference %s: refers %q is not a keystore of environment %s.", in.Name, in.Refers, e.Name)
	}
	return &state.Reference{Name: in.Name, Description: in.Description, ResourceType: in.ResourceType, Refers: in.Refers}, nil
}

func (a *API) listReferences(w http.ResponseWriter, r *http.Request) error {
	var names []string
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		names = e.ReferenceNames()
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, nonNil(names))
}

func (a *API) getReference(w http.ResponseWriter, r *http.Request) error {
	var v referenceView
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		ref := e.References[r.PathValue("ref")]
		if ref == nil {
			return apierr.NotFound("Reference %s not found in environment %s.", r.PathValue("ref"), e.Name)
		}
		v = refView(ref)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) createReference(w http.ResponseWriter, r *http.Request) error {
	return a.putReference(w, r, true)
}

func (a *API) updateReference(w http.ResponseWriter, r *http.Request) error {
	return a.putReference(w, r, false)
}

func (a *API) putReference(w http.ResponseWriter, r *http.Request, create bool) error {
	var in referenceInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if !create {
		name := r.PathValue("ref")
		if in.Name != "" && in.Name != name {
			return apierr.InvalidArgument("Reference name %q in the body does not match %q in the path.", in.Name, name)
		}
		in.Name = name
	}
	var v referenceView
	err := a.mutateEnv(r, func(tx *state.Tx, _ *state.Org, e *state.Environment) error {
		ref, err := in.validate(e)
		if err != nil {
			return err
		}
		_, exists := e.References[ref.Name]
		switch {
		case create && exists:
			return apierr.AlreadyExists("Reference %s already exists in environment %s.", ref.Name, e.Name)
		case !create && !exists:
			return apierr.NotFound("Reference %s not found in environment %s.", ref.Name, e.Name)
		case create && e.Keystores[ref.Name] != nil:
			return sharedNamespace("reference", ref.Name, "keystore", e.Name)
		}
		if e.References == nil {
			e.References = map[string]*state.Reference{}
		}
		e.References[ref.Name] = ref
		v = refView(ref)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) deleteReference(w http.ResponseWriter, r *http.Request) error {
	var v referenceView
	err := a.mutateEnv(r, func(tx *state.Tx, _ *state.Org, e *state.Environment) error {
		ref := e.References[r.PathValue("ref")]
		if ref == nil {
			return apierr.NotFound("Reference %s not found in environment %s.", r.PathValue("ref"), e.Name)
		}
		delete(e.References, ref.Name)
		v = refView(ref)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// envKeystores copies an environment's keystores into its runtime
// contract, private keys included: the runtime needs them for client TLS.
// A reference appears as a keystore of its own name holding the referred
// keystore's aliases, because the runtime resolves `ref://name` by name.
func envKeystores(c *contract.Contract, e *state.Environment) {
	add := func(name string, ks *state.Keystore) {
		ck := contract.Keystore{Name: name}
		for _, an := range ks.AliasNames() {
			al := ks.Aliases[an]
			ck.Aliases = append(ck.Aliases, contract.KeystoreAlias{Name: al.Name, CertPEM: al.CertPEM, KeyPEM: al.KeyPEM})
		}
		c.Keystores = append(c.Keystores, ck)
	}
	for _, n := range e.KeystoreNames() {
		add(n, e.Keystores[n])
	}
	for _, n := range e.ReferenceNames() {
		ref := e.References[n]
		if ks := e.Keystores[ref.Refers]; ks != nil && e.Keystores[n] == nil {
			add(n, ks)
		}
	}
}

// ---- request bodies ----

// aliasBody is an alias upload: multipart parts by name, or the raw body.
type aliasBody struct {
	multipart bool
	parts     map[string]string
	raw       []byte
}

func (b *aliasBody) names() string {
	if len(b.parts) == 0 {
		return "no parts"
	}
	var out []string
	for n := range b.parts {
		out = append(out, strconv.Quote(n))
	}
	sort.Strings(out)
	return "parts " + strings.Join(out, ", ")
}

// readAliasBody reads an alias upload in the forms clients send it: a
// multipart/form-data body (REST docs, apigeecli, curl -F), Google's Go
// client's JSON google.api.HttpBody whose data is that multipart body (or
// the JSON spec of a self-signed certificate), or a raw body.
func readAliasBody(w http.ResponseWriter, r *http.Request) (*aliasBody, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAliasBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apierr.TooLarge("Request body is larger than %d bytes.", mbe.Limit)
		}
		return nil, apierr.InvalidArgument("Cannot read request body: %v", err)
	}
	contentType := r.Header.Get("Content-Type")
	mediaType, params, _ := mime.ParseMediaType(contentType)
	if mediaType == "application/json" || mediaType == "" && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		var probe map[string]json.RawMessage
		if json.Unmarshal(data, &probe) == nil {
			if _, wrapped := probe["data"]; wrapped {
				var hb httpBody
				if err := json.Unmarshal(data, &hb); err != nil {
					return nil, apierr.InvalidArgument("The JSON body is not a google.api.HttpBody: %v", err)
				}
				if data, err = decodeBase64(hb.Data); err != nil {
					return nil, apierr.InvalidArgument("HttpBody data is not valid base64: %v", err)
				}
				mediaType, params, _ = mime.ParseMediaType(hb.ContentType)
			}
		}
	}
	b := &aliasBody{raw: data}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return b, nil
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, apierr.InvalidArgument("Malformed multipart body: the content type names no boundary.")
	}
	b.multipart, b.parts = true, map[string]string{}
	mr := multipart.NewReader(bytes.NewReader(data), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, apierr.InvalidArgument("Malformed multipart body: %v", err)
		}
		v, err := io.ReadAll(part)
		if err != nil {
			return nil, apierr.InvalidArgument("Malformed multipart body: %v", err)
		}
		if _, dup := b.parts[part.FormName()]; !dup {
			b.parts[part.FormName()] = string(v)
		}
	}
	return b, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// ---- key material ----

// material is a validated certificate chain (leaf first) and, for a
// key/certificate pair, the leaf's private key.
type material struct {
	chain []*x509.Certificate
	key   crypto.Signer
}

// parseKeyCertFile validates keycertfile uploads: certFile a PEM chain,
// keyFile (optional) a PEM private key matching one of its certificates.
func parseKeyCertFile(certFile, keyFile []byte, password string, ignoreNewline bool) (*material, error) {
	chain, err := parseCertChain("certFile", certFile, ignoreNewline)
	if err != nil {
		return nil, err
	}
	m := &material{chain: chain}
	if len(bytes.TrimSpace(keyFile)) == 0 {
		return m, nil
	}
	if m.key, err = parsePrivateKey(keyFile, password); err != nil {
		return nil, err
	}
	return m, m.orderByKey()
}

var glued = []byte("-----END CERTIFICATE----------BEGIN CERTIFICATE-----")

func parseCertChain(field string, data []byte, ignoreNewline bool) ([]*x509.Certificate, error) {
	if bytes.Contains(data, glued) {
		if !ignoreNewline {
			return nil, apierr.InvalidArgument("%s: certificates in the chain are not separated by a newline; fix the file or set ignoreNewlineValidation=true.", field)
		}
		data = bytes.ReplaceAll(data, glued, []byte("-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----"))
	}
	var chain []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, apierr.InvalidArgument("%s: unexpected PEM block %q (only CERTIFICATE blocks belong here).", field, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, apierr.InvalidArgument("%s: certificate %d is not a valid X.509 certificate: %v", field, len(chain)+1, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, apierr.InvalidArgument("%s holds no PEM certificate (expected -----BEGIN CERTIFICATE-----).", field)
	}
	return chain, nil
}

func parsePrivateKey(data []byte, password string) (crypto.Signer, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, apierr.InvalidArgument("keyFile holds no PEM private key (expected -----BEGIN PRIVATE KEY----- or RSA/EC PRIVATE KEY).")
		}
		der := block.Bytes
		switch block.Type {
		case "ENCRYPTED PRIVATE KEY":
			return nil, apierr.InvalidArgument("keyFile: PKCS#8-encrypted keys (ENCRYPTED PRIVATE KEY) are not supported; upload the key unencrypted or with legacy PEM encryption, or use format=pkcs12.")
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		default:
			continue // e.g. EC PARAMETERS before the key
		}
		// Legacy PEM encryption (Proc-Type: 4,ENCRYPTED) is what password-
		// protected keycertfile uploads use; the deprecated calls are the
		// only standard-library way to read it.
		if x509.IsEncryptedPEMBlock(block) {
			if password == "" {
				return nil, apierr.InvalidArgument("keyFile is encrypted; send its password in the password part.")
			}
			var err error
			if der, err = x509.DecryptPEMBlock(block, []byte(password)); err != nil {
				return nil, apierr.InvalidArgument("keyFile: cannot decrypt the private key with the given password: %v", err)
			}
		}
		var key any
		var err error
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(der)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(der)
		default:
			key, err = x509.ParsePKCS8PrivateKey(der)
		}
		if err != nil {
			return nil, apierr.InvalidArgument("keyFile: the %s block is not a valid private key: %v", block.Type, err)
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, apierr.InvalidArgument("keyFile: unsupported private key type %T.", key)
		}
		return s, nil
	}
}

// orderByKey puts the certificate that matches the key first; none
// matching is the classic key/certificate mismatch.
func (m *material) orderByKey() error {
	pub, ok := m.key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return apierr.InvalidArgument("keyFile: unsupported private key type %T.", m.key)
	}
	for i, c := range m.chain {
		if pub.Equal(c.PublicKey) {
			if i > 0 {
				m.chain[0], m.chain[i] = m.chain[i], m.chain[0]
			}
			return nil
		}
	}
	return apierr.InvalidArgument("keyFile and certFile do not match: the private key does not belong to the certificate %q.", m.chain[0].Subject.String())
}

func parsePKCS12(data []byte, password string) (*material, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, apierr.InvalidArgument("file: the PKCS#12 password is incorrect.")
		}
		// A PKCS#12 truststore holds certificates without a key.
		if certs, terr := pkcs12.DecodeTrustStore(data, password); terr == nil && len(certs) > 0 {
			return &material{chain: certs}, nil
		}
		return nil, apierr.InvalidArgument("file is not a readable PKCS#12 file: %v", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, apierr.InvalidArgument("file: unsupported private key type %T.", key)
	}
	m := &material{chain: append([]*x509.Certificate{leaf}, cas...), key: s}
	return m, m.orderByKey()
}

// certGenSpec is Apigee's CertificateGenerationSpec; numbers may come as
// JSON numbers or strings.
type certGenSpec struct {
	Alias   string  `json:"alias"`
	KeySize flexInt `json:"keySize"`
	SigAlg  string  `json:"sigAlg"`
	Subject struct {
		CountryCode string `json:"countryCode"`
		State       string `json:"state"`
		Locality    string `json:"locality"`
		Org         string `json:"org"`
		OrgUnit     string `json:"orgUnit"`
		CommonName  string `json:"commonName"`
		Email       string `json:"email"`
	} `json:"subject"`
	SubjectAlternativeDNSNames struct {
		SubjectAlternativeName []string `json:"subjectAlternativeName"`
	} `json:"subjectAlternativeDNSNames"`
	CertValidityInDays flexInt `json:"certValidityInDays"`
}

type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%s is not an integer", b)
	}
	*f = flexInt(n)
	return nil
}

var rsaSigAlgs = map[string]x509.SignatureAlgorithm{
	"SHA256withRSA": x509.SHA256WithRSA, "SHA384withRSA": x509.SHA384WithRSA, "SHA512withRSA": x509.SHA512WithRSA,
}

// selfSignedCert generates a key pair and a self-signed certificate.
func selfSignedCert(spec []byte, now time.Time) (*material, string, error) {
	var s certGenSpec
	if len(bytes.TrimSpace(spec)) == 0 {
		return nil, "", apierr.InvalidArgument("format=selfsignedcert needs a JSON CertificateGenerationSpec body.")
	}
	if err := json.Unmarshal(spec, &s); err != nil {
		return nil, "", apierr.InvalidArgument("Invalid CertificateGenerationSpec: %v", err)
	}
	if s.Subject.CommonName == "" {
		return nil, "", apierr.InvalidArgument("CertificateGenerationSpec: subject.commonName is required.")
	}
	bits := int(s.KeySize)
	switch bits {
	case 0:
		bits = 2048
	case 2048, 3072, 4096:
	default:
		return nil, "", apierr.InvalidArgument("CertificateGenerationSpec: keySize %d must be 2048, 3072 or 4096.", bits)
	}
	if s.SigAlg == "" {
		s.SigAlg = "SHA256withRSA"
	}
	sigAlg, ok := rsaSigAlgs[s.SigAlg]
	if !ok {
		return nil, "", apierr.InvalidArgument("CertificateGenerationSpec: sigAlg %q must be SHA256withRSA, SHA384withRSA or SHA512withRSA.", s.SigAlg)
	}
	days := int(s.CertValidityInDays)
	if days == 0 {
		days = 365
	}
	if days < 0 {
		return nil, "", apierr.InvalidArgument("CertificateGenerationSpec: certValidityInDays %d must be positive.", days)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, "", apierr.Internal("generate key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, "", apierr.Internal("serial number: %v", err)
	}
	subj := pkix.Name{CommonName: s.Subject.CommonName}
	appendNonEmpty := func(dst *[]string, v string) {
		if v != "" {
			*dst = append(*dst, v)
		}
	}
	appendNonEmpty(&subj.Country, s.Subject.CountryCode)
	appendNonEmpty(&subj.Province, s.Subject.State)
	appendNonEmpty(&subj.Locality, s.Subject.Locality)
	appendNonEmpty(&subj.Organization, s.Subject.Org)
	appendNonEmpty(&subj.OrganizationalUnit, s.Subject.OrgUnit)
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subj, NotBefore: now.Add(-time.Minute), NotAfter: now.AddDate(0, 0, days),
		SignatureAlgorithm: sigAlg, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if s.Subject.Email != "" {
		tmpl.EmailAddresses = []string{s.Subject.Email}
	}
	for _, n := range s.SubjectAlternativeDNSNames.SubjectAlternativeName {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, "", apierr.InvalidArgument("CertificateGenerationSpec: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", apierr.Internal("parse generated certificate: %v", err)
	}
	return &material{chain: []*x509.Certificate{c}, key: key}, s.Alias, nil
}

func (m *material) checkExpiry(now time.Time, ignore bool) error {
	if ignore {
		return nil
	}
	for _, c := range m.chain {
		if now.After(c.NotAfter) {
			return apierr.InvalidArgument("Certificate %q expired on %s; set ignoreExpiryValidation=true to store it anyway.",
				c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// alias encodes the material for storage: the chain as PEM, the key as
// unencrypted PKCS#8 PEM.
func (m *material) alias(name string, created int64) (*state.Alias, error) {
	var certs bytes.Buffer
	for _, c := range m.chain {
		_ = pem.Encode(&certs, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	al := &state.Alias{Name: name, Type: state.AliasCert, CertPEM: certs.String(), CreatedAt: created, LastModifiedAt: created}
	if m.key != nil {
		der, err := x509.MarshalPKCS8PrivateKey(m.key)
		if err != nil {
			return nil, apierr.InvalidArgument("keyFile: cannot store the private key: %v", err)
		}
		al.Type, al.KeyPEM = state.AliasKeyCert, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	return al, nil
}

// loadMaterial decodes a stored alias.
func loadMaterial(al *state.Alias) (*material, error) {
	chain, err := parseCertChain("stored certificate", []byte(al.CertPEM), false)
	if err != nil {
		return nil, err
	}
	m := &material{chain: chain}
	if al.KeyPEM != "" {
		if m.key, err = parsePrivateKey([]byte(al.KeyPEM), ""); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func aliasViewOf(al *state.Alias, now time.Time) (aliasView, error) {
	chain, err := parseCertChain("stored certificate", []byte(al.CertPEM), false)
	if err != nil {
		return aliasView{}, apierr.Internal("alias %s: %v", al.Name, err)
	}
	v := aliasView{Alias: al.Name, Type: al.Type, CertsInfo: certificateView{CertInfo: []certInfoView{}}}
	for _, c := range chain {
		v.CertsInfo.CertInfo = append(v.CertsInfo.CertInfo, certInfoOf(c, now))
	}
	return v, nil
}

func certInfoOf(c *x509.Certificate, now time.Time) certInfoView {
	v := certInfoView{
		Version: c.Version, Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		ExpiryDate: strconv.FormatInt(c.NotAfter.UnixMilli(), 10), ValidFrom: strconv.FormatInt(c.NotBefore.UnixMilli(), 10),
		IsValid: "Yes", SigAlgName: javaSigAlg(c.SignatureAlgorithm), PublicKey: describePublicKey(c.PublicKey),
		SerialNumber: colonHex(c.SerialNumber.Bytes()),
	}
	switch {
	case now.After(c.NotAfter):
		v.IsValid = "No"
	case now.Before(c.NotBefore):
		v.IsValid = "Not yet"
	}
	v.SubjectAlternativeNames = append(v.SubjectAlternativeNames, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		v.SubjectAlternativeNames = append(v.SubjectAlternativeNames, ip.String())
	}
	v.SubjectAlternativeNames = append(v.SubjectAlternativeNames, c.EmailAddresses...)
	for _, u := range c.URIs {
		v.SubjectAlternativeNames = append(v.SubjectAlternativeNames, u.String())
	}
	if c.BasicConstraintsValid {
		v.BasicConstraints = "CA:FALSE"
		if c.IsCA {
			v.BasicConstraints = "CA:TRUE"
			if c.MaxPathLen > 0 || c.MaxPathLenZero {
				v.BasicConstraints += ", pathlen:" + strconv.Itoa(c.MaxPathLen)
			}
		}
	}
	return v
}

// javaSigAlg names signature algorithms the way Apigee (Java) does.
func javaSigAlg(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.SHA1WithRSA:
		return "SHA1withRSA"
	case x509.SHA256WithRSA:
		return "SHA256withRSA"
	case x509.SHA384WithRSA:
		return "SHA384withRSA"
	case x509.SHA512WithRSA:
		return "SHA512withRSA"
	case x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return "RSASSA-PSS"
	case x509.ECDSAWithSHA1:
		return "SHA1withECDSA"
	case x509.ECDSAWithSHA256:
		return "SHA256withECDSA"
	case x509.ECDSAWithSHA384:
		return "SHA384withECDSA"
	case x509.ECDSAWithSHA512:
		return "SHA512withECDSA"
	case x509.PureEd25519:
		return "Ed25519"
	}
	return a.String()
}

func describePublicKey(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA Public Key, %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC Public Key, " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519 Public Key"
	}
	return fmt.Sprintf("%T", k)
}

func colonHex(b []byte) string {
	if len(b) == 0 {
		return "00"
	}
	h := hex.EncodeToString(b)
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

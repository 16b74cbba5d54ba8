package apigee

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/seal"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/keymaterial"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Keystores, truststores, their aliases and references, per environment,
// as the Apigee API serves them (organizations.environments.keystores,
// .keystores.aliases, .references). The contract carries them to the
// runtime, whose target SSLInfo resolves TrustStore/KeyStore/KeyAlias
// against them. Package keymaterial reads and checks the uploaded keys and
// certificates; uploads.go reads the request bodies that carry them.

var (
	// Apigee: Keystore.name `[\w[:space:].-]{1,255}`; alias `[\w\s-.]{1,255}`
	// on create; reference `[\w\s\-.]+`.
	keystoreNameRE  = regexp.MustCompile(`^[\w\s.\-]{1,255}$`)
	aliasNameRE     = regexp.MustCompile(`^[\w\s.\-]{1,255}$`)
	referenceNameRE = regexp.MustCompile(`^[\w\s.\-]{1,255}$`)
)

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
	m, err := keymaterial.Load(al.CertPEM, al.KeyPEM)
	if err != nil {
		return corruptAlias(al.Name, err)
	}
	csr, err := m.CSR()
	if err != nil {
		return apierr.Internal("alias %s: %v", al.Name, err)
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(csr)
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
	var m *keymaterial.Material
	switch format := q.Get("format"); format {
	case "keycertfile":
		if !body.multipart {
			return apierr.InvalidArgument("format=keycertfile needs a multipart/form-data body with a certFile part (and keyFile for a key/certificate pair).")
		}
		certFile, ok := body.parts["certFile"]
		if !ok {
			return apierr.InvalidArgument("format=keycertfile: the multipart body has no certFile part (found %s).", body.names())
		}
		m, err = keymaterial.ParseKeyCertFile([]byte(certFile), []byte(body.parts["keyFile"]), password, ignoreNewline)
	case "pkcs12":
		if !body.multipart {
			return apierr.InvalidArgument("format=pkcs12 needs a multipart/form-data body with a file part.")
		}
		file, ok := body.parts["file"]
		if !ok {
			return apierr.InvalidArgument("format=pkcs12: the multipart body has no file part (found %s).", body.names())
		}
		m, err = keymaterial.ParsePKCS12([]byte(file), password)
	case "selfsignedcert":
		var specAlias string
		m, specAlias, err = keymaterial.SelfSigned(body.raw, now)
		if name == "" {
			name = specAlias
		}
	case "":
		return apierr.InvalidArgument("format is required: keycertfile, pkcs12 or selfsignedcert.")
	default:
		return apierr.InvalidArgument("Unsupported format %q: use keycertfile, pkcs12 or selfsignedcert.", format)
	}
	if err != nil {
		return materialErr(err)
	}
	if err := checkName("Alias", name, aliasNameRE); err != nil {
		return err
	}
	if err := m.CheckExpiry(now, ignoreExpiry); err != nil {
		return materialErr(err)
	}
	al, err := newAlias(m, name, now.UnixMilli())
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
	chain, err := keymaterial.ParseCertificates(certBytes, ignoreNewline)
	if err != nil {
		return materialErr(err)
	}
	now := a.store.Now()
	var v aliasView
	err = a.mutateEnv(r, func(tx *state.Tx, _ *state.Org, e *state.Environment) error {
		cur, err := lookupAlias(e, r.PathValue("ks"), r.PathValue("alias"))
		if err != nil {
			return err
		}
		m := &keymaterial.Material{Chain: chain}
		if cur.KeyPEM != "" {
			old, err := keymaterial.Load(cur.CertPEM, cur.KeyPEM)
			if err != nil {
				return corruptAlias(cur.Name, err)
			}
			m.Key = old.Key
			if err := m.OrderByKey(); err != nil {
				return materialErr(err)
			}
		}
		if err := m.CheckExpiry(now, ignoreExpiry); err != nil {
			return materialErr(err)
		}
		al, err := newAlias(m, cur.Name, cur.CreatedAt)
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
// contract, private keys included (sealed): the runtime needs them for
// client TLS.
// A reference appears as a keystore of its own name holding the referred
// keystore's aliases, because the runtime resolves `ref://name` by name.
//
// Private keys never leave in clear: each is sealed (contract.SealKey)
// under the org's contract encryption key, which sealer (opened only when
// an alias has a key) returns; only the message processors hold that key.
func envKeystores(c *contract.Contract, e *state.Environment, sealer func() (*seal.Sealer, error)) error {
	var s *seal.Sealer
	add := func(name string, ks *state.Keystore) error {
		ck := contract.Keystore{Name: name}
		for _, an := range ks.AliasNames() {
			al := ks.Aliases[an]
			ca := contract.KeystoreAlias{Name: al.Name, CertPEM: al.CertPEM}
			if al.KeyPEM != "" {
				if s == nil {
					var err error
					if s, err = sealer(); err != nil {
						return apierr.Internal("contract %s/%s: contract encryption key: %v", c.Organization, c.Environment, err)
					}
				}
				sealed, err := contract.SealKey(s, c.Organization, c.Environment, name, al.Name, al.KeyPEM)
				if err != nil {
					return apierr.Internal("contract %s/%s: seal keystore %s alias %s: %v", c.Organization, c.Environment, name, al.Name, err)
				}
				ca.KeyPEMSealed = sealed
			}
			ck.Aliases = append(ck.Aliases, ca)
		}
		c.Keystores = append(c.Keystores, ck)
		return nil
	}
	for _, n := range e.KeystoreNames() {
		if err := add(n, e.Keystores[n]); err != nil {
			return err
		}
	}
	for _, n := range e.ReferenceNames() {
		ref := e.References[n]
		if ks := e.Keystores[ref.Refers]; ks != nil && e.Keystores[n] == nil {
			if err := add(n, ks); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- key material: errors, storage, views ----

// materialErr turns a keymaterial error into the API's: a fault in what the
// client sent is INVALID_ARGUMENT, anything else INTERNAL.
func materialErr(err error) error {
	var inv *keymaterial.InvalidError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &inv):
		return apierr.InvalidArgument("%s", err.Error())
	default:
		return apierr.Internal("%v", err)
	}
}

// corruptAlias reports a stored alias that no longer decodes: a fault of
// this server, whose message names the underlying fault and its status.
func corruptAlias(name string, err error) error {
	return apierr.Internal("alias %s: %v", name, materialErr(err))
}

// newAlias encodes m for storage as alias name.
func newAlias(m *keymaterial.Material, name string, created int64) (*state.Alias, error) {
	certPEM, keyPEM, err := m.PEM()
	if err != nil {
		return nil, materialErr(err)
	}
	al := &state.Alias{Name: name, Type: state.AliasCert, CertPEM: certPEM, CreatedAt: created, LastModifiedAt: created}
	if keyPEM != "" {
		al.Type, al.KeyPEM = state.AliasKeyCert, keyPEM
	}
	return al, nil
}

func aliasViewOf(al *state.Alias, now time.Time) (aliasView, error) {
	chain, err := keymaterial.ParseCertChain("stored certificate", []byte(al.CertPEM), false)
	if err != nil {
		return aliasView{}, corruptAlias(al.Name, err)
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
		IsValid: "Yes", SigAlgName: keymaterial.SigAlgName(c.SignatureAlgorithm), PublicKey: keymaterial.PublicKeyName(c.PublicKey),
		SerialNumber: keymaterial.SerialHex(c.SerialNumber.Bytes()),
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

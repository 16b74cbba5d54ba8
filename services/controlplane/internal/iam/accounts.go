package iam

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// ServiceAccount is IAM's ServiceAccount resource.
type ServiceAccount struct {
	Name           string `json:"name"`
	ProjectID      string `json:"projectId"`
	UniqueID       string `json:"uniqueId"`
	Email          string `json:"email"`
	DisplayName    string `json:"displayName,omitempty"`
	Description    string `json:"description,omitempty"`
	Etag           string `json:"etag"`
	OAuth2ClientID string `json:"oauth2ClientId"`
	Disabled       bool   `json:"disabled,omitempty"`
}

// ServiceAccountKey is IAM's ServiceAccountKey resource.
type ServiceAccountKey struct {
	Name            string `json:"name"`
	PrivateKeyType  string `json:"privateKeyType,omitempty"`
	KeyAlgorithm    string `json:"keyAlgorithm"`
	PrivateKeyData  string `json:"privateKeyData,omitempty"`
	PublicKeyData   string `json:"publicKeyData,omitempty"`
	ValidAfterTime  string `json:"validAfterTime"`
	ValidBeforeTime string `json:"validBeforeTime"`
	KeyOrigin       string `json:"keyOrigin"`
	KeyType         string `json:"keyType"`
	Disabled        bool   `json:"disabled,omitempty"`
}

// KeyFile is a service account's JSON key file, field for field what
// Google hands out (and what golang.org/x/oauth2/google reads).
type KeyFile struct {
	Type                    string `json:"type"`
	ProjectID               string `json:"project_id"`
	PrivateKeyID            string `json:"private_key_id"`
	PrivateKey              string `json:"private_key"`
	ClientEmail             string `json:"client_email"`
	ClientID                string `json:"client_id"`
	AuthURI                 string `json:"auth_uri"`
	TokenURI                string `json:"token_uri"`
	AuthProviderX509CertURL string `json:"auth_provider_x509_cert_url"`
	ClientX509CertURL       string `json:"client_x509_cert_url"`
	UniverseDomain          string `json:"universe_domain"`
}

// Key-file constants Google uses.
const (
	KeyAlgRSA2048         = "KEY_ALG_RSA_2048"
	TypeCredentialsFile   = "TYPE_GOOGLE_CREDENTIALS_FILE"
	TypeX509PEM           = "TYPE_X509_PEM_FILE"
	googleAuthURI         = "https://accounts.google.com/o/oauth2/auth"
	googleAuthProviderURL = "https://www.googleapis.com/oauth2/v1/certs"
	// CertPath is where the mock publishes each account's public key
	// certificates (client_x509_cert_url), as www.googleapis.com does.
	CertPath = "/robot/v1/metadata/x509/"
)

// farFuture is the validBeforeTime Google gives user-managed keys.
var farFuture = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// Service account ids: 6–30 characters, lower-case letters, digits and
// hyphens, starting with a letter and not ending with a hyphen.
var accountIDRE = regexp.MustCompile(`^[a-z][-a-z0-9]{4,28}[a-z0-9]$`)

// Project ids as Resource Manager accepts them.
var projectIDRE = regexp.MustCompile(`^[a-z][-a-z0-9]{0,61}[a-z0-9]$|^[a-z]$`)

// Email returns the email of account id in project.
func Email(project, accountID string) string {
	return accountID + "@" + project + ".iam.gserviceaccount.com"
}

func (a *account) view() ServiceAccount {
	return ServiceAccount{
		Name:      "projects/" + a.Project + "/serviceAccounts/" + a.Email,
		ProjectID: a.Project, UniqueID: a.UniqueID, Email: a.Email,
		DisplayName: a.DisplayName, Description: a.Description,
		Etag: a.Etag, OAuth2ClientID: a.UniqueID, Disabled: a.Disabled,
	}
}

func (a *account) keyName(k *key) string {
	return "projects/" + a.Project + "/serviceAccounts/" + a.Email + "/keys/" + k.ID
}

func (a *account) key(id string) *key {
	for _, k := range a.Keys {
		if k.ID == id {
			return k
		}
	}
	return nil
}

func keyView(a *account, k *key, withPublic bool) ServiceAccountKey {
	v := ServiceAccountKey{
		Name: a.keyName(k), KeyAlgorithm: KeyAlgRSA2048,
		ValidAfterTime:  k.ValidAfter.UTC().Format(time.RFC3339),
		ValidBeforeTime: k.ValidBefore.UTC().Format(time.RFC3339),
		KeyOrigin:       "GOOGLE_PROVIDED", KeyType: "USER_MANAGED", Disabled: k.Disabled,
	}
	if withPublic {
		v.PublicKeyData = base64.StdEncoding.EncodeToString([]byte(k.CertPEM))
	}
	return v
}

func randomDigits(n int) string {
	var b strings.Builder
	b.WriteByte('1') // Google's numeric ids never start with 0.
	for b.Len() < n {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b.WriteString(d.String())
	}
	return b.String()
}

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newEtag() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// CreateServiceAccount creates accountID in project.
func (m *IAM) CreateServiceAccount(project, accountID, displayName, description string) (ServiceAccount, error) {
	if !m.opts.Projects.ProjectExists(project) {
		return ServiceAccount{}, denied(PermSACreate, "//iam.googleapis.com/projects/"+project)
	}
	if !accountIDRE.MatchString(accountID) {
		return ServiceAccount{}, apierr.InvalidArgument("Invalid account ID %q: it must be 6 to 30 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen.", accountID)
	}
	if len(displayName) > 100 {
		return ServiceAccount{}, apierr.InvalidArgument("displayName must be at most 100 characters.")
	}
	if len(description) > 256 {
		return ServiceAccount{}, apierr.InvalidArgument("description must be at most 256 characters.")
	}
	email := Email(project, accountID)
	var out ServiceAccount
	err := m.update(func(d *data) error {
		if d.Accounts[email] != nil {
			return apierr.AlreadyExists("Service account %s already exists within project projects/%s.", accountID, project)
		}
		a := &account{Project: project, AccountID: accountID, Email: email, UniqueID: randomDigits(21),
			DisplayName: displayName, Description: description, Etag: newEtag()}
		d.Accounts[email] = a
		out = a.view()
		return nil
	})
	return out, err
}

// resolveAccount checks "projects/{p}/serviceAccounts/{ref}" and finds
// the account (p may be "-", ref an email or unique id).
func resolveAccount(d *data, project, ref string) (*account, error) {
	a := d.accountByRef(ref)
	if a == nil || (project != "-" && project != a.Project) {
		return nil, apierr.NotFound("Unknown service account")
	}
	return a, nil
}

// GetServiceAccount returns one account.
func (m *IAM) GetServiceAccount(project, ref string) (ServiceAccount, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, err := resolveAccount(m.d, project, ref)
	if err != nil {
		return ServiceAccount{}, err
	}
	return a.view(), nil
}

// ListServiceAccounts returns a project's accounts sorted by email.
func (m *IAM) ListServiceAccounts(project string) []ServiceAccount {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []ServiceAccount
	for _, a := range m.d.Accounts {
		if a.Project == project {
			out = append(out, a.view())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out
}

// DeleteServiceAccount removes an account and its keys. Its tokens stop
// working at once (a re-created account has a new unique id). Bindings
// naming it stay; unlike Google, which marks them
// "deleted:serviceAccount:…?uid=…", a re-created account with the same
// email matches them again.
func (m *IAM) DeleteServiceAccount(project, ref string) error {
	return m.update(func(d *data) error {
		a, err := resolveAccount(d, project, ref)
		if err != nil {
			return err
		}
		delete(d.Accounts, a.Email)
		return nil
	})
}

// SetServiceAccountDisabled disables or enables an account.
func (m *IAM) SetServiceAccountDisabled(project, ref string, disabled bool) error {
	return m.update(func(d *data) error {
		a, err := resolveAccount(d, project, ref)
		if err != nil {
			return err
		}
		a.Disabled = disabled
		a.Etag = newEtag()
		return nil
	})
}

// generatedKey is a fresh RSA key with its self-signed certificate.
type generatedKey struct {
	id      string
	priv    *rsa.PrivateKey
	privPEM string
	certPEM string
}

func generateKey(email string, now time.Time) (*generatedKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("iam: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("iam: encode key: %w", err)
	}
	id := randomHex(20)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: id},
		Issuer:       pkix.Name{CommonName: email},
		NotBefore:    now.Add(-time.Minute).UTC(),
		NotAfter:     farFuture,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("iam: self-sign key certificate: %w", err)
	}
	return &generatedKey{
		id: id, priv: priv,
		privPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})),
	}, nil
}

// keyFile builds the JSON key file for key id of account a.
func (m *IAM) keyFile(a *account, keyID, privPEM string) KeyFile {
	return KeyFile{
		Type: "service_account", ProjectID: a.Project, PrivateKeyID: keyID, PrivateKey: privPEM,
		ClientEmail: a.Email, ClientID: a.UniqueID,
		AuthURI: googleAuthURI, TokenURI: m.opts.TokenURI,
		AuthProviderX509CertURL: googleAuthProviderURL,
		ClientX509CertURL:       m.certURL(a.Email),
		UniverseDomain:          "googleapis.com",
	}
}

// certURL is where this mock publishes the account's key certificates:
// the token endpoint's origin plus Google's robot metadata path.
func (m *IAM) certURL(email string) string {
	// Google writes the "@" escaped (%40).
	escaped := strings.ReplaceAll(url.PathEscape(email), "@", "%40")
	u, err := url.Parse(m.opts.TokenURI)
	if err != nil || u.Host == "" {
		return "https://www.googleapis.com" + CertPath + escaped
	}
	return u.Scheme + "://" + u.Host + CertPath + escaped
}

// EncodeKeyFile renders a key file the way Google does (two-space
// indentation, trailing newline).
func EncodeKeyFile(kf KeyFile) ([]byte, error) {
	raw, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}

// CreateKey adds a key to an account and returns it with privateKeyData
// (the base64 JSON key file); the private key is not kept.
func (m *IAM) CreateKey(project, ref string) (ServiceAccountKey, KeyFile, error) {
	m.mu.RLock()
	a, err := resolveAccount(m.d, project, ref)
	var email string
	if err == nil {
		email = a.Email
	}
	m.mu.RUnlock()
	if err != nil {
		return ServiceAccountKey{}, KeyFile{}, err
	}
	// Generate outside the lock: RSA key generation takes tens of ms.
	g, err := generateKey(email, m.now())
	if err != nil {
		return ServiceAccountKey{}, KeyFile{}, err
	}
	var view ServiceAccountKey
	var kf KeyFile
	err = m.update(func(d *data) error {
		a := d.Accounts[email]
		if a == nil {
			return apierr.NotFound("Unknown service account")
		}
		if len(a.Keys) >= 10 {
			return apierr.FailedPrecondition("Precondition check failed: service account %s already has 10 keys.", a.Email)
		}
		k := &key{ID: g.id, CertPEM: g.certPEM, ValidAfter: m.now().UTC().Truncate(time.Second), ValidBefore: farFuture}
		a.Keys = append(a.Keys, k)
		kf = m.keyFile(a, k.ID, g.privPEM)
		raw, err := EncodeKeyFile(kf)
		if err != nil {
			return err
		}
		view = keyView(a, k, false)
		view.PrivateKeyType = TypeCredentialsFile
		view.PrivateKeyData = base64.StdEncoding.EncodeToString(raw)
		return nil
	})
	if err != nil {
		return ServiceAccountKey{}, KeyFile{}, err
	}
	return view, kf, nil
}

// ListKeys returns an account's keys.
func (m *IAM) ListKeys(project, ref string) ([]ServiceAccountKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, err := resolveAccount(m.d, project, ref)
	if err != nil {
		return nil, err
	}
	out := make([]ServiceAccountKey, 0, len(a.Keys))
	for _, k := range a.Keys {
		out = append(out, keyView(a, k, false))
	}
	return out, nil
}

// GetKey returns one key, with its public certificate when withPublic.
func (m *IAM) GetKey(project, ref, id string, withPublic bool) (ServiceAccountKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, err := resolveAccount(m.d, project, ref)
	if err != nil {
		return ServiceAccountKey{}, err
	}
	k := a.key(id)
	if k == nil {
		return ServiceAccountKey{}, apierr.NotFound("Unknown service account key %s", id)
	}
	return keyView(a, k, withPublic), nil
}

// DeleteKey removes a key: assertions signed with it stop being accepted.
func (m *IAM) DeleteKey(project, ref, id string) error {
	return m.update(func(d *data) error {
		a, err := resolveAccount(d, project, ref)
		if err != nil {
			return err
		}
		for i, k := range a.Keys {
			if k.ID == id {
				a.Keys = append(a.Keys[:i], a.Keys[i+1:]...)
				return nil
			}
		}
		return apierr.NotFound("Unknown service account key %s", id)
	})
}

// Certificates returns the PEM certificates of an account's enabled keys
// by key id (the x509 metadata document).
func (m *IAM) Certificates(email string) (map[string]string, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a := m.d.Accounts[email]
	if a == nil {
		return nil, false
	}
	out := map[string]string{}
	for _, k := range a.Keys {
		if !k.Disabled {
			out[k.ID] = k.CertPEM
		}
	}
	return out, true
}

// publicKey parses a stored key's certificate.
func (k *key) publicKey() (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(k.CertPEM))
	if block == nil {
		return nil, fmt.Errorf("key %s: no PEM certificate", k.ID)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key %s: not an RSA key", k.ID)
	}
	return pub, nil
}

// Package iam emulates the parts of Google Cloud IAM an Apigee hybrid
// installation depends on: service accounts with JSON key files in
// Google's exact shape (their token_uri points at this control plane),
// OAuth 2.0 access tokens minted through the JWT-bearer grant (so
// golang.org/x/oauth2/google and cloud.google.com/go/auth work unchanged),
// project IAM policies with predefined roles, authorization checks that
// fail with Google's PERMISSION_DENIED wording, and an audit log.
//
// The state (accounts, public keys, policies, the token-signing secret)
// lives in one JSON file beside the control plane's own snapshot; private
// keys are never stored, as with Google-managed key creation: the caller
// gets them once, in the key file.
package iam

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
)

// Projects tells the IAM which Google Cloud projects exist and which
// project an Apigee organization belongs to. The control plane's state
// answers both (an org's projectId).
type Projects interface {
	// ProjectOfOrg returns the project of an Apigee organization.
	ProjectOfOrg(org string) (string, bool)
	// ProjectExists reports whether a project is known.
	ProjectExists(project string) bool
}

// Options configure the IAM.
type Options struct {
	// Dir holds the IAM state file (iam.json).
	Dir string
	// TokenURI is the token endpoint written into key files as token_uri
	// and the audience JWT-bearer assertions must name.
	TokenURI string
	// AdminToken, when set, is a bearer token with every permission.
	AdminToken string
	// StaticTokens maps extra bearer tokens to principals: a value with a
	// colon is an IAM member ("serviceAccount:…", "user:…") authorized
	// through the project policies; a bare name is a legacy full-access
	// principal.
	StaticTokens map[string]string
	// Projects resolves org → project and project existence (required).
	Projects Projects
	// Log receives "audit" lines and key-file notices (nil: no logs).
	Log *zap.Logger
	// AuditSize bounds the in-memory audit ring (0: DefaultAuditSize).
	AuditSize int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// DefaultAuditSize is how many audit entries the ring keeps.
const DefaultAuditSize = 4096

// IAM is the emulated identity service. It is safe for concurrent use.
type IAM struct {
	opts  Options
	path  string
	log   *zap.Logger
	audit *auditRing
	now   func() time.Time

	mu        sync.RWMutex
	d         *data
	audiences []string // accepted "aud" values of assertions: token URIs
	idKey     *rsa.PrivateKey
}

// New opens (or creates) the IAM state under opts.Dir.
func New(opts Options) (*IAM, error) {
	if opts.Dir == "" || opts.Projects == nil {
		return nil, errors.New("iam: Dir and Projects are required")
	}
	if _, err := url.Parse(opts.TokenURI); err != nil || opts.TokenURI == "" {
		return nil, fmt.Errorf("iam: invalid token URI %q", opts.TokenURI)
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AuditSize <= 0 {
		opts.AuditSize = DefaultAuditSize
	}
	m := &IAM{
		opts: opts, path: filepath.Join(opts.Dir, "iam.json"),
		log: opts.Log, now: opts.Now,
		audit:     newAuditRing(opts.AuditSize),
		audiences: []string{opts.TokenURI},
	}
	raw, err := os.ReadFile(m.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		m.d = newData()
	case err != nil:
		return nil, fmt.Errorf("iam: read state: %w", err)
	default:
		d, err := decodeData(raw)
		if err != nil {
			return nil, fmt.Errorf("iam: state file %s: %w", m.path, err)
		}
		m.d = d
	}
	if len(m.d.TokenSecret) == 0 {
		// The secret signs access tokens; persisting it keeps tokens that
		// clients have cached valid across control plane restarts.
		if err := m.update(func(d *data) error {
			d.TokenSecret = make([]byte, 32)
			_, err := rand.Read(d.TokenSecret)
			return err
		}); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// TokenURI is the token endpoint written into key files.
func (m *IAM) TokenURI() string { return m.opts.TokenURI }

// AddTokenAudience accepts another URI of the token endpoint as an
// assertion audience (e.g. the HTTPS listener's).
func (m *IAM) AddTokenAudience(uri string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Contains(m.audiences, uri) {
		m.audiences = append(m.audiences, uri)
	}
}

// Principal is an authenticated caller.
type Principal struct {
	// Member is the IAM member the caller is, e.g.
	// "serviceAccount:apigee-mart@hybrid.iam.gserviceaccount.com"; empty
	// for full-access principals.
	Member string
	// Admin principals (the admin token, legacy static tokens) may do
	// anything.
	Admin bool
	// Name identifies the caller in logs: an email, "admin" or a static
	// token's name.
	Name string
}

// AdminPrincipal is the holder of the admin token.
var AdminPrincipal = Principal{Admin: true, Name: "admin"}

// ---- persistence ----

// data is the persisted IAM state.
type data struct {
	FormatVersion int `json:"formatVersion"`
	// TokenSecret signs minted access tokens (HMAC-SHA256).
	TokenSecret []byte              `json:"tokenSecret"`
	Accounts    map[string]*account `json:"serviceAccounts"` // by email
	Policies    map[string]*policy  `json:"policies"`        // by project
	// Seeded remembers seed bindings already applied once, so a binding
	// removed through setIamPolicy stays removed across restarts.
	Seeded map[string]bool `json:"seededBindings,omitempty"`
	// IDTokenKey signs the ID tokens generateIdToken mints (RS256,
	// PKCS#8 PEM), made on first use; IDTokenKeyID is its kid in the
	// published certificates (Google's oauth2/v3/certs).
	IDTokenKey   string `json:"idTokenKey,omitempty"`
	IDTokenKeyID string `json:"idTokenKeyId,omitempty"`
}

type account struct {
	Project     string `json:"project"`
	AccountID   string `json:"accountId"`
	Email       string `json:"email"`
	UniqueID    string `json:"uniqueId"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	Etag        string `json:"etag"`
	Keys        []*key `json:"keys,omitempty"`
	// Policy is the account's own IAM policy (who may act as it or mint
	// its tokens), beside its project's.
	Policy *policy `json:"iamPolicy,omitempty"`
}

type key struct {
	ID          string    `json:"id"`
	CertPEM     string    `json:"certPem"` // self-signed X.509 certificate of the public key
	ValidAfter  time.Time `json:"validAfter"`
	ValidBefore time.Time `json:"validBefore"`
	Disabled    bool      `json:"disabled,omitempty"`
}

type policy struct {
	Version  int       `json:"version"`
	Etag     string    `json:"etag"`
	Bindings []Binding `json:"bindings"`
}

func newData() *data {
	return &data{FormatVersion: 1, Accounts: map[string]*account{}, Policies: map[string]*policy{}, Seeded: map[string]bool{}}
}

func decodeData(raw []byte) (*data, error) {
	d := newData()
	if err := json.Unmarshal(raw, d); err != nil {
		return nil, err
	}
	if d.FormatVersion != 1 {
		return nil, fmt.Errorf("unsupported format version %d", d.FormatVersion)
	}
	if d.Accounts == nil {
		d.Accounts = map[string]*account{}
	}
	if d.Policies == nil {
		d.Policies = map[string]*policy{}
	}
	if d.Seeded == nil {
		d.Seeded = map[string]bool{}
	}
	return d, nil
}

// update applies fn and persists the result; when fn or the write fails
// the in-memory state returns to what it was, so nothing is half-written.
func (m *IAM) update(fn func(d *data) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	before, err := json.Marshal(m.d)
	if err != nil {
		return fmt.Errorf("iam: snapshot: %w", err)
	}
	rollback := func() {
		if d, derr := decodeData(before); derr == nil {
			m.d = d
		}
	}
	if err := fn(m.d); err != nil {
		rollback()
		return err
	}
	after, err := json.MarshalIndent(m.d, "", "  ")
	if err == nil {
		err = atomicfile.Write(m.path, after, 0o600)
	}
	if err != nil {
		rollback()
		return fmt.Errorf("iam: persist state: %w", err)
	}
	return nil
}

// accountByRef finds an account by email or unique id (the forms Google
// accepts in "projects/-/serviceAccounts/{ref}").
func (d *data) accountByRef(ref string) *account {
	if a := d.Accounts[ref]; a != nil {
		return a
	}
	for _, a := range d.Accounts {
		if a.UniqueID == ref {
			return a
		}
	}
	return nil
}

func serviceAccountMember(email string) string { return "serviceAccount:" + email }

// memberEmail returns the email of "serviceAccount:x" / "user:x" members.
func memberEmail(member string) string {
	_, email, ok := strings.Cut(member, ":")
	if !ok {
		return member
	}
	return email
}

package iam

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
)

// AccountSeed is a service account created at start when missing (config
// `iam.serviceAccounts`), with its roles and a key file for the runtime
// service that uses it.
type AccountSeed struct {
	AccountID   string `yaml:"accountId"`
	Project     string `yaml:"project"` // default: the first seeded org's project
	DisplayName string `yaml:"displayName"`
	// Roles are granted on the account's project.
	Roles []string `yaml:"roles"`
	// KeyFile is the key file's name inside the key directory (default
	// "<project>-<accountId>.json", as hybrid's create-service-account
	// tool names them); "-" writes none.
	KeyFile string `yaml:"keyFile"`
}

// BindingSeed grants a role to members on a project (config `iam.bindings`),
// or on one service account of it.
type BindingSeed struct {
	Project string `yaml:"project"` // default: the first seeded org's project
	// ServiceAccount, an account id or email of the project, makes the
	// binding the account's own (gcloud iam service-accounts
	// add-iam-policy-binding), e.g. roles/iam.serviceAccountTokenCreator
	// for apigee-runtime on a proxy's account.
	ServiceAccount string   `yaml:"serviceAccount"`
	Role           string   `yaml:"role"`
	Members        []string `yaml:"members"`
}

// DefaultServiceAccounts are the service accounts of a hybrid
// installation with the roles hybrid's docs give them. apigee-runtime has
// no role: message processors talk to synchronizers, not to Google.
// apigee-metrics and apigee-logger write the runtime plane's telemetry to
// Cloud Monitoring and Cloud Logging.
func DefaultServiceAccounts() []AccountSeed {
	return []AccountSeed{
		{AccountID: "apigee-synchronizer", DisplayName: "apigee-synchronizer", Roles: []string{"roles/apigee.synchronizerManager"}},
		{AccountID: "apigee-udca", DisplayName: "apigee-udca", Roles: []string{"roles/apigee.analyticsAgent"}},
		{AccountID: "apigee-watcher", DisplayName: "apigee-watcher", Roles: []string{"roles/apigee.runtimeAgent"}},
		{AccountID: "apigee-runtime", DisplayName: "apigee-runtime"},
		{AccountID: "apigee-mart", DisplayName: "apigee-mart", Roles: []string{"roles/apigeeconnect.Agent"}},
		{AccountID: "apigee-org-admin", DisplayName: "apigee-org-admin", Roles: []string{"roles/apigee.admin"}},
		{AccountID: "apigee-metrics", DisplayName: "apigee-metrics", Roles: []string{"roles/monitoring.metricWriter"}},
		{AccountID: "apigee-logger", DisplayName: "apigee-logger", Roles: []string{"roles/logging.logWriter"}},
	}
}

// SeededAccount reports what Seed did for one account.
type SeededAccount struct {
	Email   string
	KeyFile string // absolute path, empty when none
	Created bool   // the account was created now
	NewKey  bool   // a key was created (and its file written) now
}

// Seed creates the seeded accounts that do not exist, grants seeded roles
// that were never granted before (a binding later removed through
// setIamPolicy stays removed), and makes sure each key file in keyDir holds
// a live key of its account with the current token_uri.
func (m *IAM) Seed(accounts []AccountSeed, bindings []BindingSeed, defaultProject, keyDir string) ([]SeededAccount, error) {
	var out []SeededAccount
	for _, s := range accounts {
		project := s.Project
		if project == "" {
			project = defaultProject
		}
		email := Email(project, s.AccountID)
		res := SeededAccount{Email: email}
		if _, err := m.GetServiceAccount(project, email); err != nil {
			if _, err := m.CreateServiceAccount(project, s.AccountID, s.DisplayName, ""); err != nil {
				return nil, fmt.Errorf("iam seed %s: %w", email, err)
			}
			res.Created = true
		}
		for _, role := range s.Roles {
			if err := m.seedBinding(project, role, serviceAccountMember(email)); err != nil {
				return nil, fmt.Errorf("iam seed %s: %w", email, err)
			}
		}
		if s.KeyFile != "-" {
			name := s.KeyFile
			if name == "" {
				name = project + "-" + s.AccountID + ".json"
			}
			path, err := filepath.Abs(filepath.Join(keyDir, name))
			if err != nil {
				return nil, err
			}
			res.KeyFile = path
			if res.NewKey, err = m.ensureKeyFile(project, email, path); err != nil {
				return nil, fmt.Errorf("iam seed %s: key file: %w", email, err)
			}
		}
		out = append(out, res)
	}
	for _, b := range bindings {
		project := b.Project
		if project == "" {
			project = defaultProject
		}
		for _, member := range b.Members {
			var err error
			if b.ServiceAccount != "" {
				err = m.seedAccountBinding(project, b.ServiceAccount, b.Role, member)
			} else {
				err = m.seedBinding(project, b.Role, member)
			}
			if err != nil {
				return nil, fmt.Errorf("iam seed binding %s → %s: %w", b.Role, member, err)
			}
		}
	}
	return out, nil
}

func (m *IAM) seedBinding(project, role, member string) error {
	if !m.opts.Projects.ProjectExists(project) {
		return fmt.Errorf("project %s does not exist", project)
	}
	mark := project + "|" + role + "|" + member
	m.mu.RLock()
	done := m.d.Seeded[mark]
	m.mu.RUnlock()
	if done {
		return nil
	}
	return m.update(func(d *data) error {
		if _, ok := predefined[role]; !ok {
			return fmt.Errorf("unknown role %s", role)
		}
		if err := checkMember(d, member); err != nil {
			return err
		}
		addBinding(d, project, role, member)
		d.Seeded[mark] = true
		return nil
	})
}

// seedAccountBinding is seedBinding on a service account's own policy.
func (m *IAM) seedAccountBinding(project, account, role, member string) error {
	email := account
	if !strings.Contains(email, "@") {
		email = Email(project, account)
	}
	mark := project + "|" + email + "|" + role + "|" + member
	m.mu.RLock()
	done := m.d.Seeded[mark]
	m.mu.RUnlock()
	if done {
		return nil
	}
	if err := m.AddAccountBinding(project, email, role, member); err != nil {
		return err
	}
	return m.update(func(d *data) error {
		d.Seeded[mark] = true
		return nil
	})
}

// ensureKeyFile keeps a valid key file at path: an existing file whose key
// is still live is kept (its token_uri refreshed if the endpoint moved);
// otherwise a new key is made and written.
func (m *IAM) ensureKeyFile(project, email, path string) (bool, error) {
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if err == nil {
		var kf KeyFile
		if json.Unmarshal(raw, &kf) == nil && m.keyFileLive(email, kf) {
			m.mu.RLock()
			a := m.d.Accounts[email]
			want := m.keyFile(a, kf.PrivateKeyID, kf.PrivateKey)
			m.mu.RUnlock()
			if want == kf {
				return false, nil
			}
			out, err := EncodeKeyFile(want)
			if err != nil {
				return false, err
			}
			m.log.Info("refreshed service account key file", zap.String("email", email), zap.String("keyFile", path), zap.String("tokenURI", want.TokenURI))
			return false, atomicfile.Write(path, out, 0o600)
		}
	}
	_, kf, err := m.CreateKey(project, email)
	if err != nil {
		return false, err
	}
	out, err := EncodeKeyFile(kf)
	if err != nil {
		return false, err
	}
	return true, atomicfile.Write(path, out, 0o600)
}

// keyFileLive reports whether kf belongs to the account and its key is
// one the account still has.
func (m *IAM) keyFileLive(email string, kf KeyFile) bool {
	if kf.Type != "service_account" || kf.ClientEmail != email {
		return false
	}
	block, _ := pem.Decode([]byte(kf.PrivateKey))
	if block == nil {
		return false
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return false
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	a := m.d.Accounts[email]
	if a == nil {
		return false
	}
	stored := a.key(kf.PrivateKeyID)
	if stored == nil || stored.Disabled {
		return false
	}
	pub, err := stored.publicKey()
	return err == nil && pub.Equal(&priv.PublicKey)
}

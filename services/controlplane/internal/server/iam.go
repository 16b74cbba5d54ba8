package server

import (
	"fmt"
	"net"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// IAMConfig is the `iam` block: the emulated IAM's token endpoint, seeded
// service accounts (with key files for the runtime services) and bindings.
type IAMConfig struct {
	TokenURI     string `yaml:"tokenURI" usage:"token_uri written into service-account key files (default http://<listen>/token)"`
	KeyDir       string `yaml:"keyDir" usage:"directory seeded service accounts' key files are written to (default <stateDir>/service-accounts)"`
	AuditLogSize int    `yaml:"auditLogSize" usage:"audit entries kept for GET /v1/projects/{p}/auditLogs (0: 4096)"`
	// ServiceAccounts are created at start when missing (YAML only).
	ServiceAccounts []iam.AccountSeed `yaml:"serviceAccounts"`
	// Bindings are granted once at start (YAML only).
	Bindings []iam.BindingSeed `yaml:"bindings"`
}

// DefaultIAMConfig seeds hybrid's service accounts with their roles.
func DefaultIAMConfig() IAMConfig {
	return IAMConfig{ServiceAccounts: iam.DefaultServiceAccounts()}
}

// storeProjects answers the IAM's project questions from the control
// plane's state: every org is a project (its projectId).
type storeProjects struct{ store *state.Store }

func projectOf(o *state.Org) string {
	if o.ProjectID != "" {
		return o.ProjectID
	}
	return o.Name
}

func (p storeProjects) ProjectOfOrg(org string) (string, bool) {
	var project string
	_ = p.store.View(func(d *state.Data) error {
		if o := d.Orgs[org]; o != nil {
			project = projectOf(o)
		}
		return nil
	})
	return project, project != ""
}

func (p storeProjects) ProjectExists(project string) bool {
	found := false
	_ = p.store.View(func(d *state.Data) error {
		for _, o := range d.Orgs {
			if projectOf(o) == project {
				found = true
				return nil
			}
		}
		return nil
	})
	return found
}

// tokenURIs are the addresses the token endpoint is reached at on a
// listener: the bound address and, for loopback, "localhost".
func tokenURIs(scheme, addr string) []string {
	out := []string{scheme + "://" + addr + "/token"}
	if host, port, err := net.SplitHostPort(addr); err == nil && net.ParseIP(host).IsLoopback() {
		out = append(out, scheme+"://localhost:"+port+"/token")
	}
	return out
}

// newIAM opens the IAM, seeds its accounts and bindings and writes the
// seeded key files.
func newIAM(svc *service.Service, cfg *Config, store *state.Store, stateDir, adminToken string) (*iam.IAM, string, error) {
	log := svc.Logger()
	uris := tokenURIs("http", svc.Addr("main"))
	tokenURI := cfg.IAM.TokenURI
	if tokenURI == "" {
		tokenURI = uris[0]
	}
	m, err := iam.New(iam.Options{
		Dir: stateDir, TokenURI: tokenURI,
		AdminToken: adminToken, StaticTokens: cfg.Tokens,
		Projects: storeProjects{store}, Log: log, AuditSize: cfg.IAM.AuditLogSize,
	})
	if err != nil {
		return nil, "", err
	}
	for _, u := range uris {
		m.AddTokenAudience(u)
	}
	keyDir := cfg.IAM.KeyDir
	if keyDir == "" {
		keyDir = filepath.Join(stateDir, "service-accounts")
	}
	keyDir, err = filepath.Abs(keyDir)
	if err != nil {
		return nil, "", fmt.Errorf("iam key dir: %w", err)
	}
	defaultProject := ""
	if len(cfg.Orgs) > 0 {
		defaultProject = cfg.Orgs[0].ProjectID
		if defaultProject == "" {
			defaultProject = cfg.Orgs[0].Name
		}
	}
	seeded, err := m.Seed(cfg.IAM.ServiceAccounts, cfg.IAM.Bindings, defaultProject, keyDir)
	if err != nil {
		return nil, "", err
	}
	for _, s := range seeded {
		log.Info("service account ready", zap.String("email", s.Email), zap.String("keyFile", s.KeyFile),
			zap.Bool("created", s.Created), zap.Bool("newKey", s.NewKey))
	}
	log.Info("IAM token endpoint", zap.String("tokenURI", tokenURI), zap.String("keyDir", keyDir))
	return m, keyDir, nil
}

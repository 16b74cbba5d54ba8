package apigee

import (
	"fmt"
	"sort"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// OrgSeed describes an organization created at start when it does not
// exist yet (config key `orgs`).
type OrgSeed struct {
	Name         string            `yaml:"name"`
	ProjectID    string            `yaml:"projectId"`
	DisplayName  string            `yaml:"displayName"`
	Description  string            `yaml:"description"`
	Properties   map[string]string `yaml:"properties"`
	Environments []string          `yaml:"environments"`
	EnvGroups    []EnvGroupSeed    `yaml:"envGroups"`
	// SyncAuthorization lists the identities ("serviceAccount:{email}")
	// allowed to fetch contracts, set when the org is created or has never
	// had one (nil: the server's default, the seeded synchronizer accounts).
	SyncAuthorization []string `yaml:"syncAuthorization"`
}

// EnvGroupSeed is an environment group of a seeded org.
type EnvGroupSeed struct {
	Name         string   `yaml:"name"`
	Hostnames    []string `yaml:"hostnames"`
	Environments []string `yaml:"environments"`
}

// DefaultSeed is the org a fresh control plane starts with: org "hybrid"
// with environment "test" attached to envgroup "default".
func DefaultSeed() []OrgSeed {
	return []OrgSeed{{
		Name: "hybrid", ProjectID: "hybrid", DisplayName: "hybrid",
		Properties: map[string]string{
			"features.hybrid.enabled":       "true",
			"features.mart.connect.enabled": "true",
		},
		Environments: []string{"test"},
		EnvGroups: []EnvGroupSeed{{
			Name: "default", Hostnames: []string{"localhost", "127.0.0.1", "api.hybrid.local"}, Environments: []string{"test"},
		}},
	}}
}

// Seed creates the seeded orgs that do not exist yet, with their
// environments, groups and attachments. Existing orgs are left alone, so
// changes made through the API survive restarts. It returns the names of
// the orgs it created.
func Seed(store *state.Store, seeds []OrgSeed) ([]string, error) {
	var created []string
	changed := false
	err := store.Update(func(tx *state.Tx) error {
		for _, s := range seeds {
			if err := checkName("organization", s.Name, orgNameRE); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
			for _, id := range s.SyncAuthorization {
				if !syncIdentityRE.MatchString(id) {
					return fmt.Errorf("seed org %s: syncAuthorization identity %q is not serviceAccount:{email}", s.Name, id)
				}
			}
			if o := tx.Orgs[s.Name]; o != nil {
				if o.SyncAuthorization == nil && s.SyncAuthorization != nil {
					// An org from before sync authorization existed.
					o.SyncAuthorization = seedSyncAuthorization(tx, s.SyncAuthorization)
					changed = true
				}
				continue
			}
			project := s.ProjectID
			if project == "" {
				project = s.Name
			}
			o := state.NewOrg(s.Name, project, tx.Millis())
			o.DisplayName, o.Description = s.DisplayName, s.Description
			names := make([]string, 0, len(s.Properties))
			for n := range s.Properties {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				o.Properties = append(o.Properties, state.Property{Name: n, Value: s.Properties[n]})
			}
			if s.SyncAuthorization != nil {
				o.SyncAuthorization = seedSyncAuthorization(tx, s.SyncAuthorization)
			}
			tx.Orgs[s.Name] = o
			for _, env := range s.Environments {
				if _, err := createEnvironment(tx, o, envInput{Name: env}); err != nil {
					return fmt.Errorf("seed org %s: %w", s.Name, err)
				}
			}
			for _, gs := range s.EnvGroups {
				g, err := createGroup(tx, o, groupInput{Name: gs.Name, Hostnames: gs.Hostnames})
				if err != nil {
					return fmt.Errorf("seed org %s: %w", s.Name, err)
				}
				for _, env := range gs.Environments {
					if _, err := attach(tx, o, g, env); err != nil {
						return fmt.Errorf("seed org %s envgroup %s: %w", s.Name, gs.Name, err)
					}
				}
			}
			created = append(created, s.Name)
		}
		if len(created) == 0 && !changed {
			tx.Unchanged()
		}
		return nil
	})
	return created, err
}

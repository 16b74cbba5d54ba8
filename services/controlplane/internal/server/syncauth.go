package server

import (
	"slices"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

// synchronizerRole is the role whose seeded accounts a seeded org
// authorizes for contract sync by default.
const synchronizerRole = "roles/apigee.synchronizerManager"

// withSyncDefaults returns the org seeds with each nil syncAuthorization
// set to the seeded accounts that hold roles/apigee.synchronizerManager
// (apigee-synchronizer@{project}.iam.gserviceaccount.com by default): the
// install guide's "enable synchronizer access" step, done at seed time so
// a fresh control plane serves its synchronizer at once.
func withSyncDefaults(orgs []apigee.OrgSeed, accounts []iam.AccountSeed) []apigee.OrgSeed {
	defaultProject := ""
	if len(orgs) > 0 {
		defaultProject = orgs[0].ProjectID
		if defaultProject == "" {
			defaultProject = orgs[0].Name
		}
	}
	var ids []string
	for _, acc := range accounts {
		if !slices.Contains(acc.Roles, synchronizerRole) {
			continue
		}
		project := acc.Project
		if project == "" {
			project = defaultProject
		}
		ids = append(ids, apigee.SyncIdentity(iam.Email(project, acc.AccountID)))
	}
	out := slices.Clone(orgs)
	for i := range out {
		if out[i].SyncAuthorization == nil {
			out[i].SyncAuthorization = append([]string{}, ids...)
		}
	}
	return out
}

package iam

import (
	"sort"
	"strings"
)

// Role is a predefined role: a name and the permissions it grants.
// Permission patterns may use "*" for one dot-separated segment, or as
// the last segment for any rest ("apigee.*", "apigee.*.get").
type Role struct {
	Name        string
	Title       string
	Permissions []string
}

// Permissions the control plane's routes check that have no public Apigee
// equivalent: the runtime plane's own contract and status endpoints.
const (
	PermGetContract  = "apigee.runtime.getContract"
	PermReportStatus = "apigee.runtime.reportStatus"
	// PermResetQuota guards the emulator's quotaCounters:reset (tests
	// start a distributed quota afresh); Apigee has only the ResetQuota
	// policy.
	PermResetQuota = "apigee.quotas.reset"
)

// Permissions of other emulated services.
const (
	PermConnect              = "apigeeconnect.endpoints.connect"
	PermListConnections      = "apigeeconnect.connections.list"
	PermSACreate             = "iam.serviceAccounts.create"
	PermSAGet                = "iam.serviceAccounts.get"
	PermSAList               = "iam.serviceAccounts.list"
	PermSADelete             = "iam.serviceAccounts.delete"
	PermSADisable            = "iam.serviceAccounts.disable"
	PermSAEnable             = "iam.serviceAccounts.enable"
	PermKeyCreate            = "iam.serviceAccountKeys.create"
	PermKeyGet               = "iam.serviceAccountKeys.get"
	PermKeyList              = "iam.serviceAccountKeys.list"
	PermKeyDelete            = "iam.serviceAccountKeys.delete"
	PermGetIamPolicy         = "resourcemanager.projects.getIamPolicy"
	PermSetIamPolicy         = "resourcemanager.projects.setIamPolicy"
	PermListPrivateLogs      = "logging.privateLogEntries.list"
	PermGetDataLocation      = "apigee.environments.getDataLocation"
	PermManageRuntime        = "apigee.environments.manageRuntime"
	PermReportInstanceStatus = "apigee.instances.reportStatus"
)

// Permissions of Cloud Monitoring and Cloud Logging, which the runtime
// plane's telemetry writes to (the customer-facing metrics and the
// services' logs).
const (
	PermTimeSeriesCreate        = "monitoring.timeSeries.create"
	PermTimeSeriesList          = "monitoring.timeSeries.list"
	PermMetricDescriptorsCreate = "monitoring.metricDescriptors.create"
	PermMetricDescriptorsList   = "monitoring.metricDescriptors.list"
	PermLogEntriesCreate        = "logging.logEntries.create"
	PermLogEntriesList          = "logging.logEntries.list"
)

// Service account permissions of IAM and IAM Credentials.
const (
	PermSAUpdate       = "iam.serviceAccounts.update"
	PermSAGetIamPolicy = "iam.serviceAccounts.getIamPolicy"
	PermSASetIamPolicy = "iam.serviceAccounts.setIamPolicy"
	// PermSAActAs lets a caller attach an account to a resource it
	// creates: deploying a proxy with serviceAccount= needs it on that
	// account (roles/iam.serviceAccountUser).
	PermSAActAs = "iam.serviceAccounts.actAs"
	// The IAM Credentials permissions (roles/iam.serviceAccountTokenCreator):
	// minting an account's access and ID tokens, and acting as a link of
	// a delegation chain.
	PermSAGetAccessToken     = "iam.serviceAccounts.getAccessToken"
	PermSAGetOpenIDToken     = "iam.serviceAccounts.getOpenIdToken"
	PermSAImplicitDelegation = "iam.serviceAccounts.implicitDelegation"
	PermSASignBlob           = "iam.serviceAccounts.signBlob"
	PermSASignJwt            = "iam.serviceAccounts.signJwt"
)

// saAdmin are the account-management permissions (not actAs, not token
// minting).
var saAdmin = []string{PermSACreate, PermSAGet, PermSAList, PermSADelete, PermSADisable, PermSAEnable, PermSAUpdate}

// predefined are the roles an Apigee hybrid installation uses (the
// service-account roles of hybrid's create-service-account tool) plus the
// basic roles and the IAM/Resource Manager admin roles needed to manage
// the emulation itself.
var predefined = func() map[string]Role {
	roles := []Role{
		{Name: "roles/owner", Title: "Owner", Permissions: []string{"*"}},
		{Name: "roles/editor", Title: "Editor", Permissions: append([]string{
			"apigee.*", "apigeeconnect.*", "iam.serviceAccountKeys.*", PermGetIamPolicy, PermSAActAs, PermSAGetIamPolicy,
			PermTimeSeriesCreate, PermTimeSeriesList, PermLogEntriesCreate, PermLogEntriesList,
		}, saAdmin...)},
		{Name: "roles/viewer", Title: "Viewer", Permissions: []string{
			"apigee.*.get", "apigee.*.list", PermListConnections, PermSAGet, PermSAList, PermKeyGet, PermKeyList, PermGetIamPolicy,
			PermTimeSeriesList, PermLogEntriesList,
		}},
		{Name: "roles/apigee.admin", Title: "Apigee Organization Admin", Permissions: []string{
			// The seed's "Test the installation" steps list Connect's
			// connections with the org admin's token.
			"apigee.*", PermListConnections,
		}},
		{Name: "roles/apigee.readOnlyAdmin", Title: "Apigee Read-only Admin", Permissions: []string{
			"apigee.*.get", "apigee.*.list", PermListConnections,
			// Reads whose real permission names do not end in .get.
			"apigee.flowhooks.getSharedFlow",
		}},
		{Name: "roles/apigee.synchronizerManager", Title: "Apigee Synchronizer Manager", Permissions: []string{
			PermManageRuntime, PermGetContract,
			"apigee.organizations.get", "apigee.environments.get", "apigee.environments.list",
		}},
		{Name: "roles/apigee.analyticsAgent", Title: "Apigee Analytics Agent", Permissions: []string{
			PermGetDataLocation,
		}},
		{Name: "roles/apigee.runtimeAgent", Title: "Apigee Runtime Agent", Permissions: []string{
			// The real role grants ingressconfigs/instance status; the
			// emulated watcher reads environment groups and reports
			// deployment status through apigee.runtime.reportStatus.
			PermReportInstanceStatus, "apigee.ingressconfigs.get", PermReportStatus,
			"apigee.envgroups.get", "apigee.envgroups.list",
			"apigee.envgroupattachments.get", "apigee.envgroupattachments.list",
			// Which environments run on its instance.
			"apigee.instances.list", "apigee.instanceattachments.list",
		}},
		{Name: "roles/apigeeconnect.Agent", Title: "Apigee Connect Agent", Permissions: []string{PermConnect}},
		{Name: "roles/apigeeconnect.Admin", Title: "Apigee Connect Admin", Permissions: []string{"apigeeconnect.*"}},
		{Name: "roles/iam.serviceAccountAdmin", Title: "Service Account Admin", Permissions: append([]string{PermSAGetIamPolicy, PermSASetIamPolicy}, saAdmin...)},
		// Token minting and actAs are granted apart, as in Google's IAM:
		// managing accounts does not let one act as them.
		{Name: "roles/iam.serviceAccountUser", Title: "Service Account User", Permissions: []string{PermSAActAs, PermSAGet, PermSAList}},
		{Name: "roles/iam.serviceAccountTokenCreator", Title: "Service Account Token Creator", Permissions: []string{
			PermSAGetAccessToken, PermSAGetOpenIDToken, PermSAImplicitDelegation, PermSASignBlob, PermSASignJwt,
		}},
		{Name: "roles/iam.serviceAccountOpenIdTokenCreator", Title: "Service Account OpenID Connect Identity Token Creator", Permissions: []string{PermSAGetOpenIDToken}},
		{Name: "roles/iam.serviceAccountKeyAdmin", Title: "Service Account Key Admin", Permissions: []string{"iam.serviceAccountKeys.*"}},
		{Name: "roles/resourcemanager.projectIamAdmin", Title: "Project IAM Admin", Permissions: []string{PermGetIamPolicy, PermSetIamPolicy}},
		{Name: "roles/logging.privateLogViewer", Title: "Private Logs Viewer", Permissions: []string{PermListPrivateLogs}},
		// What hybrid's apigee-metrics and apigee-logger accounts hold:
		// writers cannot read back, as in Google's roles.
		{Name: "roles/monitoring.metricWriter", Title: "Monitoring Metric Writer", Permissions: []string{
			PermTimeSeriesCreate, PermMetricDescriptorsCreate, PermMetricDescriptorsList,
		}},
		{Name: "roles/monitoring.viewer", Title: "Monitoring Viewer", Permissions: []string{PermTimeSeriesList, PermMetricDescriptorsList}},
		{Name: "roles/logging.logWriter", Title: "Logs Writer", Permissions: []string{PermLogEntriesCreate}},
		{Name: "roles/logging.viewer", Title: "Logs Viewer", Permissions: []string{PermLogEntriesList}},
	}
	m := make(map[string]Role, len(roles))
	for _, r := range roles {
		m[r.Name] = r
	}
	return m
}()

// LookupRole returns a predefined role.
func LookupRole(name string) (Role, bool) {
	r, ok := predefined[name]
	return r, ok
}

// RoleNames lists the predefined roles, sorted.
func RoleNames() []string {
	names := make([]string, 0, len(predefined))
	for n := range predefined {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Grants reports whether the role grants permission.
func (r Role) Grants(permission string) bool {
	for _, p := range r.Permissions {
		if matchPermission(p, permission) {
			return true
		}
	}
	return false
}

// matchPermission matches a permission against a pattern segment by
// segment; "*" matches one segment, or every remaining one when last.
func matchPermission(pattern, permission string) bool {
	ps := strings.Split(pattern, ".")
	xs := strings.Split(permission, ".")
	for i, p := range ps {
		if p == "*" && i == len(ps)-1 {
			return len(xs) >= len(ps)
		}
		if i >= len(xs) || (p != "*" && p != xs[i]) {
			return false
		}
	}
	return len(xs) == len(ps)
}

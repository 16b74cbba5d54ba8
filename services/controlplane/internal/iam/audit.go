package iam

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.uber.org/zap"
)

// Category is an audit log's permission type.
type Category string

// Google's permission types; ADMIN_WRITE lands in the Admin Activity log,
// the others in the Data Access log.
const (
	AdminRead  Category = "ADMIN_READ"
	AdminWrite Category = "ADMIN_WRITE"
	DataRead   Category = "DATA_READ"
	DataWrite  Category = "DATA_WRITE"
)

// Entry is one audit record (a flattened Cloud Audit Logs entry).
type Entry struct {
	Timestamp time.Time `json:"timestamp"`
	// LogName is "projects/{p}/logs/cloudaudit.googleapis.com%2Factivity"
	// for ADMIN_WRITE, "…%2Fdata_access" otherwise.
	LogName     string   `json:"logName"`
	Category    Category `json:"category"`
	ServiceName string   `json:"serviceName"`
	MethodName  string   `json:"methodName"`
	// Principal is the caller's email ("admin" for the admin token).
	Principal  string `json:"principalEmail"`
	Resource   string `json:"resourceName"`
	Permission string `json:"permission,omitempty"`
	Granted    bool   `json:"granted"`
	Project    string `json:"project,omitempty"`
}

// Auditor records audit entries; *IAM implements it. Other packages (the
// Apigee Connect service) depend on this interface only.
type Auditor interface {
	Audit(ctx context.Context, e Entry)
}

// auditRing keeps the newest entries.
type auditRing struct {
	mu      sync.Mutex
	entries []Entry
	next    int
	full    bool
}

func newAuditRing(n int) *auditRing { return &auditRing{entries: make([]Entry, n)} }

func (r *auditRing) add(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries[r.next] = e
	r.next = (r.next + 1) % len(r.entries)
	if r.next == 0 {
		r.full = true
	}
}

// newestFirst returns the entries matching keep, newest first.
func (r *auditRing) newestFirst(keep func(Entry) bool) []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.entries)
	}
	out := []Entry{}
	for i := 1; i <= n; i++ {
		e := r.entries[(r.next-i+len(r.entries))%len(r.entries)]
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// Audit records an entry: the "audit" logger gets a structured line and
// the ring keeps it for GET /v1/projects/{p}/auditLogs. Missing fields are
// derived: the service and category from the permission, the project from
// the resource.
func (m *IAM) Audit(_ context.Context, e Entry) {
	if e.Timestamp.IsZero() {
		e.Timestamp = m.now().UTC()
	}
	if e.ServiceName == "" {
		e.ServiceName = serviceOf(e.Permission)
	}
	if e.Category == "" {
		e.Category = CategoryOf(e.Permission)
	}
	if e.MethodName == "" {
		e.MethodName = MethodName(e.Permission)
	}
	if e.Project == "" {
		e.Project, _ = m.projectOf(e.Resource)
	}
	if e.LogName == "" && e.Project != "" {
		kind := "data_access"
		if e.Category == AdminWrite {
			kind = "activity"
		}
		e.LogName = "projects/" + e.Project + "/logs/cloudaudit.googleapis.com%2F" + kind
	}
	m.audit.add(e)
	m.log.Named("audit").Info("audit",
		zap.String("logName", e.LogName), zap.String("category", string(e.Category)),
		zap.String("serviceName", e.ServiceName), zap.String("methodName", e.MethodName),
		zap.String("principalEmail", e.Principal), zap.String("resourceName", e.Resource),
		zap.String("permission", e.Permission), zap.Bool("granted", e.Granted))
}

// AuditFilter selects audit entries; empty fields match everything.
type AuditFilter struct {
	Project, Category, MethodName, Principal string
}

// AuditLog returns the kept entries matching f, newest first.
func (m *IAM) AuditLog(f AuditFilter) []Entry {
	return m.audit.newestFirst(func(e Entry) bool {
		return (f.Project == "" || e.Project == f.Project) &&
			(f.Category == "" || string(e.Category) == f.Category) &&
			(f.MethodName == "" || e.MethodName == f.MethodName || strings.HasSuffix(e.MethodName, "."+f.MethodName)) &&
			(f.Principal == "" || e.Principal == f.Principal)
	})
}

// CategoryOf is a permission's type: reads of configuration are
// ADMIN_READ, changes ADMIN_WRITE; the runtime data paths (contracts, data
// locations, status reports, Connect tethers) are DATA_READ / DATA_WRITE.
func CategoryOf(permission string) Category {
	switch permission {
	case PermGetContract, PermGetDataLocation, PermListConnections:
		return DataRead
	case PermReportStatus, PermReportInstanceStatus, PermConnect:
		return DataWrite
	}
	verb := permission[strings.LastIndexByte(permission, '.')+1:]
	if verb == "get" || verb == "list" || strings.HasPrefix(verb, "get") || strings.HasPrefix(verb, "list") {
		return AdminRead
	}
	return AdminWrite
}

// apigeeNouns maps Apigee permission collections to the service and
// resource names of google.cloud.apigee.v1's RPCs.
var apigeeNouns = map[string][3]string{ // collection → service, singular, plural
	"organizations":         {"Organizations", "Organization", "Organizations"},
	"operations":            {"Operations", "Operation", "Operations"},
	"environments":          {"Environments", "Environment", "Environments"},
	"envgroups":             {"EnvironmentGroups", "EnvironmentGroup", "EnvironmentGroups"},
	"envgroupattachments":   {"EnvironmentGroups", "EnvironmentGroupAttachment", "EnvironmentGroupAttachments"},
	"proxies":               {"ApiProxyService", "ApiProxy", "ApiProxies"},
	"sharedflows":           {"SharedFlowService", "SharedFlow", "SharedFlows"},
	"deployments":           {"Deployments", "Deployment", "Deployments"},
	"sharedflowdeployments": {"Deployments", "Deployment", "Deployments"},
	"developers":            {"Developers", "Developer", "Developers"},
	"developerapps":         {"DeveloperApps", "DeveloperApp", "DeveloperApps"},
	"apiproducts":           {"ApiProducts", "ApiProduct", "ApiProducts"},
	"keyvaluemaps":          {"KeyValueMaps", "KeyValueMap", "KeyValueMaps"},
	"runtime":               {"Runtime", "", ""},
}

// MethodName derives an audit methodName from a permission: the Apigee
// Connect permissions each belong to one RPC; Apigee ones map by
// collection and verb, e.g. "apigee.proxies.create" →
// "google.cloud.apigee.v1.ApiProxyService.CreateApiProxy". Others are
// returned as they are.
func MethodName(permission string) string {
	switch permission {
	case PermConnect:
		return "google.cloud.apigeeconnect.v1.Tether.Egress"
	case PermListConnections:
		return "google.cloud.apigeeconnect.v1.ConnectionService.ListConnections"
	}
	parts := strings.Split(permission, ".")
	if len(parts) != 3 || parts[0] != "apigee" {
		return permission
	}
	n, ok := apigeeNouns[parts[1]]
	verb := parts[2]
	if !ok {
		return permission
	}
	title := func(s string) string {
		r := []rune(s)
		r[0] = unicode.ToUpper(r[0])
		return string(r)
	}
	var method string
	switch {
	case n[1] == "" || strings.ToLower(verb) != verb:
		// Custom methods ("getDataLocation") name the RPC themselves.
		method = title(verb)
	case verb == "list":
		method = "List" + n[2]
	case parts[1] == "deployments" && verb == "create":
		method = "DeployApiProxy"
	case parts[1] == "deployments" && verb == "delete":
		method = "UndeployApiProxy"
	case parts[1] == "sharedflowdeployments" && verb == "create":
		method = "DeploySharedFlow"
	case parts[1] == "sharedflowdeployments" && verb == "delete":
		method = "UndeploySharedFlow"
	default:
		method = title(verb) + n[1]
	}
	return "google.cloud.apigee.v1." + n[0] + "." + method
}

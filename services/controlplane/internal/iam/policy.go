package iam

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// Binding grants a role to members.
type Binding struct {
	Role    string   `json:"role"`
	Members []string `json:"members"`
	// Condition is refused: IAM conditions are not emulated.
	Condition json.RawMessage `json:"condition,omitempty"`
}

// Policy is Resource Manager's IAM policy of a project.
type Policy struct {
	Version  int       `json:"version,omitempty"`
	Etag     string    `json:"etag,omitempty"`
	Bindings []Binding `json:"bindings,omitempty"`
}

// emptyEtag is the etag Google gives a policy that was never set.
const emptyEtag = "ACAB"

func (p *policy) view() Policy {
	out := Policy{Version: p.Version, Etag: p.Etag}
	for _, b := range p.Bindings {
		out.Bindings = append(out.Bindings, Binding{Role: b.Role, Members: slices.Clone(b.Members)})
	}
	return out
}

// grants reports whether the policy gives member the permission.
func (p *policy) grants(member, permission string) bool {
	for _, b := range p.Bindings {
		if !slices.Contains(b.Members, member) && !slices.Contains(b.Members, "allAuthenticatedUsers") && !slices.Contains(b.Members, "allUsers") {
			continue
		}
		if r, ok := predefined[b.Role]; ok && r.Grants(permission) {
			return true
		}
	}
	return false
}

func (d *data) policyOf(project string) *policy {
	if p := d.Policies[project]; p != nil {
		return p
	}
	return &policy{Version: 1, Etag: emptyEtag}
}

func projectResource(project string) string {
	return "//cloudresourcemanager.googleapis.com/projects/" + project
}

// GetPolicy returns a project's IAM policy.
func (m *IAM) GetPolicy(project string) (Policy, error) {
	if !m.opts.Projects.ProjectExists(project) {
		return Policy{}, denied(PermGetIamPolicy, projectResource(project))
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.policyOf(project).view(), nil
}

// SetPolicy replaces a project's IAM policy. A non-empty etag must match
// the current one (read-modify-write), as with Resource Manager.
func (m *IAM) SetPolicy(project string, in Policy) (Policy, error) {
	if !m.opts.Projects.ProjectExists(project) {
		return Policy{}, denied(PermSetIamPolicy, projectResource(project))
	}
	var out Policy
	err := m.update(func(d *data) error {
		cur := d.policyOf(project)
		if in.Etag != "" && in.Etag != cur.Etag {
			return &apierr.Error{Code: http.StatusConflict, Status: "ABORTED",
				Message: "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."}
		}
		bindings, err := normalizeBindings(d, in.Bindings)
		if err != nil {
			return err
		}
		version := in.Version
		switch version {
		case 0:
			version = 1
		case 1, 3:
		default:
			return apierr.InvalidArgument("Invalid policy version %d: must be 1 or 3.", in.Version)
		}
		p := &policy{Version: version, Etag: newEtag(), Bindings: bindings}
		d.Policies[project] = p
		out = p.view()
		return nil
	})
	return out, err
}

// normalizeBindings validates bindings and merges them per role, members
// sorted and unique, roles sorted: the canonical form Google returns.
func normalizeBindings(d *data, in []Binding) ([]Binding, error) {
	byRole := map[string][]string{}
	for _, b := range in {
		if len(b.Condition) > 0 && string(b.Condition) != "null" {
			return nil, apierr.InvalidArgument("Conditional role bindings are not supported by the emulated IAM (role %s).", b.Role)
		}
		if b.Role == "" {
			return nil, apierr.InvalidArgument("Policy binding is missing its role.")
		}
		if _, ok := predefined[b.Role]; !ok {
			return nil, apierr.InvalidArgument("Role %s is not supported for this resource.", b.Role)
		}
		for _, member := range b.Members {
			if err := checkMember(d, member); err != nil {
				return nil, err
			}
			if !slices.Contains(byRole[b.Role], member) {
				byRole[b.Role] = append(byRole[b.Role], member)
			}
		}
	}
	out := make([]Binding, 0, len(byRole))
	for role, members := range byRole {
		if len(members) == 0 {
			continue
		}
		sort.Strings(members)
		out = append(out, Binding{Role: role, Members: members})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Role < out[j].Role })
	return out, nil
}

// checkMember validates an IAM member; service accounts of this IAM must
// exist, as Resource Manager requires.
func checkMember(d *data, member string) error {
	if member == "allUsers" || member == "allAuthenticatedUsers" {
		return nil
	}
	kind, id, ok := strings.Cut(member, ":")
	if !ok || id == "" {
		return apierr.InvalidArgument("Invalid member %q: expected a type prefix such as user:, serviceAccount:, group: or domain:.", member)
	}
	switch kind {
	case "user", "group":
		if !strings.Contains(id, "@") {
			return apierr.InvalidArgument("Invalid member %q: %s members are email addresses.", member, kind)
		}
	case "serviceAccount":
		if !strings.Contains(id, "@") {
			return apierr.InvalidArgument("Invalid member %q: serviceAccount members are email addresses.", member)
		}
		if strings.HasSuffix(id, ".iam.gserviceaccount.com") && d.Accounts[id] == nil {
			return apierr.InvalidArgument("Service account %s does not exist.", id)
		}
	case "domain":
	default:
		return apierr.InvalidArgument("Invalid member type %q in %q.", kind, member)
	}
	return nil
}

// addBinding grants role to member in project (idempotent).
func addBinding(d *data, project, role, member string) bool {
	p := d.Policies[project]
	if p == nil {
		p = &policy{Version: 1, Etag: emptyEtag}
		d.Policies[project] = p
	}
	for i := range p.Bindings {
		if p.Bindings[i].Role == role {
			if slices.Contains(p.Bindings[i].Members, member) {
				return false
			}
			p.Bindings[i].Members = append(p.Bindings[i].Members, member)
			sort.Strings(p.Bindings[i].Members)
			p.Etag = newEtag()
			return true
		}
	}
	p.Bindings = append(p.Bindings, Binding{Role: role, Members: []string{member}})
	sort.Slice(p.Bindings, func(i, j int) bool { return p.Bindings[i].Role < p.Bindings[j].Role })
	p.Etag = newEtag()
	return true
}

// AddBinding grants role to member on project, like
// `gcloud projects add-iam-policy-binding`.
func (m *IAM) AddBinding(project, role, member string) error {
	if !m.opts.Projects.ProjectExists(project) {
		return denied(PermSetIamPolicy, projectResource(project))
	}
	return m.update(func(d *data) error {
		if _, ok := predefined[role]; !ok {
			return apierr.InvalidArgument("Role %s is not supported for this resource.", role)
		}
		if err := checkMember(d, member); err != nil {
			return err
		}
		addBinding(d, project, role, member)
		return nil
	})
}

// ---- authorization ----

// serviceOf names the Google API a permission belongs to.
func serviceOf(permission string) string {
	prefix, _, _ := strings.Cut(permission, ".")
	switch prefix {
	case "resourcemanager":
		return "cloudresourcemanager.googleapis.com"
	case "":
		return "googleapis.com"
	default:
		return prefix + ".googleapis.com"
	}
}

// FullResourceName turns a relative resource name into Google's full one
// for the permission's service, trimmed to the resource IAM evaluates: a
// collection ("organizations/o/apis") is checked on its parent and a
// custom verb (":getIamPolicy") is dropped. Full names pass through.
func FullResourceName(permission, resource string) string {
	if strings.HasPrefix(resource, "//") {
		return resource
	}
	return "//" + serviceOf(permission) + "/" + iamResource(resource)
}

func iamResource(rel string) string {
	rel = strings.Trim(rel, "/")
	if i := strings.LastIndexByte(rel, '/'); strings.IndexByte(rel[i+1:], ':') >= 0 {
		rel = rel[:i+1+strings.IndexByte(rel[i+1:], ':')]
	}
	segs := strings.Split(rel, "/")
	if len(segs) > 1 && len(segs)%2 == 1 {
		segs = segs[:len(segs)-1]
	}
	return strings.Join(segs, "/")
}

// projectOf finds the project whose policy governs a resource; scoped is
// false for top-level collections ("organizations"), which any project's
// grant opens.
func (m *IAM) projectOf(fullOrRel string) (project string, scoped bool) {
	rel := fullOrRel
	if strings.HasPrefix(rel, "//") {
		rest := strings.TrimPrefix(rel, "//")
		_, rel, _ = strings.Cut(rest, "/")
	}
	segs := strings.Split(iamResource(rel), "/")
	if len(segs) < 2 {
		return "", false
	}
	switch segs[0] {
	case "projects":
		return segs[1], true
	case "organizations":
		if p, ok := m.opts.Projects.ProjectOfOrg(segs[1]); ok {
			return p, true
		}
		return "", true
	}
	return "", true
}

// Authorize decides whether p may use permission on resource (a relative
// name such as "organizations/hybrid/apis" or a full one such as
// "//apigeeconnect.googleapis.com/projects/p/endpoints/APIGEE_MART"). It
// returns nil or an *Error with Google's PERMISSION_DENIED wording.
func (m *IAM) Authorize(_ context.Context, p Principal, permission, resource string) error {
	if p.Admin {
		return nil
	}
	full := FullResourceName(permission, resource)
	if p.Member == "" {
		return denied(permission, full)
	}
	project, scoped := m.projectOf(resource)
	exists := project != "" && m.opts.Projects.ProjectExists(project)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !scoped {
		for _, pol := range m.d.Policies {
			if pol.grants(p.Member, permission) {
				return nil
			}
		}
		return denied(permission, full)
	}
	if exists && m.d.policyOf(project).grants(p.Member, permission) {
		return nil
	}
	// A service account is a resource with a policy of its own (gcloud
	// iam service-accounts add-iam-policy-binding), which adds to its
	// project's.
	if a := m.d.accountOf(resource); a != nil && a.Policy != nil && a.Policy.grants(p.Member, permission) {
		return nil
	}
	return denied(permission, full)
}

// accountOf returns the account a resource name ("projects/{p}/
// serviceAccounts/{email or unique id}", relative or full) names, or nil.
func (d *data) accountOf(resource string) *account {
	rel := resource
	if rest, ok := strings.CutPrefix(rel, "//"); ok {
		_, rel, _ = strings.Cut(rest, "/")
	}
	segs := strings.Split(strings.Trim(rel, "/"), "/")
	if len(segs) != 4 || segs[0] != "projects" || segs[2] != "serviceAccounts" {
		return nil
	}
	ref, _, _ := strings.Cut(segs[3], ":")
	a := d.accountByRef(ref)
	if a == nil || (segs[1] != "-" && segs[1] != a.Project) {
		return nil
	}
	return a
}

// GetAccountPolicy returns a service account's own IAM policy.
func (m *IAM) GetAccountPolicy(project, ref string) (Policy, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, err := resolveAccount(m.d, project, ref)
	if err != nil {
		return Policy{}, err
	}
	if a.Policy == nil {
		return (&policy{Version: 1, Etag: emptyEtag}).view(), nil
	}
	return a.Policy.view(), nil
}

// SetAccountPolicy replaces a service account's own IAM policy, with
// the etag rule of SetPolicy.
func (m *IAM) SetAccountPolicy(project, ref string, in Policy) (Policy, error) {
	var out Policy
	err := m.update(func(d *data) error {
		a, err := resolveAccount(d, project, ref)
		if err != nil {
			return err
		}
		cur := a.Policy
		if cur == nil {
			cur = &policy{Version: 1, Etag: emptyEtag}
		}
		if in.Etag != "" && in.Etag != cur.Etag {
			return &apierr.Error{Code: http.StatusConflict, Status: "ABORTED",
				Message: "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."}
		}
		bindings, err := normalizeBindings(d, in.Bindings)
		if err != nil {
			return err
		}
		a.Policy = &policy{Version: 1, Etag: newEtag(), Bindings: bindings}
		out = a.Policy.view()
		return nil
	})
	return out, err
}

// AddAccountBinding grants role to member on a service account, like
// `gcloud iam service-accounts add-iam-policy-binding` (idempotent).
func (m *IAM) AddAccountBinding(project, ref, role, member string) error {
	return m.update(func(d *data) error {
		a, err := resolveAccount(d, project, ref)
		if err != nil {
			return err
		}
		if _, ok := predefined[role]; !ok {
			return apierr.InvalidArgument("Role %s is not supported for this resource.", role)
		}
		if err := checkMember(d, member); err != nil {
			return err
		}
		if a.Policy == nil {
			a.Policy = &policy{Version: 1, Etag: emptyEtag}
		}
		bindings, err := normalizeBindings(d, append(a.Policy.view().Bindings, Binding{Role: role, Members: []string{member}}))
		if err != nil {
			return err
		}
		a.Policy.Bindings, a.Policy.Etag = bindings, newEtag()
		return nil
	})
}

// Check is Authorize for callers that carry the principal as a string:
// "admin" or an IAM member such as "serviceAccount:…".
func (m *IAM) Check(ctx context.Context, principal, permission, resource string) error {
	p := Principal{Member: principal, Name: memberEmail(principal)}
	if principal == AdminPrincipal.Name {
		p = AdminPrincipal
	}
	return m.Authorize(ctx, p, permission, resource)
}

// Call describes one API method invocation for Enforce.
type Call struct {
	// ServiceName is the API, e.g. "apigeeconnect.googleapis.com"
	// (default: from the permission).
	ServiceName string
	// MethodName is the RPC, e.g.
	// "google.cloud.apigeeconnect.v1.Tether.Egress".
	MethodName string
	// Category is the audit log category (default: from the permission).
	Category   Category
	Permission string
	Resource   string
}

// Enforce authorizes a call and records it in the audit log, granted or
// not: the one call an API handler needs.
func (m *IAM) Enforce(ctx context.Context, p Principal, c Call) error {
	err := m.Authorize(ctx, p, c.Permission, c.Resource)
	m.Audit(ctx, Entry{
		ServiceName: c.ServiceName, MethodName: c.MethodName, Category: c.Category,
		Principal: p.Name, Resource: c.Resource, Permission: c.Permission, Granted: err == nil,
	})
	return err
}

package apigee

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

type orgInput struct {
	Name            string          `json:"name"`
	DisplayName     string          `json:"displayName"`
	Description     string          `json:"description"`
	AnalyticsRegion string          `json:"analyticsRegion"`
	RuntimeType     string          `json:"runtimeType"`
	Properties      *propertiesView `json:"properties"`
}

func checkProperties(p *propertiesView) ([]state.Property, error) {
	if p == nil {
		return nil, nil
	}
	out := make([]state.Property, 0, len(p.Property))
	seen := map[string]int{}
	for _, prop := range p.Property {
		if prop.Name == "" {
			return nil, apierr.InvalidArgument("Property names must not be empty.")
		}
		if i, dup := seen[prop.Name]; dup { // the last value wins, in first position
			out[i].Value = prop.Value
			continue
		}
		seen[prop.Name] = len(out)
		out = append(out, prop)
	}
	return out, nil
}

// newOperation records a finished long-running operation for a mutation.
func newOperation(tx *state.Tx, o *state.Org, opType, target, responseType string, response any) (*state.Operation, error) {
	body, err := json.Marshal(response)
	if err != nil {
		return nil, apierr.Internal("encode operation response: %v", err)
	}
	op := &state.Operation{
		ID: uuid.NewString(), OperationType: opType, TargetResourceName: target,
		ResponseType: responseType, Response: body, CreatedAt: tx.Millis(),
	}
	o.AddOperation(op)
	return op, nil
}

const emptyType = "google.protobuf.Empty"

// viewOrg runs fn on the request's organization under the read lock.
func (a *API) viewOrg(r *http.Request, fn func(o *state.Org) error) error {
	return a.store.View(func(d *state.Data) error {
		o, err := lookupOrg(d, r.PathValue("org"))
		if err != nil {
			return err
		}
		return fn(o)
	})
}

// mutateOrg runs fn on the request's organization in a mutation.
func (a *API) mutateOrg(r *http.Request, fn func(tx *state.Tx, o *state.Org) error) error {
	return a.store.Update(func(tx *state.Tx) error {
		o, err := lookupOrg(tx.Data, r.PathValue("org"))
		if err != nil {
			return err
		}
		return fn(tx, o)
	})
}

// listOrgs serves GET /v1/organizations: the orgs the caller may get
// (apigee.organizations.get on each), as Apigee lists "the organizations
// you have permission to access".
func (a *API) listOrgs(w http.ResponseWriter, r *http.Request) error {
	var out struct {
		Organizations []orgProjectMapping `json:"organizations"`
	}
	out.Organizations = []orgProjectMapping{}
	var all []orgProjectMapping
	_ = a.store.View(func(d *state.Data) error {
		for _, o := range d.Orgs {
			all = append(all, orgProjectMapping{Organization: o.Name, ProjectIDs: []string{o.ProjectID}})
		}
		return nil
	})
	// Decided outside the store's lock: the IAM asks the store which
	// project an org belongs to.
	check, _ := a.authz.(Checker)
	p := principalOf(r.Context())
	for _, m := range all {
		if check == nil || check.Allowed(r.Context(), p, "apigee.organizations.get", "organizations/"+m.Organization) {
			out.Organizations = append(out.Organizations, m)
		}
	}
	sort.Slice(out.Organizations, func(i, j int) bool { return out.Organizations[i].Organization < out.Organizations[j].Organization })
	return ok(w, out)
}

func (a *API) getOrg(w http.ResponseWriter, r *http.Request) error {
	var v organizationView
	err := a.viewOrg(r, func(o *state.Org) error {
		v = orgView(o)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// projectOfParent reads ?parent=projects/{project} of an org creation.
func projectOfParent(r *http.Request) (string, error) {
	project, found := strings.CutPrefix(r.URL.Query().Get("parent"), "projects/")
	if !found || project == "" {
		return "", apierr.InvalidArgument("parent must be of the form projects/{project}.")
	}
	if err := checkName("organization", project, orgNameRE); err != nil {
		return "", err
	}
	return project, nil
}

// parentProject is the resource an org creation is authorized on: its
// parent project, as Apigee checks apigee.organizations.create there.
func parentProject(r *http.Request) (string, error) {
	project, err := projectOfParent(r)
	if err != nil {
		return "", err
	}
	return "projects/" + project, nil
}

// createOrg serves POST /v1/organizations?parent=projects/{project}; the
// organization is named after the project, as in Apigee.
func (a *API) createOrg(w http.ResponseWriter, r *http.Request) error {
	project, err := projectOfParent(r)
	if err != nil {
		return err
	}
	var in orgInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.RuntimeType != "" && in.RuntimeType != "HYBRID" {
		return apierr.InvalidArgument("This control plane only serves runtimeType HYBRID, not %s.", in.RuntimeType)
	}
	props, err := checkProperties(in.Properties)
	if err != nil {
		return err
	}
	var op *state.Operation
	err = a.store.Update(func(tx *state.Tx) error {
		if tx.Orgs[project] != nil {
			return apierr.AlreadyExists("Organization %s already exists.", project)
		}
		o := state.NewOrg(project, project, tx.Millis())
		o.DisplayName, o.Description, o.AnalyticsRegion, o.Properties = in.DisplayName, in.Description, in.AnalyticsRegion, props
		tx.Orgs[project] = o
		op, err = newOperation(tx, o, "INSERT", "organizations/"+project, "google.cloud.apigee.v1.Organization", orgView(o))
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(project, op))
}

// Retention values of DELETE /v1/organizations/{org} (DeletionRetention).
var deletionRetentions = map[string]bool{"": true, "DELETION_RETENTION_UNSPECIFIED": true, "MINIMUM": true, "NO_RETENTION": true}

// deleteOrg serves DELETE /v1/organizations/{org}[?retention=…]: the org
// and everything in it (environments, groups, proxies and shared flows
// with their bundle files, deployments, operations) are removed at once,
// so its environments' contracts are no longer served and their
// long-polls end. Apigee soft-deletes a paid org for the retention period
// (7 days, MINIMUM 24 h, NO_RETENTION none); the emulator accepts the
// parameter and deletes immediately. The answer is the DELETE Operation,
// already done; it cannot be fetched later since the org's operations go
// with it.
func (a *API) deleteOrg(w http.ResponseWriter, r *http.Request) error {
	org := r.PathValue("org")
	if ret := r.URL.Query().Get("retention"); !deletionRetentions[ret] {
		return apierr.InvalidArgument("Invalid value at 'retention' (type.googleapis.com/google.cloud.apigee.v1.DeleteOrganizationRequest.DeletionRetention), %q: use DELETION_RETENTION_UNSPECIFIED, MINIMUM or NO_RETENTION.", ret)
	}
	var op *state.Operation
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		var err error
		op, err = newOperation(tx, o, "DELETE", "organizations/"+org, emptyType, struct{}{})
		if err != nil {
			return err
		}
		for env := range o.Environments {
			tx.Wake(org, env) // their long-polls answer: the environment is gone
		}
		delete(tx.Orgs, org)
		return tx.RemoveOrgBundles(org)
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

// updateOrg serves PUT /v1/organizations/{org}: display name, description
// and properties (the body of Apigee Connect's enablement step).
func (a *API) updateOrg(w http.ResponseWriter, r *http.Request) error {
	org := r.PathValue("org")
	var in orgInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Name != "" && in.Name != org {
		return apierr.InvalidArgument("Organization name %q in the body does not match %q in the URL.", in.Name, org)
	}
	props, err := checkProperties(in.Properties)
	if err != nil {
		return err
	}
	var v organizationView
	err = a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		if in.DisplayName != "" {
			o.DisplayName = in.DisplayName
		}
		if in.Description != "" {
			o.Description = in.Description
		}
		if in.AnalyticsRegion != "" {
			o.AnalyticsRegion = in.AnalyticsRegion
		}
		if in.Properties != nil {
			o.Properties = props
		}
		o.LastModifiedAt = tx.Millis()
		v = orgView(o)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) getOperation(w http.ResponseWriter, r *http.Request) error {
	org, id := r.PathValue("org"), r.PathValue("id")
	var v operationView
	err := a.viewOrg(r, func(o *state.Org) error {
		op := o.Operation(id)
		if op == nil {
			return apierr.NotFound("Operation organizations/%s/operations/%s not found.", org, id)
		}
		v = opView(org, op)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) listOperations(w http.ResponseWriter, r *http.Request) error {
	org := r.PathValue("org")
	var out struct {
		Operations []operationView `json:"operations"`
	}
	out.Operations = []operationView{}
	err := a.viewOrg(r, func(o *state.Org) error {
		for _, op := range o.Operations {
			out.Operations = append(out.Operations, opView(org, op))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, out)
}

package apigee

import (
	"net/http"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

type groupInput struct {
	Name      string   `json:"name"`
	Hostnames []string `json:"hostnames"`
}

type attachmentInput struct {
	Environment string `json:"environment"`
}

func lookupGroup(o *state.Org, name string) (*state.EnvGroup, error) {
	g := o.EnvGroups[name]
	if g == nil {
		return nil, apierr.NotFound("environment group %s not found in organization %s", name, o.Name)
	}
	return g, nil
}

// viewGroup runs fn on the request's environment group under the read lock.
func (a *API) viewGroup(r *http.Request, fn func(o *state.Org, g *state.EnvGroup) error) error {
	return a.viewOrg(r, func(o *state.Org) error {
		g, err := lookupGroup(o, r.PathValue("group"))
		if err != nil {
			return err
		}
		return fn(o, g)
	})
}

// mutateGroup runs fn on the request's environment group in a mutation.
func (a *API) mutateGroup(r *http.Request, fn func(tx *state.Tx, o *state.Org, g *state.EnvGroup) error) error {
	return a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		g, err := lookupGroup(o, r.PathValue("group"))
		if err != nil {
			return err
		}
		return fn(tx, o, g)
	})
}

// checkHostnames normalises hostnames (lower case, unique, sorted) and
// refuses any another environment group — in any organization, since the
// runtime routes by Host alone — already serves.
func checkHostnames(d *state.Data, org, group string, hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		return nil, apierr.InvalidArgument("environment group %s needs at least one hostname", group)
	}
	seen := map[string]bool{}
	var out []string
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if !hostnameRE.MatchString(h) {
			return nil, apierr.InvalidArgument("invalid hostname %q", h)
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	sort.Strings(out)
	for _, o := range d.Orgs {
		for _, g := range o.EnvGroups {
			if o.Name == org && g.Name == group {
				continue
			}
			for _, h := range g.Hostnames {
				if seen[h] {
					return nil, apierr.AlreadyExists("hostname %s is already used by environment group %s of organization %s", h, g.Name, o.Name)
				}
			}
		}
	}
	return out, nil
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) error {
	var out struct {
		EnvironmentGroups []envGroupView `json:"environmentGroups"`
	}
	out.EnvironmentGroups = []envGroupView{}
	err := a.viewOrg(r, func(o *state.Org) error {
		for _, g := range o.EnvGroups {
			out.EnvironmentGroups = append(out.EnvironmentGroups, groupView(g))
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(out.EnvironmentGroups, func(i, j int) bool { return out.EnvironmentGroups[i].Name < out.EnvironmentGroups[j].Name })
	return ok(w, out)
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request) error {
	var v envGroupView
	err := a.viewGroup(r, func(_ *state.Org, g *state.EnvGroup) error {
		v = groupView(g)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) error {
	org := r.PathValue("org")
	var in groupInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if q := r.URL.Query().Get("name"); q != "" {
		if in.Name != "" && in.Name != q {
			return apierr.InvalidArgument("Environment group name %q in the body does not match name=%q.", in.Name, q)
		}
		in.Name = q
	}
	var op *state.Operation
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		g, err := createGroup(tx, o, in)
		if err != nil {
			return err
		}
		op, err = newOperation(tx, o, "INSERT", "organizations/"+org+"/envgroups/"+g.Name,
			"google.cloud.apigee.v1.EnvironmentGroup", groupView(g))
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

func createGroup(tx *state.Tx, o *state.Org, in groupInput) (*state.EnvGroup, error) {
	if err := checkName("environment group", in.Name, groupNameRE); err != nil {
		return nil, err
	}
	if o.EnvGroups[in.Name] != nil {
		return nil, apierr.AlreadyExists("environment group %s already exists in organization %s", in.Name, o.Name)
	}
	hosts, err := checkHostnames(tx.Data, o.Name, in.Name, in.Hostnames)
	if err != nil {
		return nil, err
	}
	g := &state.EnvGroup{Name: in.Name, Hostnames: hosts, CreatedAt: tx.Millis(), LastModifiedAt: tx.Millis()}
	o.EnvGroups[g.Name] = g
	return g, nil
}

// patchGroup serves PATCH …/envgroups/{group}?updateMask=hostnames.
func (a *API) patchGroup(w http.ResponseWriter, r *http.Request) error {
	org, name := r.PathValue("org"), r.PathValue("group")
	for _, f := range strings.Split(r.URL.Query().Get("updateMask"), ",") {
		if f = strings.TrimSpace(f); f != "" && f != "hostnames" {
			return apierr.InvalidField("update_mask", "updateMask field %q cannot be changed; only hostnames can", f)
		}
	}
	var in groupInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var op *state.Operation
	err := a.mutateGroup(r, func(tx *state.Tx, o *state.Org, g *state.EnvGroup) error {
		hosts, err := checkHostnames(tx.Data, org, name, in.Hostnames)
		if err != nil {
			return err
		}
		g.Hostnames, g.LastModifiedAt = hosts, tx.Millis()
		for _, at := range g.Attachments {
			tx.Touch(o, at.Environment)
		}
		op, err = newOperation(tx, o, "UPDATE", "organizations/"+org+"/envgroups/"+name,
			"google.cloud.apigee.v1.EnvironmentGroup", groupView(g))
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	org, name := r.PathValue("org"), r.PathValue("group")
	var op *state.Operation
	err := a.mutateGroup(r, func(tx *state.Tx, o *state.Org, g *state.EnvGroup) error {
		delete(o.EnvGroups, name)
		for _, at := range g.Attachments {
			tx.Touch(o, at.Environment)
		}
		var err error
		op, err = newOperation(tx, o, "DELETE", "organizations/"+org+"/envgroups/"+name, emptyType, struct{}{})
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

func (a *API) listAttachments(w http.ResponseWriter, r *http.Request) error {
	var out struct {
		EnvironmentGroupAttachments []attachmentView `json:"environmentGroupAttachments"`
	}
	out.EnvironmentGroupAttachments = []attachmentView{}
	err := a.viewGroup(r, func(_ *state.Org, g *state.EnvGroup) error {
		for _, at := range g.Attachments {
			out.EnvironmentGroupAttachments = append(out.EnvironmentGroupAttachments, attachView(g, at))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, out)
}

func (a *API) getAttachment(w http.ResponseWriter, r *http.Request) error {
	var v attachmentView
	err := a.viewGroup(r, func(_ *state.Org, g *state.EnvGroup) error {
		for _, at := range g.Attachments {
			if at.ID == r.PathValue("id") {
				v = attachView(g, at)
				return nil
			}
		}
		return apierr.NotFound("attachment %s not found in environment group %s", r.PathValue("id"), g.Name)
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) createAttachment(w http.ResponseWriter, r *http.Request) error {
	org, name := r.PathValue("org"), r.PathValue("group")
	var in attachmentInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var op *state.Operation
	err := a.mutateGroup(r, func(tx *state.Tx, o *state.Org, g *state.EnvGroup) error {
		at, err := attach(tx, o, g, in.Environment)
		if err != nil {
			return err
		}
		op, err = newOperation(tx, o, "INSERT", "organizations/"+org+"/envgroups/"+name+"/attachments/"+at.ID,
			"google.cloud.apigee.v1.EnvironmentGroupAttachment", attachView(g, at))
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

func attach(tx *state.Tx, o *state.Org, g *state.EnvGroup, env string) (*state.Attachment, error) {
	if env == "" {
		return nil, apierr.InvalidArgument("attachment needs an environment")
	}
	if _, err := lookupEnv(o, env); err != nil {
		return nil, err
	}
	for _, at := range g.Attachments {
		if at.Environment == env {
			return nil, apierr.AlreadyExists("environment %s is already attached to environment group %s", env, g.Name)
		}
	}
	at := &state.Attachment{ID: uuid.NewString(), Environment: env, CreatedAt: tx.Millis()}
	g.Attachments = append(g.Attachments, at)
	tx.Touch(o, env)
	return at, nil
}

func (a *API) deleteAttachment(w http.ResponseWriter, r *http.Request) error {
	org, name, id := r.PathValue("org"), r.PathValue("group"), r.PathValue("id")
	var op *state.Operation
	err := a.mutateGroup(r, func(tx *state.Tx, o *state.Org, g *state.EnvGroup) error {
		for i, at := range g.Attachments {
			if at.ID == id {
				g.Attachments = append(g.Attachments[:i:i], g.Attachments[i+1:]...)
				tx.Touch(o, at.Environment)
				var err error
				op, err = newOperation(tx, o, "DELETE", "organizations/"+org+"/envgroups/"+name+"/attachments/"+id, emptyType, struct{}{})
				return err
			}
		}
		return apierr.NotFound("attachment %s not found in environment group %s", id, name)
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

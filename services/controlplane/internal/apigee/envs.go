package apigee

import (
	"net/http"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

type envInput struct {
	Name        string          `json:"name"`
	DisplayName string          `json:"displayName"`
	Description string          `json:"description"`
	Properties  *propertiesView `json:"properties"`
}

// listEnvs answers with a bare JSON array of names: what Apigee returns and
// apigeecli's `envs list` expects.
func (a *API) listEnvs(w http.ResponseWriter, r *http.Request) error {
	var names []string
	err := a.viewOrg(r, func(o *state.Org) error {
		names = o.EnvNames()
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, nonNil(names))
}

func (a *API) getEnv(w http.ResponseWriter, r *http.Request) error {
	var v environmentView
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		v = envView(e)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) createEnv(w http.ResponseWriter, r *http.Request) error {
	org := r.PathValue("org")
	var in envInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if q := r.URL.Query().Get("name"); q != "" {
		if in.Name != "" && in.Name != q {
			return apierr.InvalidArgument("Environment name %q in the body does not match name=%q.", in.Name, q)
		}
		in.Name = q
	}
	var op *state.Operation
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		e, err := createEnvironment(tx, o, in)
		if err != nil {
			return err
		}
		op, err = newOperation(tx, o, "INSERT", "organizations/"+org+"/environments/"+e.Name,
			"google.cloud.apigee.v1.Environment", envView(e))
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

// createEnvironment adds an environment and gives it its first contract.
func createEnvironment(tx *state.Tx, o *state.Org, in envInput) (*state.Environment, error) {
	if err := checkName("environment", in.Name, envNameRE); err != nil {
		return nil, err
	}
	props, err := checkProperties(in.Properties)
	if err != nil {
		return nil, err
	}
	if o.Environments[in.Name] != nil {
		return nil, apierr.AlreadyExists("environment %s already exists in organization %s", in.Name, o.Name)
	}
	e := &state.Environment{
		Name: in.Name, DisplayName: in.DisplayName, Description: in.Description, Properties: props,
		CreatedAt: tx.Millis(), LastModifiedAt: tx.Millis(),
	}
	o.Environments[e.Name] = e
	tx.Touch(o, e.Name)
	return e, nil
}

// updateEnv serves PUT /v1/organizations/{org}/environments/{env}: display
// name, description and properties (which reach the runtime contract).
func (a *API) updateEnv(w http.ResponseWriter, r *http.Request) error {
	env := r.PathValue("env")
	var in envInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Name != "" && in.Name != env {
		return apierr.InvalidArgument("Environment name %q in the body does not match %q in the URL.", in.Name, env)
	}
	props, err := checkProperties(in.Properties)
	if err != nil {
		return err
	}
	var v environmentView
	err = a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		e, err := lookupEnv(o, env)
		if err != nil {
			return err
		}
		e.DisplayName, e.Description, e.Properties = in.DisplayName, in.Description, props
		e.LastModifiedAt = tx.Millis()
		tx.Touch(o, env)
		v = envView(e)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) deleteEnv(w http.ResponseWriter, r *http.Request) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	var op *state.Operation
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		_, err := lookupEnv(o, env)
		if err != nil {
			return err
		}
		if deps := o.DeploymentsWhere(func(d *state.Deployment) bool { return d.Environment == env }); len(deps) > 0 {
			return apierr.FailedPrecondition("environment %s has %d deployment(s) (e.g. %s %s revision %d); undeploy them before deleting the environment",
				env, len(deps), deps[0].Kind, deps[0].Name, deps[0].Revision)
		}
		for _, g := range o.EnvGroups {
			kept := g.Attachments[:0]
			for _, at := range g.Attachments {
				if at.Environment != env {
					kept = append(kept, at)
				}
			}
			g.Attachments = kept
		}
		for _, in := range o.Instances {
			kept := in.Attachments[:0]
			for _, at := range in.Attachments {
				if at.Environment != env {
					kept = append(kept, at)
				}
			}
			in.Attachments = kept
		}
		delete(o.Environments, env)
		tx.Wake(org, env)
		op, err = newOperation(tx, o, "DELETE", "organizations/"+org+"/environments/"+env, emptyType, struct{}{})
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

// viewEnv runs fn on the org's environment under the read lock.
func (a *API) viewEnv(r *http.Request, fn func(o *state.Org, e *state.Environment) error) error {
	return a.viewOrg(r, func(o *state.Org) error {
		e, err := lookupEnv(o, r.PathValue("env"))
		if err != nil {
			return err
		}
		return fn(o, e)
	})
}

// mutateEnv runs fn on the org's environment in a mutation; when fn
// succeeds the environment gets a new contract version, since everything
// here reaches the runtime.
func (a *API) mutateEnv(r *http.Request, fn func(tx *state.Tx, o *state.Org, e *state.Environment) error) error {
	return a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		e, err := lookupEnv(o, r.PathValue("env"))
		if err != nil {
			return err
		}
		if err := fn(tx, o, e); err != nil {
			return err
		}
		e.LastModifiedAt = tx.Millis()
		tx.Touch(o, e.Name)
		return nil
	})
}

package apigee

import (
	"net/http"
	"regexp"
	"sort"

	"github.com/google/uuid"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Instances are the organization's runtime clusters (a region each) and
// instance attachments name the environments each one runs, as in the
// Apigee API's organizations.instances and .instances.attachments. Hybrid
// names its instance in overrides (instanceID); the watcher of that
// instance reports deployment status under the same name.

// instanceNameRE is the API's rule for instance names: lower-case letters,
// digits and hyphens, starting with a letter, at most 32.
var instanceNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)

type instanceInput struct {
	Name                  string   `json:"name"`
	Location              string   `json:"location"`
	DisplayName           string   `json:"displayName"`
	Description           string   `json:"description"`
	PeeringCidrRange      string   `json:"peeringCidrRange"`
	IPRange               string   `json:"ipRange"`
	DiskEncryptionKeyName string   `json:"diskEncryptionKeyName"`
	ConsumerAcceptList    []string `json:"consumerAcceptList"`
}

type instanceView struct {
	Name                  string   `json:"name"`
	Location              string   `json:"location"`
	DisplayName           string   `json:"displayName,omitempty"`
	Description           string   `json:"description,omitempty"`
	Host                  string   `json:"host"`
	Port                  string   `json:"port"`
	State                 string   `json:"state"`
	RuntimeVersion        string   `json:"runtimeVersion"`
	PeeringCidrRange      string   `json:"peeringCidrRange,omitempty"`
	IPRange               string   `json:"ipRange,omitempty"`
	DiskEncryptionKeyName string   `json:"diskEncryptionKeyName,omitempty"`
	ConsumerAcceptList    []string `json:"consumerAcceptList,omitempty"`
	CreatedAt             int64    `json:"createdAt,string"`
	LastModifiedAt        int64    `json:"lastModifiedAt,string"`
}

type instanceAttachmentView struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	CreatedAt   int64  `json:"createdAt,string"`
}

func instView(in *state.Instance) instanceView {
	return instanceView{
		Name: in.Name, Location: in.Location, DisplayName: in.DisplayName, Description: in.Description,
		// A hybrid instance is reached through its own ingress; 127.0.0.1
		// is the local runtime's.
		Host: "127.0.0.1", Port: "443", State: "ACTIVE", RuntimeVersion: "hybrid-emulator",
		PeeringCidrRange: in.PeeringCidrRange, IPRange: in.IPRange, DiskEncryptionKeyName: in.DiskEncryptionKeyName,
		ConsumerAcceptList: in.ConsumerAcceptList, CreatedAt: in.CreatedAt, LastModifiedAt: in.LastModifiedAt,
	}
}

func instAttachView(at *state.Attachment) instanceAttachmentView {
	return instanceAttachmentView{Name: at.ID, Environment: at.Environment, CreatedAt: at.CreatedAt}
}

func lookupInstance(o *state.Org, name string) (*state.Instance, error) {
	in := o.Instances[name]
	if in == nil {
		return nil, apierr.NotFound("instance %s not found in organization %s", name, o.Name)
	}
	return in, nil
}

func (a *API) createInstance(w http.ResponseWriter, r *http.Request) error {
	org := r.PathValue("org")
	var in instanceInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if !instanceNameRE.MatchString(in.Name) {
		return apierr.InvalidField("instance.name", "Instance name %q is invalid: 2-32 lower-case letters, digits or hyphens, starting with a letter and not ending with a hyphen.", in.Name)
	}
	if in.Location == "" {
		return apierr.InvalidField("instance.location", "Instance location (the region of the runtime cluster) is required.")
	}
	var op *state.Operation
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		if _, exists := o.Instances[in.Name]; exists {
			return apierr.AlreadyExists("instance %s already exists in organization %s", in.Name, org)
		}
		if o.Instances == nil {
			o.Instances = map[string]*state.Instance{}
		}
		inst := &state.Instance{
			Name: in.Name, Location: in.Location, DisplayName: in.DisplayName, Description: in.Description,
			PeeringCidrRange: in.PeeringCidrRange, IPRange: in.IPRange, DiskEncryptionKeyName: in.DiskEncryptionKeyName,
			ConsumerAcceptList: in.ConsumerAcceptList, CreatedAt: tx.Millis(), LastModifiedAt: tx.Millis(),
		}
		o.Instances[in.Name] = inst
		var err error
		op, err = newOperation(tx, o, "INSERT", "organizations/"+org+"/instances/"+in.Name, "google.cloud.apigee.v1.Instance", instView(inst))
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

func (a *API) listInstances(w http.ResponseWriter, r *http.Request) error {
	out := struct {
		Instances []instanceView `json:"instances"`
	}{Instances: []instanceView{}}
	err := a.viewOrg(r, func(o *state.Org) error {
		for _, in := range o.Instances {
			out.Instances = append(out.Instances, instView(in))
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(out.Instances, func(i, j int) bool { return out.Instances[i].Name < out.Instances[j].Name })
	return ok(w, out)
}

func (a *API) getInstance(w http.ResponseWriter, r *http.Request) error {
	var v instanceView
	err := a.viewOrg(r, func(o *state.Org) error {
		in, err := lookupInstance(o, r.PathValue("instance"))
		if err != nil {
			return err
		}
		v = instView(in)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// deleteInstance removes the instance with its attachments; the
// environments stay, served by the other instances they are attached to.
func (a *API) deleteInstance(w http.ResponseWriter, r *http.Request) error {
	org, name := r.PathValue("org"), r.PathValue("instance")
	var op *state.Operation
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		in, err := lookupInstance(o, name)
		if err != nil {
			return err
		}
		delete(o.Instances, name)
		for _, at := range in.Attachments {
			tx.Touch(o, at.Environment)
		}
		op, err = newOperation(tx, o, "DELETE", "organizations/"+org+"/instances/"+name, "google.cloud.apigee.v1.Instance", instView(in))
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

func (a *API) createInstanceAttachment(w http.ResponseWriter, r *http.Request) error {
	org, name := r.PathValue("org"), r.PathValue("instance")
	var in struct {
		Environment string `json:"environment"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Environment == "" {
		return apierr.InvalidField("attachment.environment", "An instance attachment needs an environment.")
	}
	var op *state.Operation
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		inst, err := lookupInstance(o, name)
		if err != nil {
			return err
		}
		if _, err := lookupEnv(o, in.Environment); err != nil {
			return err
		}
		for _, at := range inst.Attachments {
			if at.Environment == in.Environment {
				return apierr.AlreadyExists("environment %s is already attached to instance %s", in.Environment, name)
			}
		}
		at := &state.Attachment{ID: uuid.NewString(), Environment: in.Environment, CreatedAt: tx.Millis()}
		inst.Attachments = append(inst.Attachments, at)
		inst.LastModifiedAt = tx.Millis()
		tx.Touch(o, in.Environment)
		op, err = newOperation(tx, o, "INSERT", "organizations/"+org+"/instances/"+name+"/attachments/"+at.ID,
			"google.cloud.apigee.v1.InstanceAttachment", instAttachView(at))
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

func (a *API) listInstanceAttachments(w http.ResponseWriter, r *http.Request) error {
	out := struct {
		Attachments []instanceAttachmentView `json:"attachments"`
	}{Attachments: []instanceAttachmentView{}}
	err := a.viewOrg(r, func(o *state.Org) error {
		inst, err := lookupInstance(o, r.PathValue("instance"))
		if err != nil {
			return err
		}
		for _, at := range inst.Attachments {
			out.Attachments = append(out.Attachments, instAttachView(at))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, out)
}

func (a *API) getInstanceAttachment(w http.ResponseWriter, r *http.Request) error {
	var v instanceAttachmentView
	err := a.viewOrg(r, func(o *state.Org) error {
		inst, err := lookupInstance(o, r.PathValue("instance"))
		if err != nil {
			return err
		}
		for _, at := range inst.Attachments {
			if at.ID == r.PathValue("attachment") {
				v = instAttachView(at)
				return nil
			}
		}
		return apierr.NotFound("attachment %s not found on instance %s", r.PathValue("attachment"), inst.Name)
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) deleteInstanceAttachment(w http.ResponseWriter, r *http.Request) error {
	org, name, id := r.PathValue("org"), r.PathValue("instance"), r.PathValue("attachment")
	var op *state.Operation
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		inst, err := lookupInstance(o, name)
		if err != nil {
			return err
		}
		for i, at := range inst.Attachments {
			if at.ID != id {
				continue
			}
			inst.Attachments = append(inst.Attachments[:i], inst.Attachments[i+1:]...)
			inst.LastModifiedAt = tx.Millis()
			tx.Touch(o, at.Environment)
			op, err = newOperation(tx, o, "DELETE", "organizations/"+org+"/instances/"+name+"/attachments/"+id,
				"google.cloud.apigee.v1.InstanceAttachment", instAttachView(at))
			return err
		}
		return apierr.NotFound("attachment %s not found on instance %s", id, name)
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

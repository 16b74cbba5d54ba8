package state

import (
	"sort"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// Kind tells API proxies from shared flows; both share one model.
type Kind string

const (
	KindProxy      Kind = "apiproxy"
	KindSharedFlow Kind = "sharedflow"
)

// Data is everything the control plane knows. It is what the snapshot file
// holds; bundle zips live beside it as files.
type Data struct {
	FormatVersion int             `json:"formatVersion"`
	Orgs          map[string]*Org `json:"orgs"`
}

// Property is one name/value pair of an org's or environment's properties;
// order is kept as clients sent it.
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Org is one organization.
type Org struct {
	Name            string                  `json:"name"`
	ProjectID       string                  `json:"projectId"`
	DisplayName     string                  `json:"displayName,omitempty"`
	Description     string                  `json:"description,omitempty"`
	AnalyticsRegion string                  `json:"analyticsRegion,omitempty"`
	Properties      []Property              `json:"properties,omitempty"`
	CreatedAt       int64                   `json:"createdAt"`
	LastModifiedAt  int64                   `json:"lastModifiedAt"`
	Environments    map[string]*Environment `json:"environments"`
	EnvGroups       map[string]*EnvGroup    `json:"envGroups"`
	APIs            map[string]*API         `json:"apis"`
	SharedFlows     map[string]*API         `json:"sharedFlows"`
	Deployments     []*Deployment           `json:"deployments"`
	Operations      []*Operation            `json:"operations"` // oldest first
	// SyncAuthorization is nil until set (seeded orgs get theirs at start).
	SyncAuthorization *SyncAuthorization `json:"syncAuthorization,omitempty"`
	// Instances are the org's runtime clusters (organizations.instances).
	Instances map[string]*Instance `json:"instances,omitempty"`
}

// Instance is one runtime cluster (a region) with the environments attached
// to it.
type Instance struct {
	Name                  string        `json:"name"`
	Location              string        `json:"location"`
	DisplayName           string        `json:"displayName,omitempty"`
	Description           string        `json:"description,omitempty"`
	PeeringCidrRange      string        `json:"peeringCidrRange,omitempty"`
	IPRange               string        `json:"ipRange,omitempty"`
	DiskEncryptionKeyName string        `json:"diskEncryptionKeyName,omitempty"`
	ConsumerAcceptList    []string      `json:"consumerAcceptList,omitempty"`
	CreatedAt             int64         `json:"createdAt"`
	LastModifiedAt        int64         `json:"lastModifiedAt"`
	Attachments           []*Attachment `json:"attachments,omitempty"`
}

// Environment is one environment of an org.
type Environment struct {
	Name           string     `json:"name"`
	DisplayName    string     `json:"displayName,omitempty"`
	Description    string     `json:"description,omitempty"`
	Properties     []Property `json:"properties,omitempty"`
	CreatedAt      int64      `json:"createdAt"`
	LastModifiedAt int64      `json:"lastModifiedAt"`
	// ContractVersion is the version of the environment's current runtime
	// contract; every change that affects the runtime bumps it.
	ContractVersion string `json:"contractVersion"`
	// Instances holds the latest status report of each runtime instance
	// (watcher) serving the environment.
	Instances map[string]*InstanceReport `json:"instances,omitempty"`
	// FlowHooks by hook point (PreProxyFlowHook …).
	FlowHooks map[string]*FlowHook `json:"flowHooks,omitempty"`
	// TargetServers by name.
	TargetServers map[string]*TargetServer `json:"targetServers,omitempty"`
	// Keystores (and truststores) by name; private keys included (see
	// keystores.go).
	Keystores map[string]*Keystore `json:"keystores,omitempty"`
	// References to keystores and truststores by name.
	References map[string]*Reference `json:"references,omitempty"`
	// ResourceFiles by ResourceFileKey ("properties/myProps").
	ResourceFiles map[string]*ResourceFile `json:"resourceFiles,omitempty"`
	// TraceConfig is the environment's distributed trace configuration.
	TraceConfig *TraceConfig `json:"traceConfig,omitempty"`
	// DebugSessions by name (…/apis/{api}/revisions/{rev}/debugsessions).
	DebugSessions map[string]*DebugSession `json:"debugSessions,omitempty"`
	// DebugMask is the environment's debug mask (nil: none set).
	DebugMask *contract.DebugMask `json:"debugMask,omitempty"`
}

// DebugSession is one debug session of a proxy revision. Validity and
// Timeout are in seconds, as the API takes them; the session captures
// until CreatedAt + Validity.
type DebugSession struct {
	Name      string `json:"name"`
	APIProxy  string `json:"apiProxy"`
	Revision  string `json:"revision"`
	Filter    string `json:"filter,omitempty"`
	Count     int64  `json:"count"`
	TraceSize int64  `json:"tracesize"`
	Validity  int64  `json:"validity"`
	Timeout   int64  `json:"timeout"`
	CreatedAt int64  `json:"createdAt"`
}

// InstanceReport is what one runtime instance last said about the environment.
type InstanceReport struct {
	Instance        string           `json:"instance"`
	ContractVersion string           `json:"contractVersion"`
	ReportedAt      int64            `json:"reportedAt"`
	Pods            []PodReport      `json:"pods,omitempty"`
	Deployments     []ReportedStatus `json:"deployments,omitempty"`
}

// PodReport is one runtime pod of an instance.
type PodReport struct {
	PodName    string `json:"podName"`
	AppVersion string `json:"appVersion,omitempty"`
}

// ReportedStatus is one deployment's state as an instance reported it.
type ReportedStatus struct {
	Kind     Kind     `json:"kind"`
	Name     string   `json:"name"`
	Revision string   `json:"revision"`
	State    string   `json:"state"`
	Errors   []string `json:"errors,omitempty"`
	// Since is when the instance first reported this state (millis).
	Since int64 `json:"since"`
}

// EnvGroup is one environment group with its attachments.
type EnvGroup struct {
	Name           string        `json:"name"`
	Hostnames      []string      `json:"hostnames"`
	CreatedAt      int64         `json:"createdAt"`
	LastModifiedAt int64         `json:"lastModifiedAt"`
	Attachments    []*Attachment `json:"attachments,omitempty"`
}

// Attachment attaches an environment to an environment group.
type Attachment struct {
	ID          string `json:"id"`
	Environment string `json:"environment"`
	CreatedAt   int64  `json:"createdAt"`
}

// API is an API proxy or a shared flow with its revisions.
type API struct {
	Name           string            `json:"name"`
	Kind           Kind              `json:"kind"`
	CreatedAt      int64             `json:"createdAt"`
	LastModifiedAt int64             `json:"lastModifiedAt"`
	NextRevision   int               `json:"nextRevision"`
	Revisions      map[int]*Revision `json:"revisions"`
	// Labels are the API proxy's user labels (apis.patch).
	Labels map[string]string `json:"labels,omitempty"`
}

// Revision is one imported bundle revision; its zip is stored as a file.
type Revision struct {
	Revision       int      `json:"revision"`
	CreatedAt      int64    `json:"createdAt"`
	LastModifiedAt int64    `json:"lastModifiedAt"`
	DisplayName    string   `json:"displayName,omitempty"`
	Description    string   `json:"description,omitempty"`
	BasePaths      []string `json:"basePaths,omitempty"`
	Proxies        []string `json:"proxies,omitempty"`
	Targets        []string `json:"targets,omitempty"`
	Policies       []string `json:"policies,omitempty"`
	Resources      []string `json:"resources,omitempty"`
	SharedFlows    []string `json:"sharedFlows,omitempty"`
	SHA256         string   `json:"sha256"`
	Size           int      `json:"size"`
	// GoogleAuthentication: a target or policy sends Google tokens
	// (<Authentication>), so a deploy needs a service account. Known at
	// import, where the bundle is parsed anyway.
	GoogleAuthentication bool `json:"googleAuthentication,omitempty"`
}

// Deployment is one revision deployed to one environment.
type Deployment struct {
	Environment     string `json:"environment"`
	Kind            Kind   `json:"kind"`
	Name            string `json:"name"`
	Revision        int    `json:"revision"`
	DeployStartTime int64  `json:"deployStartTime"`
	// ContractVersion is the contract version that introduced the deployment;
	// only reports for this version or later count towards its state.
	ContractVersion string `json:"contractVersion"`
	ServiceAccount  string `json:"serviceAccount,omitempty"`
}

// Operation is a finished long-running operation, kept retrievable.
type Operation struct {
	ID                 string `json:"id"`
	OperationType      string `json:"operationType"`
	TargetResourceName string `json:"targetResourceName"`
	ResponseType       string `json:"responseType"`
	// Response is the JSON of the resource the operation produced.
	Response  []byte `json:"response,omitempty"`
	CreatedAt int64  `json:"createdAt"`
}

// MaxOperationsPerOrg bounds the retained operations (oldest go first).
const MaxOperationsPerOrg = 1000

func newData() *Data { return &Data{FormatVersion: 1, Orgs: map[string]*Org{}} }

// NewOrg returns an empty org with its maps made.
func NewOrg(name, projectID string, now int64) *Org {
	return &Org{
		Name: name, ProjectID: projectID, CreatedAt: now, LastModifiedAt: now,
		Environments: map[string]*Environment{}, EnvGroups: map[string]*EnvGroup{},
		APIs: map[string]*API{}, SharedFlows: map[string]*API{},
	}
}

// fill makes the maps of an org loaded from an older or hand-written snapshot.
func (o *Org) fill() {
	if o.Environments == nil {
		o.Environments = map[string]*Environment{}
	}
	if o.EnvGroups == nil {
		o.EnvGroups = map[string]*EnvGroup{}
	}
	if o.APIs == nil {
		o.APIs = map[string]*API{}
	}
	if o.SharedFlows == nil {
		o.SharedFlows = map[string]*API{}
	}
	for _, a := range o.APIs {
		if a.Revisions == nil {
			a.Revisions = map[int]*Revision{}
		}
	}
	for _, a := range o.SharedFlows {
		if a.Revisions == nil {
			a.Revisions = map[int]*Revision{}
		}
	}
}

// Collection returns the proxies or the shared flows of the org.
func (o *Org) Collection(k Kind) map[string]*API {
	if k == KindSharedFlow {
		return o.SharedFlows
	}
	return o.APIs
}

// EnvNames returns the org's environment names, sorted.
func (o *Org) EnvNames() []string {
	names := make([]string, 0, len(o.Environments))
	for n := range o.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// GroupsOf returns the environment groups env is attached to, sorted by name.
func (o *Org) GroupsOf(env string) []*EnvGroup {
	var out []*EnvGroup
	for _, g := range o.EnvGroups {
		for _, a := range g.Attachments {
			if a.Environment == env {
				out = append(out, g)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Hostnames returns the hostnames routed to env, sorted and unique.
func (o *Org) Hostnames(env string) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range o.GroupsOf(env) {
		for _, h := range g.Hostnames {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	sort.Strings(out)
	return out
}

// FindDeployment returns the deployment of name (any revision) in env.
func (o *Org) FindDeployment(env string, k Kind, name string) *Deployment {
	for _, d := range o.Deployments {
		if d.Environment == env && d.Kind == k && d.Name == name {
			return d
		}
	}
	return nil
}

// DeploymentsWhere returns the deployments for which keep is true, in a
// stable order (environment, kind, name).
func (o *Org) DeploymentsWhere(keep func(d *Deployment) bool) []*Deployment {
	var out []*Deployment
	for _, d := range o.Deployments {
		if keep(d) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Environment != b.Environment {
			return a.Environment < b.Environment
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return out
}

// RemoveDeployment drops d from the org.
func (o *Org) RemoveDeployment(d *Deployment) {
	for i, x := range o.Deployments {
		if x == d {
			o.Deployments = append(o.Deployments[:i], o.Deployments[i+1:]...)
			return
		}
	}
}

// AddOperation records op, dropping the oldest beyond the cap.
func (o *Org) AddOperation(op *Operation) {
	o.Operations = append(o.Operations, op)
	if n := len(o.Operations) - MaxOperationsPerOrg; n > 0 {
		o.Operations = append([]*Operation(nil), o.Operations[n:]...)
	}
}

// Operation returns the operation with id, or nil.
func (o *Org) Operation(id string) *Operation {
	for _, op := range o.Operations {
		if op.ID == id {
			return op
		}
	}
	return nil
}

// SortedRevisions returns an API's revision numbers in ascending order.
func (a *API) SortedRevisions() []int {
	revs := make([]int, 0, len(a.Revisions))
	for r := range a.Revisions {
		revs = append(revs, r)
	}
	sort.Ints(revs)
	return revs
}

// Latest returns the highest revision number, or 0 when there is none.
func (a *API) Latest() int {
	latest := 0
	for r := range a.Revisions {
		if r > latest {
			latest = r
		}
	}
	return latest
}

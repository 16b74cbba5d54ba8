package apigee

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// The JSON shapes of the public Apigee API (google.cloud.apigee.v1), with
// the field names the generated Go client and apigeecli use. Timestamps are
// Unix milliseconds encoded as strings, as Google's JSON mapping does for
// int64.

type propertiesView struct {
	Property []state.Property `json:"property"`
}

type organizationView struct {
	Name             string          `json:"name"`
	DisplayName      string          `json:"displayName,omitempty"`
	Description      string          `json:"description,omitempty"`
	ProjectID        string          `json:"projectId"`
	ApigeeProjectID  string          `json:"apigeeProjectId,omitempty"`
	AnalyticsRegion  string          `json:"analyticsRegion,omitempty"`
	RuntimeType      string          `json:"runtimeType"`
	SubscriptionType string          `json:"subscriptionType"`
	BillingType      string          `json:"billingType"`
	Type             string          `json:"type"`
	State            string          `json:"state"`
	Environments     []string        `json:"environments"`
	Properties       *propertiesView `json:"properties,omitempty"`
	CreatedAt        int64           `json:"createdAt,string"`
	LastModifiedAt   int64           `json:"lastModifiedAt,string"`
}

type orgProjectMapping struct {
	Organization string   `json:"organization"`
	ProjectIDs   []string `json:"projectIds"`
}

type environmentView struct {
	Name           string          `json:"name"`
	DisplayName    string          `json:"displayName,omitempty"`
	Description    string          `json:"description,omitempty"`
	CreatedAt      int64           `json:"createdAt,string"`
	LastModifiedAt int64           `json:"lastModifiedAt,string"`
	State          string          `json:"state"`
	Properties     *propertiesView `json:"properties,omitempty"`
	DeploymentType string          `json:"deploymentType"`
	APIProxyType   string          `json:"apiProxyType"`
	Type           string          `json:"type"`
}

type envGroupView struct {
	Name           string   `json:"name"`
	Hostnames      []string `json:"hostnames"`
	CreatedAt      int64    `json:"createdAt,string"`
	LastModifiedAt int64    `json:"lastModifiedAt,string"`
	State          string   `json:"state"`
}

type attachmentView struct {
	Name               string `json:"name"`
	Environment        string `json:"environment"`
	EnvironmentGroupID string `json:"environmentGroupId"`
	CreatedAt          int64  `json:"createdAt,string"`
}

type operationMetadataView struct {
	Type               string `json:"@type"`
	OperationType      string `json:"operationType"`
	State              string `json:"state"`
	TargetResourceName string `json:"targetResourceName"`
}

type operationView struct {
	Name     string                `json:"name"`
	Metadata operationMetadataView `json:"metadata"`
	Done     bool                  `json:"done"`
	Response json.RawMessage       `json:"response,omitempty"`
}

type entityMetadataView struct {
	CreatedAt      int64  `json:"createdAt,string"`
	LastModifiedAt int64  `json:"lastModifiedAt,string"`
	SubType        string `json:"subType"`
}

type apiView struct {
	Name             string              `json:"name"`
	Revision         []string            `json:"revision"`
	LatestRevisionID string              `json:"latestRevisionId,omitempty"`
	MetaData         *entityMetadataView `json:"metaData,omitempty"`
	APIProxyType     string              `json:"apiProxyType,omitempty"`
	Labels           map[string]string   `json:"labels,omitempty"`
}

type resourceFileView struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type resourceFilesView struct {
	ResourceFile []resourceFileView `json:"resourceFile"`
}

type configVersionView struct {
	MajorVersion int `json:"majorVersion"`
	MinorVersion int `json:"minorVersion"`
}

// revisionView serves both ApiProxyRevision and SharedFlowRevision; the
// proxy-only fields are left out for shared flows.
type revisionView struct {
	Name                       string            `json:"name"`
	Revision                   string            `json:"revision,omitempty"`
	DisplayName                string            `json:"displayName,omitempty"`
	Description                string            `json:"description,omitempty"`
	CreatedAt                  int64             `json:"createdAt,string"`
	LastModifiedAt             int64             `json:"lastModifiedAt,string"`
	Basepaths                  []string          `json:"basepaths,omitempty"`
	Proxies                    []string          `json:"proxies,omitempty"`
	Targets                    []string          `json:"targets,omitempty"`
	ProxyEndpoints             []string          `json:"proxyEndpoints,omitempty"`
	TargetEndpoints            []string          `json:"targetEndpoints,omitempty"`
	Policies                   []string          `json:"policies"`
	Resources                  []string          `json:"resources"`
	ResourceFiles              resourceFilesView `json:"resourceFiles"`
	SharedFlows                []string          `json:"sharedFlows"`
	ConfigurationVersion       configVersionView `json:"configurationVersion"`
	Type                       string            `json:"type"`
	EntityMetaDataAsProperties map[string]string `json:"entityMetaDataAsProperties"`
}

type rpcStatusView struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message"`
}

type podStatusView struct {
	PodName              string `json:"podName"`
	AppVersion           string `json:"appVersion,omitempty"`
	DeploymentStatus     string `json:"deploymentStatus"`
	DeploymentStatusTime int64  `json:"deploymentStatusTime,string,omitempty"`
	DeploymentTime       int64  `json:"deploymentTime,string,omitempty"`
	PodStatus            string `json:"podStatus"`
	PodStatusTime        int64  `json:"podStatusTime,string,omitempty"`
	StatusCode           string `json:"statusCode"`
	StatusCodeDetails    string `json:"statusCodeDetails,omitempty"`
}

type deployedRevisionView struct {
	Revision   string `json:"revision"`
	Percentage int    `json:"percentage"`
}

type deployedRouteView struct {
	Basepath    string `json:"basepath"`
	Envgroup    string `json:"envgroup"`
	Environment string `json:"environment"`
	Percentage  int    `json:"percentage"`
}

type instanceStatusView struct {
	Instance          string                 `json:"instance"`
	DeployedRevisions []deployedRevisionView `json:"deployedRevisions,omitempty"`
	DeployedRoutes    []deployedRouteView    `json:"deployedRoutes,omitempty"`
}

type routingDeploymentView struct {
	APIProxy    string `json:"apiProxy"`
	Basepath    string `json:"basepath"`
	Environment string `json:"environment"`
	Revision    string `json:"revision"`
}

type routeConflictView struct {
	ConflictingDeployment routingDeploymentView `json:"conflictingDeployment"`
	Description           string                `json:"description"`
	EnvironmentGroup      string                `json:"environmentGroup"`
}

type deploymentView struct {
	Environment         string               `json:"environment"`
	APIProxy            string               `json:"apiProxy"`
	Revision            string               `json:"revision"`
	DeployStartTime     int64                `json:"deployStartTime,string"`
	State               string               `json:"state"`
	ProxyDeploymentType string               `json:"proxyDeploymentType,omitempty"`
	ServiceAccount      string               `json:"serviceAccount,omitempty"`
	Errors              []rpcStatusView      `json:"errors"`
	Instances           []instanceStatusView `json:"instances"`
	Pods                []podStatusView      `json:"pods"`
	RouteConflicts      []routeConflictView  `json:"routeConflicts"`
}

func propsView(p []state.Property) *propertiesView {
	if p == nil {
		return nil
	}
	return &propertiesView{Property: slices.Clone(p)}
}

func orgView(o *state.Org) organizationView {
	return organizationView{
		Name: o.Name, DisplayName: o.DisplayName, Description: o.Description,
		ProjectID: o.ProjectID, ApigeeProjectID: o.ProjectID, AnalyticsRegion: o.AnalyticsRegion,
		RuntimeType: "HYBRID", SubscriptionType: "PAID", BillingType: "SUBSCRIPTION", Type: "TYPE_PAID",
		State: "ACTIVE", Environments: o.EnvNames(), Properties: propsView(o.Properties),
		CreatedAt: o.CreatedAt, LastModifiedAt: o.LastModifiedAt,
	}
}

func envView(e *state.Environment) environmentView {
	return environmentView{
		Name: e.Name, DisplayName: e.DisplayName, Description: e.Description,
		CreatedAt: e.CreatedAt, LastModifiedAt: e.LastModifiedAt, State: "ACTIVE",
		Properties: propsView(e.Properties), DeploymentType: "PROXY", APIProxyType: "PROGRAMMABLE",
		Type: "COMPREHENSIVE",
	}
}

func groupView(g *state.EnvGroup) envGroupView {
	hosts := slices.Clone(g.Hostnames)
	if hosts == nil {
		hosts = []string{}
	}
	return envGroupView{Name: g.Name, Hostnames: hosts, CreatedAt: g.CreatedAt, LastModifiedAt: g.LastModifiedAt, State: "ACTIVE"}
}

func attachView(g *state.EnvGroup, a *state.Attachment) attachmentView {
	return attachmentView{Name: a.ID, Environment: a.Environment, EnvironmentGroupID: g.Name, CreatedAt: a.CreatedAt}
}

func opView(org string, op *state.Operation) operationView {
	v := operationView{
		Name: "organizations/" + org + "/operations/" + op.ID,
		Metadata: operationMetadataView{
			Type:          "type.googleapis.com/google.cloud.apigee.v1.OperationMetadata",
			OperationType: op.OperationType, State: "FINISHED", TargetResourceName: op.TargetResourceName,
		},
		Done: true,
	}
	// The response is the produced resource with its proto type in "@type".
	fields := map[string]json.RawMessage{}
	if len(op.Response) > 0 {
		_ = json.Unmarshal(op.Response, &fields)
	}
	typ, _ := json.Marshal("type.googleapis.com/" + op.ResponseType)
	fields["@type"] = typ
	v.Response, _ = json.Marshal(fields)
	return v
}

func revisionStrings(a *state.API) []string {
	revs := a.SortedRevisions()
	out := make([]string, len(revs))
	for i, r := range revs {
		out[i] = strconv.Itoa(r)
	}
	return out
}

func subType(k state.Kind) string {
	if k == state.KindSharedFlow {
		return "SharedFlow"
	}
	return "Proxy"
}

func apiViewOf(a *state.API) apiView {
	v := apiView{
		Name: a.Name, Revision: revisionStrings(a),
		MetaData: &entityMetadataView{CreatedAt: a.CreatedAt, LastModifiedAt: a.LastModifiedAt, SubType: subType(a.Kind)},
		Labels:   a.Labels,
	}
	if l := a.Latest(); l > 0 {
		v.LatestRevisionID = strconv.Itoa(l)
	}
	if a.Kind == state.KindProxy {
		v.APIProxyType = "PROGRAMMABLE"
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func revView(name string, k state.Kind, r *state.Revision) revisionView {
	files := []resourceFileView{}
	for _, res := range r.Resources {
		typ, file, ok := strings.Cut(res, "://")
		if ok {
			files = append(files, resourceFileView{Type: typ, Name: file})
		}
	}
	sort.Slice(files, func(i, j int) bool {
		if files[i].Type != files[j].Type {
			return files[i].Type < files[j].Type
		}
		return files[i].Name < files[j].Name
	})
	v := revisionView{
		Name: name, Revision: strconv.Itoa(r.Revision),
		DisplayName: r.DisplayName, Description: r.Description,
		CreatedAt: r.CreatedAt, LastModifiedAt: r.LastModifiedAt,
		Policies: nonNil(r.Policies), Resources: nonNil(r.Resources),
		ResourceFiles: resourceFilesView{ResourceFile: files}, SharedFlows: nonNil(r.SharedFlows),
		ConfigurationVersion: configVersionView{MajorVersion: 4, MinorVersion: 0},
		Type:                 "Application",
		EntityMetaDataAsProperties: map[string]string{
			"bundle_type":    "zip",
			"subType":        subType(k),
			"createdAt":      strconv.FormatInt(r.CreatedAt, 10),
			"lastModifiedAt": strconv.FormatInt(r.LastModifiedAt, 10),
		},
	}
	if v.DisplayName == "" {
		v.DisplayName = name
	}
	if k == state.KindProxy {
		v.Basepaths = nonNil(r.BasePaths)
		v.Proxies = nonNil(r.Proxies)
		v.Targets = nonNil(r.Targets)
		v.ProxyEndpoints = v.Proxies
		v.TargetEndpoints = v.Targets
	}
	return v
}

package apigee

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Environment updates the way Google's clients send them: PUT (update),
// POST (updateEnvironment) and PATCH ?updateMask= (modifyEnvironment, a
// long-running operation); the deployed configuration; the distributed
// trace configuration.

// envMaskFields maps the updateMask paths modifyEnvironment takes (proto
// and JSON spellings) to the field they change.
var envMaskFields = map[string]string{
	"display_name": "displayName", "displayName": "displayName",
	"description": "description",
	"properties":  "properties",
}

// parseMask splits an updateMask and checks every path against allowed
// (path → canonical field); unknown paths are a 400 naming them.
func parseMask(mask, resource string, allowed map[string]string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range strings.Split(mask, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		f, ok := allowed[p]
		if !ok {
			names := make([]string, 0, len(allowed))
			for n := range allowed {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, apierr.InvalidField("update_mask", "Invalid update mask path %q for %s: the paths that can be updated are %s.", p, resource, strings.Join(names, ", "))
		}
		out[f] = true
	}
	return out, nil
}

// modifyEnv serves PATCH {o}/environments/{env}?updateMask=…: the masked
// fields of the body replace the environment's; the answer is the UPDATE
// Operation (done) with the Environment as its response.
func (a *API) modifyEnv(w http.ResponseWriter, r *http.Request) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	mask := r.URL.Query().Get("updateMask")
	if strings.TrimSpace(mask) == "" {
		return apierr.InvalidField("update_mask", "updateMask is required: name the fields to change (displayName, description, properties).")
	}
	fields, err := parseMask(mask, "Environment", envMaskFields)
	if err != nil {
		return err
	}
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
	var op *state.Operation
	err = a.mutateEnv(r, func(tx *state.Tx, o *state.Org, e *state.Environment) error {
		if fields["displayName"] {
			e.DisplayName = in.DisplayName
		}
		if fields["description"] {
			e.Description = in.Description
		}
		if fields["properties"] {
			e.Properties = props
		}
		e.LastModifiedAt = tx.Millis()
		op, err = newOperation(tx, o, "UPDATE", "organizations/"+org+"/environments/"+env,
			"google.cloud.apigee.v1.Environment", envView(e))
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, opView(org, op))
}

// Apigee's EnvironmentConfig and its parts (the subset the state has).
type environmentConfigView struct {
	Name               string                `json:"name"`
	RevisionID         int64                 `json:"revisionId,string"`
	UID                string                `json:"uid"`
	CreateTime         string                `json:"createTime"`
	SequenceNumber     int64                 `json:"sequenceNumber,string"`
	Deployments        []deploymentConfig    `json:"deployments,omitempty"`
	Targets            []targetServerConfig  `json:"targets,omitempty"`
	Flowhooks          []flowHookConfig      `json:"flowhooks,omitempty"`
	ResourceReferences []referenceConfig     `json:"resourceReferences,omitempty"`
	Keystores          []keystoreConfig      `json:"keystores,omitempty"`
	Resources          []resourceConfig      `json:"resources,omitempty"`
	FeatureFlags       map[string]string     `json:"featureFlags,omitempty"`
	TraceConfig        *runtimeTraceConfigVw `json:"traceConfig,omitempty"`
}

type deploymentConfig struct {
	Name           string `json:"name"`
	BasePath       string `json:"basePath,omitempty"`
	Location       string `json:"location,omitempty"`
	ProxyUID       string `json:"proxyUid"`
	UID            string `json:"uid"`
	ServiceAccount string `json:"serviceAccount,omitempty"`
}

type tlsInfoConfig struct {
	Enabled                bool     `json:"enabled"`
	ClientAuthEnabled      bool     `json:"clientAuthEnabled,omitempty"`
	IgnoreValidationErrors bool     `json:"ignoreValidationErrors,omitempty"`
	TrustStore             string   `json:"trustStore,omitempty"`
	Protocols              []string `json:"protocols,omitempty"`
	Ciphers                []string `json:"ciphers,omitempty"`
	Enforce                bool     `json:"enforce,omitempty"`
}

type targetServerConfig struct {
	Name     string         `json:"name"`
	Host     string         `json:"host"`
	Port     int            `json:"port"`
	Enabled  bool           `json:"enabled"`
	Protocol string         `json:"protocol,omitempty"`
	TLSInfo  *tlsInfoConfig `json:"tlsInfo,omitempty"`
}

type flowHookConfig struct {
	Name            string `json:"name"`
	SharedFlowName  string `json:"sharedFlowName"`
	ContinueOnError bool   `json:"continueOnError"`
}

type referenceConfig struct {
	Name         string `json:"name"`
	ResourceName string `json:"resourceName"`
}

type aliasRevisionConfig struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type keystoreConfig struct {
	Name    string                `json:"name"`
	Aliases []aliasRevisionConfig `json:"aliases,omitempty"`
}

type resourceConfig struct {
	Name     string `json:"name"`
	Location string `json:"location,omitempty"`
}

type runtimeTraceConfigVw struct {
	Name           string                   `json:"name"`
	Exporter       string                   `json:"exporter,omitempty"`
	Endpoint       string                   `json:"endpoint,omitempty"`
	SamplingConfig *traceSamplingConfigView `json:"samplingConfig,omitempty"`
}

// stableUID is a name-based UUID, the same for the same resource.
func stableUID(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("apigee:"+name)).String()
}

// contractRevision is a contract version (yyyyMMdd.HHmmss.SSS) as the
// number revisionId is: its digits.
func contractRevision(v string) int64 {
	n, _ := strconv.ParseInt(strings.ReplaceAll(v, ".", ""), 10, 64)
	return n
}

// getDeployedConfig serves GET {o}/environments/{env}/deployedConfig: the
// configuration the environment's runtime has now (its current contract).
func (a *API) getDeployedConfig(w http.ResponseWriter, r *http.Request) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	base := "organizations/" + org + "/environments/" + env
	var v environmentConfigView
	err := a.viewEnv(r, func(o *state.Org, e *state.Environment) error {
		rev := contractRevision(e.ContractVersion)
		v = environmentConfigView{
			Name: base + "/configs/" + strconv.FormatInt(rev, 10), RevisionID: rev, SequenceNumber: rev,
			UID: stableUID(base), CreateTime: time.UnixMilli(e.LastModifiedAt).UTC().Format(time.RFC3339Nano),
		}
		for _, d := range o.DeploymentsWhere(func(x *state.Deployment) bool { return x.Environment == env }) {
			coll := "apis"
			if d.Kind == state.KindSharedFlow {
				coll = "sharedflows"
			}
			name := "organizations/" + org + "/" + coll + "/" + d.Name + "/revisions/" + strconv.Itoa(d.Revision)
			dc := deploymentConfig{Name: name, ProxyUID: stableUID("organizations/" + org + "/" + coll + "/" + d.Name),
				UID: stableUID(base + "/deployments/" + name), ServiceAccount: d.ServiceAccount}
			if api := o.Collection(d.Kind)[d.Name]; api != nil {
				if rv := api.Revisions[d.Revision]; rv != nil && len(rv.BasePaths) > 0 {
					dc.BasePath = rv.BasePaths[0]
				}
			}
			v.Deployments = append(v.Deployments, dc)
		}
		tsNames := make([]string, 0, len(e.TargetServers))
		for n := range e.TargetServers {
			tsNames = append(tsNames, n)
		}
		sort.Strings(tsNames)
		for _, n := range tsNames {
			ts := e.TargetServers[n]
			tc := targetServerConfig{Name: base + "/targetservers/" + n, Host: ts.Host, Port: ts.Port, Enabled: ts.IsEnabled, Protocol: ts.Protocol}
			if s := ts.SSLInfo; s != nil {
				tc.TLSInfo = &tlsInfoConfig{Enabled: s.Enabled, ClientAuthEnabled: s.ClientAuthEnabled,
					IgnoreValidationErrors: s.IgnoreValidationErrors, Protocols: s.Protocols, Ciphers: s.Ciphers, Enforce: s.Enforce}
				if s.Truststore != "" {
					tc.TLSInfo.TrustStore = base + "/keystores/" + s.Truststore
				}
			}
			v.Targets = append(v.Targets, tc)
		}
		for _, p := range flowHookPoints {
			if h := e.FlowHooks[p]; h != nil {
				v.Flowhooks = append(v.Flowhooks, flowHookConfig{Name: base + "/flowhooks/" + p,
					SharedFlowName: "organizations/" + org + "/sharedflows/" + h.SharedFlow, ContinueOnError: h.ContinueOnError})
			}
		}
		refNames := make([]string, 0, len(e.References))
		for n := range e.References {
			refNames = append(refNames, n)
		}
		sort.Strings(refNames)
		for _, n := range refNames {
			v.ResourceReferences = append(v.ResourceReferences, referenceConfig{Name: base + "/references/" + n,
				ResourceName: base + "/keystores/" + e.References[n].Refers})
		}
		for _, n := range e.KeystoreNames() {
			ks := e.Keystores[n]
			kc := keystoreConfig{Name: base + "/keystores/" + n}
			aliases := make([]string, 0, len(ks.Aliases))
			for an := range ks.Aliases {
				aliases = append(aliases, an)
			}
			sort.Strings(aliases)
			for _, an := range aliases {
				kc.Aliases = append(kc.Aliases, aliasRevisionConfig{Name: kc.Name + "/aliases/" + an, Type: ks.Aliases[an].Type})
			}
			v.Keystores = append(v.Keystores, kc)
		}
		rfKeys := make([]string, 0, len(e.ResourceFiles))
		for k := range e.ResourceFiles {
			rfKeys = append(rfKeys, k)
		}
		sort.Strings(rfKeys)
		for _, k := range rfKeys {
			rf := e.ResourceFiles[k]
			v.Resources = append(v.Resources, resourceConfig{Name: base + "/resourcefiles/" + rf.Type + "/" + rf.Name})
		}
		if tc := e.TraceConfig; tc != nil {
			tv := traceView(tc)
			v.TraceConfig = &runtimeTraceConfigVw{Name: base + "/traceConfig", Exporter: tv.Exporter, Endpoint: tv.Endpoint, SamplingConfig: tv.SamplingConfig}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// Apigee's TraceConfig.
type traceConfigView struct {
	Exporter       string                   `json:"exporter,omitempty"`
	Endpoint       string                   `json:"endpoint,omitempty"`
	SamplingConfig *traceSamplingConfigView `json:"samplingConfig,omitempty"`
}

type traceSamplingConfigView struct {
	Sampler      string  `json:"sampler,omitempty"`
	SamplingRate float64 `json:"samplingRate,omitempty"`
}

func traceView(tc *state.TraceConfig) traceConfigView {
	if tc == nil {
		return traceConfigView{}
	}
	v := traceConfigView{Exporter: tc.Exporter, Endpoint: tc.Endpoint}
	if tc.Sampler != "" || tc.SamplingRate != 0 {
		v.SamplingConfig = &traceSamplingConfigView{Sampler: tc.Sampler, SamplingRate: tc.SamplingRate}
	}
	return v
}

// traceMaskFields are the updateMask paths updateTraceConfig takes.
var traceMaskFields = map[string]string{
	"exporter": "exporter", "endpoint": "endpoint",
	"sampling_config": "samplingConfig", "samplingConfig": "samplingConfig",
	"sampling_config.sampler": "sampler", "samplingConfig.sampler": "sampler",
	"sampling_config.sampling_rate": "samplingRate", "samplingConfig.samplingRate": "samplingRate",
}

var (
	traceExporters = map[string]bool{"JAEGER": true, "CLOUD_TRACE": true, "OPEN_TELEMETRY": true}
	traceSamplers  = map[string]bool{"OFF": true, "PROBABILITY": true}
)

func (a *API) getTraceConfig(w http.ResponseWriter, r *http.Request) error {
	var v traceConfigView
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		v = traceView(e.TraceConfig)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// updateTraceConfig serves PATCH {o}/environments/{env}/traceConfig
// [?updateMask=…]: without a mask the body replaces the configuration.
func (a *API) updateTraceConfig(w http.ResponseWriter, r *http.Request) error {
	mask := r.URL.Query().Get("updateMask")
	fields, err := parseMask(mask, "TraceConfig", traceMaskFields)
	if err != nil {
		return err
	}
	all := strings.TrimSpace(mask) == ""
	var in traceConfigView
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var v traceConfigView
	err = a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		e, err := lookupEnv(o, r.PathValue("env"))
		if err != nil {
			return err
		}
		tc := state.TraceConfig{}
		if e.TraceConfig != nil {
			tc = *e.TraceConfig
		}
		var inSampler string
		var inRate float64
		if in.SamplingConfig != nil {
			inSampler, inRate = in.SamplingConfig.Sampler, in.SamplingConfig.SamplingRate
		}
		if all || fields["exporter"] {
			tc.Exporter = in.Exporter
		}
		if all || fields["endpoint"] {
			tc.Endpoint = in.Endpoint
		}
		if all || fields["samplingConfig"] || fields["sampler"] {
			tc.Sampler = inSampler
		}
		if all || fields["samplingConfig"] || fields["samplingRate"] {
			tc.SamplingRate = inRate
		}
		if err := checkTraceConfig(&tc); err != nil {
			return err
		}
		e.TraceConfig = &tc
		e.LastModifiedAt = tx.Millis()
		v = traceView(&tc)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// checkTraceConfig applies the API reference's rules: an exporter and its
// endpoint are required; the sampler is OFF or PROBABILITY, whose rate is
// in (0, 0.5].
func checkTraceConfig(tc *state.TraceConfig) error {
	if !traceExporters[tc.Exporter] {
		return apierr.InvalidArgument("Invalid trace config exporter %q: must be JAEGER, CLOUD_TRACE or OPEN_TELEMETRY.", tc.Exporter)
	}
	if strings.TrimSpace(tc.Endpoint) == "" {
		return apierr.InvalidArgument("Trace config endpoint is required for exporter %s.", tc.Exporter)
	}
	if tc.Sampler == "" && tc.SamplingRate == 0 {
		return nil
	}
	if !traceSamplers[tc.Sampler] {
		return apierr.InvalidArgument("Invalid trace sampling config sampler %q: must be OFF or PROBABILITY.", tc.Sampler)
	}
	if tc.Sampler == "PROBABILITY" && (tc.SamplingRate <= 0 || tc.SamplingRate > 0.5) {
		return apierr.InvalidArgument("Invalid trace sampling rate %v: with sampler PROBABILITY it must be greater than 0 and at most 0.5.", tc.SamplingRate)
	}
	if tc.Sampler == "OFF" {
		tc.SamplingRate = 0
	}
	return nil
}

package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Overrides is the part of Apigee hybrid's overrides.yaml this emulator
// acts on. Hybrid feeds one overrides file to every chart and each chart
// takes the keys it knows, so a real file carries many keys for components
// the emulator does not have (logger, metrics, ingressGateways, redis, …);
// those are accepted and listed as ignored. A key hybrid does not have at
// all (a typo such as `envz` or `connectAgent.enabeld`) is an error naming
// the file, line and key, because silently dropping it would bring up a
// stack other than the one the file describes.
type Overrides struct {
	Org        string `yaml:"org"`
	InstanceID string `yaml:"instanceID"`
	K8sCluster struct {
		Name   string `yaml:"name"`
		Region string `yaml:"region"`
	} `yaml:"k8sCluster"`
	GCP struct {
		ProjectID string `yaml:"projectID"`
		Region    string `yaml:"region"`
	} `yaml:"gcp"`
	Envs         []OverridesEnv         `yaml:"envs"`
	Virtualhosts []OverridesVirtualhost `yaml:"virtualhosts"`
	ConnectAgent struct {
		// Enabled is a pointer: hybrid's default (since 1.3.0) is on.
		Enabled            *bool  `yaml:"enabled"`
		ReplicaCountMin    int    `yaml:"replicaCountMin"`
		ReplicaCountMax    int    `yaml:"replicaCountMax"`
		ServiceAccountPath string `yaml:"serviceAccountPath"`
	} `yaml:"connectAgent"`
	MART struct {
		HostAlias          string `yaml:"hostAlias"`
		ServiceAccountPath string `yaml:"serviceAccountPath"`
	} `yaml:"mart"`
	Synchronizer struct {
		PollInterval       string `yaml:"pollInterval"`
		ServiceAccountPath string `yaml:"serviceAccountPath"`
	} `yaml:"synchronizer"`
	Cassandra struct {
		ReplicaCount int    `yaml:"replicaCount"`
		Datacenter   string `yaml:"datacenter"`
		Rack         string `yaml:"rack"`
	} `yaml:"cassandra"`
	KMSEncryptionKey      string `yaml:"kmsEncryptionKey"`
	KVMEncryptionKey      string `yaml:"kvmEncryptionKey"`
	ContractEncryptionKey string `yaml:"contractEncryptionKey"`

	// Ignored lists the keys hybrid knows that the emulator does not use
	// (dotted paths), for the user to see.
	Ignored []string `yaml:"-"`
}

// OverridesEnv is one entry of envs[].
type OverridesEnv struct {
	Name                string            `yaml:"name"`
	ServiceAccountPaths map[string]string `yaml:"serviceAccountPaths"`
}

// OverridesVirtualhost is one entry of virtualhosts[]: name is the
// environment group. hostAliases and environments are this emulator's
// extensions (hybrid takes both from the control plane's envgroup); here
// they seed the group's hostnames and attachments.
type OverridesVirtualhost struct {
	Name         string            `yaml:"name"`
	HostAliases  []string          `yaml:"hostAliases"`
	Environments []string          `yaml:"environments"`
	Selector     map[string]string `yaml:"selector"`
	SSLCertPath  string            `yaml:"sslCertPath"`
	SSLKeyPath   string            `yaml:"sslKeyPath"`
	SSLSecret    string            `yaml:"sslSecret"`
}

// ConnectEnabled is connectAgent.enabled with hybrid's default (true).
func (o *Overrides) ConnectEnabled() bool {
	return o.ConnectAgent.Enabled == nil || *o.ConnectAgent.Enabled
}

// Project is gcp.projectID, defaulting to the org (as hybrid's orgs are
// named after their project).
func (o *Overrides) Project() string {
	if o.GCP.ProjectID != "" {
		return o.GCP.ProjectID
	}
	return o.Org
}

// EnvNames are the names of envs[].
func (o *Overrides) EnvNames() []string {
	names := make([]string, len(o.Envs))
	for i, e := range o.Envs {
		names[i] = e.Name
	}
	return names
}

// keySpec is what may appear under one key: a mapping with known children
// (kids), a sequence of such mappings (list), a free-form value (leaf), or
// a key hybrid has that the emulator ignores.
type keySpec struct {
	kids    map[string]*keySpec
	list    bool
	ignored bool
}

var (
	leaf    = &keySpec{}
	ignored = &keySpec{ignored: true}
)

func obj(kids map[string]*keySpec, ignoredKeys ...string) *keySpec {
	for _, k := range ignoredKeys {
		kids[k] = ignored
	}
	return &keySpec{kids: kids}
}

func listOf(s *keySpec) *keySpec { return &keySpec{kids: s.kids, list: true} }

// overridesSchema lists the keys of hybrid's overrides reference
// (https://cloud.google.com/apigee/docs/hybrid/latest/config-prop-ref) the
// emulator reads, and those it accepts and ignores.
var overridesSchema = obj(map[string]*keySpec{
	"org":        leaf,
	"instanceID": leaf,
	"k8sCluster": obj(map[string]*keySpec{"name": leaf, "region": leaf}),
	"gcp": obj(map[string]*keySpec{"projectID": leaf, "region": leaf},
		"projectIDRuntime", "workloadIdentity", "federatedWorkloadIdentity"),
	"envs": listOf(obj(map[string]*keySpec{"name": leaf, "serviceAccountPaths": leaf},
		"serviceAccountSecretRefs", "hostAliases", "sslCertPath", "sslKeyPath", "sslSecret", "httpProxy",
		"components", "gsaNames", "cacheEncryptionKey", "cacheEncryptionPath", "cacheEncryptionSecret",
		"kmsEncryptionKey", "kmsEncryptionPath", "kmsEncryptionSecret", "kvmEncryptionKey", "kvmEncryptionPath",
		"kvmEncryptionSecret", "pollInterval")),
	"virtualhosts": listOf(obj(map[string]*keySpec{"name": leaf, "hostAliases": leaf, "environments": leaf,
		"selector": leaf, "sslCertPath": leaf, "sslKeyPath": leaf, "sslSecret": leaf},
		"additionalGateways", "cipherSuites", "minTLSProtocolVersion", "maxTLSProtocolVersion", "tlsMode",
		"serviceAccountPath", "labels", "annotations")),
	"connectAgent": obj(map[string]*keySpec{"enabled": leaf, "replicaCountMin": leaf, "replicaCountMax": leaf,
		"serviceAccountPath": leaf},
		"serviceAccountRef", "gsa", "resources", "targetCPUUtilizationPercentage", "terminationGracePeriodSeconds",
		"image", "annotations", "nodeSelector", "server"),
	"mart": obj(map[string]*keySpec{"hostAlias": leaf, "serviceAccountPath": leaf},
		"serviceAccountRef", "gsa", "sslCertPath", "sslKeyPath", "sslSecret", "replicaCountMin", "replicaCountMax",
		"resources", "targetCPUUtilizationPercentage", "terminationGracePeriodSeconds", "image", "annotations",
		"nodeSelector", "metricsURL", "livenessProbe", "readinessProbe"),
	"synchronizer": obj(map[string]*keySpec{"pollInterval": leaf, "serviceAccountPath": leaf},
		"serviceAccountRef", "gsa", "replicaCountMin", "replicaCountMax", "resources", "targetCPUUtilizationPercentage",
		"terminationGracePeriodSeconds", "image", "annotations", "nodeSelector", "livenessProbe", "readinessProbe", "cwcAppend"),
	"cassandra": obj(map[string]*keySpec{"replicaCount": leaf, "datacenter": leaf, "rack": leaf},
		"hostNetwork", "storage", "auth", "backup", "restore", "multiRegionSeedHost", "clusterName", "resources",
		"nodeSelector", "image", "maxHeapSize", "heapNewSize", "readinessProbe", "livenessProbe", "sslRootCAPath",
		"externalSeedHost", "port", "annotations", "terminationGracePeriodSeconds", "serviceAccountPath", "serviceAccountRef"),
	"kmsEncryptionKey":      leaf,
	"kvmEncryptionKey":      leaf,
	"contractEncryptionKey": leaf,
},
	// Hybrid's other top-level keys: components the emulator does not run
	// or settings with no local meaning.
	"namespace", "ao", "apigeeIngressGateway", "ingressGateways", "istiod", "logger", "metrics", "redis",
	"runtime", "udca", "watcher", "nodeSelector", "httpProxy", "imagePullSecrets", "hub", "revision",
	"kmsEncryptionPath", "kmsEncryptionSecret", "kvmEncryptionPath", "kvmEncryptionSecret", "defaults",
	"diagnostic", "contractProvider", "mintTaskScheduler", "orgScopedUDCA", "envScopedUDCA",
	"serviceAccountSecretProviderClass", "multiOrgCluster", "enhanceProxyLimits", "newDataPipeline",
	"gcpProjectID", "validateOrg", "validateServiceAccounts", "cassandraEncryption", "ingressGatewayName",
	"azure", "helmHooks", "apigeeConnect", "telemetry")

var (
	orgNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	envNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,254}$`)
	// groupNameRE: an environment group (and so a Kubernetes name here).
	groupNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	durationRE  = regexp.MustCompile(`^[0-9]+(ms|s|m|h)$`)
	// hostRE: a host name or address; no scheme, port or path.
	hostRE = regexp.MustCompile(`^[A-Za-z0-9*]([A-Za-z0-9.*-]{0,252})$`)
)

// keyError names the file, line and dotted key of a problem.
func keyError(file string, n *yaml.Node, key, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", file, n.Line, key, fmt.Sprintf(format, args...))
}

// ParseOverrides reads an overrides file; file names it in errors.
func ParseOverrides(file string, r io.Reader) (*Overrides, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty overrides file", file)
	}
	root := doc.Content[0]
	o := &Overrides{}
	if err := checkKeys(file, root, overridesSchema, "", &o.Ignored); err != nil {
		return nil, err
	}
	// The keys are known; now the types (yaml.v3 names the line).
	if err := root.Decode(o); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			// "line 3: cannot unmarshal …" as file:line like the key errors.
			for i, e := range te.Errors {
				te.Errors[i] = file + ":" + strings.TrimPrefix(e, "line ")
			}
			return nil, errors.New(strings.Join(te.Errors, "; "))
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := o.validate(file, root); err != nil {
		return nil, err
	}
	return o, nil
}

// checkKeys walks n against spec, refusing keys hybrid does not have.
func checkKeys(file string, n *yaml.Node, spec *keySpec, path string, ignoredOut *[]string) error {
	if spec.kids == nil {
		return nil
	}
	if spec.list {
		if n.Kind != yaml.SequenceNode {
			return keyError(file, n, path, "must be a list")
		}
		for i, item := range n.Content {
			if err := checkKeys(file, item, &keySpec{kids: spec.kids}, fmt.Sprintf("%s[%d]", path, i), ignoredOut); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if path == "" {
			return keyError(file, n, "(top level)", "must be a mapping of keys")
		}
		return keyError(file, n, path, "must be a mapping")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		if seen[k.Value] {
			return keyError(file, k, p, "duplicate key")
		}
		seen[k.Value] = true
		kid, ok := spec.kids[k.Value]
		switch {
		case !ok:
			return keyError(file, k, p, "unknown key (not an Apigee hybrid overrides key)")
		case kid.ignored:
			*ignoredOut = append(*ignoredOut, p)
		default:
			if err := checkKeys(file, v, kid, p, ignoredOut); err != nil {
				return err
			}
		}
	}
	return nil
}

// valueNode finds the node of a dotted path ("envs.1.name") for errors.
func valueNode(root *yaml.Node, path ...any) *yaml.Node {
	n := root
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return n
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					n, found = n.Content[i+1], true
					break
				}
			}
			if !found {
				return n
			}
		case int:
			if n.Kind != yaml.SequenceNode || p >= len(n.Content) {
				return n
			}
			n = n.Content[p]
		}
	}
	return n
}

func (o *Overrides) validate(file string, root *yaml.Node) error {
	if o.Org == "" {
		return keyError(file, root, "org", "required")
	}
	if !orgNameRE.MatchString(o.Org) {
		return keyError(file, valueNode(root, "org"), "org", "%q is not an organization name (lower case letters, digits, hyphens)", o.Org)
	}
	if len(o.Envs) == 0 {
		return keyError(file, valueNode(root, "envs"), "envs", "at least one environment is required")
	}
	envs := map[string]bool{}
	for i, e := range o.Envs {
		n, key := valueNode(root, "envs", i, "name"), fmt.Sprintf("envs[%d].name", i)
		if !envNameRE.MatchString(e.Name) {
			return keyError(file, n, key, "%q is not an environment name", e.Name)
		}
		if envs[e.Name] {
			return keyError(file, n, key, "environment %q listed twice", e.Name)
		}
		envs[e.Name] = true
	}
	groups := map[string]bool{}
	for i, vh := range o.Virtualhosts {
		n, key := valueNode(root, "virtualhosts", i), fmt.Sprintf("virtualhosts[%d]", i)
		if !groupNameRE.MatchString(vh.Name) {
			return keyError(file, valueNode(n, "name"), key+".name", "%q is not an environment group name", vh.Name)
		}
		if groups[vh.Name] {
			return keyError(file, valueNode(n, "name"), key+".name", "environment group %q listed twice", vh.Name)
		}
		groups[vh.Name] = true
		if len(vh.HostAliases) == 0 {
			return keyError(file, n, key+".hostAliases", "required: the environment group's hostnames (this emulator's extension)")
		}
		for j, h := range vh.HostAliases {
			if !hostRE.MatchString(h) {
				return keyError(file, valueNode(n, "hostAliases", j), fmt.Sprintf("%s.hostAliases[%d]", key, j), "%q is not a host name", h)
			}
		}
		if len(vh.Environments) == 0 {
			return keyError(file, n, key+".environments", "required: the environments attached to the group (this emulator's extension)")
		}
		if (vh.SSLCertPath == "") != (vh.SSLKeyPath == "") {
			return keyError(file, n, key+".sslCertPath", "sslCertPath and sslKeyPath go together: the group's certificate chain and its key")
		}
		for j, e := range vh.Environments {
			if !envs[e] {
				return keyError(file, valueNode(n, "environments", j), fmt.Sprintf("%s.environments[%d]", key, j), "%q is not in envs", e)
			}
		}
	}
	if !o.ConnectEnabled() && o.MART.HostAlias == "" {
		return keyError(file, valueNode(root, "connectAgent", "enabled"), "mart.hostAlias",
			"required with connectAgent.enabled=false: the control plane reaches MART there")
	}
	if p := o.Synchronizer.PollInterval; p != "" {
		// The charts' schema takes one number and unit (60s, 2m), as hybrid's examples write it.
		if d, err := time.ParseDuration(p); err != nil || d <= 0 || !durationRE.MatchString(p) {
			return keyError(file, valueNode(root, "synchronizer", "pollInterval"), "synchronizer.pollInterval", "%q is not a positive duration such as 60s", p)
		}
	}
	for _, k := range []struct{ name, value string }{
		{"kmsEncryptionKey", o.KMSEncryptionKey}, {"kvmEncryptionKey", o.KVMEncryptionKey}, {"contractEncryptionKey", o.ContractEncryptionKey},
	} {
		if k.value == "" {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(k.value); err != nil || len(b) != 32 {
			return keyError(file, valueNode(root, k.name), k.name, "must be a base64 AES-256 key (32 bytes)")
		}
	}
	if (o.KMSEncryptionKey == "") != (o.KVMEncryptionKey == "") {
		return keyError(file, root, "kmsEncryptionKey", "kmsEncryptionKey and kvmEncryptionKey go together (one data keys file holds both)")
	}
	if o.Cassandra.ReplicaCount < 0 {
		return keyError(file, valueNode(root, "cassandra", "replicaCount"), "cassandra.replicaCount", "must be positive")
	}
	return nil
}

// EnvGroups are the environment groups to seed: virtualhosts[], or, when
// there are none, make up's group "default" with every environment.
func (o *Overrides) EnvGroups() []EnvGroupSeed {
	if len(o.Virtualhosts) == 0 {
		return []EnvGroupSeed{{Name: "default", Hostnames: []string{"localhost", "127.0.0.1", "api." + o.Org + ".local"}, Environments: o.EnvNames()}}
	}
	groups := make([]EnvGroupSeed, len(o.Virtualhosts))
	for i, vh := range o.Virtualhosts {
		groups[i] = EnvGroupSeed{Name: vh.Name, Hostnames: vh.HostAliases, Environments: vh.Environments}
	}
	return groups
}

// OrgSeed mirrors the control plane's config key `orgs` (an internal
// package there, so the shape is repeated; the e2e test feeds the result
// to the real control plane).
type OrgSeed struct {
	Name         string            `yaml:"name"`
	ProjectID    string            `yaml:"projectId"`
	DisplayName  string            `yaml:"displayName,omitempty"`
	Properties   map[string]string `yaml:"properties"`
	Environments []string          `yaml:"environments"`
	EnvGroups    []EnvGroupSeed    `yaml:"envGroups"`
}

// EnvGroupSeed is one of OrgSeed's environment groups.
type EnvGroupSeed struct {
	Name         string   `yaml:"name"`
	Hostnames    []string `yaml:"hostnames"`
	Environments []string `yaml:"environments"`
}

// Seed is the org the control plane creates at start.
func (o *Overrides) Seed() OrgSeed {
	return OrgSeed{
		Name: o.Org, ProjectID: o.Project(), DisplayName: o.Org,
		Properties: map[string]string{
			"features.hybrid.enabled":       "true",
			"features.mart.connect.enabled": fmt.Sprint(o.ConnectEnabled()),
		},
		Environments: o.EnvNames(),
		EnvGroups:    o.EnvGroups(),
	}
}

// SeedConfig is the control plane's config file holding the seed.
func (o *Overrides) SeedConfig() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Written by hybridctl apply from an overrides file: the org the control plane seeds.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{"orgs": []OrgSeed{o.Seed()}}); err != nil {
		return nil, fmt.Errorf("seed config: %w", err)
	}
	return b.Bytes(), enc.Close()
}

// UpEnv is what scripts/up.sh reads (sorted KEY=value); cpConfig is the
// seed file's path.
func (o *Overrides) UpEnv(cpConfig string) []string {
	env := map[string]string{
		"HYBRID_ORG":     o.Org,
		"HYBRID_ENVS":    strings.Join(o.EnvNames(), ","),
		"HYBRID_PROJECT": o.Project(),
		"HYBRID_CONNECT": fmt.Sprint(o.ConnectEnabled()),
	}
	if cpConfig != "" {
		env["HYBRID_CP_CONFIG"] = cpConfig
	}
	if o.Synchronizer.PollInterval != "" {
		env["HYBRID_POLL_INTERVAL"] = o.Synchronizer.PollInterval
	}
	if o.InstanceID != "" {
		env["HYBRID_INSTANCE_ID"] = o.InstanceID
	}
	if o.K8sCluster.Name != "" {
		env["HYBRID_CLUSTER_NAME"] = o.K8sCluster.Name
	}
	if o.K8sCluster.Region != "" {
		env["HYBRID_CLUSTER_REGION"] = o.K8sCluster.Region
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// ComposeEnv is a .env file for docker-compose.yaml (whose org, env and
// cluster values are ${VAR:-default} interpolations).
func (o *Overrides) ComposeEnv() []byte {
	var b bytes.Buffer
	b.WriteString("# docker-compose .env written by hybridctl apply --emit compose\n")
	for _, kv := range o.UpEnv("") {
		b.WriteString(kv + "\n")
	}
	if o.Synchronizer.PollInterval != "" {
		// docker-compose.yaml passes --longPoll=${HYBRID_LONG_POLL:-true}
		// (up.sh turns long polling off itself when given an interval).
		b.WriteString("HYBRID_LONG_POLL=false\n")
	}
	if !o.ConnectEnabled() {
		// No Connect agent: the control plane calls MART directly (compose
		// already points it at http://mart:8845).
		b.WriteString("HYBRID_CONNECT_AGENT_REPLICAS=0\n")
	}
	return b.Bytes()
}

// TrafficTLSListen is where make up's message processor serves the
// virtual hosts that carry a certificate (hybrid's ingress listens on 443).
const TrafficTLSListen = "127.0.0.1:9443"

// RuntimeTLSConfig is the message processor's YAML for the virtual hosts
// with sslCertPath/sslKeyPath (paths made absolute from dir), or nil when
// none has a certificate. sslSecret names a Kubernetes secret, which a
// local stack has no way to read.
func (o *Overrides) RuntimeTLSConfig(dir string) ([]byte, error) {
	type virtualHost struct {
		Name        string `yaml:"name"`
		SSLCertPath string `yaml:"sslCertPath"`
		SSLKeyPath  string `yaml:"sslKeyPath"`
	}
	var vhs []virtualHost
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for _, vh := range o.Virtualhosts {
		if vh.SSLCertPath != "" {
			vhs = append(vhs, virtualHost{Name: vh.Name, SSLCertPath: abs(vh.SSLCertPath), SSLKeyPath: abs(vh.SSLKeyPath)})
		}
	}
	if len(vhs) == 0 {
		return nil, nil
	}
	type trafficTLS struct {
		Listen       string        `yaml:"listen"`
		VirtualHosts []virtualHost `yaml:"virtualHosts"`
	}
	return yaml.Marshal(struct {
		TrafficTLS trafficTLS `yaml:"trafficTLS"`
	}{trafficTLS{Listen: TrafficTLSListen, VirtualHosts: vhs}})
}

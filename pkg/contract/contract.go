// Package contract is the runtime contract: everything a message processor
// needs to serve one environment, as the control plane publishes it and the
// synchronizers store and hand it on. A new deployment, undeployment or
// environment setting produces a new version.
package contract

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"
)

// VersionLayout is the real hybrid contract version shape: yyyyMMdd.HHmmss.SSS.
const VersionLayout = "20060102.150405.000"

// Contract is one version of an environment's runtime configuration.
type Contract struct {
	Organization string `json:"organization"`
	Environment  string `json:"environment"`
	Version      string `json:"version"`
	// Hostnames are those of the environment groups the environment is
	// attached to; the message processor routes requests by Host with them.
	Hostnames []string `json:"hostnames,omitempty"`
	// Instances are the runtime instances the environment is attached to
	// (organizations.instances.attachments). Empty means every instance
	// runs it: an organization that records no attachment for it, as a
	// plain hybrid organization does. A message processor whose instance
	// is not listed holds the contract but serves none of it.
	Instances   []string     `json:"instances,omitempty"`
	APIProxies  []Deployment `json:"apiProxies,omitempty"`
	SharedFlows []Deployment `json:"sharedFlows,omitempty"`
	// FlowHooks maps a flow hook point (PreProxyFlowHook, PreTargetFlowHook,
	// PostTargetFlowHook, PostProxyFlowHook) to the shared flow attached
	// to it.
	FlowHooks map[string]string `json:"flowHooks,omitempty"`
	// FlowHookContinueOnError holds each attached hook's continueOnError;
	// a point missing here defaults to true, as in Apigee.
	FlowHookContinueOnError map[string]bool `json:"flowHookContinueOnError,omitempty"`
	TargetServers           []TargetServer  `json:"targetServers,omitempty"`
	// Keystores are the environment's keystores and truststores, which
	// target SSLInfo references by name.
	Keystores  []Keystore        `json:"keystores,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
	// ResourceFiles are the environment-scoped resource files (the
	// …/environments/{env}/resourcefiles API), sorted by type then name.
	// Those of type "properties" are the environment's property sets:
	// "myProps.properties" is the set myProps.
	ResourceFiles []ResourceFile `json:"resourceFiles,omitempty"`
	// DebugSessions are the environment's active debug sessions
	// (…/apis/{api}/revisions/{rev}/debugsessions): each message
	// processor captures the transactions that match one.
	DebugSessions []DebugSession `json:"debugSessions,omitempty"`
	// DebugMask is the environment's debug mask (…/environments/{env}/debugmask):
	// what the message processors hide in a capture before it leaves them.
	DebugMask *DebugMask `json:"debugMask,omitempty"`
}

// DebugMask is Apigee's DebugMask: flow variables and payload paths
// whose values a debug session must not show.
type DebugMask struct {
	Namespaces        map[string]string `json:"namespaces,omitempty"`
	RequestXPaths     []string          `json:"requestXPaths,omitempty"`
	ResponseXPaths    []string          `json:"responseXPaths,omitempty"`
	FaultXPaths       []string          `json:"faultXPaths,omitempty"`
	RequestJSONPaths  []string          `json:"requestJSONPaths,omitempty"`
	ResponseJSONPaths []string          `json:"responseJSONPaths,omitempty"`
	FaultJSONPaths    []string          `json:"faultJSONPaths,omitempty"`
	Variables         []string          `json:"variables,omitempty"`
}

// DebugSession asks the message processors to capture up to Count
// transactions of one proxy revision that match Filter (a condition over
// request variables; empty matches all) until Expires, with message
// payloads cut at TraceSize bytes.
type DebugSession struct {
	Name      string    `json:"name"`
	APIProxy  string    `json:"apiProxy"`
	Revision  string    `json:"revision"`
	Filter    string    `json:"filter,omitempty"`
	Count     int       `json:"count"`
	TraceSize int       `json:"tracesize"`
	Expires   time.Time `json:"expires"`
}

// ResourceFile is one environment-scoped resource file.
type ResourceFile struct {
	// Type is the resource type as in resource URLs: "properties", "jsc",
	// "xsl", "java", "py", "wsdl", "xsd", "oas"…
	Type string `json:"type"`
	// Name is the file name, e.g. "myProps.properties".
	Name    string `json:"name"`
	Content []byte `json:"content"`
}

// Keystore is an environment keystore or truststore with its aliases.
type Keystore struct {
	Name    string          `json:"name"`
	Aliases []KeystoreAlias `json:"aliases,omitempty"`
}

// KeystoreAlias is one alias: a certificate chain (PEM) and, for a
// keystore, its private key. The control plane never sends the key in
// clear: it seals it (SealKey) into KeyPEMSealed under the org's contract
// encryption key, which only the message processor holds; KeyPEM is set
// only in a message processor's memory, once the key is opened (OpenKey).
type KeystoreAlias struct {
	Name    string `json:"name"`
	CertPEM string `json:"certPem"`
	KeyPEM  string `json:"keyPem,omitempty"`
	// KeyPEMSealed is the private key (PKCS#8 PEM) sealed with AES-256-GCM
	// (package seal) and bound to org, environment, keystore and alias.
	KeyPEMSealed []byte `json:"keyPemSealed,omitempty"`
}

// Deployment is one deployed proxy or shared flow revision, bundle included.
type Deployment struct {
	Name            string    `json:"name"`
	Revision        string    `json:"revision"`
	DeployStartTime time.Time `json:"deployStartTime"`
	Bundle          []byte    `json:"bundle"` // the revision's zip
	// ServiceAccount is the deployment's identity (the deploy call's
	// serviceAccount parameter): the account whose Google tokens the
	// message processor sends for <Authentication> in targets and
	// ServiceCallouts. Empty when deployed without one.
	ServiceAccount string `json:"serviceAccount,omitempty"`
}

// TargetServer mirrors the Apigee TargetServer resource.
type TargetServer struct {
	Name      string   `json:"name"`
	Host      string   `json:"host"`
	Port      int      `json:"port"`
	IsEnabled bool     `json:"isEnabled"`
	Protocol  string   `json:"protocol,omitempty"`
	SSLInfo   *SSLInfo `json:"sSLInfo,omitempty"`
}

// SSLInfo mirrors Apigee's TLS settings of a target server (JSON names as
// in the Apigee API, including its "sSLInfo" spelling on TargetServer).
type SSLInfo struct {
	Enabled                bool        `json:"enabled"`
	ClientAuthEnabled      bool        `json:"clientAuthEnabled,omitempty"`
	Keystore               string      `json:"keyStore,omitempty"`
	KeyAlias               string      `json:"keyAlias,omitempty"`
	Truststore             string      `json:"trustStore,omitempty"`
	IgnoreValidationErrors bool        `json:"ignoreValidationErrors,omitempty"`
	Protocols              []string    `json:"protocols,omitempty"`
	Ciphers                []string    `json:"ciphers,omitempty"`
	CommonName             *CommonName `json:"commonName,omitempty"`
	Enforce                bool        `json:"enforce,omitempty"`
}

// CommonName is the expected certificate name of a TLS target.
type CommonName struct {
	Value         string `json:"value,omitempty"`
	WildcardMatch bool   `json:"wildcardMatch,omitempty"`
}

// NextVersion returns a version for now that sorts after prev, so that two
// changes within one millisecond still get distinct, ordered versions.
func NextVersion(now time.Time, prev string) string {
	v := now.UTC().Format(VersionLayout)
	if prev == "" || v > prev {
		return v
	}
	t, err := time.Parse(VersionLayout, prev)
	if err != nil {
		return v
	}
	return t.Add(time.Millisecond).Format(VersionLayout)
}

// ValidVersion reports whether v has the contract version shape.
func ValidVersion(v string) bool {
	_, err := time.Parse(VersionLayout, v)
	return err == nil && len(v) == len(VersionLayout)
}

// Marshal encodes a contract for storage and transport.
func Marshal(c *Contract) ([]byte, error) { return json.Marshal(c) }

// Unmarshal decodes and sanity-checks a contract.
func Unmarshal(data []byte) (*Contract, error) {
	var c Contract
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	if c.Organization == "" || c.Environment == "" || !ValidVersion(c.Version) {
		return nil, fmt.Errorf("contract: missing organization, environment or a valid version (got %q)", c.Version)
	}
	return &c, nil
}

// RunsOn reports whether an instance runs the environment: always when
// the contract names no instances, or when the instance is unnamed (a
// message processor not told its instance serves every environment it
// is given, as before instances existed).
func (c *Contract) RunsOn(instance string) bool {
	return instance == "" || len(c.Instances) == 0 || slices.Contains(c.Instances, instance)
}

// Sort orders deployments by name so equal contracts encode equally.
func (c *Contract) Sort() {
	sort.Slice(c.APIProxies, func(i, j int) bool { return c.APIProxies[i].Name < c.APIProxies[j].Name })
	sort.Slice(c.SharedFlows, func(i, j int) bool { return c.SharedFlows[i].Name < c.SharedFlows[j].Name })
	sort.Strings(c.Hostnames)
	sort.Strings(c.Instances)
	sort.Slice(c.ResourceFiles, func(i, j int) bool {
		a, b := c.ResourceFiles[i], c.ResourceFiles[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Name < b.Name
	})
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// HelmRelease is one chart install and its values. Each chart's
// values.schema.json refuses keys it does not know, so the overrides are
// split per chart rather than shared as one file.
type HelmRelease struct {
	// File is the values file's name (datastore.yaml, env-test.yaml, …).
	File    string
	Chart   string
	Release string
	// Notes are printed as comments: Secrets to create, and so on.
	Notes  []string
	Values map[string]any
}

// Install is the helm command this release's values go with.
func (r HelmRelease) Install() string {
	return fmt.Sprintf("helm upgrade --install %s charts/%s --namespace apigee -f %s", r.Release, r.Chart, r.File)
}

// HelmValues maps the overrides onto the charts under charts/. Values the
// overrides cannot carry (the emulator's own secrets) become references to
// Secrets, named in the release's notes.
func (o *Overrides) HelmValues() ([]HelmRelease, error) {
	envs := make([]any, len(o.Envs))
	for i, e := range o.Envs {
		m := map[string]any{"name": e.Name}
		if len(e.ServiceAccountPaths) > 0 {
			m["serviceAccountPaths"] = e.ServiceAccountPaths
		}
		envs[i] = m
	}
	base := func() map[string]any {
		v := map[string]any{"org": o.Org}
		return v
	}

	datastore := base()
	cass := map[string]any{}
	if o.Cassandra.ReplicaCount > 0 {
		cass["replicaCount"] = o.Cassandra.ReplicaCount
	}
	if o.Cassandra.Datacenter != "" {
		cass["datacenter"] = o.Cassandra.Datacenter
	}
	if o.Cassandra.Rack != "" {
		cass["rack"] = o.Cassandra.Rack
	}
	if len(cass) > 0 {
		datastore["cassandra"] = cass
	}
	releases := []HelmRelease{{File: "datastore.yaml", Chart: "apigee-datastore", Release: "datastore", Values: datastore}}

	org := base()
	org["envs"] = envs
	if o.InstanceID != "" {
		org["instanceID"] = o.InstanceID
	}
	if o.K8sCluster.Name != "" || o.K8sCluster.Region != "" {
		org["k8sCluster"] = map[string]any{"name": o.K8sCluster.Name, "region": o.K8sCluster.Region}
	}
	var orgNotes []string
	if o.KMSEncryptionKey != "" {
		org["kmsEncryptionKey"], org["kvmEncryptionKey"] = o.KMSEncryptionKey, o.KVMEncryptionKey
	} else {
		ref := o.Org + "-encryption-keys"
		org["encryptionKeys"] = map[string]any{"secretRef": ref}
		orgNotes = append(orgNotes, fmt.Sprintf("no kms/kvmEncryptionKey: create Secret %s with keys.yaml from `hybridctl keys --file keys.yaml`", ref))
	}
	// MART's shared secret is the emulator's own (no overrides key).
	martSecret := o.Org + "-mart-secret"
	mart := map[string]any{"sharedSecretRef": martSecret}
	orgNotes = append(orgNotes, fmt.Sprintf("create Secret %s with key \"secret\" (MART's shared secret; hybrid-controlplane's mart.sharedSecretRef names it too)", martSecret))
	if o.MART.HostAlias != "" {
		mart["hostAlias"] = o.MART.HostAlias
	}
	if o.MART.ServiceAccountPath != "" {
		mart["serviceAccountPath"] = o.MART.ServiceAccountPath
	}
	org["mart"] = mart
	agent := map[string]any{"enabled": o.ConnectEnabled()}
	if o.ConnectAgent.ReplicaCountMin > 0 {
		agent["replicaCountMin"] = o.ConnectAgent.ReplicaCountMin
	}
	if o.ConnectAgent.ReplicaCountMax > 0 {
		agent["replicaCountMax"] = o.ConnectAgent.ReplicaCountMax
	}
	if o.ConnectAgent.ServiceAccountPath != "" {
		agent["serviceAccountPath"] = o.ConnectAgent.ServiceAccountPath
	}
	org["connectAgent"] = agent
	releases = append(releases, HelmRelease{File: "org.yaml", Chart: "apigee-org", Release: "org", Notes: orgNotes, Values: org})

	for _, e := range o.Envs {
		v := base()
		v["env"], v["envs"] = e.Name, envs
		if o.InstanceID != "" {
			v["instanceID"] = o.InstanceID
		}
		var notes []string
		if o.ContractEncryptionKey != "" {
			v["contractEncryptionKey"] = o.ContractEncryptionKey
		} else {
			ref := o.Org + "-contract-encryption-key"
			v["contractEncryptionKeySecretRef"] = ref
			notes = append(notes, fmt.Sprintf("no contractEncryptionKey: create Secret %s with contract.key from the control plane's stateDir/contract-keys/%s.key", ref, o.Org))
		}
		sync := map[string]any{}
		if o.Synchronizer.PollInterval != "" {
			sync["pollInterval"] = o.Synchronizer.PollInterval
		}
		if o.Synchronizer.ServiceAccountPath != "" {
			sync["serviceAccountPath"] = o.Synchronizer.ServiceAccountPath
		}
		if len(sync) > 0 {
			v["synchronizer"] = sync
		}
		releases = append(releases, HelmRelease{File: "env-" + e.Name + ".yaml", Chart: "apigee-env", Release: "env-" + e.Name, Notes: notes, Values: v})
	}

	vhs := make([]any, len(o.Virtualhosts))
	for i, vh := range o.Virtualhosts {
		m := map[string]any{"name": vh.Name, "hostAliases": vh.HostAliases, "environments": vh.Environments}
		if len(vh.Selector) > 0 {
			m["selector"] = vh.Selector
		}
		for k, val := range map[string]string{"sslCertPath": vh.SSLCertPath, "sslKeyPath": vh.SSLKeyPath, "sslSecret": vh.SSLSecret} {
			if val != "" {
				m[k] = val
			}
		}
		vhs[i] = m
	}
	for _, vh := range o.Virtualhosts {
		v := base()
		v["envgroup"], v["virtualhosts"] = vh.Name, vhs
		releases = append(releases, HelmRelease{File: "virtualhost-" + vh.Name + ".yaml", Chart: "apigee-virtualhost", Release: "vh-" + vh.Name, Values: v})
	}

	// The mock control plane seeds the org as the overrides describe it.
	seed := o.Seed()
	groups := make([]any, len(seed.EnvGroups))
	for i, g := range seed.EnvGroups {
		groups[i] = map[string]any{"name": g.Name, "hostnames": g.Hostnames, "environments": g.Environments}
	}
	cp := map[string]any{
		"adminTokenSecretRef": "hybrid-controlplane-admin-token",
		"orgs": []any{map[string]any{
			"name": seed.Name, "projectId": seed.ProjectID, "environments": seed.Environments,
			"properties": seed.Properties, "envGroups": groups,
		}},
	}
	cpMART := map[string]any{"sharedSecretRef": martSecret}
	if !o.ConnectEnabled() {
		// apigee-org's MART Ingress has no TLS block.
		cpMART["hostAlias"] = "http://" + o.MART.HostAlias
	}
	cp["mart"] = cpMART
	releases = append(releases, HelmRelease{File: "controlplane.yaml", Chart: "hybrid-controlplane", Release: "controlplane",
		Notes: []string{"create Secret hybrid-controlplane-admin-token with key \"token\" (the emulator's admin bearer token)"}, Values: cp})
	return releases, nil
}

// render is one release's values file, commented with how to install it.
func (r HelmRelease) render() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s values, written by hybridctl apply --emit helm\n# %s\n", r.Chart, r.Install())
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "# %s\n", n)
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(r.Values); err != nil {
		return nil, fmt.Errorf("%s values: %w", r.Chart, err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeHelm writes each release's values into dir, or all of them to w as
// one YAML stream (a document per release) when dir is empty.
func writeHelm(releases []HelmRelease, dir string, w io.Writer) error {
	for i, r := range releases {
		data, err := r.render()
		if err != nil {
			return err
		}
		if dir == "" {
			if i > 0 {
				if _, err := io.WriteString(w, "---\n"); err != nil {
					return err
				}
			}
			if _, err := w.Write(data); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		path := filepath.Join(dir, r.File)
		// Values may hold encryption keys: owner only.
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return fmt.Errorf("helm values: %w", err)
		}
		fmt.Fprintln(w, r.Install()+"  # "+path)
	}
	return nil
}

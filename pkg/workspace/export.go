package workspace

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SnapshotBundle is the test bundle folder a snapshot's test data goes in
// (src/tests/<SnapshotBundle>/).
const SnapshotBundle = "snapshot"

// SnapshotManifest is the file at the root of a snapshot that says what it
// holds and what it leaves out; Parse lists it as not applied.
const SnapshotManifest = "hybrid-snapshot.json"

// Manifest describes a snapshot.
type Manifest struct {
	Organization string    `json:"organization"`
	ExportedAt   time.Time `json:"exportedAt"`
	Environments []string  `json:"environments"`
	// Counts says how many of each kind the snapshot holds.
	Counts map[string]int `json:"counts"`
	// NotIncluded names what the organization may have that a workspace
	// folder cannot carry.
	NotIncluded []string `json:"notIncluded"`
}

// notInSnapshots are the parts of an organization a workspace has no file
// for (docs/SEED_FOLDERS.md, "Snapshots").
var notInSnapshots = []string{
	"environment groups and their hostnames", "instances and their attachments",
	"keystores, truststores and references", "resource files", "debug masks and trace configuration",
	"API-proxy-scoped key value maps", "undeployed revisions other than the latest",
	"service accounts and IAM policies", "analytics and debug session data",
}

// Export reads an organization through the Apigee API (the Applier's
// client, base URL, org and token) and writes it as a workspace zip in the
// layout Parse reads: each proxy and shared flow at its deployed revision
// (the latest when it is not deployed), each environment's deployments,
// target servers, flow hooks and key value maps, and the products,
// developers, apps with their keys and organization maps as a test bundle.
// Applying the zip (hybridctl apply, or the emulator's deploy and
// setup/tests) to an empty organization makes the same setup again; to the
// organization it came from, it changes nothing.
func Export(ctx context.Context, a *Applier) ([]byte, *Manifest, error) {
	x := &exporter{a: a, files: map[string][]byte{}, m: &Manifest{Organization: a.Org, ExportedAt: time.Now().UTC().Truncate(time.Second), Counts: map[string]int{}, NotIncluded: notInSnapshots}}
	if err := x.run(ctx); err != nil {
		return nil, nil, err
	}
	manifest, err := json.MarshalIndent(x.m, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	x.files[SnapshotManifest] = append(manifest, '\n')
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(x.files))
	for n := range x.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			return nil, nil, err
		}
		if _, err := w.Write(x.files[n]); err != nil {
			return nil, nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), x.m, nil
}

type exporter struct {
	a     *Applier
	files map[string][]byte
	m     *Manifest
}

const apigeeRoot = "src/main/apigee/"

func (x *exporter) run(ctx context.Context) error {
	var envs []string
	if _, err := x.a.do(ctx, "GET", "/environments", nil, &envs); err != nil {
		return err
	}
	sort.Strings(envs)
	x.m.Environments = envs
	// deployed[coll][name] is the highest revision deployed in any
	// environment: the one exported.
	deployed := map[string]map[string]int{"apis": {}, "sharedflows": {}}
	for _, env := range envs {
		if err := x.environment(ctx, env, deployed); err != nil {
			return err
		}
	}
	for _, coll := range []string{"apis", "sharedflows"} {
		if err := x.bundles(ctx, coll, deployed[coll]); err != nil {
			return err
		}
	}
	return x.testData(ctx)
}

// environment exports environments/<env>/: deployments, target servers,
// flow hooks and key value maps.
func (x *exporter) environment(ctx context.Context, env string, deployed map[string]map[string]int) error {
	dir := apigeeRoot + "environments/" + env + "/"
	base := "/environments/" + esc(env)
	type deployment struct {
		Name string `json:"name"`
	}
	deps := map[string][]deployment{"proxies": {}, "sharedflows": {}}
	for coll, query := range map[string]string{"apis": "", "sharedflows": "?sharedFlows=true"} {
		var list struct {
			Deployments []struct {
				APIProxy string `json:"apiProxy"`
				Revision string `json:"revision"`
			} `json:"deployments"`
		}
		if _, err := x.a.do(ctx, "GET", base+"/deployments"+query, nil, &list); err != nil {
			return err
		}
		key := map[string]string{"apis": "proxies", "sharedflows": "sharedflows"}[coll]
		for _, d := range list.Deployments {
			rev, _ := strconv.Atoi(d.Revision)
			deployed[coll][d.APIProxy] = max(deployed[coll][d.APIProxy], rev)
			deps[key] = append(deps[key], deployment{Name: d.APIProxy})
		}
		sort.Slice(deps[key], func(i, j int) bool { return deps[key][i].Name < deps[key][j].Name })
	}
	if err := x.putJSON(dir+"deployments.json", deps); err != nil {
		return err
	}

	var servers []string
	if _, err := x.a.do(ctx, "GET", base+"/targetservers", nil, &servers); err != nil {
		return err
	}
	sort.Strings(servers)
	targetServers := []map[string]any{}
	for _, name := range servers {
		var ts map[string]any
		if _, err := x.a.do(ctx, "GET", base+"/targetservers/"+esc(name), nil, &ts); err != nil {
			return err
		}
		targetServers = append(targetServers, ts)
	}
	x.m.Counts["targetServers"] += len(targetServers)
	if err := x.putJSON(dir+"targetservers.json", targetServers); err != nil {
		return err
	}

	hooks := map[string]any{}
	for _, point := range FlowHookPoints {
		var fh struct {
			SharedFlow      string `json:"sharedFlow"`
			ContinueOnError *bool  `json:"continueOnError"`
			Description     string `json:"description"`
		}
		if _, err := x.a.do(ctx, "GET", base+"/flowhooks/"+point, nil, &fh); err != nil {
			return err
		}
		if fh.SharedFlow == "" {
			continue
		}
		h := map[string]any{"sharedFlow": fh.SharedFlow, "continueOnError": fh.ContinueOnError == nil || *fh.ContinueOnError}
		if fh.Description != "" {
			h["description"] = fh.Description
		}
		hooks[point] = h
	}
	x.m.Counts["flowHooks"] += len(hooks)
	if err := x.putJSON(dir+"flowhooks.json", hooks); err != nil {
		return err
	}

	maps, err := x.kvms(ctx, base)
	if err != nil {
		return err
	}
	return x.putJSON(dir+"kvms.json", maps)
}

// kvms reads the maps under base (an environment, or "" for the
// organization) with their entries, in kvms.json's shape.
func (x *exporter) kvms(ctx context.Context, base string) ([]map[string]any, error) {
	var names []string
	if _, err := x.a.do(ctx, "GET", base+"/keyvaluemaps", nil, &names); err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := []map[string]any{}
	for _, name := range names {
		entries := []map[string]string{}
		token := ""
		for {
			q := url.Values{"pageSize": {"100"}}
			if token != "" {
				q.Set("pageToken", token)
			}
			var page struct {
				Entries []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"keyValueEntries"`
				Next string `json:"nextPageToken"`
			}
			if _, err := x.a.do(ctx, "GET", base+"/keyvaluemaps/"+esc(name)+"/entries?"+q.Encode(), nil, &page); err != nil {
				return nil, err
			}
			for _, e := range page.Entries {
				entries = append(entries, map[string]string{"name": e.Name, "value": e.Value})
			}
			if token = page.Next; token == "" {
				break
			}
		}
		x.m.Counts["kvmEntries"] += len(entries)
		out = append(out, map[string]any{"name": name, "entry": entries})
	}
	x.m.Counts["kvms"] += len(out)
	return out, nil
}

// bundles exports each proxy or shared flow at its deployed revision,
// else its latest.
func (x *exporter) bundles(ctx context.Context, coll string, deployed map[string]int) error {
	var list struct {
		Proxies []struct {
			Name     string   `json:"name"`
			Revision []string `json:"revision"`
		} `json:"proxies"`
		SharedFlows []struct {
			Name     string   `json:"name"`
			Revision []string `json:"revision"`
		} `json:"sharedFlows"`
	}
	if _, err := x.a.do(ctx, "GET", "/"+coll+"?includeRevisions=true", nil, &list); err != nil {
		return err
	}
	items := list.Proxies
	folder, root := "apiproxies", "apiproxy"
	if coll == "sharedflows" {
		items, folder, root = list.SharedFlows, "sharedflows", "sharedflowbundle"
	}
	for _, it := range items {
		rev := deployed[it.Name]
		if rev == 0 {
			for _, r := range it.Revision {
				n, _ := strconv.Atoi(r)
				rev = max(rev, n)
			}
		}
		if rev == 0 {
			continue // a name without revisions
		}
		data, err := x.a.do(ctx, "GET", "/"+coll+"/"+esc(it.Name)+"/revisions/"+strconv.Itoa(rev)+"?format=bundle", nil, nil)
		if err != nil {
			return err
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return fmt.Errorf("%s %s revision %d: %w", coll, it.Name, rev, err)
		}
		for _, f := range zr.File {
			if f.FileInfo().IsDir() || !strings.HasPrefix(f.Name, root+"/") {
				continue
			}
			body, err := readZipFile(f)
			if err != nil {
				return fmt.Errorf("%s %s revision %d: %s: %w", coll, it.Name, rev, f.Name, err)
			}
			x.files[apigeeRoot+folder+"/"+it.Name+"/"+f.Name] = body
		}
		x.m.Counts[folder]++
	}
	return nil
}

// outputOnly are fields the API sets that a create must not send.
var outputOnly = []string{"createdAt", "lastModifiedAt", "createdBy", "lastModifiedBy", "developerId",
	"organizationName", "apps", "appId", "appFamily", "status", "companies"}

func stripOutputOnly(m map[string]any) map[string]any {
	for _, k := range outputOnly {
		delete(m, k)
	}
	return m
}

// testData exports the products, developers, apps with their keys and
// the organization's maps as src/tests/snapshot/.
func (x *exporter) testData(ctx context.Context) error {
	dir := "src/tests/" + SnapshotBundle + "/"
	var products struct {
		List []map[string]any `json:"apiProduct"`
	}
	if _, err := x.a.do(ctx, "GET", "/apiproducts?expand=true", nil, &products); err != nil {
		return err
	}
	for _, p := range products.List {
		stripOutputOnly(p)
	}
	sortByKey(products.List, "name")
	x.m.Counts["products"] = len(products.List)

	var developers struct {
		List []map[string]any `json:"developer"`
	}
	if _, err := x.a.do(ctx, "GET", "/developers?expand=true", nil, &developers); err != nil {
		return err
	}
	apps := []map[string]any{}
	for _, d := range developers.List {
		email, _ := d["email"].(string)
		var list struct {
			List []map[string]any `json:"app"`
		}
		if _, err := x.a.do(ctx, "GET", "/developers/"+esc(email)+"/apps?expand=true", nil, &list); err != nil {
			return err
		}
		for _, app := range list.List {
			apps = append(apps, snapshotApp(email, app))
		}
		stripOutputOnly(d)
	}
	sortByKey(developers.List, "email")
	x.m.Counts["developers"] = len(developers.List)
	x.m.Counts["apps"] = len(apps)

	maps, err := x.kvms(ctx, "")
	if err != nil {
		return err
	}
	for _, m := range maps {
		m["scope"] = "organization"
	}
	for name, v := range map[string]any{"products.json": nonNil(products.List), "developers.json": nonNil(developers.List),
		"developerapps.json": apps, "maps.json": maps} {
		if err := x.putJSON(dir+name, v); err != nil {
			return err
		}
	}
	return nil
}

// snapshotApp is an app in developerapps.json's shape, with its keys.
func snapshotApp(email string, app map[string]any) map[string]any {
	out := map[string]any{"name": app["name"], "developerEmail": email}
	for _, k := range []string{"callbackUrl", "attributes", "scopes", "keyExpiresIn"} {
		if v, ok := app[k]; ok {
			out[k] = v
		}
	}
	var creds []map[string]any
	products := map[string]bool{}
	list, _ := app["credentials"].([]any)
	for _, c := range list {
		cm, _ := c.(map[string]any)
		cred := map[string]any{"consumerKey": cm["consumerKey"], "consumerSecret": cm["consumerSecret"]}
		var names []string
		ps, _ := cm["apiProducts"].([]any)
		for _, p := range ps {
			if pm, ok := p.(map[string]any); ok {
				if n, ok := pm["apiproduct"].(string); ok {
					names = append(names, n)
					products[n] = true
				}
			}
		}
		cred["apiProducts"] = nonNil(names)
		creds = append(creds, cred)
	}
	if len(creds) > 0 {
		out["credentials"] = creds
	}
	names := make([]string, 0, len(products))
	for n := range products {
		names = append(names, n)
	}
	sort.Strings(names)
	out["apiProducts"] = names
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func sortByKey(list []map[string]any, key string) {
	sort.Slice(list, func(i, j int) bool {
		a, _ := list[i][key].(string)
		b, _ := list[j][key].(string)
		return a < b
	})
}

func (x *exporter) putJSON(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	x.files[name] = append(data, '\n')
	return nil
}

// readZipFile reads one entry of a bundle the API gave (its size checked
// by the control plane at import).
func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, MaxZipBytes))
}

package workspace

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
)

// MaxZipBytes bounds a workspace zip (ParseZip, ParseTestDataZip).
const MaxZipBytes = 64 << 20

// ParseDir reads the workspace in dir: a project folder holding
// src/main/apigee (and test bundles in src/tests/<bundle>/ or tests/), or
// the src/main/apigee folder itself.
func ParseDir(dir string) (*Plan, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		data, err := os.ReadFile(dir)
		if err != nil {
			return nil, err
		}
		return ParseZip(data)
	}
	return ParseFS(os.DirFS(dir))
}

// ParseZip reads a workspace from a zip: of the project folder (entries
// src/main/apigee/…), or of src/main/apigee (entries apiproxies/…,
// environments/…), as the Cloud Code extension and scripts send it to the
// emulator's deploy endpoint.
func ParseZip(data []byte) (*Plan, error) {
	zr, err := openZip(data)
	if err != nil {
		return nil, err
	}
	return ParseFS(zr)
}

// MaxUnzippedBytes bounds what a workspace zip may hold once inflated,
// and MaxZipEntries how many files: a small zip must not inflate into
// gigabytes in the control plane (the emulator API reads zips from the
// network). archive/zip refuses an entry longer than it declares, so the
// declared sizes are what is checked.
const (
	MaxUnzippedBytes = 256 << 20
	MaxZipEntries    = 10000
)

func openZip(data []byte) (*zip.Reader, error) {
	return openZipLimited(data, MaxUnzippedBytes)
}

func openZipLimited(data []byte, maxUnzipped uint64) (*zip.Reader, error) {
	if len(data) > MaxZipBytes {
		return nil, fmt.Errorf("the zip is %d bytes; at most %d are accepted", len(data), MaxZipBytes)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a zip: %w", err)
	}
	if len(zr.File) > MaxZipEntries {
		return nil, fmt.Errorf("the zip has %d files; at most %d are accepted", len(zr.File), MaxZipEntries)
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if f.UncompressedSize64 > maxUnzipped || total > maxUnzipped {
			return nil, fmt.Errorf("%s: the zip inflates to more than %d bytes (this file declares %d)", f.Name, maxUnzipped, f.UncompressedSize64)
		}
	}
	return zr, nil
}

// ParseFS reads a workspace from fsys (see ParseDir).
func ParseFS(fsys fs.FS) (*Plan, error) {
	p := &parser{fsys: fsys}
	root := ""
	switch {
	case isDir(fsys, "src/main/apigee"):
		root = "src/main/apigee"
	case isDir(fsys, "apiproxies") || isDir(fsys, "sharedflows") || isDir(fsys, "environments"):
		root = "."
	}
	plan := &Plan{}
	if root == "" && !hasTestData(fsys) {
		return nil, errors.New("no Apigee workspace here: want src/main/apigee/ (or apiproxies/, sharedflows/, environments/) or test data (src/tests/<bundle>/products.json, …)")
	}
	if root != "" {
		plan.Proxies = p.bundles(join(root, "apiproxies"), false)
		plan.SharedFlows = p.bundles(join(root, "sharedflows"), true)
		plan.Envs = p.envs(join(root, "environments"), plan)
	}
	for _, dir := range testDirs(fsys) {
		p.testData(dir, &plan.TestData)
	}
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return plan, nil
}

// ParseTestDataZip reads an emulator test bundle zip (products.json,
// developers.json, developerapps.json, maps.json at its root or in one
// folder), as POST /v1/emulator/setup/tests takes it.
func ParseTestDataZip(data []byte) (*TestData, error) {
	zr, err := openZip(data)
	if err != nil {
		return nil, err
	}
	p := &parser{fsys: zr}
	var td TestData
	dirs := testDirs(zr)
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	for _, dir := range dirs {
		p.testData(dir, &td)
	}
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return &td, nil
}

var testFiles = []string{"products.json", "developers.json", "developerapps.json", "maps.json"}

func hasTestData(fsys fs.FS) bool { return len(testDirs(fsys)) > 0 }

// testDirs finds the folders holding test bundle files: the root,
// tests/, src/tests/ and their direct subfolders (one per test bundle).
func testDirs(fsys fs.FS) []string {
	var out []string
	seen := map[string]bool{}
	holds := func(dir string) bool {
		if seen[dir] {
			return false
		}
		for _, f := range testFiles {
			if isFile(fsys, join(dir, f)) {
				return true
			}
		}
		return false
	}
	for _, base := range []string{".", "tests", "src/tests"} {
		if !isDir(fsys, base) {
			continue
		}
		if holds(base) {
			out, seen[base] = append(out, base), true
		}
		// Each test bundle is a folder of its own (a zip of one holds
		// its folder at the root).
		entries, _ := fs.ReadDir(fsys, base)
		for _, e := range entries {
			if d := join(base, e.Name()); e.IsDir() && holds(d) {
				out, seen[d] = append(out, d), true
			}
		}
	}
	return out
}

type parser struct {
	fsys fs.FS
	errs errList
}

func join(elem ...string) string { return path.Join(elem...) }

func isDir(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && st.IsDir()
}

func isFile(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && st.Mode().IsRegular()
}

// bundles reads dir/<name>/apiproxy (or sharedflowbundle) folders.
func (p *parser) bundles(dir string, shared bool) []Bundle {
	entries, err := fs.ReadDir(p.fsys, dir)
	if err != nil {
		return nil
	}
	kind, rootName := bundle.KindProxy, "apiproxy"
	if shared {
		kind, rootName = bundle.KindSharedFlow, "sharedflowbundle"
	}
	var out []Bundle
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		src := join(dir, e.Name())
		b, err := zipFolder(p.fsys, join(src, rootName), rootName)
		if err != nil {
			p.errs.add(src, "", "%v", err)
			continue
		}
		// The import would refuse it anyway; refusing it here names the
		// file before anything was sent.
		if _, err := bundle.Parse(b, kind, bundle.Limits{}); err != nil {
			p.errs.add(src, "", "%v", err)
			continue
		}
		h, err := ContentHash(b)
		if err != nil {
			p.errs.add(src, "", "%v", err)
			continue
		}
		out = append(out, Bundle{Name: e.Name(), SharedFlow: shared, Source: src, Zip: b, Hash: h})
	}
	return out
}

// zipFolder zips dir's files as a bundle with root folder prefix.
func zipFolder(fsys fs.FS, dir, prefix string) ([]byte, error) {
	if !isDir(fsys, dir) {
		return nil, fmt.Errorf("no %s/ folder", prefix)
	}
	return bundle.ZipFS(fsys, dir, prefix)
}

// ContentHash identifies a bundle zip by its files' names and contents
// (not timestamps or compression), so a revision downloaded from the API
// and a folder zipped again compare equal when nothing changed.
func ContentHash(zipData []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		return "", fmt.Errorf("not a zip: %w", err)
	}
	files := make([]*zip.File, 0, len(zr.File))
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "/") {
			files = append(files, f)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	h := sha256.New()
	for _, f := range files {
		rc, err := f.Open()
		if err != nil {
			return "", err
		}
		data, err := io.ReadAll(io.LimitReader(rc, MaxZipBytes))
		rc.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f.Name, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (p *parser) envs(dir string, plan *Plan) []EnvConfig {
	entries, err := fs.ReadDir(p.fsys, dir)
	if err != nil {
		return nil
	}
	proxies, flows := map[string]bool{}, map[string]bool{}
	for _, b := range plan.Proxies {
		proxies[b.Name] = true
	}
	for _, b := range plan.SharedFlows {
		flows[b.Name] = true
	}
	var out []EnvConfig
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		src := join(dir, e.Name())
		env := EnvConfig{Name: e.Name(), Source: src}
		if v, file, ok := p.readJSON(join(src, "deployments.json")); ok {
			env.HasDeployments = true
			env.Proxies = p.deployments(file, v, "proxies", proxies, "apiproxies")
			for _, key := range []string{"sharedflows", "sharedFlows"} {
				env.SharedFlows = append(env.SharedFlows, p.deployments(file, v, key, flows, "sharedflows")...)
			}
		}
		if v, file, ok := p.readJSON(join(src, "flowhooks.json")); ok {
			env.FlowHooks = p.flowHooks(file, v, flows)
		}
		if v, file, ok := p.readJSON(join(src, "targetservers.json")); ok {
			env.TargetServers = p.targetServers(file, v)
		}
		if v, file, ok := p.readJSON(join(src, "kvms.json")); ok {
			env.KVMs = p.kvms(file, v, "environment", env.Name)
		}
		files, _ := fs.ReadDir(p.fsys, src)
		for _, f := range files {
			switch f.Name() {
			case "deployments.json", "flowhooks.json", "targetservers.json", "kvms.json":
			default:
				plan.Ignored = append(plan.Ignored, join(src, f.Name()))
			}
		}
		out = append(out, env)
	}
	return out
}

// readJSON reads and decodes name; ok is false when it does not exist or
// does not decode (then the error is recorded).
func (p *parser) readJSON(name string) (any, string, bool) {
	data, err := fs.ReadFile(p.fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, name, false
	}
	if err != nil {
		p.errs.add(name, "", "%v", err)
		return nil, name, false
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		p.errs.add(name, "", "invalid JSON: %s", jsonProblem(data, err))
		return nil, name, false
	}
	if _, err := dec.Token(); err != io.EOF {
		p.errs.add(name, "", "invalid JSON: more after the first value")
		return nil, name, false
	}
	return v, name, true
}

// jsonProblem adds the line and column to a decoding error.
func jsonProblem(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		off = int64(len(data))
	}
	if off < 0 {
		return err.Error()
	}
	line, col := 1, 1
	for _, c := range data[:min(int(off), len(data))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}

func field(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

func index(at string, i int) string { return fmt.Sprintf("%s[%d]", at, i) }

func (p *parser) array(file, at string, v any) []any {
	a, ok := v.([]any)
	if !ok {
		p.errs.add(file, at, "want a JSON array, got %s", kindOf(v))
	}
	return a
}

func (p *parser) object(file, at string, v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		p.errs.add(file, at, "want a JSON object, got %s", kindOf(v))
	}
	return m
}

func kindOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + v.String()
	case bool:
		return fmt.Sprintf("%t", v)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// str reads m[key] as a string; required reports a missing one.
func (p *parser) str(file, at string, m map[string]any, key string, required bool) string {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			p.errs.add(file, field(at, key), "required")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.errs.add(file, field(at, key), "want a string, got %s", kindOf(v))
		return ""
	}
	if required && strings.TrimSpace(s) == "" {
		p.errs.add(file, field(at, key), "must not be empty")
	}
	return s
}

// strs reads m[key] as an array of strings.
func (p *parser) strs(file, at string, m map[string]any, key string) []string {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	a := p.array(file, field(at, key), v)
	var out []string
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			p.errs.add(file, index(field(at, key), i), "want a string, got %s", kindOf(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

// boolean reads m[key] as a boolean (true/false, or their strings).
func (p *parser) boolean(file, at string, m map[string]any, key string, def bool) bool {
	v, ok := m[key]
	if !ok || v == nil {
		return def
	}
	switch v := v.(type) {
	case bool:
		return v
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true
		case "false":
			return false
		}
	}
	p.errs.add(file, field(at, key), "want true or false, got %s", kindOf(v))
	return def
}

func (p *parser) deployments(file string, v any, key string, known map[string]bool, folder string) []Deployment {
	m := p.object(file, "", v)
	if m == nil {
		return nil
	}
	raw, ok := m[key]
	if !ok || raw == nil {
		return nil
	}
	var out []Deployment
	for i, e := range p.array(file, key, raw) {
		at := index(key, i)
		var d Deployment
		switch e := e.(type) {
		case string:
			d.Name = e
		case map[string]any:
			d.Name = p.str(file, at, e, "name", true)
			d.ServiceAccount = p.str(file, at, e, "serviceAccount", false)
			if d.Name == "" {
				continue
			}
		default:
			p.errs.add(file, at, "want a name or {\"name\": …}, got %s", kindOf(e))
			continue
		}
		if !known[d.Name] {
			p.errs.add(file, at, "no %s/%s/ in the workspace", folder, d.Name)
			continue
		}
		out = append(out, d)
	}
	return out
}

func (p *parser) flowHooks(file string, v any, flows map[string]bool) []FlowHook {
	var out []FlowHook
	add := func(at string, fh FlowHook) {
		if !validPoint(fh.Point) {
			p.errs.add(file, at, "unknown flow hook point %q: want one of %s", fh.Point, strings.Join(FlowHookPoints, ", "))
			return
		}
		if fh.SharedFlow != "" && !flows[fh.SharedFlow] {
			p.errs.add(file, field(at, "sharedFlow"), "no sharedflows/%s/ in the workspace", fh.SharedFlow)
			return
		}
		out = append(out, fh)
	}
	switch v := v.(type) {
	case []any: // the API's FlowHook objects
		for i, e := range v {
			at := index("", i)
			m := p.object(file, at, e)
			if m == nil {
				continue
			}
			point := p.str(file, at, m, "flowHookPoint", false)
			if point == "" {
				point = p.str(file, at, m, "name", false)
			}
			if point == "" {
				p.errs.add(file, field(at, "flowHookPoint"), "required")
				continue
			}
			add(at, FlowHook{Point: point, SharedFlow: p.str(file, at, m, "sharedFlow", false),
				Description: p.str(file, at, m, "description", false), ContinueOnError: p.boolean(file, at, m, "continueOnError", false)})
		}
	case map[string]any: // {"PreProxyFlowHook": {"sharedFlow": …} | "name" | {}}
		points := make([]string, 0, len(v))
		for k := range v {
			points = append(points, k)
		}
		sort.Strings(points)
		for _, point := range points {
			fh := FlowHook{Point: point}
			switch e := v[point].(type) {
			case nil:
			case string:
				fh.SharedFlow = e
			case map[string]any:
				fh.SharedFlow = p.str(file, point, e, "sharedFlow", false)
				fh.Description = p.str(file, point, e, "description", false)
				fh.ContinueOnError = p.boolean(file, point, e, "continueOnError", false)
			default:
				p.errs.add(file, point, "want {\"sharedFlow\": …} or a shared flow's name, got %s", kindOf(e))
				continue
			}
			add(point, fh)
		}
	default:
		p.errs.add(file, "", "want an array of flow hooks or an object keyed by flow hook point, got %s", kindOf(v))
	}
	return out
}

func validPoint(p string) bool {
	for _, q := range FlowHookPoints {
		if p == q {
			return true
		}
	}
	return false
}

func (p *parser) targetServers(file string, v any) []TargetServer {
	var out []TargetServer
	seen := map[string]bool{}
	for i, e := range p.array(file, "", v) {
		at := index("", i)
		m := p.object(file, at, e)
		if m == nil {
			continue
		}
		ts := TargetServer{
			Name:        p.str(file, at, m, "name", true),
			Description: p.str(file, at, m, "description", false),
			Host:        p.str(file, at, m, "host", true),
			Protocol:    p.str(file, at, m, "protocol", false),
		}
		// "isEnabled" is the API's; Cloud Code's wizard writes "enabled".
		ts.IsEnabled = p.boolean(file, at, m, "enabled", true)
		ts.IsEnabled = p.boolean(file, at, m, "isEnabled", ts.IsEnabled)
		switch raw := m["port"].(type) {
		case nil:
			p.errs.add(file, field(at, "port"), "required")
		case json.Number:
			n, err := raw.Int64()
			if err != nil || n < 1 || n > 65535 {
				p.errs.add(file, field(at, "port"), "want a number from 1 to 65535, got %s", kindOf(raw))
			}
			ts.Port = int(n)
		default:
			p.errs.add(file, field(at, "port"), "want a number from 1 to 65535, got %s", kindOf(raw))
		}
		for _, key := range []string{"sSLInfo", "sslInfo"} {
			if raw, ok := m[key]; ok && raw != nil {
				ts.SSLInfo = p.object(file, field(at, key), raw)
			}
		}
		if ts.Name != "" && seen[ts.Name] {
			p.errs.add(file, field(at, "name"), "target server %q is listed twice", ts.Name)
		}
		seen[ts.Name] = true
		out = append(out, ts)
	}
	return out
}

// kvms reads maps in the Maven config plugin's and the emulator's shape:
// [{"name": …, "encrypted": …, "entry": [{"name": …, "value": …}]}]
// ("entries" too), with an optional "scope" (organization, environment,
// apiproxy; "proxy" with it).
func (p *parser) kvms(file string, v any, defScope, env string) []KVM {
	var out []KVM
	for i, e := range p.array(file, "", v) {
		at := index("", i)
		m := p.object(file, at, e)
		if m == nil {
			continue
		}
		k := KVM{Name: p.str(file, at, m, "name", true), Scope: defScope, Env: env, Source: file,
			Encrypted: p.boolean(file, at, m, "encrypted", true)}
		if s := p.str(file, at, m, "scope", false); s != "" {
			switch strings.ToLower(s) {
			case "organization", "org":
				k.Scope = "organization"
			case "environment", "env":
				k.Scope = "environment"
			case "apiproxy", "proxy", "api":
				k.Scope = "apiproxy"
			default:
				p.errs.add(file, field(at, "scope"), "want organization, environment or apiproxy, got %q", s)
			}
		}
		if s := p.str(file, at, m, "environment", false); s != "" {
			k.Env = s
		}
		if k.Scope == "apiproxy" {
			k.API = p.str(file, at, m, "proxy", false)
			if k.API == "" {
				k.API = p.str(file, at, m, "apiproxy", false)
			}
			if k.API == "" {
				p.errs.add(file, field(at, "proxy"), "required for a map of scope apiproxy")
			}
		}
		key := "entry"
		if _, ok := m[key]; !ok {
			key = "entries"
		}
		seen := map[string]bool{}
		if raw, ok := m[key]; ok && raw != nil {
			for j, en := range p.array(file, field(at, key), raw) {
				eat := index(field(at, key), j)
				em := p.object(file, eat, en)
				if em == nil {
					continue
				}
				name := p.str(file, eat, em, "name", true)
				val := p.str(file, eat, em, "value", false)
				if name != "" && seen[name] {
					p.errs.add(file, field(eat, "name"), "entry %q is listed twice", name)
				}
				seen[name] = true
				k.Entries = append(k.Entries, Entry{Name: name, Value: val})
			}
		}
		out = append(out, k)
	}
	return out
}

func (p *parser) testData(dir string, td *TestData) {
	if v, file, ok := p.readJSON(join(dir, "products.json")); ok {
		td.Sources = append(td.Sources, file)
		for i, e := range p.array(file, "", v) {
			at := index("", i)
			if m := p.object(file, at, e); m != nil {
				name := p.str(file, at, m, "name", true)
				for _, key := range []string{"proxies", "apiResources", "environments", "scopes"} {
					p.strs(file, at, m, key)
				}
				if name != "" {
					td.Products = append(td.Products, Object{Key: name, Body: m, Source: file})
				}
			}
		}
	}
	if v, file, ok := p.readJSON(join(dir, "developers.json")); ok {
		td.Sources = append(td.Sources, file)
		for i, e := range p.array(file, "", v) {
			at := index("", i)
			if m := p.object(file, at, e); m != nil {
				email := p.str(file, at, m, "email", true)
				if email != "" && !strings.Contains(email, "@") {
					p.errs.add(file, field(at, "email"), "%q is not an email address", email)
					continue
				}
				for _, key := range []string{"firstName", "lastName", "userName"} {
					p.str(file, at, m, key, false)
				}
				if email != "" {
					td.Developers = append(td.Developers, Object{Key: email, Body: m, Source: file})
				}
			}
		}
	}
	if v, file, ok := p.readJSON(join(dir, "developerapps.json")); ok {
		td.Sources = append(td.Sources, file)
		for i, e := range p.array(file, "", v) {
			at := index("", i)
			m := p.object(file, at, e)
			if m == nil {
				continue
			}
			app := App{Name: p.str(file, at, m, "name", true), Developer: p.str(file, at, m, "developerEmail", true), Source: file}
			p.strs(file, at, m, "apiProducts")
			if raw, ok := m["credentials"]; ok && raw != nil {
				for j, c := range p.array(file, field(at, "credentials"), raw) {
					cat := index(field(at, "credentials"), j)
					cm := p.object(file, cat, c)
					if cm == nil {
						continue
					}
					cred := Credential{ConsumerKey: p.str(file, cat, cm, "consumerKey", true), ConsumerSecret: p.str(file, cat, cm, "consumerSecret", false)}
					cred.APIProducts = p.credentialProducts(file, cat, cm)
					app.Credentials = append(app.Credentials, cred)
				}
			}
			body := map[string]any{}
			for k, v := range m {
				if k != "developerEmail" && k != "credentials" {
					body[k] = v
				}
			}
			app.Body = body
			if app.Name != "" && app.Developer != "" {
				td.Apps = append(td.Apps, app)
			}
		}
	}
	if v, file, ok := p.readJSON(join(dir, "maps.json")); ok {
		td.Sources = append(td.Sources, file)
		td.Maps = append(td.Maps, p.kvms(file, v, "environment", "")...)
	}
}

// credentialProducts reads a credential's apiProducts: names, or the API's
// [{"apiproduct": …, "status": …}].
func (p *parser) credentialProducts(file, at string, m map[string]any) []string {
	raw, ok := m["apiProducts"]
	if !ok || raw == nil {
		return nil
	}
	var out []string
	for i, e := range p.array(file, field(at, "apiProducts"), raw) {
		switch e := e.(type) {
		case string:
			out = append(out, e)
		case map[string]any:
			if s := p.str(file, index(field(at, "apiProducts"), i), e, "apiproduct", true); s != "" {
				out = append(out, s)
			}
		default:
			p.errs.add(file, index(field(at, "apiProducts"), i), "want a product name, got %s", kindOf(e))
		}
	}
	return out
}

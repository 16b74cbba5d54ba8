package server_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/golden"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
)

// Where the coverage table and the README line that quotes it live,
// relative to this package.
const coverageDoc = "../../../../docs/API_COVERAGE.md"

// coverageReadmes quote the headline: the control plane's README and the
// repository's.
var coverageReadmes = []string{"../../README.md", "../../../../README.md"}

// discoveryMethod is one method of the Apigee discovery document.
type discoveryMethod struct {
	ID         string `json:"id"`
	HTTPMethod string `json:"httpMethod"`
	FlatPath   string `json:"flatPath"`
}

type discoveryResource struct {
	Methods   map[string]discoveryMethod   `json:"methods"`
	Resources map[string]discoveryResource `json:"resources"`
}

type discoveryDoc struct {
	Version  string `json:"version"`
	Revision string `json:"revision"`
	discoveryResource
}

// apigeeDiscovery reads apigee/v1/apigee-api.json from the module cache
// copy of google.golang.org/api this module builds with.
func apigeeDiscovery(t *testing.T) (doc discoveryDoc, modVersion string, methods []discoveryMethod) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "google.golang.org/api").Output()
	require.NoError(t, err, "go list -m google.golang.org/api")
	dir, version, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
	require.True(t, ok && dir != "", "google.golang.org/api is not in the module cache (go mod download): %q", out)
	raw, err := os.ReadFile(filepath.Join(dir, "apigee", "v1", "apigee-api.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &doc))
	var walk func(r discoveryResource)
	walk = func(r discoveryResource) {
		for _, m := range r.Methods {
			methods = append(methods, m)
		}
		for _, sub := range r.Resources {
			walk(sub)
		}
	}
	walk(doc.discoveryResource)
	sort.Slice(methods, func(i, j int) bool { return methods[i].ID < methods[j].ID })
	require.NotEmpty(t, methods)
	return doc, version, methods
}

var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// routeMatches reports whether a route path (a net/http pattern,
// "/v1/organizations/{org}/…") takes a discovery flatPath
// ("v1/organizations/{organizationsId}/…"), and whether only a trailing
// {rest...} wildcard took it. A single wildcard stands for one ID segment
// of the flat path, never a literal or an ID with a custom verb
// ("{environmentsId}:getDebugmask"): ServeMux would hand those to the
// route as an ID, which is not serving the method.
func routeMatches(route, flat string) (match, catchAll bool) {
	rs := strings.Split(strings.TrimPrefix(route, "/"), "/")
	fs := strings.Split(strings.TrimPrefix(flat, "/"), "/")
	for i, r := range rs {
		if strings.HasPrefix(r, "{") && strings.HasSuffix(r, "...}") {
			return i < len(fs), true
		}
		if i >= len(fs) || placeholder.ReplaceAllString(r, "{}") != placeholder.ReplaceAllString(fs[i], "{}") {
			return false, false
		}
	}
	return len(rs) == len(fs), false
}

// coverage rows.
type covRow struct {
	resource, method, http, path, status string
}

const (
	statusServed    = "served"
	statusMART      = "served by MART"
	statusNoMART    = "forwarded, MART has no route"
	statusNotServed = "–"
)

// martSources are MART's route table, relative to this package: the
// control plane forwards MART paths, MART's own routes decide.
var martSources = []string{"../../../mart/internal/mart/routes.go", "../../../mart/internal/mart/kvm.go"}

// martRoutes reads MART's route patterns ("GET /v1/…") from its source:
// every string expression that starts with an HTTP method, evaluated
// with the constants and variables of its function, and kvmRoutes's
// prefix bound to each argument routes passes it.
func martRoutes(t *testing.T) []apigee.Route {
	t.Helper()
	fset := token.NewFileSet()
	funcs := map[string]*ast.FuncDecl{}
	for _, path := range martSources {
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err, "MART's route table moved? update martSources")
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	methodLit := regexp.MustCompile(`^"(GET|POST|PUT|PATCH|DELETE) `)
	var eval func(e ast.Expr, env map[string]string) (string, bool)
	eval = func(e ast.Expr, env map[string]string) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		case *ast.Ident:
			v, ok := env[e.Name]
			return v, ok
		case *ast.ParenExpr:
			return eval(e.X, env)
		case *ast.BinaryExpr:
			if e.Op != token.ADD {
				return "", false
			}
			x, ok1 := eval(e.X, env)
			y, ok2 := eval(e.Y, env)
			return x + y, ok1 && ok2
		}
		return "", false
	}
	leftmost := func(e ast.Expr) ast.Expr {
		for {
			b, ok := e.(*ast.BinaryExpr)
			if !ok {
				return e
			}
			e = b.X
		}
	}
	var out []apigee.Route
	var collect func(fn string, env map[string]string)
	collect = func(fn string, env map[string]string) {
		fd := funcs[fn]
		require.NotNil(t, fd, "MART's route table has no func %s", fn)
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if i < len(n.Values) {
						if v, ok := eval(n.Values[i], env); ok {
							env[name.Name] = v
						}
					}
				}
			case *ast.AssignStmt:
				if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
					if id, ok := n.Lhs[0].(*ast.Ident); ok {
						if v, ok := eval(n.Rhs[0], env); ok {
							env[id.Name] = v
						}
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "kvmRoutes" && len(n.Args) > 0 {
					prefix, ok := eval(n.Args[0], env)
					require.True(t, ok, "cannot evaluate a kvmRoutes prefix of MART")
					collect("kvmRoutes", map[string]string{funcs["kvmRoutes"].Type.Params.List[0].Names[0].Name: prefix})
					return false
				}
			case *ast.BinaryExpr, *ast.BasicLit:
				lit, ok := leftmost(n.(ast.Expr)).(*ast.BasicLit)
				if !ok || !methodLit.MatchString(lit.Value) {
					return true
				}
				pattern, ok := eval(n.(ast.Expr), env)
				require.True(t, ok, "cannot evaluate MART route %s", fset.Position(n.Pos()))
				method, path, _ := strings.Cut(pattern, " ")
				out = append(out, apigee.Route{Method: method, Path: path, Kind: apigee.RouteMART})
				return false
			}
			return true
		})
	}
	collect("routes", map[string]string{})
	require.Greater(t, len(out), 30, "MART's route table read from %v", martSources)
	return out
}

// TestAPICoverage measures the control plane's routes against the Apigee
// API v1 discovery document and keeps docs/API_COVERAGE.md (and the
// README's coverage line) current: `go test ./internal/server -run
// TestAPICoverage -update` rewrites them.
func TestAPICoverage(t *testing.T) {
	doc, modVersion, methods := apigeeDiscovery(t)
	c := startCP(t, t.TempDir())
	routes := c.srv.API.Routes()
	require.NotEmpty(t, routes)
	mart := martRoutes(t)
	martServes := func(m discoveryMethod) bool {
		for _, r := range mart {
			if match, catchAll := routeMatches(r.Path, m.FlatPath); r.Method == m.HTTPMethod && match && !catchAll {
				return true
			}
		}
		return false
	}

	used := make([]bool, len(routes))
	var rows []covRow
	counts := map[string]int{}
	for _, m := range methods {
		status := statusNotServed
		for i, r := range routes {
			if r.Method != m.HTTPMethod {
				continue
			}
			if match, _ := routeMatches(r.Path, m.FlatPath); !match {
				continue
			}
			used[i] = true
			s := statusServed
			switch {
			case r.Kind == apigee.RouteMART && martServes(m):
				s = statusMART
			case r.Kind == apigee.RouteMART:
				s = statusNoMART
			}
			if rank(s) > rank(status) {
				status = s
			}
		}
		counts[status]++
		id := strings.TrimPrefix(m.ID, "apigee.")
		res, name := id, id
		if i := strings.LastIndexByte(id, '.'); i >= 0 {
			res, name = id[:i], id[i+1:]
		}
		rows = append(rows, covRow{resource: res, method: name, http: m.HTTPMethod, path: m.FlatPath, status: status})
	}
	served := counts[statusServed] + counts[statusMART]
	total := len(methods)
	summary := fmt.Sprintf("The mock serves %d of the %d Apigee API v1 methods (%.1f%%)", served, total, 100*float64(served)/float64(total))

	var b strings.Builder
	fmt.Fprintf(&b, "# Apigee API coverage\n\n")
	fmt.Fprintf(&b, "Generated — do not edit. `cd services/controlplane && go test ./internal/server -run TestAPICoverage -update`\n")
	fmt.Fprintf(&b, "rewrites this file from the Apigee API discovery document (`apigee/v1/apigee-api.json` of\n")
	fmt.Fprintf(&b, "google.golang.org/api %s, API %s revision %s) and the control plane's route table\n", modVersion, doc.Version, doc.Revision)
	fmt.Fprintf(&b, "(`services/controlplane/internal/apigee/routelist.go:Routes`); without `-update` the test fails when this file is stale.\n\n")
	fmt.Fprintf(&b, "**%s**: %d answered by the control plane, %d forwarded to MART and answered there.\n\n", summary, counts[statusServed], counts[statusMART])
	fmt.Fprintf(&b, "A method is served when a route takes its HTTP method and path, each `{id}` of the path standing\n")
	fmt.Fprintf(&b, "for one segment (an ID followed by a custom verb, `{environmentsId}:getDebugmask`, needs the verb in\n")
	fmt.Fprintf(&b, "the route). The control plane authorizes MART's paths and forwards them; *%s* means MART's\n", statusMART)
	fmt.Fprintf(&b, "route table (`services/mart/internal/mart/routes.go`, read by the test) has the method too;\n")
	fmt.Fprintf(&b, "*%s* (%d, not counted) means MART answers it 404.\n\n", statusNoMART, counts[statusNoMART])
	fmt.Fprintf(&b, "| resource | method | HTTP | path | served |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | `%s` | %s |\n", r.resource, r.method, r.http, r.path, r.status)
	}

	// Routes no method took: on a path the discovery document has (for
	// other HTTP methods), or on a path of the emulator's own.
	var extraMethods []string
	var ownPaths []apigee.Route
	for i, r := range routes {
		if used[i] {
			continue
		}
		apigeePath := false
		for _, m := range methods {
			if match, _ := routeMatches(r.Path, m.FlatPath); match {
				apigeePath = true
				break
			}
		}
		if apigeePath {
			extraMethods = append(extraMethods, fmt.Sprintf("`%s %s` (%s)", r.Method, r.Path, kindText(r.Kind)))
		} else {
			ownPaths = append(ownPaths, r)
		}
	}
	extra := len(ownPaths)
	fmt.Fprintf(&b, "\n## Served, not in the discovery document\n\n")
	fmt.Fprintf(&b, "Paths no Apigee API v1 method has: the runtime plane's internal endpoints, the emulator's own,\n")
	fmt.Fprintf(&b, "and the IAM, Resource Manager, OAuth and Apigee Connect routes emulated beside the Apigee API.\n\n")
	fmt.Fprintf(&b, "| HTTP | path | permission | answered by |\n|---|---|---|---|\n")
	for _, r := range ownPaths {
		perm := "its own checks"
		if r.Permission != "" {
			perm = "`" + r.Permission + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", r.Method, r.Path, perm, kindText(r.Kind))
	}
	fmt.Fprintf(&b, "\nHTTP methods taken on paths of the Apigee API that the discovery document does not list for them\n")
	fmt.Fprintf(&b, "(collection GETs Apigee answers without documenting them, and methods forwarded to MART, which\n")
	fmt.Fprintf(&b, "decides): %s.\n", strings.Join(extraMethods, ", "))
	require.NotZero(t, extra)
	golden.Check(t, coverageDoc, []byte(b.String()))

	// The READMEs quote the headline.
	line := regexp.MustCompile(`The mock serves \d+ of the \d+ Apigee API v1 methods \([0-9.]+%\)`)
	for _, readme := range coverageReadmes {
		raw, err := os.ReadFile(readme)
		require.NoError(t, err)
		require.True(t, line.Match(raw), "%s has no line %q", readme, summary)
		if golden.Update() {
			raw = line.ReplaceAll(raw, []byte(summary))
			require.NoError(t, os.WriteFile(readme, raw, 0o644))
		}
		require.Contains(t, string(raw), summary, "%s quotes a stale coverage figure (run with -update)", readme)
	}
}

// rank orders statuses when several routes take a method.
func rank(s string) int {
	switch s {
	case statusServed:
		return 3
	case statusMART:
		return 2
	case statusNoMART:
		return 1
	}
	return 0
}

func kindText(k apigee.RouteKind) string {
	switch k {
	case apigee.RouteAPI:
		return "control plane"
	case apigee.RouteConnect:
		return "Apigee Connect (REST)"
	case apigee.RouteBeside:
		return "IAM / Resource Manager / OAuth"
	case apigee.RouteMART:
		return "MART"
	}
	return string(k)
}

func TestRouteMatches(t *testing.T) {
	for _, tc := range []struct {
		route, flat     string
		match, catchAll bool
	}{
		{"/v1/organizations/{org}/environments/{env}", "v1/organizations/{organizationsId}/environments/{environmentsId}", true, false},
		{"/v1/organizations/{org}/environments/{env}", "v1/organizations/{organizationsId}/environments/{environmentsId}:getDebugmask", false, false},
		{"/v1/organizations/{org}/environments/{env}", "v1/organizations/{organizationsId}/environments", false, false},
		{"/v1/organizations/{org}/environments/{env}", "v1/organizations/{organizationsId}/environments/{environmentsId}/stats", false, false},
		{"/v1/organizations/{org}:getSyncAuthorization", "v1/organizations/{organizationsId}:getSyncAuthorization", true, false},
		{"/v1/organizations/{org}/e/{env}/apis/{name}/revisions/{rev}/deployments:generateDeployChangeReport",
			"v1/organizations/{o}/e/{e}/apis/{a}/revisions/{r}/deployments:generateDeployChangeReport", true, false},
		{"/v1/organizations/{org}/apiproducts/{rest...}", "v1/organizations/{o}/apiproducts/{p}/rateplans", true, true},
		{"/v1/organizations/{org}/apiproducts/{rest...}", "v1/organizations/{o}/apiproducts", false, true},
		{"/v1/organizations/{org}/resourcefiles/{type}", "v1/organizations/{o}/resourcefiles/literal", false, false},
	} {
		match, catchAll := routeMatches(tc.route, tc.flat)
		require.Equal(t, tc.match, match, "%s ~ %s", tc.route, tc.flat)
		if match {
			require.Equal(t, tc.catchAll, catchAll, "%s ~ %s", tc.route, tc.flat)
		}
	}
}

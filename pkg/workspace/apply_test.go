package workspace

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// fakeAPI is the little of the Apigee API an Applier uses, in memory:
// bundles with revisions and deployments (READY at once), target servers,
// flow hooks, products, developers, apps with keys, and KVM entries.
type fakeAPI struct {
	mu        sync.Mutex
	revisions map[string][][]byte         // "apis/name" → zips, revision n at n-1
	deployed  map[string]string           // "env/apis/name" → revision
	objects   map[string]map[string]any   // path → JSON object
	keys      map[string]map[string][]any // app path → key → products
	writes    []string
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{revisions: map[string][][]byte{}, deployed: map[string]string{}, objects: map[string]map[string]any{}, keys: map[string]map[string][]any{}}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/v1/organizations/o")
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodGet {
		f.writes = append(f.writes, r.Method+" "+path)
	}
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	notFound := func() { http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound) }
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && (path == "/apis" || path == "/sharedflows"):
		key := seg[0] + "/" + r.URL.Query().Get("name")
		f.revisions[key] = append(f.revisions[key], body)
		reply(map[string]string{"revision": strconv.Itoa(len(f.revisions[key]))})
	case len(seg) == 2 && (seg[0] == "apis" || seg[0] == "sharedflows") && r.Method == http.MethodGet:
		revs := f.revisions[seg[0]+"/"+seg[1]]
		if revs == nil {
			notFound()
			return
		}
		var names []string
		for i := range revs {
			names = append(names, strconv.Itoa(i+1))
		}
		reply(map[string]any{"revision": names})
	case len(seg) == 4 && seg[2] == "revisions" && r.URL.Query().Get("format") == "bundle":
		n, _ := strconv.Atoi(seg[3])
		revs := f.revisions[seg[0]+"/"+seg[1]]
		if n < 1 || n > len(revs) {
			notFound()
			return
		}
		_, _ = w.Write(revs[n-1])
	case len(seg) == 5 && seg[0] == "environments" && seg[4] == "deployments": // env deployments of one bundle
		var deps []map[string]string
		if rev, ok := f.deployed[seg[1]+"/"+seg[2]+"/"+seg[3]]; ok {
			deps = append(deps, map[string]string{"revision": rev})
		}
		reply(map[string]any{"deployments": deps})
	case len(seg) == 7 && seg[0] == "environments" && seg[6] == "deployments":
		if r.Method == http.MethodPost {
			f.deployed[seg[1]+"/"+seg[2]+"/"+seg[3]] = seg[5]
		}
		reply(map[string]string{"state": "READY"})
	case strings.HasSuffix(path, "/keys") && r.Method == http.MethodPost:
		var in struct {
			ConsumerKey string `json:"consumerKey"`
			APIProducts []any  `json:"apiProducts"`
		}
		_ = json.Unmarshal(body, &in)
		app := strings.TrimSuffix(path, "/keys")
		if f.keys[app] == nil {
			f.keys[app] = map[string][]any{}
		}
		f.keys[app][in.ConsumerKey] = in.APIProducts
		reply(map[string]any{})
	case strings.Contains(path, "/keys/"):
		app, key, _ := strings.Cut(path, "/keys/")
		prods, ok := f.keys[app][key]
		switch {
		case !ok:
			notFound()
		case r.Method == http.MethodDelete:
			delete(f.keys[app], key)
			reply(map[string]any{})
		default:
			var out []map[string]any
			for _, p := range prods {
				out = append(out, map[string]any{"apiproduct": p})
			}
			reply(map[string]any{"consumerKey": key, "apiProducts": out})
		}
	default: // plain resources: POST to the collection, GET/PUT/DELETE the item
		switch r.Method {
		case http.MethodPost:
			var obj map[string]any
			_ = json.Unmarshal(body, &obj)
			id, _ := obj["name"].(string)
			if email, ok := obj["email"].(string); ok {
				id = email
			}
			f.objects[path+"/"+id] = obj
			if strings.HasSuffix(path, "/apps") { // a generated key
				prods, _ := obj["apiProducts"].([]any)
				f.keys[path+"/"+id] = map[string][]any{"generated": prods}
				reply(map[string]any{"credentials": []any{map[string]any{"consumerKey": "generated"}}})
				return
			}
			reply(obj)
		case http.MethodPut:
			var obj map[string]any
			_ = json.Unmarshal(body, &obj)
			f.objects[path] = obj
			reply(obj)
		case http.MethodDelete:
			delete(f.objects, path)
			reply(map[string]any{})
		default:
			obj, ok := f.objects[path]
			if !ok {
				notFound()
				return
			}
			if keys, ok := f.keys[path]; ok { // an app answers with its keys
				var creds []any
				for k, prods := range keys {
					var ps []any
					for _, p := range prods {
						ps = append(ps, map[string]any{"apiproduct": p})
					}
					creds = append(creds, map[string]any{"consumerKey": k, "apiProducts": ps})
				}
				out := map[string]any{"credentials": creds}
				for k, v := range obj {
					out[k] = v
				}
				obj = out
			}
			reply(obj)
		}
	}
}

func (f *fakeAPI) takeWrites() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.writes
	f.writes = nil
	return w
}

func TestApplyIsIdempotent(t *testing.T) {
	api := newFakeAPI()
	a := &Applier{Client: &http.Client{Transport: HandlerTransport{Handler: api}}, BaseURL: "http://api", Org: "o", Token: "t"}
	ctx := context.Background()
	fsys := loadFS(t, "testdata/good")
	plan, err := ParseFS(fsys)
	require.NoError(t, err)

	res, err := a.Apply(ctx, plan, ApplyOptions{Env: "test"})
	require.NoError(t, err)
	require.NotZero(t, res.Changed())
	writes := api.takeWrites()
	require.Contains(t, writes, "POST /apis")
	require.Contains(t, writes, "PUT /environments/test/flowhooks/PostProxyFlowHook")
	require.Contains(t, writes, "DELETE /developers/ada@example.com/apps/hello-app/keys/generated",
		"an app with its own keys keeps no generated one")
	require.NotContains(t, writes, "DELETE /environments/test/flowhooks/PreProxyFlowHook", "nothing was attached there")

	res, err = a.Apply(ctx, plan, ApplyOptions{Env: "test"})
	require.NoError(t, err)
	require.Zero(t, res.Changed(), "%+v", res.Changes)
	require.Empty(t, api.takeWrites(), "a second apply writes nothing")

	// One changed value of each kind: exactly those are written.
	fsys["src/main/apigee/environments/test/targetservers.json"] = &fstest.MapFile{Data: []byte(`[{"name": "hello-backend", "host": "127.0.0.1", "port": 9001}]`)}
	fsys["src/main/apigee/environments/test/kvms.json"] = &fstest.MapFile{Data: []byte(`[{"name": "settings", "entry": [{"name": "mode", "value": "remote"}]}]`)}
	fsys["src/main/apigee/apiproxies/hello-seed/apiproxy/policies/VA-Key.xml"] = &fstest.MapFile{Data: []byte(
		`<VerifyAPIKey name="VA-Key"><APIKey ref="request.header.apikey"/></VerifyAPIKey>`)}
	plan, err = ParseFS(fsys)
	require.NoError(t, err)
	res, err = a.Apply(ctx, plan, ApplyOptions{Env: "test"})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{
		"PUT /environments/test/targetservers/hello-backend",
		"PUT /environments/test/keyvaluemaps/settings/entries/mode",
		"POST /apis",
		"POST /environments/test/apis/hello-seed/revisions/2/deployments",
	}, api.takeWrites())
	require.Equal(t, 3, res.Changed(), "%+v", res.Changes) // an import and its deploy are one change
}

// A revision that matches but is not deployed is deployed, not imported.
func TestApplyDeploysAMatchingRevision(t *testing.T) {
	api := newFakeAPI()
	a := &Applier{Client: &http.Client{Transport: HandlerTransport{Handler: api}}, BaseURL: "http://api", Org: "o"}
	plan, err := ParseDir("../../examples/seed")
	require.NoError(t, err)
	api.revisions["apis/hello-seed"] = [][]byte{plan.Proxies[0].Zip}
	res, err := a.Apply(context.Background(), plan, ApplyOptions{SkipTestData: true})
	require.NoError(t, err)
	require.Equal(t, Change{Kind: "proxy", Name: "hello-seed", Env: "test", Action: "deployed", Revision: "1", State: "READY"},
		res.Changes[len(res.Changes)-1])
}

func TestApplyOptions(t *testing.T) {
	api := newFakeAPI()
	a := &Applier{Client: &http.Client{Transport: HandlerTransport{Handler: api}}, BaseURL: "http://api", Org: "o"}
	plan, err := ParseDir("testdata/good")
	require.NoError(t, err)
	_, err = a.Apply(context.Background(), plan, ApplyOptions{Env: "prod"})
	require.ErrorContains(t, err, "no environments/prod/ in the workspace (it has dev, test)")
	_, err = a.Apply(context.Background(), plan, ApplyOptions{TargetEnv: "x"})
	require.ErrorContains(t, err, "choose the one to apply to x")

	// A refused call names the call and carries the API's message.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":{"code":403,"message":"Permission denied"}}`, http.StatusForbidden)
	}))
	defer srv.Close()
	b := &Applier{BaseURL: srv.URL, Org: "o"}
	_, err = b.Apply(context.Background(), plan, ApplyOptions{Env: "test", SkipTestData: true})
	require.ErrorContains(t, err, "GET /environments/test/targetservers/hello-backend: 403: Permission denied")
}

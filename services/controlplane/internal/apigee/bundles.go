package apigee

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/lint"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// collection describes API proxies or shared flows; both are served by the
// same handlers.
type collection struct {
	kind    state.Kind
	bkind   bundle.Kind
	path    string // URL segment: apis | sharedflows
	listKey string // list response field: proxies | sharedFlows
	noun    string // for messages
}

var (
	proxies     = collection{kind: state.KindProxy, bkind: bundle.KindProxy, path: "apis", listKey: "proxies", noun: "API proxy"}
	sharedFlows = collection{kind: state.KindSharedFlow, bkind: bundle.KindSharedFlow, path: "sharedflows", listKey: "sharedFlows", noun: "shared flow"}
)

func collectionOf(k state.Kind) collection {
	if k == state.KindSharedFlow {
		return sharedFlows
	}
	return proxies
}

func lookupAPI(o *state.Org, c collection, name string) (*state.API, error) {
	api := o.Collection(c.kind)[name]
	if api == nil {
		return nil, apierr.NotFound("%s %s not found in organization %s", c.noun, name, o.Name)
	}
	return api, nil
}

func lookupRevision(o *state.Org, c collection, name, rev string) (*state.API, *state.Revision, error) {
	api, err := lookupAPI(o, c, name)
	if err != nil {
		return nil, nil, err
	}
	n, err := parseRevision(rev)
	if err != nil {
		return nil, nil, err
	}
	r := api.Revisions[n]
	if r == nil {
		return nil, nil, apierr.NotFound("revision %s of %s %s not found", rev, c.noun, name)
	}
	return api, r, nil
}

// httpBody is google.api.HttpBody, the Go client's upload form.
type httpBody struct {
	ContentType string `json:"contentType"`
	Data        string `json:"data"`
}

var zipMagic = []byte("PK")

// readBundle extracts the zip from any of the forms clients post it in:
// multipart field "file" (REST docs, `apigeecli apis import`) or "proxy"
// (`apigeecli apis create bundle`), the Go client's JSON HttpBody with
// base64 data, or the raw zip itself.
func (a *API) readBundle(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, a.maxBody)
	tooLarge := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierr.TooLarge("bundle: request body is larger than %d bytes (bundles may be at most %d bytes)", mbe.Limit, a.limits.MaxArchiveBytes)
		}
		return apierr.InvalidArgument("bundle: cannot read request body: %v", err)
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		r.Body = body
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, apierr.InvalidArgument("bundle: malformed multipart body: %v", err)
		}
		var fields []string
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return nil, tooLarge(err)
				}
				return nil, apierr.InvalidArgument("bundle: malformed multipart body: %v", err)
			}
			name := part.FormName()
			switch name {
			case "file", "proxy", "sharedflow", "bundle":
			default:
				if part.FileName() == "" {
					fields = append(fields, strconv.Quote(name))
					_ = part.Close()
					continue
				}
			}
			data, err := io.ReadAll(part)
			if err != nil {
				return nil, tooLarge(err)
			}
			return data, nil
		}
		return nil, apierr.InvalidArgument("bundle: the multipart body has no \"file\" or \"proxy\" part (found fields %s)", strings.Join(fields, ", "))
	default:
		data, err := io.ReadAll(body)
		if err != nil {
			return nil, tooLarge(err)
		}
		trimmed := bytes.TrimSpace(data)
		if (mediaType == "application/json" || mediaType == "text/json") && !bytes.HasPrefix(data, zipMagic) ||
			mediaType == "" && len(trimmed) > 0 && trimmed[0] == '{' {
			var hb httpBody
			if err := json.Unmarshal(data, &hb); err != nil {
				return nil, apierr.InvalidArgument("bundle: the JSON body is not a google.api.HttpBody: %v", err)
			}
			zip, err := decodeBase64(hb.Data)
			if err != nil {
				return nil, apierr.InvalidArgument("bundle: HttpBody data is not valid base64: %v", err)
			}
			return zip, nil
		}
		return data, nil
	}
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	_, err := base64.StdEncoding.DecodeString(s)
	return nil, err
}

// parseBundle validates a zip; problems become INVALID_ARGUMENT naming the
// file and the problem.
func (a *API) parseBundle(c collection, zip []byte) (*bundle.Bundle, error) {
	if len(zip) == 0 {
		return nil, apierr.InvalidArgument("bundle: the request carries no bundle (send the zip as multipart field \"file\", as JSON {\"contentType\",\"data\"} or as the raw body)")
	}
	// A revision is imported into the organization, not an environment, so
	// a resource the bundle references but does not hold may be one of the
	// environment's resource files: as in Apigee, that is decided where the
	// revision is deployed (the message processor fails the deployment
	// naming the resource), not at import.
	b, err := bundle.ParseWithOptions(zip, c.bkind, bundle.Options{Limits: a.limits, ResourceExists: func(string) bool { return true }})
	if err != nil {
		// A *bundle.ValidationError's text names the file, the kind of
		// problem and the detail ("apiproxy/x.xml: malformed XML: line 3: …").
		return nil, apierr.InvalidArgument("bundle: %v", err)
	}
	return b, nil
}

func revisionFromBundle(b *bundle.Bundle, zip []byte, now int64) *state.Revision {
	s := b.Summary()
	sum := sha256.Sum256(zip)
	return &state.Revision{
		CreatedAt: now, LastModifiedAt: now,
		DisplayName: b.Manifest.DisplayName, Description: b.Manifest.Description,
		BasePaths: s.BasePaths, Proxies: s.Proxies, Targets: s.Targets, Policies: s.Policies,
		Resources: s.Resources, SharedFlows: s.SharedFlows,
		SHA256: hex.EncodeToString(sum[:]), Size: len(zip),
		GoogleAuthentication: b.UsesGoogleAuthentication(),
	}
}

// importBundle serves POST …/{apis|sharedflows}?action=import|validate&name=N.
func (a *API) importBundle(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		org := r.PathValue("org")
		q := r.URL.Query()
		action := q.Get("action")
		if action == "" {
			action = "import"
		}
		if action != "import" && action != "validate" {
			return apierr.InvalidArgument("Unsupported action %q: use action=import or action=validate.", action)
		}
		name := q.Get("name")
		if err := checkName(c.noun, name, apiNameRE); err != nil {
			return err
		}
		var targetServers map[string]bool
		if err := a.viewOrg(r, func(o *state.Org) error {
			targetServers = orgTargetServers(o)
			return nil
		}); err != nil {
			return err
		}
		zip, err := a.readBundle(w, r)
		if err != nil {
			return err
		}
		b, err := a.parseBundle(c, zip)
		if err != nil {
			return err
		}
		// Lint findings never fail an import: Apigee would accept the
		// bundle, so the mock does too and only points at what is
		// probably a mistake. A revision is imported into the
		// organization, so a target server counts as defined when some
		// environment defines it (the deployment is where it must exist).
		warnings := lint.Bundle(b, lint.Options{TargetServerExists: func(n string) bool { return targetServers[n] }})
		if action == "validate" {
			rev := revisionFromBundle(b, zip, a.store.Now().UnixMilli())
			v := revView(name, c.kind, rev)
			v.Revision = ""
			return ok(w, importView{revisionView: v, LintWarnings: warnings})
		}
		var v revisionView
		err = a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
			coll := o.Collection(c.kind)
			api := coll[name]
			if api == nil {
				api = &state.API{Name: name, Kind: c.kind, CreatedAt: tx.Millis(), NextRevision: 1, Revisions: map[int]*state.Revision{}}
				coll[name] = api
			}
			if api.NextRevision <= api.Latest() {
				api.NextRevision = api.Latest() + 1
			}
			rev := revisionFromBundle(b, zip, tx.Millis())
			rev.Revision = api.NextRevision
			if err := tx.WriteBundle(org, c.kind, name, rev.Revision, zip); err != nil {
				return err
			}
			api.NextRevision++
			api.Revisions[rev.Revision] = rev
			api.LastModifiedAt = tx.Millis()
			v = revView(name, c.kind, rev)
			return nil
		})
		if err != nil {
			return err
		}
		return ok(w, importView{revisionView: v, LintWarnings: warnings})
	}
}

// importView answers an import or validate: Apigee's revision with one
// extra field, lintWarnings (package lint; [] when there are none).
// Google's clients and apigeecli ignore fields they do not know.
type importView struct {
	revisionView
	LintWarnings []lint.Finding `json:"lintWarnings"`
}

// orgTargetServers is the set of target server names any environment of
// the organization defines.
func orgTargetServers(o *state.Org) map[string]bool {
	names := map[string]bool{}
	for _, e := range o.Environments {
		for n := range e.TargetServers {
			names[n] = true
		}
	}
	return names
}

func (a *API) listAPIs(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		opts, err := apiListOptions(r)
		if err != nil {
			return err
		}
		list := []apiView{}
		err = a.viewOrg(r, func(o *state.Org) error {
			for _, api := range o.Collection(c.kind) {
				list = append(list, opts.apply(apiViewOf(api)))
			}
			return nil
		})
		if err != nil {
			return err
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		return ok(w, map[string][]apiView{c.listKey: list})
	}
}

func (a *API) getAPI(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var v apiView
		err := a.viewOrg(r, func(o *state.Org) error {
			api, err := lookupAPI(o, c, r.PathValue("name"))
			if err != nil {
				return err
			}
			v = apiViewOf(api)
			return nil
		})
		if err != nil {
			return err
		}
		return ok(w, v)
	}
}

// deployedIn lists where revisions of name (rev 0: any) are deployed.
func deployedIn(o *state.Org, c collection, name string, rev int) []string {
	var where []string
	for _, d := range o.DeploymentsWhere(func(d *state.Deployment) bool {
		return d.Kind == c.kind && d.Name == name && (rev == 0 || d.Revision == rev)
	}) {
		where = append(where, fmt.Sprintf("revision %d in environment %s", d.Revision, d.Environment))
	}
	return where
}

func (a *API) deleteAPI(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		org, name := r.PathValue("org"), r.PathValue("name")
		var v apiView
		err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
			api, err := lookupAPI(o, c, name)
			if err != nil {
				return err
			}
			if where := deployedIn(o, c, name, 0); len(where) > 0 {
				return apierr.FailedPrecondition("%s %s is deployed (%s); undeploy it before deleting it", c.noun, name, strings.Join(where, ", "))
			}
			for rev := range api.Revisions {
				tx.RemoveBundle(org, c.kind, name, rev)
			}
			delete(o.Collection(c.kind), name)
			v = apiViewOf(api)
			return nil
		})
		if err != nil {
			return err
		}
		return ok(w, v)
	}
}

func (a *API) listRevisions(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var revs []string
		err := a.viewOrg(r, func(o *state.Org) error {
			api, err := lookupAPI(o, c, r.PathValue("name"))
			if err != nil {
				return err
			}
			revs = revisionStrings(api)
			return nil
		})
		if err != nil {
			return err
		}
		return ok(w, revs)
	}
}

// getRevision answers with the revision's metadata, or with its zip when
// format=bundle.
func (a *API) getRevision(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		org, name := r.PathValue("org"), r.PathValue("name")
		var v revisionView
		var revNum int
		err := a.viewOrg(r, func(o *state.Org) error {
			_, rev, err := lookupRevision(o, c, name, r.PathValue("rev"))
			if err != nil {
				return err
			}
			v, revNum = revView(name, c.kind, rev), rev.Revision
			return nil
		})
		if err != nil {
			return err
		}
		switch f := r.URL.Query().Get("format"); f {
		case "", "json":
			return ok(w, v)
		case "bundle":
			zip, err := a.store.ReadBundle(org, c.kind, name, revNum)
			if err != nil {
				return apierr.Internal("%v", err)
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("%s_rev%d.zip", name, revNum)))
			w.Header().Set("Content-Length", strconv.Itoa(len(zip)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(zip)
			return nil
		default:
			return apierr.InvalidArgument("Unsupported format %q: use format=bundle to download the zip.", f)
		}
	}
}

func (a *API) deleteRevision(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		org, name := r.PathValue("org"), r.PathValue("name")
		var v revisionView
		err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
			api, rev, err := lookupRevision(o, c, name, r.PathValue("rev"))
			if err != nil {
				return err
			}
			if where := deployedIn(o, c, name, rev.Revision); len(where) > 0 {
				return apierr.FailedPrecondition("revision %d of %s %s is deployed (%s); undeploy it before deleting it", rev.Revision, c.noun, name, strings.Join(where, ", "))
			}
			delete(api.Revisions, rev.Revision)
			tx.RemoveBundle(org, c.kind, name, rev.Revision)
			if len(api.Revisions) == 0 {
				delete(o.Collection(c.kind), name)
			} else {
				api.LastModifiedAt = tx.Millis()
			}
			v = revView(name, c.kind, rev)
			return nil
		})
		if err != nil {
			return err
		}
		return ok(w, v)
	}
}

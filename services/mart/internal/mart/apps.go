package mart

import (
	"net/http"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func (in *appIn) check() error {
	if err := checkName("App", in.Name); err != nil {
		return err
	}
	if in.Status != "" && in.Status != store.StatusApproved && in.Status != store.StatusRevoked {
		return apierr.InvalidArgument("Invalid app status %q: use approved or revoked.", in.Status)
	}
	if in.KeyExpiresIn < -1 {
		return apierr.InvalidArgument("Invalid keyExpiresIn %d: use milliseconds, or -1 for keys that never expire.", in.KeyExpiresIn)
	}
	return checkAttributes(in.Attributes)
}

// listDeveloperApps: GET …/developers/{d}/apps?expand&shallowExpand&count&startKey.
// expand: full apps with credentials; shallowExpand: without credentials;
// neither: {"appId"} only.
func (a *API) listDeveloperApps(w http.ResponseWriter, r *http.Request) error {
	expand, err := boolParam(r, "expand")
	if err != nil {
		return err
	}
	shallow, err := boolParam(r, "shallowExpand")
	if err != nil {
		return err
	}
	count, err := intParam(r, "count", 100, 1000)
	if err != nil {
		return err
	}
	apps, err := a.kms.ListApps(r.Context(), a.org, r.PathValue("developer"),
		store.Page{StartKey: r.URL.Query().Get("startKey"), Count: count}, expand)
	if err != nil {
		return err
	}
	out := make([]appOut, 0, len(apps))
	for _, ap := range apps {
		if expand || shallow {
			out = append(out, appOutOf(ap, false))
		} else {
			out = append(out, appOut{AppID: ap.AppID})
		}
	}
	return ok(w, map[string]any{"app": out})
}

// createApp: POST …/developers/{d}/apps. The app gets a generated
// credential for the requested products; unknown products are a 400 and
// nothing is written.
func (a *API) createApp(w http.ResponseWriter, r *http.Request) error {
	var in appIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	app, err := a.kms.CreateApp(r.Context(), a.org, r.PathValue("developer"), store.NewApp{
		Name: in.Name, CallbackURL: in.CallbackURL, Status: in.Status, Scopes: in.Scopes, Attributes: in.Attributes,
		APIProducts: in.APIProducts, KeyExpiresIn: int64(in.KeyExpiresIn),
	})
	if err != nil {
		return err
	}
	return created(w, appOutOf(app, false))
}

func (a *API) getApp(w http.ResponseWriter, r *http.Request) error {
	app, err := a.kms.GetApp(r.Context(), a.org, r.PathValue("developer"), r.PathValue("app"))
	if err != nil {
		return err
	}
	return ok(w, appOutOf(app, false))
}

// updateApp: PUT replaces callbackUrl and attributes and adds apiProducts
// to the newest key (see store.AppUpdate); the name cannot change.
func (a *API) updateApp(w http.ResponseWriter, r *http.Request) error {
	var in appIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	name := r.PathValue("app")
	if in.Name == "" {
		in.Name = name
	}
	if in.Name != name {
		return apierr.InvalidArgument("App name cannot be changed (from %s to %s).", name, in.Name)
	}
	if err := in.check(); err != nil {
		return err
	}
	app, err := a.kms.UpdateApp(r.Context(), a.org, r.PathValue("developer"), name, store.AppUpdate{
		CallbackURL: in.CallbackURL, Attributes: in.Attributes, APIProducts: in.APIProducts, KeyExpiresIn: int64(in.KeyExpiresIn),
	})
	if err != nil {
		return err
	}
	return ok(w, appOutOf(app, false))
}

func (a *API) deleteApp(w http.ResponseWriter, r *http.Request) error {
	app, err := a.kms.DeleteApp(r.Context(), a.org, r.PathValue("developer"), r.PathValue("app"))
	if err != nil {
		return err
	}
	return ok(w, appOutOf(app, false))
}

// appAction: POST …/apps/{app}?action=approve|revoke → 204; without an
// action it generates another key pair for the body's apiProducts and
// keyExpiresIn (GenerateKeyPairOrUpdateDeveloperAppStatus).
func (a *API) appAction(w http.ResponseWriter, r *http.Request) error {
	devRef, name := r.PathValue("developer"), r.PathValue("app")
	switch action := r.URL.Query().Get("action"); action {
	case "approve", "revoke":
		status := map[string]string{"approve": store.StatusApproved, "revoke": store.StatusRevoked}[action]
		if err := a.kms.SetAppStatus(r.Context(), a.org, devRef, name, status); err != nil {
			return err
		}
		return noContent(w)
	case "":
	default:
		return apierr.InvalidArgument("Query parameter action must be approve or revoke, got %q.", action)
	}
	var in appIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.KeyExpiresIn < -1 {
		return apierr.InvalidArgument("Invalid keyExpiresIn %d: use milliseconds, or -1 for keys that never expire.", in.KeyExpiresIn)
	}
	exp := int64(store.NeverExpires)
	if in.KeyExpiresIn > 0 {
		exp = a.kms.Now().UnixMilli() + int64(in.KeyExpiresIn)
	}
	if _, err := a.kms.AddCredential(r.Context(), a.org, devRef, name, store.NewCredential{
		APIProducts: in.APIProducts, ExpiresAt: exp, Scopes: in.Scopes,
	}); err != nil {
		return err
	}
	app, err := a.kms.GetApp(r.Context(), a.org, devRef, name)
	if err != nil {
		return err
	}
	return ok(w, appOutOf(app, false))
}

// createKey: POST …/apps/{app}/keys (or keys/create) imports a given
// consumerKey/consumerSecret (generated when absent).
func (a *API) createKey(w http.ResponseWriter, r *http.Request) error {
	var in keyIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.ExpiresInSeconds < -1 {
		return apierr.InvalidArgument("Invalid expiresInSeconds %d.", in.ExpiresInSeconds)
	}
	nc := store.NewCredential{
		ConsumerKey: in.ConsumerKey, ConsumerSecret: in.ConsumerSecret, APIProducts: productNames(in.APIProducts),
		ExpiresAt: int64(in.ExpiresAt),
	}
	if in.ExpiresInSeconds > 0 {
		nc.ExpiresAt = a.kms.Now().UnixMilli() + int64(in.ExpiresInSeconds)*1000
	}
	if in.Scopes != nil {
		nc.Scopes = *in.Scopes
	}
	if in.Attributes != nil {
		if err := checkAttributes(*in.Attributes); err != nil {
			return err
		}
		nc.Attributes = *in.Attributes
	}
	c, err := a.kms.AddCredential(r.Context(), a.org, r.PathValue("developer"), r.PathValue("app"), nc)
	if err != nil {
		return err
	}
	return created(w, credOut(c))
}

func (a *API) getKey(w http.ResponseWriter, r *http.Request) error {
	c, err := a.kms.GetCredential(r.Context(), a.org, r.PathValue("developer"), r.PathValue("app"), r.PathValue("key"))
	if err != nil {
		return err
	}
	return ok(w, credOut(c))
}

// replaceKeyScopes: PUT …/keys/{key} replaces the key's scopes
// (ReplaceDeveloperAppKey).
func (a *API) replaceKeyScopes(w http.ResponseWriter, r *http.Request) error {
	var in keyIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	scopes := []string{}
	if in.Scopes != nil {
		scopes = *in.Scopes
	}
	c, err := a.kms.UpdateCredential(r.Context(), a.org, r.PathValue("developer"), r.PathValue("app"), r.PathValue("key"),
		store.CredentialUpdate{Scopes: &scopes})
	if err != nil {
		return err
	}
	return ok(w, credOut(c))
}

func (a *API) deleteKey(w http.ResponseWriter, r *http.Request) error {
	c, err := a.kms.DeleteCredential(r.Context(), a.org, r.PathValue("developer"), r.PathValue("app"), r.PathValue("key"))
	if err != nil {
		return err
	}
	return ok(w, credOut(c))
}

// updateKey: POST …/keys/{key}?action=approve|revoke → 204; without an
// action it adds the body's apiProducts and replaces its attributes
// (UpdateDeveloperAppKey).
func (a *API) updateKey(w http.ResponseWriter, r *http.Request) error {
	devRef, app, key := r.PathValue("developer"), r.PathValue("app"), r.PathValue("key")
	switch action := r.URL.Query().Get("action"); action {
	case "approve", "revoke":
		status := map[string]string{"approve": store.StatusApproved, "revoke": store.StatusRevoked}[action]
		if _, err := a.kms.SetCredentialStatus(r.Context(), a.org, devRef, app, key, status); err != nil {
			return err
		}
		return noContent(w)
	case "":
	default:
		return apierr.InvalidArgument("Query parameter action must be approve or revoke, got %q.", action)
	}
	var in keyIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.Attributes != nil {
		if err := checkAttributes(*in.Attributes); err != nil {
			return err
		}
	}
	c, err := a.kms.UpdateCredential(r.Context(), a.org, devRef, app, key, store.CredentialUpdate{
		AddAPIProducts: productNames(in.APIProducts), Attributes: in.Attributes,
	})
	if err != nil {
		return err
	}
	return ok(w, credOut(c))
}

// setKeyProductStatus: POST …/keys/{key}/apiproducts/{p}?action=approve|revoke → 204.
func (a *API) setKeyProductStatus(w http.ResponseWriter, r *http.Request) error {
	action := r.URL.Query().Get("action")
	status, known := map[string]string{"approve": store.StatusApproved, "revoke": store.StatusRevoked}[action]
	if !known {
		return apierr.InvalidArgument("Query parameter action must be approve or revoke, got %q.", action)
	}
	if _, err := a.kms.SetCredentialProductStatus(r.Context(), a.org, r.PathValue("developer"), r.PathValue("app"),
		r.PathValue("key"), r.PathValue("product"), status); err != nil {
		return err
	}
	return noContent(w)
}

func (a *API) deleteKeyProduct(w http.ResponseWriter, r *http.Request) error {
	c, err := a.kms.RemoveCredentialProduct(r.Context(), a.org, r.PathValue("developer"), r.PathValue("app"),
		r.PathValue("key"), r.PathValue("product"))
	if err != nil {
		return err
	}
	return ok(w, credOut(c))
}

// appFilter is the org apps list's selection: the filter expression
// (apigeecli's `filter=appName=N`) and the older query parameters.
type appFilter map[string]string

// Filter keys the API documents, as lower case.
var filterKeys = map[string]string{
	"appname": "appName", "developeremail": "developerEmail", "apiproduct": "apiProduct", "consumerkey": "consumerKey",
	"status": "status", "appid": "appId", "apptype": "appType", "appgroup": "appGroup", "keystatus": "keyStatus",
}

// parseFilter reads `key=value` terms joined by " AND " or ",".
func parseFilter(expr string) (appFilter, error) {
	f := appFilter{}
	expr = strings.ReplaceAll(strings.ReplaceAll(expr, " AND ", ","), " and ", ",")
	for _, term := range strings.Split(expr, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		k, v, found := strings.Cut(term, "=")
		key, known := filterKeys[strings.ToLower(strings.TrimSpace(k))]
		if !found || !known {
			return nil, apierr.InvalidArgument("Invalid filter term %q: use key=value with key one of appName, developerEmail, apiProduct, consumerKey, status, appId, appType, appGroup.", term)
		}
		f[key] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return f, nil
}

func (f appFilter) match(ap *store.App) bool {
	for k, v := range f {
		switch k {
		case "appName":
			if ap.Name != v {
				return false
			}
		case "developerEmail":
			if ap.DeveloperEmail != store.NormalizeEmail(v) {
				return false
			}
		case "appId":
			if ap.AppID != v {
				return false
			}
		case "status":
			if ap.Status != v {
				return false
			}
		case "appType":
			// Developer or AppGroup: who owns the app.
			if !(strings.EqualFold(v, "developer") && ap.AppGroup == "") && !(strings.EqualFold(v, "appgroup") && ap.AppGroup != "") {
				return false
			}
		case "appGroup":
			if ap.AppGroup == "" || ap.AppGroup != v {
				return false
			}
		case "apiProduct", "consumerKey", "keyStatus":
			found := false
			for _, c := range ap.Credentials {
				switch k {
				case "consumerKey":
					found = found || c.ConsumerKey == v
				case "keyStatus":
					found = found || c.Status == v
				case "apiProduct":
					for _, p := range c.APIProducts {
						found = found || p.APIProduct == v
					}
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}

// listOrgApps: GET …/organizations/{org}/apps with expand, includeCred,
// apptype, status, keyStatus, apiProduct, ids, filter, rows/startKey and
// pageSize/pageToken. A filter returns full app objects with credentials,
// which is what `apigeecli apps get --name N` reads.
func (a *API) listOrgApps(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	expand, err := boolParam(r, "expand")
	if err != nil {
		return err
	}
	f, err := parseFilter(q.Get("filter"))
	if err != nil {
		return err
	}
	if len(f) > 0 {
		expand = true
	}
	withCred := expand
	if q.Get("includeCred") != "" {
		if withCred, err = boolParam(r, "includeCred"); err != nil {
			return err
		}
	}
	for param, key := range map[string]string{"status": "status", "keyStatus": "keyStatus", "apiProduct": "apiProduct"} {
		if v := q.Get(param); v != "" {
			f[key] = v
		}
	}
	if t := q.Get("apptype"); t != "" {
		f["appType"] = t
	}
	var ids map[string]bool
	if s := q.Get("ids"); s != "" {
		ids = map[string]bool{}
		for _, id := range strings.Split(s, ",") {
			ids[strings.TrimSpace(id)] = true
		}
	}
	limit, err := intParam(r, "rows", 1000, 1000)
	if err != nil {
		return err
	}
	start := q.Get("startKey")
	paged := q.Get("pageSize") != "" || q.Get("pageToken") != ""
	if paged {
		if limit, err = intParam(r, "pageSize", 1000, 1000); err != nil {
			return err
		}
		start = q.Get("pageToken")
		// A token is the next page's first app id, as nextPageToken hands
		// it out; anything else would silently restart the listing.
		if _, err := gocql.ParseUUID(start); start != "" && err != nil {
			return apierr.InvalidArgument("Invalid pageToken %q: use the nextPageToken of the previous page.", start)
		}
	}
	apps, next, err := a.kms.ListOrgApps(r.Context(), a.org, store.OrgAppsQuery{
		StartKey: start, Limit: limit, WithCredentials: withCred,
		Match: func(ap *store.App) bool { return (ids == nil || ids[ap.AppID]) && f.match(ap) },
	})
	if err != nil {
		return err
	}
	out := make([]appOut, 0, len(apps))
	for _, ap := range apps {
		if expand {
			out = append(out, appOutOf(ap, true))
		} else {
			out = append(out, appOut{AppID: ap.AppID})
		}
	}
	resp := map[string]any{"app": out}
	if paged && next != "" {
		resp["nextPageToken"] = next
	}
	return ok(w, resp)
}

func (a *API) getOrgApp(w http.ResponseWriter, r *http.Request) error {
	app, err := a.kms.GetAppByID(r.Context(), a.org, r.PathValue("appId"))
	if err != nil {
		return err
	}
	return ok(w, appOutOf(app, true))
}

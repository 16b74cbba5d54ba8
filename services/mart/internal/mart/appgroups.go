package mart

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// AppGroups (organizations.appgroups and its apps, keys and key API
// products): the successor of companies, an owner of apps besides
// developers. Paths, fields and permissions are the Apigee API v1's.

type appGroupIn struct {
	Name        string            `json:"name"`
	DisplayName string            `json:"displayName"`
	ChannelURI  string            `json:"channelUri"`
	ChannelID   string            `json:"channelId"`
	Email       string            `json:"email"`
	Status      string            `json:"status"`
	Attributes  []store.Attribute `json:"attributes"`
}

type appGroupOut struct {
	AppGroupID     string            `json:"appGroupId"`
	Name           string            `json:"name"`
	Organization   string            `json:"organization"`
	DisplayName    string            `json:"displayName,omitempty"`
	ChannelURI     string            `json:"channelUri,omitempty"`
	ChannelID      string            `json:"channelId,omitempty"`
	Email          string            `json:"email,omitempty"`
	Status         string            `json:"status"`
	Attributes     []store.Attribute `json:"attributes,omitempty"`
	CreatedAt      int64             `json:"createdAt,string"`
	LastModifiedAt int64             `json:"lastModifiedAt,string"`
}

func (a *API) appGroupOut(g *store.AppGroup) appGroupOut {
	return appGroupOut{
		AppGroupID: g.AppGroupID, Name: g.Name, Organization: a.org, DisplayName: g.DisplayName, ChannelURI: g.ChannelURI,
		ChannelID: g.ChannelID, Email: g.Email, Status: g.Status, Attributes: g.Attributes, CreatedAt: g.CreatedAt,
		LastModifiedAt: g.LastModifiedAt,
	}
}

// appGroupAppIn is an AppGroupApp request. keyExpiresIn is in seconds for
// AppGroup apps ("Expiration time, in seconds, for the consumer key"),
// unlike a developer app's milliseconds.
type appGroupAppIn struct {
	Name         string            `json:"name"`
	APIProducts  []string          `json:"apiProducts"`
	CallbackURL  string            `json:"callbackUrl"`
	KeyExpiresIn flexInt64         `json:"keyExpiresIn"`
	Scopes       []string          `json:"scopes"`
	Attributes   []store.Attribute `json:"attributes"`
	Status       string            `json:"status"`
	AppGroup     string            `json:"appGroup"`
}

type appGroupAppOut struct {
	AppID          string            `json:"appId"`
	Name           string            `json:"name"`
	AppGroup       string            `json:"appGroup"`
	CallbackURL    string            `json:"callbackUrl,omitempty"`
	Status         string            `json:"status,omitempty"`
	Scopes         []string          `json:"scopes,omitempty"`
	Attributes     []store.Attribute `json:"attributes,omitempty"`
	Credentials    []credentialOut   `json:"credentials,omitempty"`
	CreatedAt      int64             `json:"createdAt,string"`
	LastModifiedAt int64             `json:"lastModifiedAt,string"`
}

func appGroupAppOutOf(ap *store.App) appGroupAppOut {
	out := appGroupAppOut{
		AppID: ap.AppID, Name: ap.Name, AppGroup: ap.AppGroup, CallbackURL: ap.CallbackURL, Status: ap.Status, Scopes: ap.Scopes,
		Attributes: ap.Attributes, CreatedAt: ap.CreatedAt, LastModifiedAt: ap.LastModifiedAt,
	}
	for _, c := range ap.Credentials {
		out.Credentials = append(out.Credentials, credOut(c))
	}
	return out
}

// appGroupAppKeyIn is an AppGroupAppKey (keys.create). apiProducts is
// output only there ("an association to API products will not be made"),
// so it is not read.
type appGroupAppKeyIn struct {
	ConsumerKey      string             `json:"consumerKey"`
	ConsumerSecret   string             `json:"consumerSecret"`
	ExpiresInSeconds flexInt64          `json:"expiresInSeconds"`
	Scopes           *[]string          `json:"scopes"`
	Attributes       *[]store.Attribute `json:"attributes"`
}

// updateAppGroupAppKeyIn is UpdateAppGroupAppKeyRequest: action approves
// or revokes, apiProducts are appended, and appGroupAppKey's scopes and
// attributes replace the key's.
type updateAppGroupAppKeyIn struct {
	Action         string            `json:"action"`
	APIProducts    []string          `json:"apiProducts"`
	AppGroupAppKey *appGroupAppKeyIn `json:"appGroupAppKey"`
}

// checkAppGroupName is the API's AppGroup name rule as a 400 naming the
// field.
func checkAppGroupName(name string) error {
	if err := store.CheckAppGroupName(name); err != nil {
		var se *store.Error
		if errors.As(err, &se) {
			return apierr.InvalidField("name", "%s", se.Msg)
		}
		return err
	}
	return nil
}

func (in *appGroupIn) check() error {
	if in.Status != "" && in.Status != store.StatusActive && in.Status != store.StatusInactive {
		return apierr.InvalidField("status", "Invalid AppGroup status %q: use active or inactive.", in.Status)
	}
	if in.Email != "" {
		if err := checkEmail(in.Email); err != nil {
			return apierr.InvalidField("email", "Invalid AppGroup email %q.", in.Email)
		}
	}
	return checkAttributes(in.Attributes)
}

// Page tokens of the AppGroup lists are opaque to clients (the next item's
// key, base64url): anything else is a 400, not a silently restarted list.
func pageToken(next string) string { return base64.RawURLEncoding.EncodeToString([]byte(next)) }

func readPageToken(r *http.Request) (string, error) {
	tok := r.URL.Query().Get("pageToken")
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 || !utf8.Valid(b) {
		return "", apierr.InvalidField("page_token", "Invalid pageToken %q: use the nextPageToken of the previous page.", tok)
	}
	return string(b), nil
}

// pageSize reads pageSize: at most 1000 per page, values above coerced to
// 1000 (as the API documents); zero or negative, or not a number: 400.
func pageSize(r *http.Request) (int, error) {
	v := r.URL.Query().Get("pageSize")
	if v == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, apierr.InvalidField("page_size", "Invalid pageSize %q: use a positive integer (at most 1000 are returned).", v)
	}
	return min(n, 1000), nil
}

// appGroupFilter reads the list's filter: terms key=value on status,
// channelId or channelUri ("filter=status=active", "filter=channelId=…"),
// joined by " AND " or ",".
func appGroupFilter(expr string) (func(*store.AppGroup) bool, error) {
	terms := map[string]string{}
	expr = strings.ReplaceAll(strings.ReplaceAll(expr, " AND ", ","), " and ", ",")
	for _, term := range strings.Split(expr, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		k, v, found := strings.Cut(term, "=")
		key := map[string]string{"status": "status", "channelid": "channelId", "channeluri": "channelUri"}[strings.ToLower(strings.TrimSpace(k))]
		if !found || key == "" {
			return nil, apierr.InvalidField("filter", "Invalid filter term %q: use status=, channelId= or channelUri=.", term)
		}
		terms[key] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	if len(terms) == 0 {
		return nil, nil
	}
	return func(g *store.AppGroup) bool {
		for k, v := range terms {
			have := map[string]string{"status": g.Status, "channelId": g.ChannelID, "channelUri": g.ChannelURI}[k]
			if have != v {
				return false
			}
		}
		return true
	}, nil
}

// listAppGroups: GET …/appgroups?filter&pageSize&pageToken →
// {appGroups, nextPageToken, totalSize}.
func (a *API) listAppGroups(w http.ResponseWriter, r *http.Request) error {
	match, err := appGroupFilter(r.URL.Query().Get("filter"))
	if err != nil {
		return err
	}
	size, err := pageSize(r)
	if err != nil {
		return err
	}
	start, err := readPageToken(r)
	if err != nil {
		return err
	}
	groups, next, total, err := a.kms.ListAppGroups(r.Context(), a.org, store.AppGroupsQuery{StartName: start, Limit: size, Match: match})
	if err != nil {
		return err
	}
	out := make([]appGroupOut, 0, len(groups))
	for _, g := range groups {
		out = append(out, a.appGroupOut(g))
	}
	resp := map[string]any{"appGroups": out, "totalSize": total}
	if next != "" {
		resp["nextPageToken"] = pageToken(next)
	}
	return ok(w, resp)
}

func (a *API) createAppGroup(w http.ResponseWriter, r *http.Request) error {
	var in appGroupIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if err := checkAppGroupName(in.Name); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	g, err := a.kms.CreateAppGroup(r.Context(), a.org, store.AppGroup{
		Name: in.Name, DisplayName: in.DisplayName, ChannelURI: in.ChannelURI, ChannelID: in.ChannelID, Email: in.Email,
		Attributes: in.Attributes,
	})
	if err != nil {
		return err
	}
	return created(w, a.appGroupOut(g))
}

func (a *API) getAppGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := a.kms.GetAppGroup(r.Context(), a.org, r.PathValue("appgroup"))
	if err != nil {
		return err
	}
	return ok(w, a.appGroupOut(g))
}

// updateAppGroup: PUT …/appgroups/{g} replaces the group's details; with
// ?action=active|inactive it sets the status instead (the body, which the
// API wants empty, is not read).
func (a *API) updateAppGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("appgroup")
	if r.URL.Query().Has("action") {
		action := r.URL.Query().Get("action")
		if action != store.StatusActive && action != store.StatusInactive {
			return apierr.InvalidField("action", "Query parameter action must be active or inactive, got %q.", action)
		}
		g, err := a.kms.SetAppGroupStatus(r.Context(), a.org, name, action)
		if err != nil {
			return err
		}
		return ok(w, a.appGroupOut(g))
	}
	var in appGroupIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.Name != "" && in.Name != name {
		return apierr.InvalidField("name", "AppGroup name cannot be changed (from %s to %s).", name, in.Name)
	}
	if err := in.check(); err != nil {
		return err
	}
	g, err := a.kms.UpdateAppGroup(r.Context(), a.org, name, store.AppGroup{
		DisplayName: in.DisplayName, ChannelURI: in.ChannelURI, ChannelID: in.ChannelID, Email: in.Email, Attributes: in.Attributes,
	})
	if err != nil {
		return err
	}
	return ok(w, a.appGroupOut(g))
}

func (a *API) deleteAppGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := a.kms.DeleteAppGroup(r.Context(), a.org, r.PathValue("appgroup"))
	if err != nil {
		return err
	}
	return ok(w, a.appGroupOut(g))
}

func (in *appGroupAppIn) check() error {
	if err := checkName("App", in.Name); err != nil {
		return err
	}
	if in.Status != "" && in.Status != store.StatusApproved && in.Status != store.StatusRevoked {
		return apierr.InvalidField("status", "Invalid app status %q: use approved or revoked.", in.Status)
	}
	if in.KeyExpiresIn < -1 {
		return apierr.InvalidField("key_expires_in", "Invalid keyExpiresIn %d: use seconds, or -1 for keys that never expire.", in.KeyExpiresIn)
	}
	return checkAttributes(in.Attributes)
}

// keyExpiresInMs turns an AppGroup app's keyExpiresIn (seconds) into the
// store's milliseconds.
func (in *appGroupAppIn) keyExpiresInMs() int64 {
	if in.KeyExpiresIn <= 0 {
		return 0
	}
	return int64(in.KeyExpiresIn) * 1000
}

// listAppGroupApps: GET …/appgroups/{g}/apps?pageSize&pageToken →
// {appGroupApps (with credentials), nextPageToken}, in app name order.
func (a *API) listAppGroupApps(w http.ResponseWriter, r *http.Request) error {
	size, err := pageSize(r)
	if err != nil {
		return err
	}
	start, err := readPageToken(r)
	if err != nil {
		return err
	}
	// One more than the page tells whether another page follows.
	apps, err := a.kms.ListAppGroupApps(r.Context(), a.org, r.PathValue("appgroup"), store.Page{StartKey: start, Count: size + 1})
	if err != nil {
		return err
	}
	resp := map[string]any{}
	if len(apps) > size {
		resp["nextPageToken"] = pageToken(apps[size].Name)
		apps = apps[:size]
	}
	out := make([]appGroupAppOut, 0, len(apps))
	for _, ap := range apps {
		out = append(out, appGroupAppOutOf(ap))
	}
	resp["appGroupApps"] = out
	return ok(w, resp)
}

// createAppGroupApp: POST …/appgroups/{g}/apps. The app gets a generated
// credential for the requested products; unknown products are a 400 and
// nothing is written.
func (a *API) createAppGroupApp(w http.ResponseWriter, r *http.Request) error {
	var in appGroupAppIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	group := r.PathValue("appgroup")
	if in.AppGroup != "" && in.AppGroup != group {
		return apierr.InvalidField("app_group", "appGroup %q does not match the AppGroup %s in the path.", in.AppGroup, group)
	}
	app, err := a.kms.CreateAppGroupApp(r.Context(), a.org, group, store.NewApp{
		Name: in.Name, CallbackURL: in.CallbackURL, Status: in.Status, Scopes: in.Scopes, Attributes: in.Attributes,
		APIProducts: in.APIProducts, KeyExpiresIn: in.keyExpiresInMs(),
	})
	if err != nil {
		return err
	}
	return created(w, appGroupAppOutOf(app))
}

func (a *API) getAppGroupApp(w http.ResponseWriter, r *http.Request) error {
	app, err := a.kms.GetAppGroupApp(r.Context(), a.org, r.PathValue("appgroup"), r.PathValue("app"))
	if err != nil {
		return err
	}
	return ok(w, appGroupAppOutOf(app))
}

// updateAppGroupApp: PUT …/apps/{app} replaces callbackUrl and attributes
// and adds apiProducts to the newest key (a new key when the app has none);
// with ?action=approve|revoke it approves or revokes the app instead.
func (a *API) updateAppGroupApp(w http.ResponseWriter, r *http.Request) error {
	group, name := r.PathValue("appgroup"), r.PathValue("app")
	if r.URL.Query().Has("action") {
		action := r.URL.Query().Get("action")
		status, known := map[string]string{"approve": store.StatusApproved, "revoke": store.StatusRevoked}[action]
		if !known {
			return apierr.InvalidField("action", "Query parameter action must be approve or revoke, got %q.", action)
		}
		app, err := a.kms.SetAppGroupAppStatus(r.Context(), a.org, group, name, status)
		if err != nil {
			return err
		}
		return ok(w, appGroupAppOutOf(app))
	}
	var in appGroupAppIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.Name == "" {
		in.Name = name
	}
	if in.Name != name {
		return apierr.InvalidField("name", "App name cannot be changed (from %s to %s).", name, in.Name)
	}
	if err := in.check(); err != nil {
		return err
	}
	app, err := a.kms.UpdateAppGroupApp(r.Context(), a.org, group, name, store.AppUpdate{
		CallbackURL: in.CallbackURL, Attributes: in.Attributes, APIProducts: in.APIProducts, KeyExpiresIn: in.keyExpiresInMs(),
	})
	if err != nil {
		return err
	}
	return ok(w, appGroupAppOutOf(app))
}

func (a *API) deleteAppGroupApp(w http.ResponseWriter, r *http.Request) error {
	app, err := a.kms.DeleteAppGroupApp(r.Context(), a.org, r.PathValue("appgroup"), r.PathValue("app"))
	if err != nil {
		return err
	}
	return ok(w, appGroupAppOutOf(app))
}

// createAppGroupAppKey: POST …/apps/{app}/keys imports consumerKey and
// consumerSecret (generated when absent), without API products.
func (a *API) createAppGroupAppKey(w http.ResponseWriter, r *http.Request) error {
	var in appGroupAppKeyIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.ExpiresInSeconds < -1 {
		return apierr.InvalidField("expires_in_seconds", "Invalid expiresInSeconds %d: use seconds, or -1 for keys that never expire.", in.ExpiresInSeconds)
	}
	nc := store.NewCredential{ConsumerKey: in.ConsumerKey, ConsumerSecret: in.ConsumerSecret}
	if in.ExpiresInSeconds > 0 {
		nc.ExpiresIn = int64(in.ExpiresInSeconds) * 1000
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
	c, err := a.kms.AddAppGroupAppCredential(r.Context(), a.org, r.PathValue("appgroup"), r.PathValue("app"), nc)
	if err != nil {
		return err
	}
	return created(w, credOut(c))
}

func (a *API) getAppGroupAppKey(w http.ResponseWriter, r *http.Request) error {
	c, err := a.kms.GetAppGroupAppCredential(r.Context(), a.org, r.PathValue("appgroup"), r.PathValue("app"), r.PathValue("key"))
	if err != nil {
		return err
	}
	return ok(w, credOut(c))
}

// updateAppGroupAppKey: POST …/keys/{key} (UpdateAppGroupAppKey): action
// approve|revoke, apiProducts appended (duplicates ignored), and the
// appGroupAppKey's scopes and attributes replace the key's.
func (a *API) updateAppGroupAppKey(w http.ResponseWriter, r *http.Request) error {
	var in updateAppGroupAppKeyIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	u := store.CredentialUpdate{AddAPIProducts: in.APIProducts}
	switch in.Action {
	case "":
	case "approve":
		u.Status = store.StatusApproved
	case "revoke":
		u.Status = store.StatusRevoked
	default:
		return apierr.InvalidField("action", "action must be approve or revoke, got %q.", in.Action)
	}
	if k := in.AppGroupAppKey; k != nil {
		if k.Attributes != nil {
			if err := checkAttributes(*k.Attributes); err != nil {
				return err
			}
		}
		u.Scopes, u.Attributes = k.Scopes, k.Attributes
	}
	c, err := a.kms.UpdateAppGroupAppCredential(r.Context(), a.org, r.PathValue("appgroup"), r.PathValue("app"), r.PathValue("key"), u)
	if err != nil {
		return err
	}
	return ok(w, credOut(c))
}

func (a *API) deleteAppGroupAppKey(w http.ResponseWriter, r *http.Request) error {
	c, err := a.kms.DeleteAppGroupAppCredential(r.Context(), a.org, r.PathValue("appgroup"), r.PathValue("app"), r.PathValue("key"))
	if err != nil {
		return err
	}
	return ok(w, credOut(c))
}

// setAppGroupAppKeyProductStatus: POST …/keys/{key}/apiproducts/{p}
// ?action=approve|revoke → 200 {} (google.protobuf.Empty).
func (a *API) setAppGroupAppKeyProductStatus(w http.ResponseWriter, r *http.Request) error {
	action := r.URL.Query().Get("action")
	status, known := map[string]string{"approve": store.StatusApproved, "revoke": store.StatusRevoked}[action]
	if !known {
		return apierr.InvalidField("action", "Query parameter action must be approve or revoke, got %q.", action)
	}
	if _, err := a.kms.SetAppGroupAppCredentialProductStatus(r.Context(), a.org, r.PathValue("appgroup"), r.PathValue("app"),
		r.PathValue("key"), r.PathValue("product"), status); err != nil {
		return err
	}
	return ok(w, struct{}{})
}

func (a *API) deleteAppGroupAppKeyProduct(w http.ResponseWriter, r *http.Request) error {
	c, err := a.kms.RemoveAppGroupAppCredentialProduct(r.Context(), a.org, r.PathValue("appgroup"), r.PathValue("app"),
		r.PathValue("key"), r.PathValue("product"))
	if err != nil {
		return err
	}
	return ok(w, credOut(c))
}

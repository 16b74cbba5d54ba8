// Package verifyapikey implements the VerifyAPIKey policy: it reads a
// consumer key from a flow variable, looks it up in the runtime data store
// and lets the call through when the key, its app and developer are
// approved/active, the key has not expired and one of the key's approved
// API products allows this environment, proxy and path (package
// apiproduct). On success it sets verifyapikey.<policy>.* and the
// analytics variables (client_id, developer.id, developer.app.name, …).
// An app group's app is checked against its group (active) instead of a
// developer and gets appgroup.* variables instead of developer.* ones.
package verifyapikey

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/apiproduct"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// Error codes (Apigee's VerifyAPIKey error reference).
const (
	CodeFailedToResolve    = "steps.oauth.v2.FailedToResolveAPIKey"
	CodeInvalidKey         = "oauth.v2.InvalidApiKey"
	CodeKeyNotApproved     = "oauth.v2.ApiKeyNotApproved"
	CodeAppNotApproved     = "keymanagement.service.invalid_client-app_not_approved"
	CodeDeveloperInactive  = "keymanagement.service.DeveloperStatusNotActive"
	CodeKeyExpired         = "keymanagement.service.consumer_key_expired"
	CodeInvalidForResource = "oauth.v2.InvalidApiKeyForGivenResource"
)

// CodeAppGroupInactive: the app's AppGroup is inactive. Apigee documents
// this code for an inactive company, the AppGroup's predecessor; it
// documents no AppGroup-specific one.
const CodeAppGroupInactive = "keymanagement.service.CompanyStatusNotActive"

type policy struct {
	name   string
	ref    string
	prefix string // "verifyapikey.<name>."
	data   *rtdata.Store
	vars   varsCache
}

// varsCache keeps the variables of recently verified keys: they depend only
// on the cached key lookup and the matched product and operation, so a hot
// key costs map inserts, not ~45 string concatenations and conversions per
// request (what the runtime-data profile showed). Entries die with the key
// cache entry they point at; the map is bounded by clearing it when full.
type varsCache struct {
	mu sync.RWMutex
	m  map[varsKey][]flow.Var
}

type varsKey struct {
	info *store.KeyInfo
	prod *store.APIProduct
	op   *store.Operation
}

const maxCachedVarSets = 1024

func (c *varsCache) get(k varsKey, build func() []flow.Var) []flow.Var {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = build()
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedVarSets {
		c.m = make(map[varsKey][]flow.Var)
	}
	c.m[k] = v
	c.mu.Unlock()
	return v
}

// Compile compiles a <VerifyAPIKey> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("VerifyAPIKey", "%v", err)
	}
	k := root.Child("APIKey")
	if k == nil {
		return nil, flow.Invalid("VerifyAPIKey/APIKey", "element is required")
	}
	ref := strings.TrimSpace(k.Attr("ref"))
	if ref == "" {
		return nil, flow.Invalid("VerifyAPIKey/APIKey", "attribute ref is required (the variable that holds the API key)")
	}
	data, err := cc.NeedData()
	if err != nil {
		return nil, err
	}
	return &policy{name: cc.Policy.Name, ref: ref, prefix: "verifyapikey." + cc.Policy.Name + ".", data: data}, nil
}

func fault(code, msg string) *flow.Fault {
	return &flow.Fault{Code: code, Status: http.StatusUnauthorized, Reason: "Unauthorized", Message: msg}
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	key, ok := mc.GetString(p.ref)
	if !ok || key == "" {
		return fault(CodeFailedToResolve, "Failed to resolve API Key variable "+p.ref)
	}
	info, err := p.data.LookupKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return fault(CodeInvalidKey, "Invalid ApiKey")
	}
	if err != nil {
		return fmt.Errorf("API key lookup: %w", err)
	}
	cred, app, dev := info.Credential, info.App, info.Developer
	if cred.ExpiresAt > 0 && cred.ExpiresAt <= p.data.Now().UnixMilli() {
		return fault(CodeKeyExpired, "Consumer key has expired")
	}
	if !strings.EqualFold(cred.Status, store.StatusApproved) {
		return fault(CodeKeyNotApproved, "ApiKey not approved")
	}
	if !strings.EqualFold(app.Status, store.StatusApproved) {
		return fault(CodeAppNotApproved, "App not Approved")
	}
	if g := info.AppGroup; g != nil {
		if !strings.EqualFold(g.Status, store.StatusActive) {
			return fault(CodeAppGroupInactive, "AppGroup Status is not Active")
		}
	} else if !strings.EqualFold(dev.Status, store.StatusActive) {
		return fault(CodeDeveloperInactive, "Developer Status is not Active")
	}
	call := apiproduct.Call{Env: mc.Proxy.Env, Proxy: mc.Proxy.Name, PathSuffix: mc.PathSuffix, Verb: mc.Request.Method}
	m := apiproduct.FirstAllowed(cred, info.Products, call)
	if m == nil {
		return fault(CodeInvalidForResource, "Invalid ApiKey for given resource")
	}
	mc.SetVars(p.vars.get(varsKey{info: info, prod: m.Product, op: m.Operation}, func() []flow.Var { return Variables(p.prefix, info, m) }))
	return nil
}

// SetVariables sets the variables VerifyAPIKey (and OAuthV2's
// VerifyAccessToken, with its own prefix) populate for a verified key:
// prefix+client_id, developer.*, app.*, apiproduct.* …, and the analytics
// variables without prefix (client_id, developer.id, developer.email,
// developer.app.name, developer.app.id, apiproduct.name, and
// apiproduct.operation* when an operation matched).
func SetVariables(mc *flow.MessageContext, prefix string, info *store.KeyInfo, m *apiproduct.Match) {
	mc.SetVars(Variables(prefix, info, m))
}

// Variables lists what SetVariables sets, in order. For an app group's
// app the developer variables are left unset (there is no developer) and
// prefix+appgroup.* name the group; developer.app.name and
// developer.app.id (the analytics app) are set for either owner.
func Variables(prefix string, info *store.KeyInfo, m *apiproduct.Match) []flow.Var {
	cred, app, dev, prod := info.Credential, info.App, info.Developer, m.Product
	out := make([]flow.Var, 0, 64)
	set := func(name string, v any) { out = append(out, flow.Var{Name: prefix + name, Value: v}) }
	bare := func(name string, v any) { out = append(out, flow.Var{Name: name, Value: v}) }

	set("client_id", cred.ConsumerKey)
	set("client_secret", cred.ConsumerSecret)
	set("redirection_uris", app.CallbackURL)
	set("status", cred.Status)
	set("issued_at", strconv.FormatInt(cred.IssuedAt, 10))
	set("expires_at", strconv.FormatInt(cred.ExpiresAt, 10))
	set("scope", strings.Join(cred.Scopes, " "))
	for _, a := range cred.Attributes {
		set(a.Name, a.Value)
	}

	if g := info.AppGroup; g != nil {
		set("appgroup.name", g.Name)
		set("appgroup.id", g.AppGroupID)
		set("appgroup.displayName", g.DisplayName)
		set("appgroup.status", g.Status)
		for _, a := range g.Attributes {
			set("appgroup."+a.Name, a.Value)
		}
	} else {
		set("developer.id", dev.DeveloperID)
		set("developer.email", dev.Email)
		set("developer.firstName", dev.FirstName)
		set("developer.lastName", dev.LastName)
		set("developer.userName", dev.UserName)
		set("developer.status", dev.Status)
		if len(dev.Apps) > 0 {
			set("developer.apps", strings.Join(dev.Apps, ","))
		}
		for _, a := range dev.Attributes {
			set("developer."+a.Name, a.Value)
		}
		set("developer.app.name", app.Name)
		set("developer.app.id", app.AppID)
		set("CreatedAt", strconv.FormatInt(dev.CreatedAt, 10))
		set("LastModifiedAt", strconv.FormatInt(dev.LastModifiedAt, 10))
	}

	set("app.name", app.Name)
	set("app.id", app.AppID)
	set("app.status", app.Status)
	set("app.callbackUrl", app.CallbackURL)
	set("app.created_at", strconv.FormatInt(app.CreatedAt, 10))
	set("app.last_modified_at", strconv.FormatInt(app.LastModifiedAt, 10))
	names := make([]string, 0, len(cred.APIProducts))
	for _, r := range cred.APIProducts {
		names = append(names, r.APIProduct)
	}
	set("app.apiproducts", strings.Join(names, ","))
	for _, a := range app.Attributes {
		set("app."+a.Name, a.Value)
	}

	set("apiproduct.name", prod.Name)
	set("DisplayName", prod.DisplayName)
	for _, a := range prod.Attributes {
		set("apiproduct."+a.Name, a.Value)
	}
	limit, interval, unit := m.Quota()
	if limit != "" {
		set("apiproduct.developer.quota.limit", limit)
		set("apiproduct.developer.quota.interval", interval)
		set("apiproduct.developer.quota.timeunit", unit)
	}
	set("failed", false)

	// Analytics and product-operation variables (no prefix).
	bare("client_id", cred.ConsumerKey)
	if info.AppGroup == nil {
		bare("developer.id", dev.DeveloperID)
		bare("developer.email", dev.Email)
	}
	bare("developer.app.name", app.Name)
	bare("developer.app.id", app.AppID)
	bare("apiproduct.name", prod.Name)
	if m.Operation != nil {
		bare("apiproduct.operation", m.Operation.Resource)
		bare("apiproduct.operation.resource", m.Operation.Resource)
		bare("apiproduct.operation.methods", strings.Join(m.Operation.Methods, ","))
		for _, a := range m.Config.Attributes {
			bare("apiproduct.operation.attributes."+a.Name, a.Value)
		}
	}
	return out
}

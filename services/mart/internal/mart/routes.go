package mart

import (
	"net/http"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// routes registers the Apigee API paths MART serves. Paths, methods and
// query parameters are the public API's (google.cloud.apigee.v1), so the
// control plane can forward its callers' requests unchanged.
func (a *API) routes() {
	const org = "/v1/organizations/{org}"
	const dev = org + "/developers/{developer}"
	const app = dev + "/apps/{app}"
	const key = app + "/keys/{key}"

	a.handle("GET "+org+"/developers", a.listDevelopers)
	a.handle("POST "+org+"/developers", a.createDeveloper)
	a.handle("GET "+dev, a.getDeveloper)
	a.handle("PUT "+dev, a.updateDeveloper)
	a.handle("DELETE "+dev, a.deleteDeveloper)
	a.handle("POST "+dev, a.setDeveloperStatus) // ?action=active|inactive

	a.handle("GET "+dev+"/apps", a.listDeveloperApps)
	a.handle("POST "+dev+"/apps", a.createApp)
	a.handle("GET "+app, a.getApp)
	a.handle("PUT "+app, a.updateApp)
	a.handle("DELETE "+app, a.deleteApp)
	a.handle("POST "+app, a.appAction) // ?action=approve|revoke, or generate a key pair

	a.handle("POST "+app+"/keys", a.createKey)        // CreateDeveloperAppKey
	a.handle("POST "+app+"/keys/create", a.createKey) // the older import path
	a.handle("GET "+key, a.getKey)
	a.handle("PUT "+key, a.replaceKeyScopes)
	a.handle("DELETE "+key, a.deleteKey)
	a.handle("POST "+key, a.updateKey) // ?action=approve|revoke, or add products/attributes
	a.handle("POST "+key+"/apiproducts/{product}", a.setKeyProductStatus)
	a.handle("DELETE "+key+"/apiproducts/{product}", a.deleteKeyProduct)

	a.handle("GET "+org+"/apps", a.listOrgApps)
	a.handle("GET "+org+"/apps/{appId}", a.getOrgApp)

	a.handle("GET "+org+"/apiproducts", a.listProducts)
	a.handle("POST "+org+"/apiproducts", a.createProduct)
	a.handle("GET "+org+"/apiproducts/{product}", a.getProduct)
	a.handle("PUT "+org+"/apiproducts/{product}", a.updateProduct)
	a.handle("DELETE "+org+"/apiproducts/{product}", a.deleteProduct)

	for _, s := range []struct {
		prefix string
		scope  func(*http.Request) (store.Scope, error)
	}{
		{org, func(*http.Request) (store.Scope, error) { return store.OrgScope(), nil }},
		{org + "/environments/{env}", envScope},
		{org + "/apis/{api}", proxyScope},
	} {
		maps := s.prefix + "/keyvaluemaps"
		m := maps + "/{map}"
		a.handle("GET "+maps, a.listMaps(s.scope))
		a.handle("POST "+maps, a.createMap(s.scope))
		a.handle("GET "+m, a.getMap(s.scope))
		a.handle("PUT "+m, a.updateMap(s.scope))
		a.handle("DELETE "+m, a.deleteMap(s.scope))
		a.handle("GET "+m+"/entries", a.listEntries(s.scope))
		a.handle("POST "+m+"/entries", a.createEntry(s.scope))
		a.handle("GET "+m+"/entries/{entry}", a.getEntry(s.scope))
		a.handle("PUT "+m+"/entries/{entry}", a.updateEntry(s.scope))
		a.handle("DELETE "+m+"/entries/{entry}", a.deleteEntry(s.scope))
	}

	// Not an Apigee API: the emulator's way for tests to start a
	// distributed quota afresh (Apigee offers only the ResetQuota policy).
	a.handle("POST "+org+"/environments/{env}/apis/{api}/quotaCounters:reset", a.resetQuotaCounter)
}

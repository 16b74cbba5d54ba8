package mart

// routes registers the Apigee API paths MART serves. Paths, methods and
// query parameters are the public API's (google.cloud.apigee.v1), so the
// control plane can forward its callers' requests unchanged.
func (a *API) routes() {
	const org = "/v1/organizations/{org}"
	const dev = org + "/developers/{developer}"
	const app = dev + "/apps/{app}"
	const key = app + "/keys/{key}"
	const product = org + "/apiproducts/{product}"

	a.handle("GET "+org+"/developers", a.listDevelopers)
	a.handle("POST "+org+"/developers", a.createDeveloper)
	a.handle("GET "+dev, a.getDeveloper)
	a.handle("PUT "+dev, a.updateDeveloper)
	a.handle("DELETE "+dev, a.deleteDeveloper)
	a.handle("POST "+dev, a.setDeveloperStatus) // ?action=active|inactive
	developerAttributes := a.developerAttributes()
	a.handle("GET "+dev+"/attributes", a.listAttributes(developerAttributes))
	a.handle("POST "+dev+"/attributes", a.replaceAttributes(developerAttributes))
	a.handle("GET "+dev+"/attributes/{attribute}", a.getAttribute(developerAttributes))
	a.handle("POST "+dev+"/attributes/{attribute}", a.setAttribute(developerAttributes))
	a.handle("DELETE "+dev+"/attributes/{attribute}", a.deleteAttribute(developerAttributes))

	a.handle("GET "+dev+"/apps", a.listDeveloperApps)
	a.handle("POST "+dev+"/apps", a.createApp)
	a.handle("GET "+app, a.getApp)
	a.handle("PUT "+app, a.updateApp)
	a.handle("DELETE "+app, a.deleteApp)
	a.handle("POST "+app, a.appAction) // ?action=approve|revoke, or generate a key pair
	appAttributes := a.appAttributes()
	a.handle("GET "+app+"/attributes", a.listAttributes(appAttributes))
	a.handle("POST "+app+"/attributes", a.replaceAttributes(appAttributes))
	a.handle("GET "+app+"/attributes/{attribute}", a.getAttribute(appAttributes))
	a.handle("POST "+app+"/attributes/{attribute}", a.setAttribute(appAttributes))
	a.handle("DELETE "+app+"/attributes/{attribute}", a.deleteAttribute(appAttributes))

	a.handle("POST "+app+"/keys", a.createKey)        // CreateDeveloperAppKey
	a.handle("POST "+app+"/keys/create", a.createKey) // the older import path
	a.handle("GET "+key, a.getKey)
	a.handle("PUT "+key, a.replaceKeyScopes)
	a.handle("DELETE "+key, a.deleteKey)
	a.handle("POST "+key, a.updateKey) // ?action=approve|revoke, or add products/attributes
	a.handle("POST "+key+"/apiproducts/{product}", a.setKeyProductStatus)
	a.handle("DELETE "+key+"/apiproducts/{product}", a.deleteKeyProduct)

	// AppGroups, their apps, keys and keys' API products.
	const group = org + "/appgroups/{appgroup}"
	const groupApp = group + "/apps/{app}"
	const groupKey = groupApp + "/keys/{key}"
	a.handle("GET "+org+"/appgroups", a.listAppGroups)
	a.handle("POST "+org+"/appgroups", a.createAppGroup)
	a.handle("GET "+group, a.getAppGroup)
	a.handle("PUT "+group, a.updateAppGroup) // ?action=active|inactive
	a.handle("DELETE "+group, a.deleteAppGroup)
	a.handle("GET "+group+"/apps", a.listAppGroupApps)
	a.handle("POST "+group+"/apps", a.createAppGroupApp)
	a.handle("GET "+groupApp, a.getAppGroupApp)
	a.handle("PUT "+groupApp, a.updateAppGroupApp) // ?action=approve|revoke
	a.handle("DELETE "+groupApp, a.deleteAppGroupApp)
	a.handle("POST "+groupApp+"/keys", a.createAppGroupAppKey)
	a.handle("GET "+groupKey, a.getAppGroupAppKey)
	a.handle("POST "+groupKey, a.updateAppGroupAppKey) // UpdateAppGroupAppKey: action, apiProducts, scopes, attributes
	a.handle("DELETE "+groupKey, a.deleteAppGroupAppKey)
	a.handle("POST "+groupKey+"/apiproducts/{product}", a.setAppGroupAppKeyProductStatus)
	a.handle("DELETE "+groupKey+"/apiproducts/{product}", a.deleteAppGroupAppKeyProduct)

	a.handle("GET "+org+"/apps", a.listOrgApps)
	a.handle("GET "+org+"/apps/{appId}", a.getOrgApp)

	a.handle("GET "+org+"/apiproducts", a.listProducts)
	a.handle("POST "+org+"/apiproducts", a.createProduct)
	a.handle("GET "+org+"/apiproducts/{product}", a.getProduct)
	a.handle("PUT "+org+"/apiproducts/{product}", a.updateProduct)
	a.handle("DELETE "+org+"/apiproducts/{product}", a.deleteProduct)
	productAttributes := a.productAttributes()
	a.handle("GET "+product+"/attributes", a.listAttributes(productAttributes))
	a.handle("POST "+product+"/attributes", a.replaceAttributes(productAttributes))
	a.handle("GET "+product+"/attributes/{attribute}", a.getAttribute(productAttributes))
	a.handle("POST "+product+"/attributes/{attribute}", a.setAttribute(productAttributes))
	a.handle("DELETE "+product+"/attributes/{attribute}", a.deleteAttribute(productAttributes))

	a.kvmRoutes(org, orgScope)
	a.kvmRoutes(org+"/environments/{env}", envScope)
	a.kvmRoutes(org+"/apis/{api}", proxyScope)

	// Environment caches: the entries of the cache policies live in the
	// runtime plane's Cassandra, so clearing one is MART's.
	a.handle("DELETE "+org+"/environments/{env}/caches/{cache}", a.deleteCache)

	// Not an Apigee API: the emulator's way for tests to start a
	// distributed quota afresh (Apigee offers only the ResetQuota policy).
	a.handle("POST "+org+"/environments/{env}/apis/{api}/quotaCounters:reset", a.resetQuotaCounter)
}

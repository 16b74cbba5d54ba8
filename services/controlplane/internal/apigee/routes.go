package apigee

import (
	"net/http"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

// Routes lists every endpoint the mock control plane serves, for docs and
// the startup log.
func (a *API) routes() {
	const o = "/v1/organizations/{org}"
	h := a.handle

	h("GET /v1/organizations", "apigee.organizations.list", a.listOrgs)
	// Creating an org is checked on its parent project (?parent=projects/p).
	a.handleOn("POST /v1/organizations", "apigee.organizations.create", parentProject, a.createOrg)
	h("GET "+o, "apigee.organizations.get", a.getOrg)
	h("PUT "+o, "apigee.organizations.update", a.updateOrg)
	h("DELETE "+o, "apigee.organizations.delete", a.deleteOrg)
	// Custom methods (syncauth.go). Any other verb is unknown: 404, not a
	// 405 offering {o}'s methods.
	a.handleOn("POST "+o+":getSyncAuthorization", PermGetSyncAuthorization, orgResource, a.getSyncAuthorization)
	a.handleOn("POST "+o+":setSyncAuthorization", PermSetSyncAuthorization, orgResource, a.setSyncAuthorization)
	a.route("POST "+o+":{verb}", http.HandlerFunc(notFound))

	h("GET "+o+"/operations", "apigee.operations.list", a.listOperations)
	h("GET "+o+"/operations/{id}", "apigee.operations.get", a.getOperation)

	h("GET "+o+"/environments", "apigee.environments.list", a.listEnvs)
	h("POST "+o+"/environments", "apigee.environments.create", a.createEnv)
	h("GET "+o+"/environments/{env}", "apigee.environments.get", a.getEnv)
	h("PUT "+o+"/environments/{env}", "apigee.environments.update", a.updateEnv)
	// updateEnvironment, modifyEnvironment, deployedConfig, traceConfig (envupdates.go).
	h("POST "+o+"/environments/{env}", "apigee.environments.update", a.updateEnv)
	h("PATCH "+o+"/environments/{env}", "apigee.environments.update", a.modifyEnv)
	h("GET "+o+"/environments/{env}/deployedConfig", "apigee.environments.get", a.getDeployedConfig)
	h("GET "+o+"/environments/{env}/debugmask", "apigee.environments.get", a.getDebugMask)
	h("PATCH "+o+"/environments/{env}/debugmask", "apigee.environments.update", a.updateDebugMask)
	h("GET "+o+"/environments/{env}/traceConfig", "apigee.traceconfig.get", a.getTraceConfig)
	h("PATCH "+o+"/environments/{env}/traceConfig", "apigee.traceconfig.update", a.updateTraceConfig)
	h("DELETE "+o+"/environments/{env}", "apigee.environments.delete", a.deleteEnv)

	h("GET "+o+"/envgroups", "apigee.envgroups.list", a.listGroups)
	h("POST "+o+"/envgroups", "apigee.envgroups.create", a.createGroup)
	h("GET "+o+"/envgroups/{group}", "apigee.envgroups.get", a.getGroup)
	h("PATCH "+o+"/envgroups/{group}", "apigee.envgroups.update", a.patchGroup)
	h("DELETE "+o+"/envgroups/{group}", "apigee.envgroups.delete", a.deleteGroup)
	// The deployed routing configuration the watchers publish (ingress.go).
	h("GET "+o+"/deployedIngressConfig", "apigee.ingressconfigs.get", a.getDeployedIngressConfig)
	h("GET "+o+"/envgroups/{group}/deployedIngressConfig", "apigee.envgroups.get", a.getGroupDeployedIngressConfig)
	h("GET "+o+"/envgroups/{group}/attachments", "apigee.envgroupattachments.list", a.listAttachments)
	h("POST "+o+"/envgroups/{group}/attachments", "apigee.envgroupattachments.create", a.createAttachment)
	h("GET "+o+"/envgroups/{group}/attachments/{id}", "apigee.envgroupattachments.get", a.getAttachment)
	h("DELETE "+o+"/envgroups/{group}/attachments/{id}", "apigee.envgroupattachments.delete", a.deleteAttachment)
	// Runtime instances and the environments each runs (instances.go).
	h("POST "+o+"/instances", "apigee.instances.create", a.createInstance)
	h("GET "+o+"/instances", "apigee.instances.list", a.listInstances)
	h("GET "+o+"/instances/{instance}", "apigee.instances.get", a.getInstance)
	h("DELETE "+o+"/instances/{instance}", "apigee.instances.delete", a.deleteInstance)
	h("POST "+o+"/instances/{instance}/attachments", "apigee.instanceattachments.create", a.createInstanceAttachment)
	h("GET "+o+"/instances/{instance}/attachments", "apigee.instanceattachments.list", a.listInstanceAttachments)
	h("GET "+o+"/instances/{instance}/attachments/{attachment}", "apigee.instanceattachments.get", a.getInstanceAttachment)
	h("DELETE "+o+"/instances/{instance}/attachments/{attachment}", "apigee.instanceattachments.delete", a.deleteInstanceAttachment)

	h("GET "+o+"/deployments", "apigee.deployments.list", a.listOrgDeployments)
	h("GET "+o+"/environments/{env}/deployments", "apigee.deployments.list", a.listEnvDeployments)

	// Environment runtime configuration: flow hooks and target servers.
	h("GET "+o+"/environments/{env}/flowhooks", "apigee.flowhooks.list", a.listFlowHooks)
	h("GET "+o+"/environments/{env}/flowhooks/{point}", "apigee.flowhooks.getSharedFlow", a.getFlowHook)
	h("PUT "+o+"/environments/{env}/flowhooks/{point}", "apigee.flowhooks.attachSharedFlowToFlowHook", a.attachFlowHook)
	h("DELETE "+o+"/environments/{env}/flowhooks/{point}", "apigee.flowhooks.detachSharedFlowFromFlowHook", a.detachFlowHook)
	h("GET "+o+"/environments/{env}/targetservers", "apigee.targetservers.list", a.listTargetServers)
	h("POST "+o+"/environments/{env}/targetservers", "apigee.targetservers.create", a.createTargetServer)
	h("GET "+o+"/environments/{env}/targetservers/{ts}", "apigee.targetservers.get", a.getTargetServer)
	h("PUT "+o+"/environments/{env}/targetservers/{ts}", "apigee.targetservers.update", a.updateTargetServer)
	h("DELETE "+o+"/environments/{env}/targetservers/{ts}", "apigee.targetservers.delete", a.deleteTargetServer)

	// Keystores and truststores, their aliases, and references to them.
	ks := o + "/environments/{env}/keystores"
	h("GET "+ks, "apigee.keystores.list", a.listKeystores)
	h("POST "+ks, "apigee.keystores.create", a.createKeystore)
	h("GET "+ks+"/{ks}", "apigee.keystores.get", a.getKeystore)
	h("DELETE "+ks+"/{ks}", "apigee.keystores.delete", a.deleteKeystore)
	h("GET "+ks+"/{ks}/aliases", "apigee.keystorealiases.list", a.listAliases)
	h("POST "+ks+"/{ks}/aliases", "apigee.keystorealiases.create", a.createAlias)
	h("GET "+ks+"/{ks}/aliases/{alias}", "apigee.keystorealiases.get", a.getAlias)
	h("PUT "+ks+"/{ks}/aliases/{alias}", "apigee.keystorealiases.update", a.updateAlias)
	h("DELETE "+ks+"/{ks}/aliases/{alias}", "apigee.keystorealiases.delete", a.deleteAlias)
	h("GET "+ks+"/{ks}/aliases/{alias}/certificate", "apigee.keystorealiases.exportCertificate", a.getAliasCertificate)
	h("GET "+ks+"/{ks}/aliases/{alias}/csr", "apigee.keystorealiases.generateCSR", a.getAliasCSR)
	refs := o + "/environments/{env}/references"
	h("GET "+refs, "apigee.references.list", a.listReferences)
	h("POST "+refs, "apigee.references.create", a.createReference)
	h("GET "+refs+"/{ref}", "apigee.references.get", a.getReference)
	h("PUT "+refs+"/{ref}", "apigee.references.update", a.updateReference)
	h("DELETE "+refs+"/{ref}", "apigee.references.delete", a.deleteReference)

	// Environment-scoped resource files (property sets and others).
	rf := o + "/environments/{env}/resourcefiles"
	h("GET "+rf, "apigee.resourcefiles.list", a.listResourceFiles)
	h("POST "+rf, "apigee.resourcefiles.create", a.createResourceFile)
	h("GET "+rf+"/{type}", "apigee.resourcefiles.list", a.listResourceFiles)
	h("GET "+rf+"/{type}/{name...}", "apigee.resourcefiles.get", a.getResourceFile)
	h("PUT "+rf+"/{type}/{name...}", "apigee.resourcefiles.update", a.updateResourceFile)
	h("DELETE "+rf+"/{type}/{name...}", "apigee.resourcefiles.delete", a.deleteResourceFile)

	for _, c := range []collection{proxies, sharedFlows} {
		perm := "apigee.proxies"
		deployPerm := "apigee.deployments"
		if c.kind == sharedFlows.kind {
			perm = "apigee.sharedflows"
			deployPerm = "apigee.sharedflowdeployments"
		}
		base := o + "/" + c.path
		h("POST "+base, perm+".create", a.importBundle(c))
		h("GET "+base, perm+".list", a.listAPIs(c))
		h("GET "+base+"/{name}", perm+".get", a.getAPI(c))
		h("DELETE "+base+"/{name}", perm+".delete", a.deleteAPI(c))
		if c.kind == proxies.kind { // shared flows have no patch method
			h("PATCH "+base+"/{name}", perm+".update", a.patchAPI)
		}
		h("GET "+base+"/{name}/revisions", perm+".get", a.listRevisions(c))
		h("GET "+base+"/{name}/revisions/{rev}", perm+".get", a.getRevision(c))
		h("DELETE "+base+"/{name}/revisions/{rev}", perm+".delete", a.deleteRevision(c))
		h("GET "+base+"/{name}/deployments", deployPerm+".list", a.listAPIDeployments(c))
		h("GET "+base+"/{name}/revisions/{rev}/deployments", deployPerm+".list", a.listRevisionDeployments(c))

		envBase := o + "/environments/{env}/" + c.path + "/{name}"
		h("GET "+envBase+"/deployments", deployPerm+".list", a.listEnvAPIDeployments(c))
		h("POST "+envBase+"/revisions/{rev}/deployments", deployPerm+".create", a.deploy(c))
		h("GET "+envBase+"/revisions/{rev}/deployments", deployPerm+".get", a.getDeployment(c))
		h("DELETE "+envBase+"/revisions/{rev}/deployments", deployPerm+".delete", a.undeploy(c))
	}
	// Dry runs of a proxy deploy/undeploy (changereport.go).
	deps := o + "/environments/{env}/apis/{name}/revisions/{rev}/deployments"
	h("POST "+deps+":generateDeployChangeReport", "apigee.deployments.create", a.generateDeployChangeReport)
	h("POST "+deps+":generateUndeployChangeReport", "apigee.deployments.delete", a.generateUndeployChangeReport)
	// Debug sessions (debugsessions.go).
	dbg := o + "/environments/{env}/apis/{api}/revisions/{rev}/debugsessions"
	h("POST "+dbg, "apigee.tracesessions.create", a.createDebugSession)
	h("GET "+dbg, "apigee.tracesessions.list", a.listDebugSessions)
	h("GET "+dbg+"/{session}", "apigee.tracesessions.get", a.getDebugSession)
	h("DELETE "+dbg+"/{session}/data", "apigee.tracesessions.delete", a.deleteDebugSessionData)
	h("GET "+dbg+"/{session}/data", "apigee.tracesessions.get", a.listDebugSessionData)
	h("GET "+dbg+"/{session}/data/{id}", "apigee.tracesessions.get", a.getDebugSessionData)

	// Runtime plane (internal): watchers report status, synchronizers fetch
	// contracts.
	h("POST "+o+"/environments/{env}/runtimeStatus", "apigee.runtime.reportStatus", a.runtimeStatus)
	// A service account must also be in the org's sync authorization.
	h("GET "+o+"/environments/{env}/contract/version", "apigee.runtime.getContract", a.syncAuthorized(a.contractVersion))
	h("GET "+o+"/environments/{env}/contract", "apigee.runtime.getContract", a.syncAuthorized(a.getContract))

	// Analytics (analytics.go): UDCA's signed upload URLs, the stats API
	// (organizations.environments.stats.get, with or without dimensions)
	// and the emulator's fault switch for the upload path.
	h("GET "+o+"/environments/{env}/datalocation", iam.PermGetDataLocation, a.dataLocation)
	h("GET "+o+"/environments/{env}/stats/{dimensions}", "apigee.environments.getStats", a.getStats)
	h("GET "+o+"/environments/{env}/stats/{$}", "apigee.environments.getStats", a.getStats)
	h("PUT "+o+"/emulator/faults/{service}", PermInjectFaults, a.setFault)
	h("DELETE "+o+"/emulator/faults/{service}", PermInjectFaults, a.clearFault)
}

// Handler returns the API as an http.Handler.
func (a *API) Handler() http.Handler { return a }

// MountMART serves the MART paths — developers and app groups (with their
// apps and keys), apps, API products, and key value maps at org,
// environment and API proxy scope — with h, which forwards them to MART
// over Apigee Connect or to mart.hostAlias (internal/martproxy). Each
// route is still authenticated and authorized here like every other.
func (a *API) MountMART(h http.Handler) {
	const o = "/v1/organizations/{org}"
	defer a.markRoutes(len(a.routeList), RouteMART)
	fwd := func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
	collection := func(path, perm string) {
		a.handle("GET "+path, perm+".list", fwd)
		a.handle("POST "+path, perm+".create", fwd)
	}
	// Items take POST too: ?action=approve|revoke|active|inactive, keys,
	// attributes.
	item := func(path, perm string) {
		a.handle("GET "+path, perm+".get", fwd)
		a.handle("PUT "+path, perm+".update", fwd)
		a.handle("POST "+path, perm+".update", fwd)
		a.handle("DELETE "+path, perm+".delete", fwd)
	}
	collection(o+"/developers", "apigee.developers")
	item(o+"/developers/{developer}", "apigee.developers")
	// Attributes sub-resources, with the permissions Apigee documents for
	// them (apigee.developerattributes.*, …): list and replace-all on the
	// collection, get, update and delete on one attribute.
	attributes := func(path, perm string) {
		a.handle("GET "+path, perm+".list", fwd)
		a.handle("POST "+path, perm+".createOrUpdateAll", fwd)
		a.handle("GET "+path+"/{attribute}", perm+".get", fwd)
		a.handle("POST "+path+"/{attribute}", perm+".update", fwd)
		a.handle("DELETE "+path+"/{attribute}", perm+".delete", fwd)
	}
	attributes(o+"/developers/{developer}/attributes", "apigee.developerattributes")
	attributes(o+"/developers/{developer}/apps/{app}/attributes", "apigee.developerappattributes")
	attributes(o+"/apiproducts/{product}/attributes", "apigee.apiproductattributes")
	collection(o+"/developers/{developer}/apps", "apigee.developerapps")
	item(o+"/developers/{developer}/apps/{rest...}", "apigee.developerapps")
	// AppGroups, their apps and the apps' keys, each method with the
	// permission Apigee documents for it: apigee.appgroups.*,
	// apigee.appgroupapps.* (update is .manage) and, for keys, the
	// apigee.appkeys.* developer app keys use too.
	const group = o + "/appgroups/{appgroup}"
	const groupApp = group + "/apps/{app}"
	const groupKey = groupApp + "/keys/{key}"
	a.handle("GET "+o+"/appgroups", "apigee.appgroups.list", fwd)
	a.handle("POST "+o+"/appgroups", "apigee.appgroups.create", fwd)
	a.handle("GET "+group, "apigee.appgroups.get", fwd)
	a.handle("PUT "+group, "apigee.appgroups.update", fwd)
	a.handle("DELETE "+group, "apigee.appgroups.delete", fwd)
	a.handle("GET "+group+"/apps", "apigee.appgroupapps.list", fwd)
	a.handle("POST "+group+"/apps", "apigee.appgroupapps.create", fwd)
	a.handle("GET "+groupApp, "apigee.appgroupapps.get", fwd)
	a.handle("PUT "+groupApp, "apigee.appgroupapps.manage", fwd)
	a.handle("DELETE "+groupApp, "apigee.appgroupapps.delete", fwd)
	a.handle("POST "+groupApp+"/keys", "apigee.appkeys.create", fwd)
	a.handle("GET "+groupKey, "apigee.appkeys.get", fwd)
	a.handle("POST "+groupKey, "apigee.appkeys.manage", fwd)
	a.handle("DELETE "+groupKey, "apigee.appkeys.delete", fwd)
	a.handle("POST "+groupKey+"/apiproducts/{product}", "apigee.appkeys.manage", fwd)
	a.handle("DELETE "+groupKey+"/apiproducts/{product}", "apigee.appkeys.delete", fwd)
	a.handle("GET "+o+"/apps", "apigee.apps.list", fwd)
	a.handle("GET "+o+"/apps/{app}", "apigee.apps.get", fwd)
	collection(o+"/apiproducts", "apigee.apiproducts")
	item(o+"/apiproducts/{rest...}", "apigee.apiproducts")
	// organizations.environments.caches.delete, the only method Apigee has
	// on environment caches: the cache policies' entries live in the
	// runtime plane's Cassandra, so MART clears them.
	a.handle("DELETE "+o+"/environments/{env}/caches/{cache}", "apigee.caches.delete", fwd)
	// The emulator's own quota reset (no Apigee equivalent): the counters
	// live in the runtime plane's Cassandra, so MART resets them.
	a.handle("POST "+o+"/environments/{env}/apis/{api}/quotaCounters:reset", iam.PermResetQuota, fwd)
	for _, base := range []string{o, o + "/environments/{env}", o + "/apis/{api}"} {
		collection(base+"/keyvaluemaps", "apigee.keyvaluemaps")
		item(base+"/keyvaluemaps/{map}", "apigee.keyvaluemaps")
		collection(base+"/keyvaluemaps/{map}/entries", "apigee.keyvaluemapentries")
		item(base+"/keyvaluemaps/{map}/entries/{rest...}", "apigee.keyvaluemapentries")
	}
}

// MountConnections serves Apigee Connect's REST ListConnections
// (GET /v1/projects/{project}/endpoints/{endpoint}/connections) with h.
// Callers are authenticated here; h checks apigeeconnect.connections.list
// itself with the Connect service's Authorizer, which also audits it.
func (a *API) MountConnections(h http.Handler) {
	const pattern = "GET /v1/projects/{project}/endpoints/{endpoint}/connections"
	a.addRoute(pattern, "apigeeconnect.connections.list", RouteConnect)
	a.route(pattern, h)
}

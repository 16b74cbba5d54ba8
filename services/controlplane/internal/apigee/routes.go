package apigee

import "net/http"

// Routes lists every endpoint the mock control plane serves, for docs and
// the startup log.
func (a *API) routes() {
	const o = "/v1/organizations/{org}"
	h := a.handle

	h("GET /v1/organizations", "apigee.organizations.list", a.listOrgs)
	h("POST /v1/organizations", "apigee.organizations.create", a.createOrg)
	h("GET "+o, "apigee.organizations.get", a.getOrg)
	h("PUT "+o, "apigee.organizations.update", a.updateOrg)

	h("GET "+o+"/operations", "apigee.operations.list", a.listOperations)
	h("GET "+o+"/operations/{id}", "apigee.operations.get", a.getOperation)

	h("GET "+o+"/environments", "apigee.environments.list", a.listEnvs)
	h("POST "+o+"/environments", "apigee.environments.create", a.createEnv)
	h("GET "+o+"/environments/{env}", "apigee.environments.get", a.getEnv)
	h("PUT "+o+"/environments/{env}", "apigee.environments.update", a.updateEnv)
	h("DELETE "+o+"/environments/{env}", "apigee.environments.delete", a.deleteEnv)

	h("GET "+o+"/envgroups", "apigee.envgroups.list", a.listGroups)
	h("POST "+o+"/envgroups", "apigee.envgroups.create", a.createGroup)
	h("GET "+o+"/envgroups/{group}", "apigee.envgroups.get", a.getGroup)
	h("PATCH "+o+"/envgroups/{group}", "apigee.envgroups.update", a.patchGroup)
	h("DELETE "+o+"/envgroups/{group}", "apigee.envgroups.delete", a.deleteGroup)
	h("GET "+o+"/envgroups/{group}/attachments", "apigee.envgroupattachments.list", a.listAttachments)
	h("POST "+o+"/envgroups/{group}/attachments", "apigee.envgroupattachments.create", a.createAttachment)
	h("GET "+o+"/envgroups/{group}/attachments/{id}", "apigee.envgroupattachments.get", a.getAttachment)
	h("DELETE "+o+"/envgroups/{group}/attachments/{id}", "apigee.envgroupattachments.delete", a.deleteAttachment)

	h("GET "+o+"/deployments", "apigee.deployments.list", a.listOrgDeployments)
	h("GET "+o+"/environments/{env}/deployments", "apigee.deployments.list", a.listEnvDeployments)

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

	// Runtime plane (internal): watchers report status, synchronizers fetch
	// contracts.
	h("POST "+o+"/environments/{env}/runtimeStatus", "apigee.runtime.reportStatus", a.runtimeStatus)
	h("GET "+o+"/environments/{env}/contract/version", "apigee.runtime.getContract", a.contractVersion)
	h("GET "+o+"/environments/{env}/contract", "apigee.runtime.getContract", a.getContract)
}

// Handler returns the API as an http.Handler.
func (a *API) Handler() http.Handler { return a }

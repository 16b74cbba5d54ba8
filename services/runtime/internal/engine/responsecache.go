package engine

import (
	"fmt"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
)

// checkResponseCache refuses a proxy that attaches one ResponseCache
// policy more than once on the request path, or more than once on the
// response path, across all its ProxyEndpoint and TargetEndpoint flows:
// the policy looks up on the request path and populates on the response
// path, so a second attachment on either has no meaning. These are
// Apigee's deployment errors ResponseCacheStepAttachmentNotAllowedReq and
// …Resp, with its messages.
func (c *compiler) checkResponseCache() error {
	seen := map[string]map[bool]bool{} // policy → on the response path? → attached
	check := func(file, flowName string, f *bundle.Flow) error {
		if f == nil {
			return nil
		}
		for _, path := range []struct {
			response bool
			steps    []bundle.Step
		}{{false, f.Request}, {true, f.Response}} {
			for _, s := range path.steps {
				if pol := c.bundle.Policies[s.Name]; pol == nil || pol.Type != "ResponseCache" {
					continue
				}
				if seen[s.Name] == nil {
					seen[s.Name] = map[bool]bool{}
				}
				dir, code := "Request", "ResponseCacheStepAttachmentNotAllowedReq"
				if path.response {
					dir, code = "Response", "ResponseCacheStepAttachmentNotAllowedResp"
				}
				if seen[s.Name][path.response] {
					return c.errf(file, flowName+"/"+dir+"/Step "+s.Name, fmt.Sprintf("%s: Response cache step definition %s can not be attached more than once in the %s path.",
						code, s.Name, map[bool]string{false: "request", true: "response"}[path.response]))
				}
				seen[s.Name][path.response] = true
			}
		}
		return nil
	}
	endpoint := func(file string, pre *bundle.Flow, flows []bundle.Flow, post *bundle.Flow) error {
		if err := check(file, "PreFlow", pre); err != nil {
			return err
		}
		for i := range flows {
			if err := check(file, "Flow "+flows[i].Name, &flows[i]); err != nil {
				return err
			}
		}
		return check(file, "PostFlow", post)
	}
	for _, pe := range c.bundle.ProxyEndpoints {
		if err := endpoint(pe.File, pe.PreFlow, pe.Flows, pe.PostFlow); err != nil {
			return err
		}
	}
	for _, te := range c.bundle.TargetEndpoints {
		if err := endpoint(te.File, te.PreFlow, te.Flows, te.PostFlow); err != nil {
			return err
		}
	}
	return nil
}

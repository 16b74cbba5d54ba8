package engine

import (
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// Resource resolution. A policy's resource URL (jsc://a.js in Javascript's
// <ResourceURL> and <IncludeURL>, xsl://t.xsl in XSL, oas://s.yaml in
// OASValidation) is looked up as Apigee does: in the proxy revision (or
// shared flow revision) first, then in the environment's resource files,
// which the contract carries. Apigee's third scope, the organization,
// exists only in Apigee Edge; hybrid has none. Resources are read when the
// contract is compiled, and envDigest covers the environment's files, so a
// changed environment resource recompiles the proxies on the next
// contract.

// envResources indexes the contract's environment resource files by
// resource URL ("jsc://common.js"). Property sets (type properties) are
// in it too, though they are read as propertyset.* variables instead.
func envResources(c *contract.Contract) map[string][]byte {
	if len(c.ResourceFiles) == 0 {
		return nil
	}
	out := make(map[string][]byte, len(c.ResourceFiles))
	for _, rf := range c.ResourceFiles {
		out[rf.Type+"://"+rf.Name] = rf.Content
	}
	return out
}

// parseOptions are the bundle parse options of a deployment in this
// environment: a resource reference the bundle does not satisfy is
// accepted when the environment has the file. oas:// references are
// always accepted here so that the OASValidation policy itself reports a
// missing spec with Apigee's ResourceDoesNotExist.
func (ec *envCompiler) parseOptions() bundle.Options {
	return bundle.Options{
		Limits: bundle.DefaultLimits(),
		ResourceExists: func(url string) bool {
			if _, ok := ec.envRes[url]; ok {
				return true
			}
			return strings.HasPrefix(url, "oas://")
		},
	}
}

// resource resolves a resource URL for the bundle's policies: the bundle's
// own file, else the environment's.
func (c *compiler) resource(url string) ([]byte, bool) {
	if data, ok := c.bundle.Resources[url]; ok {
		return data, true
	}
	data, ok := c.ec.envRes[url]
	return data, ok
}

// resourceFile names where a resolved resource came from, for errors.
func (c *compiler) resourceFile(url string) string {
	typ, name, _ := strings.Cut(url, "://")
	if _, ok := c.bundle.Resources[url]; ok {
		return c.bundle.Kind.Root() + "/resources/" + typ + "/" + name
	}
	return "environment " + c.ec.env.Name + " resource file " + typ + "/" + name
}

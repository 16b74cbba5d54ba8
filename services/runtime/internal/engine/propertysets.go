package engine

import (
	"fmt"
	"regexp"
	"strings"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

// envPropertySets parses the contract's environment-scoped property sets
// (resource files of type properties). The control plane validated them
// on upload; one that does not parse is logged and left out, so that
// proxies referencing it fail to deploy naming the set.
func envPropertySets(c *contract.Contract, log *zap.Logger) map[string]map[string]string {
	var out map[string]map[string]string
	for _, rf := range c.ResourceFiles {
		if rf.Type != "properties" {
			continue
		}
		// The resource may be named "myProps" or "myProps.properties".
		set, err := bundle.PropertySetName(strings.TrimSuffix(rf.Name, bundle.PropertySetSuffix) + bundle.PropertySetSuffix)
		if err == nil {
			var props map[string]string
			if props, err = bundle.ParseProperties(rf.Content); err == nil {
				if out == nil {
					out = map[string]map[string]string{}
				}
				out[set] = props
				continue
			}
		}
		log.Warn("environment property set ignored", zap.String("org", c.Organization), zap.String("env", c.Environment),
			zap.String("resourcefile", rf.Name), zap.Error(err))
	}
	return out
}

// propertySetRefRE finds propertyset.<set>.<key> references in policy
// XML, conditions, templates and scripts.
var propertySetRefRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.$])propertyset\.([A-Za-z0-9_\-][A-Za-z0-9_.\-]*)`)

// missingPropertySet returns the name of the first property set that text
// references and sets lacks, or "".
func missingPropertySet(sets flow.PropertySets, text string) string {
	if !strings.Contains(text, "propertyset.") {
		return ""
	}
	for _, m := range propertySetRefRE.FindAllStringSubmatch(text, -1) {
		if ok, set := sets.Resolves(strings.TrimRight(m[1], ".")); !ok {
			return set
		}
	}
	return ""
}

// checkPropertySets fails the deployment when text (a condition, a URL,
// a policy file) references a property set that is neither in the bundle
// nor in the environment.
func (c *compiler) checkPropertySets(file, element, text string) error {
	set := missingPropertySet(c.propSets, text)
	if set == "" {
		return nil
	}
	return c.errf(file, element, fmt.Sprintf("property set %q does not exist: it is neither in the bundle (%s/resources/properties/%s.properties) nor an environment property set of %s",
		set, c.bundle.Kind.Root(), set, c.ec.env.Name))
}

// checkPolicyPropertySets checks a policy file and the scripts it includes.
func (c *compiler) checkPolicyPropertySets(pol *bundle.Policy) error {
	if err := c.checkPropertySets(pol.File, pol.Type, string(pol.XML)); err != nil {
		return err
	}
	for _, ref := range pol.ResourceURLs {
		if !strings.HasPrefix(ref, "jsc://") {
			continue
		}
		// The script the policy will run: the bundle's, else the
		// environment's.
		if data, ok := c.resource(ref); ok {
			if err := c.checkPropertySets(c.resourceFile(ref), "", string(data)); err != nil {
				return err
			}
		}
	}
	return nil
}

// withPropertySets makes mc see sets (a shared flow with property sets of
// its own) until the returned func restores the caller's view. The
// caller's *flow.Proxy is shared by concurrent requests, so it is copied,
// not modified.
func withPropertySets(mc *flow.MessageContext, sets flow.PropertySets) func() {
	saved := mc.Proxy
	p := *saved
	p.PropertySets = sets
	mc.Proxy = &p
	return func() { mc.Proxy = saved }
}

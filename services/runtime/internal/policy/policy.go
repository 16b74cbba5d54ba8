// Package policy maps policy types (the root element of a policy file) to
// their compilers. Each policy type lives in its own package below this one.
package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/accessentity"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/assertcondition"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/assignmessage"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/basicauth"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/cache"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/cors"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/extractvariables"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/flowcallout"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/hmac"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/javascript"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/jwt"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/kvm"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/messagelogging"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/oasvalidation"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/oauthv2"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/quota"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/raisefault"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/servicecallout"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/spikearrest"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/statistics"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/threatprotection"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/verifyapikey"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmljson"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xsl"
)

// Compiler compiles one policy file.
type Compiler func(cc *flow.CompileContext) (flow.Policy, error)

// compilers lists the supported policy types. It is built once and never
// modified.
var compilers = map[string]Compiler{
	"AssignMessage":               assignmessage.Compile,
	"RaiseFault":                  raisefault.Compile,
	"Javascript":                  javascript.Compile,
	"ExtractVariables":            extractvariables.Compile,
	"FlowCallout":                 flowcallout.Compile,
	"ServiceCallout":              servicecallout.Compile,
	"MessageLogging":              messagelogging.Compile,
	"XMLToJSON":                   xmljson.CompileXMLToJSON,
	"XSL":                         xsl.Compile,
	"JSONToXML":                   xmljson.CompileJSONToXML,
	"StatisticsCollector":         statistics.Compile,
	"AssertCondition":             assertcondition.Compile,
	"RegularExpressionProtection": threatprotection.CompileRegex,
	"JSONThreatProtection":        threatprotection.CompileJSON,
	"XMLThreatProtection":         threatprotection.CompileXML,
	"OASValidation":               oasvalidation.Compile,
	// Runtime data (Cassandra through rtdata).
	"VerifyAPIKey":          verifyapikey.Compile,
	"AccessEntity":          accessentity.Compile,
	"BasicAuthentication":   basicauth.Compile,
	"OAuthV2":               oauthv2.Compile,
	"GetOAuthV2Info":        oauthv2.CompileGetInfo,
	"SetOAuthV2Info":        oauthv2.CompileSetInfo,
	"DeleteOAuthV2Info":     oauthv2.CompileDeleteInfo,
	"RevokeOAuthV2":         oauthv2.CompileRevoke,
	"Quota":                 quota.Compile,
	"ResetQuota":            quota.CompileReset,
	"SpikeArrest":           spikearrest.Compile,
	"KeyValueMapOperations": kvm.Compile,
	"PopulateCache":         cache.CompilePopulate,
	"LookupCache":           cache.CompileLookup,
	"InvalidateCache":       cache.CompileInvalidate,
	"ResponseCache":         cache.CompileResponse,
	"CORS":                  cors.Compile,
	// JOSE and HMAC.
	"GenerateJWT": jwt.CompileGenerateJWT,
	"VerifyJWT":   jwt.CompileVerifyJWT,
	"DecodeJWT":   jwt.CompileDecodeJWT,
	"GenerateJWS": jwt.CompileGenerateJWS,
	"VerifyJWS":   jwt.CompileVerifyJWS,
	"DecodeJWS":   jwt.CompileDecodeJWS,
	"HMAC":        hmac.Compile,
}

// namespaces are the prefixes of "<ns>.<policy>.failed" that differ from
// the lower-cased type name.
var namespaces = map[string]string{
	"JSONThreatProtection":        "jsonattack",
	"XMLThreatProtection":         "xmlattack",
	"RegularExpressionProtection": "regularexpressionprotection",
	"XMLToJSON":                   "xmltojson",
	"JSONToXML":                   "jsontoxml",
	"OAuthV2":                     "oauthV2",
	"Quota":                       "ratelimit",
	"SpikeArrest":                 "ratelimit",
	"KeyValueMapOperations":       "keyvaluemap",
	"GenerateJWT":                 "jwt",
	"VerifyJWT":                   "jwt",
	"DecodeJWT":                   "jwt",
	"GenerateJWS":                 "jws",
	"VerifyJWS":                   "jws",
	"DecodeJWS":                   "jws",
}

// Compile compiles cc.Policy. An unsupported type is a compile error that
// lists what this runtime supports.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	c, ok := compilers[cc.Policy.Type]
	if !ok {
		return nil, flow.Invalid(cc.Policy.Type, "policy type %s is not supported by this runtime (supported: %s)", cc.Policy.Type, strings.Join(Supported(), ", "))
	}
	p, err := c(cc)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("policy %s compiled to nothing", cc.Policy.Name)
	}
	return p, nil
}

// Namespace is the prefix of the policy type's flow variables.
func Namespace(typ string) string {
	if ns, ok := namespaces[typ]; ok {
		return ns
	}
	return strings.ToLower(typ)
}

// Supported lists the supported policy types, sorted.
func Supported() []string {
	out := make([]string, 0, len(compilers))
	for t := range compilers {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

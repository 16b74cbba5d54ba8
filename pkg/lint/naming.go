package lint

import "strings"

// typePrefixes are the name prefixes that tell a policy's type, the
// convention apigeelint's PO007 and Apigee's own samples follow
// ("AM-SetHeaders", "VA-VerifyKey", "JS-Transform"). A name follows it when
// the part before its first "-" or "." is one of the type's prefixes, in
// any case. The first prefix is the one suggested in messages. Types not
// listed here are not checked.
var typePrefixes = map[string][]string{
	"AccessControl":               {"AC", "accesscontrol", "accessc"},
	"AccessEntity":                {"AE", "accessentity", "accesse"},
	"AssertCondition":             {"AC", "assert", "assertcondition"},
	"AssignMessage":               {"AM", "assignmessage", "assign", "set", "add", "build", "response", "send"},
	"BasicAuthentication":         {"BA", "basicauth", "auth", "encode", "decode"},
	"CORS":                        {"CORS"},
	"DataCapture":                 {"DC", "datacapture"},
	"DecodeJWS":                   {"DecodeJWS", "jws"},
	"DecodeJWT":                   {"DecodeJWT", "jwt"},
	"DeleteOAuthV2Info":           {"OAuthV2", "oauth"},
	"ExternalCallout":             {"EC", "externalcallout", "external", "extc"},
	"ExtractVariables":            {"EV", "extractvariables", "extract", "vars"},
	"FlowCallout":                 {"FC", "flowcallout", "flow"},
	"GenerateJWS":                 {"GJWS", "generatejws", "jws"},
	"GenerateJWT":                 {"GJWT", "generatejwt", "jwt"},
	"GenerateSAMLAssertion":       {"SAML", "generatesaml", "sa"},
	"GetOAuthV2Info":              {"OAuthV2", "oauth", "getoauth", "oauthinfo", "oai", "accesstoken"},
	"GraphQL":                     {"GQL", "graphql", "gq"},
	"HMAC":                        {"HMAC"},
	"HTTPModifier":                {"HTTPM", "httpmodifier", "mod"},
	"IntegrationCallout":          {"IC", "integrationcallout", "integration", "callout"},
	"InvalidateCache":             {"IC", "invalidatecache", "invalidate", "cache"},
	"JSONThreatProtection":        {"JTP", "jsonthreat", "jsontp", "threat", "tp"},
	"JSONToXML":                   {"J2X", "jsontoxml", "jtox"},
	"JavaCallout":                 {"Java", "javacallout", "javac"},
	"Javascript":                  {"JS", "jsc", "javascript"},
	"KeyValueMapOperations":       {"KVM", "kv", "kvmops", "keyvaluemapoperations"},
	"Ldap":                        {"LDAP"},
	"LookupCache":                 {"LC", "lookup", "lookupcache", "cache"},
	"MessageLogging":              {"ML", "messagelogging", "logging"},
	"MessageValidation":           {"MV", "messagevalidation", "messval"},
	"OASValidation":               {"OAS", "oasvalidation"},
	"OAuthV2":                     {"OAuthV2", "oauth", "oa", "accesstoken", "verify"},
	"PopulateCache":               {"PC", "populate", "populatecache", "cache"},
	"PublishMessage":              {"PM", "publishmessage", "publish"},
	"Quota":                       {"Q", "quota"},
	"RaiseFault":                  {"RF", "raisefault", "raise", "fault"},
	"RegularExpressionProtection": {"RE", "regex", "tp"},
	"ResetQuota":                  {"RQ", "resetquota"},
	"ResponseCache":               {"RC", "responsecache", "cache"},
	"RevokeOAuthV2":               {"OAuthV2", "oauthrevoke", "oar", "accesstoken"},
	"Script":                      {"Script", "scr"},
	"ServiceCallout":              {"SC", "callout"},
	"SetIntegrationRequest":       {"SIR", "setintegrationrequest", "integration"},
	"SetOAuthV2Info":              {"OAuthV2", "oauthv2info", "oauthinfo", "oai", "accesstoken"},
	"SpikeArrest":                 {"SA", "spikearrest", "spike"},
	"StatisticsCollector":         {"Stats", "statcoll"},
	"TraceCapture":                {"TC", "tracecapture"},
	"ValidateSAMLAssertion":       {"SAML", "validatesaml", "sa"},
	"VerifyAPIKey":                {"VA", "verifyapikey", "apikey", "verify"},
	"VerifyIAM":                   {"VIAM", "verifyiam", "iam"},
	"VerifyJWS":                   {"VJWS", "verifyjws", "jws"},
	"VerifyJWT":                   {"VJWT", "verifyjwt", "jwt"},
	"XMLThreatProtection":         {"XTP", "xmltp", "tp"},
	"XMLToJSON":                   {"X2J", "xmltojson", "xtoj"},
	"XSL":                         {"XSL"},
}

// nameFollowsConvention reports whether a policy's name starts with one of
// its type's prefixes and a separator ("AM-x", "am.x"), or is the type's
// own name ("CORS", "Quota"). A bare prefix ("AM", "SC") says the type but
// nothing else, so, like apigeelint, it does not pass.
func nameFollowsConvention(typ, name string) bool {
	prefixes, ok := typePrefixes[typ]
	if !ok || strings.EqualFold(name, typ) {
		return true
	}
	i := strings.IndexAny(name, "-.")
	if i <= 0 || i == len(name)-1 {
		return false
	}
	for _, p := range prefixes {
		if strings.EqualFold(name[:i], p) {
			return true
		}
	}
	return false
}

// suggestedPrefix is the prefix a message suggests for a type.
func suggestedPrefix(typ string) string {
	if p := typePrefixes[typ]; len(p) > 0 {
		return p[0]
	}
	return typ
}

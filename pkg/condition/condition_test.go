package condition

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type evalCase struct {
	cond string
	vars MapResolver
	want bool
}

func runEval(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		name := tc.cond
		if len(tc.vars) > 0 {
			name += fmt.Sprintf(" %v", map[string]any(tc.vars))
		}
		t.Run(name, func(t *testing.T) {
			c, err := Parse(tc.cond)
			require.NoError(t, err)
			require.Equal(t, tc.want, c.Eval(tc.vars), "condition %q (canonical %q)", tc.cond, c.String())
			// The canonical form must evaluate the same way.
			c2, err := Parse(c.String())
			require.NoError(t, err, "canonical form %q must re-parse", c.String())
			require.Equal(t, tc.want, c2.Eval(tc.vars), "canonical form %q", c.String())
		})
	}
}

func TestOperatorsWordAndSymbol(t *testing.T) {
	v := MapResolver{
		"request.verb":         "GET",
		"proxy.pathsuffix":     "/pets/123",
		"response.status.code": 404,
		"name":                 "Alice",
	}
	type opCase struct {
		forms []string // every spelling of the operator
		rhs   string
		lhs   string
		want  bool
	}
	cases := []opCase{
		{[]string{"=", "==", "Equals", "equals", "EQUALS", "Is", "is", "IS"}, `"GET"`, "request.verb", true},
		{[]string{"=", "==", "Equals", "Is"}, `"get"`, "request.verb", false},
		{[]string{"!=", "NotEquals", "notequals", "IsNot", "isnot", "ISNOT"}, `"POST"`, "request.verb", true},
		{[]string{"!=", "NotEquals", "IsNot"}, `"GET"`, "request.verb", false},
		{[]string{":=", "EqualsCaseInsensitive", "equalscaseinsensitive"}, `"get"`, "request.verb", true},
		{[]string{":=", "EqualsCaseInsensitive"}, `"post"`, "request.verb", false},
		{[]string{">", "&gt;", "GreaterThan", "greaterthan"}, "400", "response.status.code", true},
		{[]string{">", "&gt;", "GreaterThan"}, "404", "response.status.code", false},
		{[]string{">=", "&gt;=", "GreaterThanOrEquals", "greaterthanorequals"}, "404", "response.status.code", true},
		{[]string{">=", "&gt;=", "GreaterThanOrEquals"}, "405", "response.status.code", false},
		{[]string{"<", "&lt;", "LesserThan", "lesserthan"}, "500", "response.status.code", true},
		{[]string{"<", "&lt;", "LesserThan"}, "404", "response.status.code", false},
		{[]string{"<=", "&lt;=", "LesserThanOrEquals", "LESSERTHANOREQUALS"}, "404", "response.status.code", true},
		{[]string{"<=", "&lt;=", "LesserThanOrEquals"}, "403", "response.status.code", false},
		{[]string{"~~", "JavaRegex", "javaregex"}, `"/pets/[0-9]+"`, "proxy.pathsuffix", true},
		{[]string{"~~", "JavaRegex"}, `"/pets"`, "proxy.pathsuffix", false},
		{[]string{"~/", "MatchesPath", "matchespath", "LikePath", "likepath"}, `"/pets/*"`, "proxy.pathsuffix", true},
		{[]string{"~/", "MatchesPath", "LikePath"}, `"/*"`, "proxy.pathsuffix", false},
		{[]string{"~", "Matches", "matches", "Like", "LIKE"}, `"/p*3"`, "proxy.pathsuffix", true},
		{[]string{"~", "Matches", "Like"}, `"/P*"`, "proxy.pathsuffix", false},
		{[]string{"=|", "StartsWith", "startswith", "STARTSWITH"}, `"/pets/"`, "proxy.pathsuffix", true},
		{[]string{"=|", "StartsWith"}, `"/Pets"`, "proxy.pathsuffix", false},
	}
	var ec []evalCase
	for _, oc := range cases {
		for _, f := range oc.forms {
			ec = append(ec, evalCase{oc.lhs + " " + f + " " + oc.rhs, v, oc.want})
			// Symbols also work without surrounding spaces.
			if !isIdentStart(f[0]) {
				ec = append(ec, evalCase{oc.lhs + f + oc.rhs, v, oc.want})
			}
		}
	}
	runEval(t, ec)
}

func TestLogicalOperators(t *testing.T) {
	v := MapResolver{"t": true, "f": false}
	runEval(t, []evalCase{
		{"t and t", v, true},
		{"t AND f", v, false},
		{"t && t", v, true},
		{"t&&f", v, false},
		{"f or t", v, true},
		{"f OR f", v, false},
		{"f || t", v, true},
		{"f||f", v, false},
		{"not f", v, true},
		{"NOT t", v, false},
		{"Not f", v, true},
		{"!f", v, true},
		{"! t", v, false},
		{"!!t", v, true},
		{"not not t", v, true},
		{"not(f)", v, true},
		{"!(t)", v, false},
		{"(t)", v, true},
		{"((((t))))", v, true},
		{"((t and (f or (t and t))))", v, true},
		{"t and (f or (t and f))", v, false},
	})
}

func TestPrecedenceAndAssociativity(t *testing.T) {
	// and binds tighter than or (Java precedence, per the Conditions reference).
	for _, a := range []bool{false, true} {
		for _, b := range []bool{false, true} {
			for _, c := range []bool{false, true} {
				v := MapResolver{"a": a, "b": b, "c": c}
				runEval(t, []evalCase{
					{"a and b or c", v, (a && b) || c},
					{"a or b and c", v, a || (b && c)},
					{"a && b || c", v, (a && b) || c},
					{"a || b && c", v, a || (b && c)},
					{"a and (b or c)", v, a && (b || c)},
					{"(a or b) and c", v, (a || b) && c},
					{"not a and b", v, !a && b},
					{"not a or b", v, !a || b},
					{"not (a and b)", v, !(a && b)},
					{"!a || !b && c", v, !a || (!b && c)},
					{"a or b or c", v, a || b || c},
					{"a and b and c", v, a && b && c},
					{"a = true and b = true or c = true", v, (a && b) || c},
				})
			}
		}
	}
	// not negates the whole comparison.
	v := MapResolver{"x": "y"}
	runEval(t, []evalCase{
		{`!x = "y"`, v, false},
		{`not x = "z"`, v, true},
		{`!(x = "y")`, v, false},
	})
}

func TestCanonicalString(t *testing.T) {
	cases := []struct{ in, want string }{
		{`request.verb = "GET"`, `request.verb = "GET"`},
		{`request.verb=="GET"`, `request.verb = "GET"`},
		{`request.verb Is "GET"`, `request.verb = "GET"`},
		{`request.verb isnot "GET"`, `request.verb != "GET"`},
		{`a EQUALSCASEINSENSITIVE "x"`, `a EqualsCaseInsensitive "x"`},
		{`a := "x"`, `a EqualsCaseInsensitive "x"`},
		{`a ~/ "/x"`, `a MatchesPath "/x"`},
		{`a LikePath "/x"`, `a MatchesPath "/x"`},
		{`a ~ "x*"`, `a Matches "x*"`},
		{`a like "x*"`, `a Matches "x*"`},
		{`a ~~ "x+"`, `a JavaRegex "x+"`},
		{`a =| "x"`, `a StartsWith "x"`},
		{`a &gt;= 1`, `a >= 1`},
		{`a lesserthan 1.5`, `a < 1.5`},
		{`(a = "1") and (b = "2")`, `a = "1" and b = "2"`},
		{`(a and b) or c`, `a and b or c`},
		{`a and (b or c)`, `a and (b or c)`},
		{`a and (b and c)`, `a and b and c`},
		{`(a or b) or (c or d)`, `a or b or c or d`},
		{`!(a = "b")`, `not a = "b"`},
		{`!a`, `not a`},
		{`!!a`, `not not a`},
		{`!(!(a))`, `not not a`},
		{`not (a or b) and c`, `not (a or b) and c`},
		{`not (a and b)`, `not (a and b)`},
		{`x = null`, `x = null`},
		{`x != true`, `x != true`},
		{`x = -1.5`, `x = -1.5`},
		{`x = 12L`, `x = 12L`},
		{`x = "say \"hi\""`, `x = "say \"hi\""`},
		{`x ~~ "\d+"`, `x JavaRegex "\d+"`},
		{`'request.header.help!me' = "x"`, `'request.header.help!me' = "x"`},
		{`'plain' = "x"`, `plain = "x"`},
		{`'is' = 'and'`, `'is' = 'and'`},
		{`a = b`, `a = b`},
		{`true`, `true`},
		{`false`, `false`},
		{`null`, `false`},
		{``, ``},
		{"  \n\t ", ``},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			c := MustParse(tc.in)
			require.Equal(t, tc.want, c.String())
			require.Equal(t, tc.want, MustParse(c.String()).String(), "canonical form must be a fixed point")
			require.Equal(t, tc.in, c.Source())
		})
	}
}

func TestLiteralsAndTruthiness(t *testing.T) {
	v := MapResolver{
		"bt": true, "bf": false,
		"st": "true", "sf": "false", "sF": "FALSE", "empty": "",
		"s": "x", "zero": 0, "one": 1, "nilv": nil,
	}
	runEval(t, []evalCase{
		{"true", nil, true},
		{"false", nil, false},
		{"null", nil, false},
		{"", nil, true},
		{"   ", nil, true},
		{"bt", v, true},
		{"bf", v, false},
		{"st", v, true},
		{"sf", v, false},
		{"sF", v, false},
		{"empty", v, false},
		{"s", v, true},
		{"zero", v, true},
		{"one", v, true},
		{"nilv", v, false},
		{"missing", v, false},
		{"!missing", v, true},
		{"bt = true", v, true},
		{"bt is true", v, true},
		{"bf = false", v, true},
		{"bt = false", v, false},
		{"st = true", v, true},   // Boolean x String compares as String: "true" = "true"
		{"sF = false", v, false}, // "FALSE" != "false"
		{`bt = "true"`, v, true},
		{"bt = 1", v, true}, // Boolean x Integer compares as Integer
		{"bf = 0", v, true},
		{"bt != bf", v, true},
		{"bt > bf", v, true},
		{"bt = bt", v, true},
		{"missing = false", v, false},
	})
}

func TestNullOperands(t *testing.T) {
	v := MapResolver{"present": "x", "code": 404, "nilv": nil}
	runEval(t, []evalCase{
		// = null / != null — the idioms from real bundles.
		{"missing = null", v, true},
		{"missing is null", v, true},
		{"missing == null", v, true},
		{"nilv = null", v, true},
		{"present = null", v, false},
		{"present != null", v, true},
		{"present IsNot null", v, true},
		{"missing != null", v, false},
		{"missing NotEquals null", v, false},
		// Missing compared with a string.
		{`missing = "x"`, v, false},
		{`missing != "x"`, v, true},
		{`missing := "x"`, v, false},
		{`missing =| "x"`, v, false},
		{`missing ~ "*"`, v, false},
		{`missing ~~ ".*"`, v, false},
		{`missing ~/ "/**"`, v, false},
		{`missing ~/ "**"`, v, false},
		// Both null.
		{"missing = other", v, true},
		{"missing := other", v, true},
		{"missing != other", v, false},
		{"missing =| other", v, false},
		// The reference's table for relational operators, row by row.
		{"missing > 5", v, true},
		{"code > missing", v, false},
		{"missing > other", v, false},
		{"missing >= 5", v, false},
		{"code >= missing", v, true},
		{"missing >= other", v, true},
		{"missing < 5", v, true},
		{"code < missing", v, false},
		{"missing < other", v, false},
		{"missing <= 5", v, true},
		{"code <= missing", v, false},
		{"missing <= other", v, true},
		// RHS null for pattern operators is "n/a": false.
		{"present ~~ null", v, false},
		{"present ~/ null", v, false},
		{"present ~ null", v, false},
		{"present =| null", v, false},
		{"present = missing", v, false},
		{"present != missing", v, true},
	})
	// A nil Resolver means nothing is set.
	require.True(t, MustParse("x = null").Eval(nil))
	require.False(t, MustParse(`x = "a"`).Eval(nil))
}

func TestComparisonTyping(t *testing.T) {
	v := MapResolver{
		"code":    404,
		"code64":  int64(404),
		"codeStr": "404",
		"codeF":   404.0,
		"half":    0.5,
		"big":     uint64(math.MaxUint64),
		"nine":    "9",
		"ten":     "10",
		"one":     "1",
		"oneDot":  "1.0",
		"abc":     "abc",
		"neg":     "-3",
		"i8":      int8(-3),
		"f32":     float32(1.5),
		"nan":     math.NaN(),
		"bytes":   []byte("GET"),
	}
	runEval(t, []evalCase{
		// Number literal vs numeric variables of every flavour.
		{"code = 404", v, true},
		{"code64 = 404", v, true},
		{"codeStr = 404", v, true},
		{"codeF = 404", v, true},
		{"code >= 400", v, true},
		{"codeStr >= 400", v, true},
		{"codeStr > 1000", v, false}, // numeric, not "404" > "1000"
		{"code < 1000", v, true},
		{"code = 404.0", v, true},
		{"code = 404.0d", v, true},
		{"code = 404L", v, true},
		{"half < 1", v, true},
		{"half = .5", v, true},
		{"half = 0.5f", v, true},
		{"neg < -2", v, true},
		{"i8 = -3", v, true},
		{"f32 = 1.5", v, true},
		{"big > 1", v, true},
		{"nine < 10", v, true},
		// Number vs quoted string: numeric when the string is numeric.
		{`code = "404"`, v, true},
		{`code = "404.0"`, v, true},
		{`code >= "400"`, v, true},
		{`code = "abc"`, v, false},
		{`code != "abc"`, v, true},
		{`code < "abc"`, v, true}, // string order: "404" < "abc"
		// String vs string: always a string comparison.
		{`codeStr = "404"`, v, true},
		{`one = "1.0"`, v, false},
		{`oneDot = "1.0"`, v, true},
		{`nine > "10"`, v, true}, // lexicographic, as Apigee compares two Strings
		{"nine > ten", v, true},
		{`abc > "abb"`, v, true},
		{`abc < "abd"`, v, true},
		{`abc >= "abc"`, v, true},
		{`abc <= "ab"`, v, false},
		// Variables on the right.
		{"code = codeStr", v, true},
		{"code = code64", v, true},
		{"codeStr = code", v, true},
		{"one = oneDot", v, false},
		// NaN is unordered.
		{"nan = 1", v, false},
		{"nan != 1", v, true},
		{"nan > 1", v, false},
		{"nan <= 1", v, false},
		// Other Go types go through their string form.
		{`bytes = "GET"`, v, true},
		// Pattern operators on numbers use the string form.
		{`code ~~ "4\d\d"`, v, true},
		{`code =| "4"`, v, true},
		{`codeF ~ "40*"`, v, true},
		{`half ~~ "0\.5"`, v, true},
		// Non-string RHS literals are fine for string operators.
		{`codeStr =| 40`, v, true},
		{`codeStr ~~ 404`, v, true},
	})
}

func TestEqualsCaseInsensitive(t *testing.T) {
	v := MapResolver{"h": "Application/JSON", "u": "ÉCOLE", "n": 5}
	runEval(t, []evalCase{
		{`h := "application/json"`, v, true},
		{`h EqualsCaseInsensitive "APPLICATION/JSON"`, v, true},
		{`h = "application/json"`, v, false},
		{`h := "application/xml"`, v, false},
		{`u := "école"`, v, true},
		{`n := 5`, v, true},
		{`n := "5"`, v, true},
	})
}

func TestStartsWith(t *testing.T) {
	v := MapResolver{"p": "/v1/pets", "e": ""}
	runEval(t, []evalCase{
		{`p =| "/v1"`, v, true},
		{`p StartsWith "/v1/pets"`, v, true},
		{`p StartsWith "/v1/pets/"`, v, false},
		{`p StartsWith "/V1"`, v, false},
		{`p StartsWith ""`, v, true},
		{`e StartsWith ""`, v, true},
		{`e StartsWith "x"`, v, false},
		{`p =| q`, MapResolver{"p": "/v1/pets", "q": "/v1"}, true},
	})
}

func TestJavaRegexWholeMatch(t *testing.T) {
	v := MapResolver{"w": "12345", "p": "/extensive-search/", "mixed": "abc123"}
	runEval(t, []evalCase{
		{`w ~~ "[0-9]+"`, v, true},
		{`w ~~ "[0-9]"`, v, false}, // must match the whole value
		{`w ~~ "23"`, v, false},
		{`w ~~ ".*23.*"`, v, true},
		{`w ~~ "\d{5}"`, v, true},
		{`w ~~ "^\d+$"`, v, true},
		{`mixed ~~ "[a-z]+|[a-z]+[0-9]+"`, v, true}, // alternation is grouped before anchoring
		{`mixed ~~ "(?i)ABC\d+"`, v, true},
		{`mixed ~~ "ABC\d+"`, v, false},
		{`p ~~ "/extensive-search/?"`, v, true},
		{`p JavaRegex "/extensive-search"`, v, false},
		{`w ~~ ""`, v, false},
		{`e ~~ ""`, MapResolver{"e": ""}, true},
	})
}

func TestMatchesGlob(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"/cat", "/cat", true},
		{"/cat", "/cat/", false},
		{"/cat", "/Cat", false},
		{"/*at", "/cat", true},
		{"/*at", "/bat", true},
		{"/*at", "/at", true},
		{"/*at", "/c/at", true}, // * crosses "/"
		{"/*at", "/owl", false},
		{"/*", "/pets/123", true},
		{"*", "", true},
		{"*", "anything/at/all", true},
		{"", "", true},
		{"", "x", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"a*b*c", "acb", false},
		{"*ab*ab*", "abab", true},
		{"*ab*ab*", "aba", false},
		{"**", "x", true},
		{`\*x`, "*x", true},
		{`\*x`, "ax", false},
		{`a\b`, `a\b`, true},
		{"InvalidApiKey", "InvalidApiKey", true},
		{"InvalidApiKey", "InvalidApiKeyForGivenResource", false},
		{"InvalidApiKey*", "InvalidApiKeyForGivenResource", true},
	}
	for _, tc := range cases {
		t.Run(tc.pat+" vs "+tc.s, func(t *testing.T) {
			c := MustParse(`v Matches "` + strings.ReplaceAll(tc.pat, `"`, `\"`) + `"`)
			require.Equal(t, tc.want, c.Eval(MapResolver{"v": tc.s}))
			require.Equal(t, tc.want, MustParse(c.String()).Eval(MapResolver{"v": tc.s}))
		})
	}
}

func TestMatchesPath(t *testing.T) {
	cases := []struct {
		pat, path string
		want      bool
	}{
		// Literal paths; trailing slashes are significant.
		{"/statuses", "/statuses", true},
		{"/statuses", "/statuses/", false},
		{"/statuses/", "/statuses", false},
		{"/statuses/", "/statuses/", true},
		{"/extensive-search", "/extensive-search/", false},
		{"/statuses", "/Statuses", false},
		{"/statuses", "/statuses2", false},
		{"/", "/", true},
		{"/", "", false},
		{"", "", true},
		// * is exactly one segment.
		{"/a/*", "/a/b", true},
		{"/a/*", "/a/b/", false},
		{"/a/*", "/a/b/c", false},
		{"/a/*", "/a", false},
		{"/a/*", "/a/", true}, // an empty segment
		{"/*", "/cat", true},
		{"/*", "/cat/bird", false},
		{"/*", "", false},
		{"/a/*/b", "/a/x/b", true},
		{"/a/*/b", "/a/x/y/b", false},
		{"/a/*/b", "/a/b", false},
		{"/a/*/b", "/a/x/b/", false},
		// ** is any number of segments, including none.
		{"/a/**", "/a", true},
		{"/a/**", "/a/", true},
		{"/a/**", "/a/b", true},
		{"/a/**", "/a/b/c/d", true},
		{"/a/**", "/a/b/c/", true},
		{"/a/**", "/ab", false},
		{"/a/**", "/b/a", false},
		{"/**", "", true},
		{"/**", "/", true},
		{"/**", "/anything/at/all", true},
		{"**", "", true},
		{"**", "no/leading/slash", true},
		{"/**/bird", "/bird", true},
		{"/**/bird", "/cat/bird", true},
		{"/**/bird", "/cat/wolf/bird", true},
		{"/**/bird", "/cat/bird/", false},
		{"/**/bird", "/cat/birds", false},
		{"/a/**/b/**/c", "/a/x/b/y/z/c", true},
		{"/a/**/b/**/c", "/a/b/c", true},
		{"/a/**/b/**/c", "/a/x/c", false},
		{"/a/**/feed/**", "/a/b/feed/rss/1234", true},
		{"/**/**", "/x", true},
		// Examples from the Conditions reference's path-expression table.
		{"/*/a/", "/x/a/", true},
		{"/*/a/", "/y/a/", true},
		{"/*/a/", "/y/a", false},
		{"/*/a/*", "/x/a/b", true},
		{"/*/a/*", "/y/a/foo", true},
		{"/*/a/**", "/x/a/b/c/d", true},
		{"/*/a/*/feed/", "/x/a/b/feed/", true},
		{"/*/a/*/feed/", "/y/a/foo/feed/", true},
		// Wildcards inside a segment and {name} placeholders.
		{"/v1/*.json", "/v1/pets.json", true},
		{"/v1/*.json", "/v1/pets.xml", false},
		{"/v1/*.json", "/v1/a/b.json", false},
		{"/file-*", "/file-42", true},
		{"/pets/{petId}", "/pets/123", true},
		{"/pets/{petId}", "/pets/123/toys", false},
		{"/{version}/pets/{petId}", "/v1/pets/123", true},
		{"/pets/{id}.json", "/pets/7.json", true},
		{"/pets/{unclosed", "/pets/{unclosed", true},
		// % escapes.
		{"%{user%}", "{user}", true},
		{"%{user%}", "user", false},
		{"{user}", "user", true},
		{"/pets/%*", "/pets/*", true},
		{"/pets/%*", "/pets/123", false},
		{"/a%%b", "/a%b", true},
		{"/a%20b", "/a%20b", true}, // % before a non-special character is literal
		{"/%*%*", "/**", true},
		{"/%*%*", "/x", false},
		// Case sensitivity.
		{"/Forecast/**", "/forecast/today", false},
	}
	for _, tc := range cases {
		t.Run(tc.pat+" vs "+tc.path, func(t *testing.T) {
			for _, op := range []string{"MatchesPath", "LikePath", "~/", "matchespath"} {
				c := MustParse(`proxy.pathsuffix ` + op + ` "` + tc.pat + `"`)
				require.Equal(t, tc.want, c.Eval(MapResolver{"proxy.pathsuffix": tc.path}), "op %s", op)
			}
		})
	}
}

func TestRealWorldConditions(t *testing.T) {
	cases := []evalCase{
		{`(proxy.pathsuffix MatchesPath "/forecast/**") and (request.verb = "GET")`,
			MapResolver{"proxy.pathsuffix": "/forecast/94089", "request.verb": "GET"}, true},
		{`(proxy.pathsuffix MatchesPath "/forecast/**") and (request.verb = "GET")`,
			MapResolver{"proxy.pathsuffix": "/forecast/94089", "request.verb": "POST"}, false},
		{`request.verb = "OPTIONS" AND request.header.origin != null`,
			MapResolver{"request.verb": "OPTIONS", "request.header.origin": "https://a.example"}, true},
		{`request.verb = "OPTIONS" AND request.header.origin != null`,
			MapResolver{"request.verb": "OPTIONS"}, false},
		{`fault.name = "InvalidApiKey"`, MapResolver{"fault.name": "InvalidApiKey"}, true},
		{`fault.name = "InvalidApiKey"`, MapResolver{"fault.name": "QuotaViolation"}, false},
		{`fault.name = "InvalidApiKey"`, nil, false},
		{`response.status.code >= 400`, MapResolver{"response.status.code": 503}, true},
		{`response.status.code >= 400`, MapResolver{"response.status.code": "200"}, false},
		{`request.queryparam.w ~~ "[0-9]+"`, MapResolver{"request.queryparam.w": "2502265"}, true},
		{`request.queryparam.w ~~ "[0-9]+"`, MapResolver{"request.queryparam.w": "2502265x"}, false},
		{`!(request.header.x = "y")`, MapResolver{"request.header.x": "z"}, true},
		{`!(request.header.x = "y")`, MapResolver{"request.header.x": "y"}, false},
		{`(response.status.code = 503) or (response.status.code = 400)`, MapResolver{"response.status.code": 400}, true},
		{`request.header.X-Api-Key != null`, MapResolver{"request.header.X-Api-Key": "k"}, true},
		{`request.header.Content-Type = "application/json"`, MapResolver{"request.header.Content-Type": "application/json"}, true},
		{`verifyapikey.Verify-API-Key.failed`, MapResolver{"verifyapikey.Verify-API-Key.failed": true}, true},
		{`ratelimit.Quota-1.failed = true`, MapResolver{"ratelimit.Quota-1.failed": "true"}, true},
		{`responsecache.RC-Cache.cachehit == false`, MapResolver{"responsecache.RC-Cache.cachehit": false}, true},
		{`(fault.name Matches "InvalidApiKeyForGivenResource") or (fault.name Matches "InvalidApiKey")`,
			MapResolver{"fault.name": "InvalidApiKey"}, true},
		{`(request.verb = "OPTIONS") and (proxy.pathsuffix MatchesPath "/**")`, MapResolver{"request.verb": "OPTIONS", "proxy.pathsuffix": ""}, true},
		{`(proxy.pathsuffix MatchesPath "**")`, MapResolver{"proxy.pathsuffix": "/x"}, true},
		{`request.formparam.grant_type = "client_credentials" and request.header.foo is null`,
			MapResolver{"request.formparam.grant_type": "client_credentials"}, true},
		{`(proxy.pathsuffix MatchesPath "/token") and
   (request.verb = "POST") and
   (request.formparam.grant_type = "authorization_code")`,
			MapResolver{"proxy.pathsuffix": "/token", "request.verb": "POST", "request.formparam.grant_type": "authorization_code"}, true},
		{"proxy.pathsuffix MatchesPath \"**/health/*\" or \n    proxy.pathsuffix MatchesPath \"**/healthz/**\"",
			MapResolver{"proxy.pathsuffix": "/a/b/health/live"}, true},
		{`!((seven = "5") AND (valid = false))`, MapResolver{"seven": "5", "valid": false}, false},
		{`!(seven = "5" AND valid = false)`, MapResolver{"seven": "5", "valid": true}, true},
		{`((a MatchesPath "/b/d") or (b MatchesPath "/c/d/e") )and (request.verb = "GET") `,
			MapResolver{"a": "/b/d", "request.verb": "GET"}, true},
		{`request.verb=="GET"`, MapResolver{"request.verb": "GET"}, true},
		{`request.header.accept := "APPLICATION/JSON"`, MapResolver{"request.header.accept": "application/json"}, true},
		{`request.uri =| "/v1/internal"`, MapResolver{"request.uri": "/v1/internal/x?y=1"}, true},
		{`(proxy.pathsuffix ~~ "/extensive-search/?") AND (request.verb = "GET")`,
			MapResolver{"proxy.pathsuffix": "/extensive-search/", "request.verb": "GET"}, true},
		{`request.queryparam.country = "IN" Or request.queryparam.country = "DE"`,
			MapResolver{"request.queryparam.country": "DE"}, true},
		{`request.header.host is null`, nil, true},
		{`flow.cachehit is true`, MapResolver{"flow.cachehit": true}, true},
		{`'request.header.help!me' = "yes"`, MapResolver{"request.header.help!me": "yes"}, true},
		{`system.time.hour >= 9 and system.time.hour < 17`, MapResolver{"system.time.hour": 12}, true},
		{`false`, nil, false},
	}
	runEval(t, cases)
}

func TestVariables(t *testing.T) {
	c := MustParse(`(proxy.pathsuffix MatchesPath "/a/**") and (request.verb = "GET" or request.verb = other.verb) and not flag and 'x!y' != null`)
	require.Equal(t, []string{"proxy.pathsuffix", "request.verb", "other.verb", "flag", "x!y"}, c.Variables())
	vs := c.Variables()
	vs[0] = "mutated"
	require.Equal(t, "proxy.pathsuffix", c.Variables()[0], "Variables returns a copy")
	require.Empty(t, MustParse("true").Variables())
	require.Empty(t, MustParse("").Variables())
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		src  string
		pos  int
		want string // substring of Msg
	}{
		// Unbalanced parentheses.
		{`(request.verb = "GET"`, 21, `expected ")" to close the "(" at column 1`},
		{`((a = "b") and (c = "d")`, 24, `expected ")" to close the "(" at column 1`},
		{`request.verb = "GET")`, 20, `unexpected ")" with no matching "("`},
		{`(a = "b"))`, 9, `unexpected ")"`},
		{`()`, 1, `empty parentheses`},
		{`not ()`, 5, `empty parentheses`},
		// Missing operands / clauses.
		{`request.verb = `, 15, `expected a value`},
		{`request.verb =`, 14, `expected a value`},
		{`request.verb = and x`, 15, `expected a value`},
		{`request.verb = )`, 15, `expected a value`},
		{`= "GET"`, 0, `expected a condition`},
		{`a = "b" and`, 11, `expected a condition`},
		{`a = "b" and and c`, 12, `expected a condition before "and"`},
		{`and`, 0, `expected a condition before "and"`},
		{`a = "b" ||`, 10, `expected a condition`},
		{`!`, 1, `expected a condition`},
		{`not`, 3, `expected a condition`},
		{`&& a`, 0, `expected a condition`},
		// Missing operator.
		{`request.verb "GET"`, 13, `expected a comparison operator`},
		{`request.verb GET`, 13, `expected a comparison operator`},
		{`a = "b" c = "d"`, 8, `expected "and", "or" or end of condition`},
		{`request.formparam.grant_type SeemsLike "x"`, 29, `expected a comparison operator`},
		{`request.formparam.grant_type equalsa "x"`, 29, `expected a comparison operator`},
		// Literals in the wrong place.
		{`"request.verb = GET"`, 0, `expected a variable name`},
		{`"GET" = request.verb`, 0, `expected a variable name`},
		{`20 = 42`, 0, `expected a variable name`},
		{`true = x`, 0, `left side of = must be a variable`},
		{`null Is x`, 0, `left side of Is must be a variable`},
		// Unterminated strings and names.
		{`request.verb = "GET`, 15, `unterminated string literal`},
		{`request.verb = "GET\"`, 15, `unterminated string literal`},
		{`'request.verb = "GET"`, 0, `unterminated quoted variable name`},
		{`'' = "x"`, 0, `empty quoted variable name`},
		// Malformed numbers.
		{`A > 20.20.20`, 4, `malformed number`},
		{`A > ..201392`, 4, `malformed number`},
		{`A > 20..1392`, 4, `malformed number`},
		{`A > 20three`, 4, `malformed number "20three"`},
		{`A > 5.`, 4, `malformed number`},
		// Bad patterns and pattern operands.
		{`request.queryparam.w ~~ "[0-9"`, 24, `invalid JavaRegex pattern "[0-9"`},
		{`x JavaRegex "(a"`, 12, `invalid JavaRegex pattern`},
		{`x ~~ "a)|(b"`, 5, `invalid JavaRegex pattern`},
		{`x ~~ "(?=lookahead)"`, 5, `invalid JavaRegex pattern`},
		{`x ~~ "a*+"`, 5, `invalid JavaRegex pattern`},
		{`x MatchesPath y`, 14, `MatchesPath needs a double-quoted pattern`},
		{`x ~~ y`, 5, `JavaRegex needs a double-quoted pattern`},
		{`x Matches y`, 10, `Matches needs a double-quoted pattern`},
		// Stray characters.
		{`a = "b" & c`, 8, `expected "&&"`},
		{`a = "b" | c`, 8, `expected "||"`},
		{`a : "b"`, 2, `expected ":="`},
		{`{seven = "5"} AND {valid = false}`, 0, `unexpected character '{'`},
		{`variable-name = {5}`, 16, `unexpected character '{'`},
		{`a = "b" # c`, 8, `unexpected character '#'`},
		{`a = 'b`, 4, `unterminated quoted variable name`},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			c, err := Parse(tc.src)
			require.Nil(t, c)
			require.Error(t, err)
			var se *SyntaxError
			require.True(t, errors.As(err, &se), "error must be *SyntaxError, got %T", err)
			require.Equal(t, tc.src, se.Src)
			require.Contains(t, se.Msg, tc.want)
			require.Equal(t, tc.pos, se.Pos, "msg: %s", se.Msg)
			require.Contains(t, err.Error(), fmt.Sprintf("column %d", tc.pos+1))
		})
	}
}

func TestNestingLimit(t *testing.T) {
	ok := strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100) + " and " + strings.Repeat("!", 100) + "b"
	require.True(t, MustParse(ok).Eval(MapResolver{"a": true, "b": true}))
	for _, deep := range []string{
		strings.Repeat("(", 100000) + "a" + strings.Repeat(")", 100000),
		strings.Repeat("!", 100000) + "a",
		strings.Repeat("not ", 1000) + "a",
	} {
		_, err := Parse(deep)
		var se *SyntaxError
		require.ErrorAs(t, err, &se)
		require.Contains(t, se.Msg, "nested more than")
	}
}

func TestSyntaxErrorMultiline(t *testing.T) {
	_, err := Parse("(a = \"b\") and\n  (c = )")
	require.Error(t, err)
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 21, se.Pos)
	require.Contains(t, err.Error(), "line 2, column 8")
}

func TestMustParsePanics(t *testing.T) {
	require.Panics(t, func() { MustParse("(") })
	require.NotPanics(t, func() { MustParse(`a = "b"`) })
}

func TestResolverFunc(t *testing.T) {
	calls := 0
	r := ResolverFunc(func(name string) (any, bool) {
		calls++
		if name == "a" {
			return "x", true
		}
		return nil, false
	})
	require.True(t, MustParse(`a = "x"`).Eval(r))
	// Short-circuit: the second clause is never looked up.
	calls = 0
	require.True(t, MustParse(`a = "x" or b = "y"`).Eval(r))
	require.Equal(t, 1, calls)
	calls = 0
	require.False(t, MustParse(`a = "z" and b = "y"`).Eval(r))
	require.Equal(t, 1, calls)
}

type stringer struct{}

func (stringer) String() string { return "S" }

func TestOddResolverValues(t *testing.T) {
	v := MapResolver{"s": stringer{}, "st": struct{ A int }{1}, "u": uint(7), "u16": uint16(7)}
	runEval(t, []evalCase{
		{`s = "S"`, v, true},
		{`st = "{1}"`, v, true},
		{`u = 7`, v, true},
		{`u16 = 7`, v, true},
	})
}

func TestEvalDoesNotAllocate(t *testing.T) {
	r := MapResolver{
		"proxy.pathsuffix":     "/forecast/94089/daily",
		"request.verb":         "GET",
		"request.header.x":     "abc",
		"response.status.code": 404,
		"request.queryparam.w": "12345",
	}
	conds := []string{
		`(proxy.pathsuffix MatchesPath "/forecast/**") and (request.verb = "GET")`,
		`request.verb = "OPTIONS" AND request.header.origin != null`,
		`response.status.code >= 400 and response.status.code < 500`,
		`request.queryparam.w ~~ "[0-9]+"`,
		`!(request.header.x = "y") and request.header.x Matches "a*c"`,
		`request.header.x := "ABC" or request.verb =| "G"`,
	}
	for _, s := range conds {
		c := MustParse(s)
		c.Eval(r)
		allocs := testing.AllocsPerRun(100, func() { c.Eval(r) })
		require.Zero(t, allocs, "Eval(%q) allocates", s)
	}
}

func TestConcurrentEval(t *testing.T) {
	c := MustParse(`(proxy.pathsuffix MatchesPath "/a/**") and request.queryparam.q ~~ "[a-z]+"`)
	done := make(chan bool)
	for i := 0; i < 8; i++ {
		go func(i int) {
			ok := true
			for j := 0; j < 1000; j++ {
				q := "abc"
				if (i+j)%2 == 0 {
					q = "123"
				}
				got := c.Eval(MapResolver{"proxy.pathsuffix": "/a/b", "request.queryparam.q": q})
				ok = ok && got == ((i+j)%2 != 0)
			}
			done <- ok
		}(i)
	}
	for i := 0; i < 8; i++ {
		require.True(t, <-done)
	}
}

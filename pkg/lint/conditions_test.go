package lint

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/condition"
)

func TestNeverTrue(t *testing.T) {
	for _, tc := range []struct {
		cond  string
		never bool
	}{
		// Constant and contradictory conditions.
		{`false`, true},
		{`null`, true},
		{`not true`, true},
		{`true`, false},
		{`request.verb = "GET" and request.verb = "POST"`, true},
		{`request.verb = "GET" and request.verb != "GET"`, true},
		{`(a = "x") and not (a = "x")`, true},
		{`a = "x" and a = null`, true},
		{`x StartsWith "ab" and x = "b"`, true},
		// Satisfiable ones: the witness must come from the literals.
		{`request.verb = "GET" or request.verb = "POST"`, false},
		{`request.verb != "GET" and request.verb != "POST"`, false},
		{`x StartsWith "ab" and x != "ab"`, false},
		{`x := "ab" and x != "ab"`, false},
		{`response.status.code >= 400 and response.status.code < 500`, false},
		{`n > 5 and n < 6`, false},
		{`n > -2 and n < -1`, false},
		{`proxy.pathsuffix MatchesPath "/a/*" and proxy.pathsuffix != "/a/*"`, false},
		{`proxy.pathsuffix MatchesPath "/items/{id}/parts/**"`, false},
		{`proxy.pathsuffix MatchesPath "/%{user%}"`, false},
		{`proxy.pathsuffix Matches "/a*b"`, false},
		{`verifyapikey.VA.failed`, false},
		{`!verifyapikey.VA.failed`, false},
		{`a = b and a != null`, false},
		{`'request.header.x!y' = "1"`, false},
		{`'and' = "1" and 'and' != "1"`, true},
		// A value must satisfy several patterns at once.
		{`h ~ "*.example.com" and h Matches "api*" and h Like "*example*"`, false},
		{`p StartsWith "/v1" and p MatchesPath "**/items"`, false},
		// Literals belong to the variable they are compared with, and to
		// the variables that one is compared with.
		{`a = "1" and b = "2" and a = b`, true},
		{`a = "1" and a = b and b != "2"`, false},
		// JavaRegex: never judged when a variable is involved.
		{`x ~~ "\d+" and x = "a"`, false},
		{`x JavaRegex "[0-9]+"`, false},
	} {
		t.Run(tc.cond, func(t *testing.T) {
			c, err := condition.Parse(tc.cond)
			require.NoError(t, err)
			require.Equal(t, tc.never, neverTrue(c))
		})
	}
}

// TestNeverTrueGivesUpOnLargeTables: too many variables and literals to
// enumerate is "can match", not a guess.
func TestNeverTrueGivesUpOnLargeTables(t *testing.T) {
	c, err := condition.Parse(`a = "1" and b = "2" and c = "3" and d = "4" and e = "5" and a = "0"`)
	require.NoError(t, err)
	require.False(t, neverTrue(c))
}

func TestNameFollowsConvention(t *testing.T) {
	for _, tc := range []struct {
		typ, name string
		ok        bool
	}{
		{"AssignMessage", "AM-SetHeader", true},
		{"AssignMessage", "am.set-header", true},
		{"AssignMessage", "Assign-Response", true},
		{"AssignMessage", "SetTheHeader", false},
		{"AssignMessage", "AM-", false},
		{"AssignMessage", "VA-Mislabelled", false},
		{"VerifyAPIKey", "VA-Key", true},
		{"VerifyAPIKey", "VerifyAPIKey-1", true},
		{"Javascript", "JS-Transform", true},
		{"Javascript", "transform", false},
		{"CORS", "CORS", true},
		{"Quota", "quota", true},
		{"ServiceCallout", "SC", false},
		{"ServiceCallout", "SC-", false},
		{"SomeFuturePolicy", "anything", true},
	} {
		require.Equal(t, tc.ok, nameFollowsConvention(tc.typ, tc.name), "%s %s", tc.typ, tc.name)
	}
}

func TestEquivalent(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{`a = "1"`, `a Equals "1"`, true},
		{`a = "1" and b = "2"`, `(b = "2") AND (a == "1")`, true},
		{`a = "1" or b = "2"`, `b = "2" || a = "1"`, true},
		{`x Matches "a*"`, `x StartsWith "a"`, true},
		{`not (a = "1")`, `a != "1"`, true},
		{`a = "1"`, `a = "2"`, false},
		{`a = "x"`, `a := "x"`, false},
		{`a = "1"`, `a := "1"`, true}, // digits have no case
		{`n > 5`, `n >= 6`, false},
		{`x MatchesPath "/a/*"`, `x MatchesPath "/a/**"`, false},
		{`x ~~ "a.*"`, `x StartsWith "a"`, false},
		{`a = "1" and b = "2"`, `a = "1"`, false},
	} {
		a, err := condition.Parse(tc.a)
		require.NoError(t, err)
		b, err := condition.Parse(tc.b)
		require.NoError(t, err)
		require.Equal(t, tc.same, equivalent(a, b), "%s vs %s", tc.a, tc.b)
		require.Equal(t, tc.same, equivalent(b, a), "%s vs %s", tc.b, tc.a)
	}
}

// FuzzNeverTrueIsSound: a condition neverTrue calls impossible is false
// for any value of its variables, not only for the values it tried.
func FuzzNeverTrueIsSound(f *testing.F) {
	for _, seed := range []struct{ cond, value string }{
		{`request.verb = "GET" and request.verb = "POST"`, "GET"},
		{`h ~ "*.example.com" and h Matches "api*"`, "api.example.com"},
		{`n > 5 and n < 6`, "5.5"},
		{`p MatchesPath "/a/{id}" and p != "/a/x"`, "/a/b"},
		{`x StartsWith "ab" and x := "AB"`, "ab"},
		{`false`, ""},
	} {
		f.Add(seed.cond, seed.value)
	}
	f.Fuzz(func(t *testing.T, src, value string) {
		c, err := condition.Parse(src)
		if err != nil || !neverTrue(c) {
			return
		}
		for _, v := range []any{value, nil, true, 1.5} {
			r := condition.MapResolver{}
			for _, name := range c.Variables() {
				r[name] = v
			}
			require.False(t, c.Eval(r), "%q is true with every variable = %#v", src, v)
		}
	})
}

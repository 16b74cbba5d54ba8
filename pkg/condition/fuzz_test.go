package condition

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, that errors are *SyntaxError
// with an in-range position, that String() of anything that parses re-parses
// to the same canonical form and the same variables, and that both evaluate
// identically (and without panicking) under a spread of resolvers.
// The seed corpus lives in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add(`(proxy.pathsuffix MatchesPath "/forecast/**") and (request.verb = "GET")`)
	f.Fuzz(func(t *testing.T, src string) {
		c, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) returned %T, want *SyntaxError", src, err)
			}
			if se.Pos < 0 || se.Pos > len(src) || se.Src != src || se.Msg == "" {
				t.Fatalf("Parse(%q): bad SyntaxError %+v", src, se)
			}
			_ = se.Error()
			return
		}
		s := c.String()
		c2, err := Parse(s)
		if err != nil {
			t.Fatalf("canonical form of %q is %q, which does not parse: %v", src, s, err)
		}
		if s2 := c2.String(); s2 != s {
			t.Fatalf("canonical form is not a fixed point:\n src: %q\n  1st: %q\n  2nd: %q", src, s, s2)
		}
		if !reflect.DeepEqual(c.Variables(), c2.Variables()) {
			t.Fatalf("variables differ for %q: %v vs %v", src, c.Variables(), c2.Variables())
		}
		for i, r := range fuzzResolvers(c.Variables()) {
			if a, b := c.Eval(r), c2.Eval(r); a != b {
				t.Fatalf("resolver %d: %q evals %v but canonical %q evals %v", i, src, a, s, b)
			}
		}
		c.Eval(nil)
	})
}

// fuzzResolvers gives every variable each of a set of interesting values,
// plus one mixed assignment.
func fuzzResolvers(vars []string) []Resolver {
	values := []any{nil, "", "GET", "get", "404", 404, 404.5, "-1.5", true, false, "true", "/a/b", "/a/b/", "{user}", "*", "a\"b"}
	out := []Resolver{MapResolver{}}
	for _, v := range values {
		m := MapResolver{}
		for _, name := range vars {
			m[name] = v
		}
		out = append(out, m)
	}
	mixed := MapResolver{}
	for i, name := range vars {
		mixed[name] = values[i%len(values)]
	}
	return append(out, mixed)
}

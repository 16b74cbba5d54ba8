package jsonpath

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func mustDecode(tb testing.TB, s string) any {
	tb.Helper()
	v, err := Decode([]byte(s))
	require.NoError(tb, err, s)
	return v
}

func TestDecode(t *testing.T) {
	tests := []struct {
		in, json string // json: how json-smart writes the decoded value back
	}{
		{`{"b":1,"a":2,"b":3}`, `{"b":3,"a":2}`}, // a repeated name keeps its place, takes the last value
		{`[1, 1.0, 1e2, -0, -0.0, 2147483648, 9223372036854775808]`, `[1,1.0,100.0,0,-0.0,2147483648,9223372036854775808]`},
		{`3.14159265358979323846`, `3.14159265358979323846`}, // more than 18 characters: BigDecimal
		{`1.000000000000000000e5`, `100000.0000000000000`},
		{`1e400`, `null`}, // Double overflow: Infinity, which json-smart writes as null
		{`"a\u00e9\ud83d\ude00\/"`, `"aé😀\/"`},
		{`"\ud800x"`, `"` + "\uFFFD" + `x"`},
		{` [ ] `, `[]`},
		{`{}`, `{}`},
		{`null`, `null`},
	}
	for _, tt := range tests {
		require.Equal(t, tt.json, JSON(mustDecode(t, tt.in)), tt.in)
	}
	for _, bad := range []string{``, `{`, `[1,]`, `{"a"}`, `01`, `1.`, `.5`, `+1`, `"\x"`, "\"a\tb\"", `tru`, `{} x`, `'a'`, `NaN`, strings.Repeat("[", maxDepth+2)} {
		_, err := Decode([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
}

func TestStringPrintsLikeApigee(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"plain/text", "plain/text"}, // a string result is the variable's value as it is
		{nil, "null"},
		{true, "true"},
		{int64(-7), "-7"},
		{8.95, "8.95"},
		{1.0, "1.0"},
		{100.0, "100.0"},
		{1e7, "1.0E7"},
		{1234567.5, "1234567.5"},
		{0.001, "0.001"},
		{0.0001, "1.0E-4"},
		{1e-7, "1.0E-7"},
		{-1.5e300, "-1.5E300"},
		{math.SmallestNonzeroFloat64, "4.9E-324"},
		{math.Copysign(0, -1), "-0.0"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "null"},
		{new(big.Int).Lsh(big.NewInt(1), 70), "1180591620717411303424"},
		{Decimal("1.50000000000000000001"), "1.50000000000000000001"},
		{[]any{"a", "b/c", int64(1), nil}, `["a","b\/c",1,null]`},
		{[]any{"\x01\u007f\u0085\u00a0\u2028\u20ac\U0001F600"}, `["\u0001\u007F\u0085` + "\u00a0" + `\u2028\u20AC` + "\U0001F600" + `"]`},
		{map[string]any{"b": 1.0, "a": "x"}, `{"a":"x","b":1.0}`},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, String(tt.v), "%#v", tt.v)
	}
	o := NewObject()
	o.Set("k", []any{})
	o.Set("q\"", "v")
	require.Equal(t, `{"k":[],"q\"":"v"}`, String(o))
	require.Equal(t, "{k=[], q\"=v}", javaString(o)) // LinkedHashMap.toString, as concat() prints an object
}

func TestBigDecimalString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"8.95", "8.95"},
		{"100", "100"},
		{"1.0E7", "1.0E+7"},
		{"1.0E-7", "1.0E-7"},
		{"0.000001", "0.000001"},
		{"0.0000001", "1E-7"},
		{"-0.0", "0.0"},
		{"007.50", "7.50"},
		{"1e+3", "1E+3"},
		{"12345e-2", "123.45"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, bigDecimalString(tt.in), tt.in)
	}
	require.Equal(t, 0, compareDecimal("1.0", "1"))
	require.Equal(t, -1, compareDecimal("-1e999999999", "0"))
	require.Equal(t, 1, compareDecimal("1e999999999", "9e999999998"))
	require.Equal(t, -1, compareDecimal("-2", "-1.5"))
	require.Equal(t, 1, compareDecimal("0.10", "0.09999"))
	require.Equal(t, 7, bigDecimalIntValue("7.9"))
	require.Equal(t, -7, bigDecimalIntValue("-7.9"))
	require.Equal(t, 0, bigDecimalIntValue("1e999999999")) // 10^n mod 2^32 is 0 from n = 32 on
	require.Equal(t, 5, bigDecimalIntValue("4294967301"))  // 2^32 + 5
	require.Equal(t, -1, bigDecimalIntValue("4294967295"))
}

func TestDefiniteAndResultShape(t *testing.T) {
	doc := mustDecode(t, `{"items":[{"name":"a","tags":["x"]},{"name":"b"}],"n":1}`)
	tests := []struct {
		path     string
		definite bool
		want     string // String of the result
	}{
		{"$.items[0].name", true, "a"},
		{"$.items[0]", true, `{"name":"a","tags":["x"]}`},
		{"$.items[0].tags", true, `["x"]`}, // a definite path to an array: the array
		{"$.items[*].name", false, `["a","b"]`},
		{"$.items[?(@.name == 'a')].name", false, `["a"]`}, // one match, still a list
		{"$..tags", false, `[["x"]]`},
		{"$.items[0,1].name", false, `["a","b"]`},
		{"$.items[0]['name','tags']", true, `{"name":"a","tags":["x"]}`},
		{"$.items[*].tags[0]", false, `["x"]`},
		{"$.items[?(@.name == 'z')]", false, `[]`},
		{"$.items.length()", true, "2"},
		{"$.n", true, "1"},
	}
	for _, tt := range tests {
		p, err := Compile(tt.path)
		require.NoError(t, err, tt.path)
		require.Equal(t, tt.definite, p.Definite(), tt.path)
		require.Equal(t, tt.path, p.String())
		v, err := p.Eval(doc)
		require.NoError(t, err, tt.path)
		require.Equal(t, tt.want, String(v), tt.path)
	}
}

func TestErrors(t *testing.T) {
	for _, bad := range []string{"", "$.", "$..", "$['a,b']", "$.a b", "$[?(@.a =~ /(?<=x)y/)]", "$['a',"} {
		_, err := Compile(bad)
		var se *SyntaxError
		require.ErrorAs(t, err, &se, "%q", bad)
		require.Contains(t, err.Error(), "invalid JSONPath")
	}
	doc := mustDecode(t, `{"a":{"b":1},"e":[]}`)
	_, err := MustCompile("$.a.c").Eval(doc)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = MustCompile("$.keys()").Eval(doc) // keys() came after Jayway 2.4.0
	var ee *EvalError
	require.ErrorAs(t, err, &ee)
	require.True(t, ee.invalidPath)
	_, err = MustCompile("$.e.sum()").Eval(doc)
	require.ErrorAs(t, err, &ee)
	require.False(t, ee.invalidPath)
	require.Contains(t, err.Error(), "empty array")

	vals, err := MustCompile("$.a.c").Values(doc)
	require.NoError(t, err)
	require.Empty(t, vals)
	vals, err = MustCompile("$.a.b").Values(doc)
	require.NoError(t, err)
	require.Equal(t, []any{int64(1)}, vals)
	vals, err = MustCompile("$..b").Values(doc)
	require.NoError(t, err)
	require.Equal(t, []any{int64(1)}, vals)
	_, err = MustCompile("$.e.sum()").Values(doc)
	require.Error(t, err)
	require.Panics(t, func() { MustCompile("$.") })
}

func TestStepLimit(t *testing.T) {
	// 200 nested arrays: each ..* multiplies the work by up to the depth.
	var b strings.Builder
	for range 200 {
		b.WriteString("[0,")
	}
	b.WriteString("0")
	for range 200 {
		b.WriteString("]")
	}
	doc := mustDecode(t, b.String())
	_, err := MustCompile("$..*..*..*..*..*").Eval(doc)
	var ee *EvalError
	require.ErrorAs(t, err, &ee)
	require.Contains(t, err.Error(), "steps")
}

func TestConcurrentEval(t *testing.T) {
	// A compiled path is shared by every request of a deployment.
	p := MustCompile("$.items[?(@.n > $.min)].n")
	doc := mustDecode(t, `{"min":1,"items":[{"n":1},{"n":2},{"n":3}]}`)
	done := make(chan string)
	for range 8 {
		go func() {
			v, err := p.Eval(doc)
			if err != nil {
				done <- err.Error()
				return
			}
			done <- String(v)
		}()
	}
	for range 8 {
		require.Equal(t, "[2,3]", <-done)
	}
}

func TestErrNotFoundWraps(t *testing.T) {
	_, err := MustCompile("$.x").Eval(mustDecode(t, `{}`))
	require.True(t, errors.Is(err, ErrNotFound))
	require.Contains(t, err.Error(), "$.x")
}

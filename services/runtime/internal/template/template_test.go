package template

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type vars map[string]any

func (v vars) Lookup(n string) (any, bool) { x, ok := v[n]; return x, ok }

func TestExecute(t *testing.T) {
	r := vars{"a": "A", "n": 3, "json": `{"x":{"y":[1,2]}}`, "empty": ""}
	tests := []struct {
		src, want, missing string
	}{
		{"plain", "plain", ""},
		{"{a}-{n}", "A-3", ""},
		{`{"k":"{a}"}`, `{"k":"A"}`, ""},
		{"{missing}x", "x", "missing"},
		{"{firstnonnull(missing,a)}", "A", ""},
		{"{firstnonnull(missing,'dflt')}", "dflt", ""},
		{"{toUpperCase(a)}{toLowerCase('XY')}", "Axy", ""},
		{"{substring('abcdef',1,3)}", "bc", ""},
		{"{replaceAll('a-b-c','-(.)','$1')}", "abc", ""},
		{"{replaceFirst('a-b-c','-','+')}", "a+b-c", ""},
		{"{escapeJSON('q\"')}", `q\"`, ""},
		{"{escapeXML('<&>')}", "&lt;&amp;&gt;", ""},
		{"{encodeBase64('hi')}|{decodeBase64('aGk=')}", "aGk=|hi", ""},
		{"{sha256Hex('abc')}", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ""},
		{"{jsonPath('$.x.y[1]',json)}", "2", ""},
		// JSONPath is Jayway's (internal/jsonpath): a definite path gives the
		// value, an indefinite one the JSON list of what it found, even one.
		{"{jsonPath($.x.y[1],json)}", "2", ""}, // the path bare, as Apigee documents it
		{"{jsonPath($.x['y','z'],json)}", `{"y":[1,2]}`, ""},
		// A list result gives its zeroth element unless want-array is true.
		{"{jsonPath('$.x.y[*]',json)}", "1", ""},
		{"{jsonPath('$.x.y[*]',json,'true')}", "[1,2]", ""},
		{"{jsonPath('$.x.y[*]',json,'false')}", "1", ""},
		{"{jsonPath('$.x.y',json)}", "1", ""},
		{"{jsonPath($.x.y[?(@ > 1)],json)}", "2", ""},
		{"{jsonPath($.x.y[?(@ > 1)],json,'true')}", "[2]", ""},
		{"{jsonPath('$.x',json)}", `{"y":[1,2]}`, ""},
		{"{jsonPath('$.x.missing',json)}", "", ""},
		{"{jsonPath('$..nothing',json)}", "", ""},
		{"{jsonPath('$..nothing',json,'true')}", "[]", ""},
		{"{jsonPath('$.x.y.length()',json)}", "2", ""},
		{"{jsonPath('$.x',missing)}", "", "jsonPath"},
		{"{timeFormatUTCMs('yyyy-MM-dd HH:mm:ss.SSS','0')}", "1970-01-01 00:00:00.000", ""},
		{"{ not a ref }", "{ not a ref }", ""},
		{"{unclosed", "{unclosed", ""},
	}
	for _, tt := range tests {
		tpl, err := Compile(tt.src)
		require.NoError(t, err, tt.src)
		got, missing := tpl.Execute(r)
		require.Equal(t, tt.want, got, tt.src)
		require.Equal(t, tt.missing, missing, tt.src)
	}
}

func TestDelimsAndErrors(t *testing.T) {
	tpl, err := CompileDelims(`{"a":"@v#"}`, '@', '#')
	require.NoError(t, err)
	require.Equal(t, `{"a":"1"}`, tpl.String(vars{"v": "1"}))
	_, err = Compile("{nosuchfunc(a)}")
	require.ErrorContains(t, err, "unknown function nosuchfunc()")
	_, err = Compile("{replaceAll(a,'(','x')}")
	require.Error(t, err)
	// A path Jayway refuses fails the deployment, bare or quoted.
	_, err = Compile("{jsonPath('$.',json)}")
	require.ErrorContains(t, err, `invalid JSONPath "$."`)
	_, err = Compile("{jsonPath($.a b,json)}")
	require.ErrorContains(t, err, "invalid JSONPath")
	require.True(t, MustCompile("static").Static())
}

func TestFormatJava(t *testing.T) {
	ts := time.Date(2024, 3, 5, 14, 7, 9, 123e6, time.UTC)
	require.Equal(t, "2024-03-05T14:07:09.123Z", FormatJava(ts, "yyyy-MM-dd'T'HH:mm:ss.SSSX"))
	require.Equal(t, "Tue, 5 Mar 24 02:07 PM", FormatJava(ts, "EEE, d MMM yy hh:mm a"))
}

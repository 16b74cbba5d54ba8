package bundle_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
)

func TestParseProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"equals", "foo=bar\nbaz=biff\n", map[string]string{"foo": "bar", "baz": "biff"}},
		{"colon and blanks", "  a : 1\n\tb:2\nc   3\n", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"value keeps inner and trailing blanks", "msg = This is a basic message. \n", map[string]string{"msg": "This is a basic message. "}},
		{"comments", "# c\n! also\n   # indented\nk=v # not a comment\n", map[string]string{"k": "v # not a comment"}},
		{"blank lines and CRLF", "\r\na=1\r\n\r\nb=2\rc=3", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"empty value", "a=\nb\nc:\n", map[string]string{"a": "", "b": "", "c": ""}},
		{"only first separator splits", "url=http://x.example/a=b:c\n", map[string]string{"url": "http://x.example/a=b:c"}},
		{"escaped separators in key", `a\=b\:c\ d=v` + "\n", map[string]string{"a=b:c d": "v"}},
		{"escapes", `k=tab\tnl\ncr\rff\fbs\\q\"x\y` + "\n", map[string]string{"k": "tab\tnl\ncr\rff\fbs\\q\"xy"}},
		{"unicode escape", `k=caf\u00e9 \u20AC` + "\n", map[string]string{"k": "café €"}},
		{"surrogate pair", `k=\ud83d\ude00` + "\n", map[string]string{"k": "😀"}},
		{"raw UTF-8", "greeting=こんにちは\n", map[string]string{"greeting": "こんにちは"}},
		{"BOM", "\ufeffa=1\n", map[string]string{"a": "1"}},
		{"continuation", "list=a,\\\n    b,\\\n\tc\nnext=1\n", map[string]string{"list": "a,b,c", "next": "1"}},
		{"even backslashes do not continue", "a=x\\\\\nb=y\n", map[string]string{"a": `x\`, "b": "y"}},
		{"comment does not continue", "# c \\\na=1\n", map[string]string{"a": "1"}},
		{"continuation at end of file", "a=x\\", map[string]string{"a": "x"}},
		{"last duplicate wins", "a=1\na=2\n", map[string]string{"a": "2"}},
		{"dotted keys", "db.url=jdbc:x\n", map[string]string{"db.url": "jdbc:x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bundle.ParseProperties([]byte(tt.in))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParsePropertiesErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		reason   string
	}{
		{"short unicode escape", "a=1\nb=\\u12\n", 2, `malformed \uXXXX escape`},
		{"bad hex", "a=\\uZZZZ\n", 1, `malformed \uXXXX escape "\uZZZZ"`},
		{"no key", "\n\n=value\n", 3, "property has no name"},
		{"colon first", ": v\n", 1, "property has no name"},
		{"invalid UTF-8", "a=1\nb=\xff\xfe\n", 2, "not valid UTF-8"},
		{"NUL", "a=\x00\n", 1, "NUL"},
		{"error on continued line reports its start", "a=1\nb=x\\\n  \\u00\n", 2, `malformed \uXXXX`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bundle.ParseProperties([]byte(tt.in))
			var pe *bundle.PropertiesError
			require.True(t, errors.As(err, &pe), "%v", err)
			require.Equal(t, tt.line, pe.Line)
			require.Contains(t, pe.Reason, tt.reason)
		})
	}
}

func TestPropertySetName(t *testing.T) {
	for file, want := range map[string]string{"myProps.properties": "myProps", "myconfig.my_key.properties": "myconfig.my_key", "a-b_c.properties": "a-b_c"} {
		got, err := bundle.PropertySetName(file)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, file := range []string{"myProps", "myProps.props", ".properties", "a b.properties", "a..b.properties", "a..properties", "é.properties"} {
		_, err := bundle.PropertySetName(file)
		require.Error(t, err, file)
	}
}

func TestParseBundlePropertySets(t *testing.T) {
	b, err := bundle.Parse(zipOf(t, proxyFiles(
		"apiproxy/resources/properties/myProps.properties", "# settings\nfoo=bar\nmessage = hello world\n",
		"apiproxy/resources/properties/other.cfg.properties", "a:1\n",
	)), bundle.KindProxy, bundle.Limits{})
	require.NoError(t, err)
	require.Equal(t, map[string]map[string]string{
		"myProps":   {"foo": "bar", "message": "hello world"},
		"other.cfg": {"a": "1"},
	}, b.PropertySets)
	require.Contains(t, b.Resources, "properties://myProps.properties")

	b, err = bundle.Parse(zipOf(t, proxyFiles()), bundle.KindProxy, bundle.Limits{})
	require.NoError(t, err)
	require.Empty(t, b.PropertySets)
}

func TestParseBundlePropertySetErrors(t *testing.T) {
	tests := []struct {
		name, file, content, want string
	}{
		{"malformed line", "apiproxy/resources/properties/myProps.properties", "a=1\nb=\\u00zz\n",
			`apiproxy/resources/properties/myProps.properties: invalid bundle: property set myProps: line 2: value of "b": malformed \uXXXX escape "\u00zz"`},
		{"missing suffix", "apiproxy/resources/properties/myProps.txt", "a=1\n",
			`apiproxy/resources/properties/myProps.txt: invalid bundle: property set file "myProps.txt" must have the suffix .properties`},
		{"subfolder", "apiproxy/resources/properties/sub/x.properties", "a=1\n",
			"apiproxy/resources/properties/sub/x.properties: invalid bundle: property set files must be directly in apiproxy/resources/properties/"},
		{"bad set name", "apiproxy/resources/properties/a b.properties", "a=1\n",
			`apiproxy/resources/properties/a b.properties: invalid bundle: property set name "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := bundle.Parse(zipOf(t, proxyFiles(tt.file, tt.content)), bundle.KindProxy, bundle.Limits{})
			require.Nil(t, b)
			require.ErrorIs(t, err, bundle.ErrInvalidBundle)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

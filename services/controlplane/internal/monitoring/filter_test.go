package monitoring

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseFilter(t *testing.T) {
	m := Metric{Type: "apigee.googleapis.com/proxy/request_count", Labels: map[string]string{"proxy_name": "hello world", "method": "GET"}}
	r := MonitoredResource{Type: "apigee.googleapis.com/Proxy", Labels: map[string]string{"org": "hybrid"}}
	for _, tc := range []struct {
		name   string
		filter string
		match  bool
		err    string
	}{
		{"type", `metric.type = "apigee.googleapis.com/proxy/request_count"`, true, ""},
		{"single quotes, no spaces", `metric.type='apigee.googleapis.com/proxy/request_count'`, true, ""},
		{"other type", `metric.type = "apigee.googleapis.com/proxy/latencies"`, false, ""},
		{"prefix", `metric.type = starts_with("apigee.googleapis.com/proxy/")`, true, ""},
		{"labels", `metric.type = starts_with("apigee") AND metric.labels.proxy_name = "hello world" AND resource.labels.org = "hybrid"`, true, ""},
		{"escaped quote", `metric.type = starts_with("apigee") AND metric.labels.proxy_name = "hello \"world\""`, false, ""},
		{"missing label", `metric.type = starts_with("apigee") AND metric.labels.nope = ""`, false, ""},
		{"lowercase and", `metric.type = starts_with("apigee") and resource.type = "apigee.googleapis.com/Proxy"`, true, ""},
		{"empty", ``, false, "empty"},
		{"dangling AND", `metric.type = "x" AND`, false, "ends after AND"},
		{"no type", `resource.type = "x"`, false, "must specify a metric type"},
		{"other operator", `metric.type != "x"`, false, `unsupported operator "!="`},
		{"has", `metric.type : "x"`, false, `unsupported operator ":"`},
		{"parentheses", `(metric.type = "x")`, false, `unexpected "("`},
		{"bare value", `metric.type = x`, false, `unsupported value "x"`},
		{"unterminated", `metric.type = "x`, false, "unterminated string"},
		{"project", `project = "p" AND metric.type = "x"`, false, `unsupported filter field "project"`},
		{"no value", `metric.type =`, false, "has no value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(tc.filter)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.match, f.matches(m, r))
		})
	}
}

// FuzzParseFilter: any input parses or fails without panicking, and a
// filter that parses names a metric type.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`metric.type = "a"`,
		`metric.type = starts_with("apigee") AND resource.labels.org = 'x'`,
		`metric.type="a" and metric.label.k="v\"w"`,
		`metric.type = ends_with("a") OR NOT x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		typed := false
		for _, c := range flt.conds {
			typed = typed || c.field == "metric.type"
		}
		require.True(t, typed, "%q parsed without a metric type", s)
		_ = flt.matches(Metric{Type: "a"}, MonitoredResource{})
	})
}

package logging

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseFilter(t *testing.T) {
	text := "Contract poll failed"
	e := &LogEntry{
		LogName: "projects/hybrid/logs/apigee-synchronizer", Severity: "WARNING", TextPayload: &text,
		Resource: &MonitoredResource{Type: "k8s_container", Labels: map[string]string{"pod_name": "sync-0"}},
		Labels:   map[string]string{"org": "hybrid"},
	}
	ts := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		filter string
		match  bool
		err    string
	}{
		{"empty matches all", ``, true, ""},
		{"log name", `logName="projects/hybrid/logs/apigee-synchronizer"`, true, ""},
		{"log name has", `logName:"synchronizer"`, true, ""},
		{"implicit and", `severity>=WARNING resource.labels.pod_name="sync-0" labels.org = 'hybrid'`, true, ""},
		{"explicit and", `severity>=WARNING AND resource.type="k8s_container" and labels.org!="other"`, true, ""},
		{"severity above", `severity>WARNING`, false, ""},
		{"severity lowercase", `severity<=warning`, true, ""},
		{"timestamp", `timestamp>="2026-12-05T10:00:00Z" timestamp<"2026-12-05T10:00:01Z"`, true, ""},
		{"timestamp before", `timestamp<"2026-12-05T10:00:00Z"`, false, ""},
		{"text", `textPayload:"POLL"`, true, ""},
		{"text equal", `textPayload="Contract poll failed"`, true, ""},
		{"missing label", `labels.env="x"`, false, ""},
		{"missing label not equal", `labels.env!="x"`, true, ""},
		{"json on a text entry", `jsonPayload.a="x"`, false, ""},
		{"dangling and", `severity>=INFO AND`, false, "needs a comparison on each side"},
		{"leading and", `AND severity>=INFO`, false, "needs a comparison on each side"},
		{"not", `NOT severity>=INFO`, false, "unsupported operator NOT"},
		{"minus", `-severity>=INFO`, false, `unsupported "-"`},
		{"parentheses", `(severity>=INFO)`, false, `unsupported "("`},
		{"no operator", `severity`, false, "has no comparison"},
		{"no value", `severity>=`, false, "has no value"},
		{"timestamp has", `timestamp:"2026"`, false, `unsupported operator ":" for timestamp`},
		{"string less", `logName<"x"`, false, `unsupported operator "<" for logName`},
		{"unknown field", `operation.id="x"`, false, `unsupported filter field "operation.id"`},
		{"global search", `"some text"`, false, "expected a field name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(tc.filter)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.match, f.matches(e, ts, nil))
		})
	}
}

// FuzzParseFilter: any input parses or fails without panicking, and what
// parses can be evaluated.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`severity>=WARNING`,
		`logName="projects/p/logs/a%2Fb" AND resource.labels.k='v'`,
		`timestamp>="2026-01-02T15:04:05Z" textPayload:"x\"y"`,
		`jsonPayload.code = 500 OR NOT labels.a =~ "b"`,
	} {
		f.Add(s)
	}
	text := "x"
	e := &LogEntry{TextPayload: &text, Resource: &MonitoredResource{Type: "global"}}
	top := map[string]json.RawMessage{"code": json.RawMessage(`500`)}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		_ = flt.matches(e, time.Unix(0, 0), top)
	})
}

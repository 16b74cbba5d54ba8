package logging

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/gcpapi/gcpapitest"
)

var t0 = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }

// newServer serves a store with no authorization (the server package tests
// it with the IAM) and a fixed clock.
func newServer(tb testing.TB, opts Options) (*Store, *httptest.Server) {
	tb.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0.Add(time.Hour) }
	}
	s := New(opts)
	return s, gcpapitest.Serve(tb, s.Register)
}

type apiError = gcpapitest.APIError

func post(tb testing.TB, u, body string) (int, string) {
	tb.Helper()
	return gcpapitest.Call(tb, http.MethodPost, u, body)
}

const res = `{"type":"k8s_container","labels":{"namespace_name":"apigee","container_name":"apigee-runtime"}}`

func TestWriteValidates(t *testing.T) {
	long := strings.Repeat("a", maxLogIDLen+1)
	for _, tc := range []struct {
		name   string
		body   string
		status int
		want   string // in the error message
		stored int
	}{
		{"defaults from the request", `{"logName":"projects/hybrid/logs/apigee-runtime","resource":` + res + `,"entries":[{"textPayload":"a"},{"jsonPayload":{"m":1}}]}`, 200, "", 2},
		{"encoded log id", `{"entries":[{"logName":"projects/hybrid/logs/apigee.googleapis.com%2Fruntime","resource":` + res + `}]}`, 200, "", 1},
		{"dry run", `{"dryRun":true,"logName":"projects/hybrid/logs/x","resource":` + res + `,"entries":[{}]}`, 200, "", 0},
		{"no entries", `{"logName":"projects/hybrid/logs/x","resource":` + res + `,"entries":[]}`, 400, "at least one log entry", 0},
		{"unknown field", `{"entries":[{"payload":"x"}]}`, 400, "Invalid JSON payload", 0},
		{"no log name", `{"resource":` + res + `,"entries":[{"textPayload":"a"}]}`, 400, "entries[0].logName", 0},
		{"bad log name", `{"resource":` + res + `,"entries":[{"logName":"projects/hybrid/x"}]}`, 400, "entries[0].logName", 0},
		{"folder log", `{"resource":` + res + `,"entries":[{"logName":"folders/1/logs/x"}]}`, 400, `"projects/PROJECT/logs/LOG_ID" only`, 0},
		{"unencoded slash", `{"resource":` + res + `,"entries":[{"logName":"projects/hybrid/logs/a/b"}]}`, 400, "URL-encoded", 0},
		{"bad character", `{"resource":` + res + `,"entries":[{"logName":"projects/hybrid/logs/a%20b"}]}`, 400, "the character ' '", 0},
		{"long log id", `{"resource":` + res + `,"entries":[{"logName":"projects/hybrid/logs/` + long + `"}]}`, 400, "more than 512", 0},
		{"no resource", `{"logName":"projects/hybrid/logs/x","entries":[{"textPayload":"a"},{"textPayload":"b"}]}`, 400, "entries[0].resource", 0},
		{"second entry bad", `{"logName":"projects/hybrid/logs/x","entries":[{"resource":` + res + `},{"textPayload":"b"}]}`, 400, "entries[1].resource", 0},
		{"two payloads", `{"logName":"projects/hybrid/logs/x","resource":` + res + `,"entries":[{"textPayload":"a","jsonPayload":{}}]}`, 400, "at most one of textPayload", 0},
		{"json payload not an object", `{"logName":"projects/hybrid/logs/x","resource":` + res + `,"entries":[{"jsonPayload":[1]}]}`, 400, "entries[0].jsonPayload", 0},
		{"bad severity", `{"logName":"projects/hybrid/logs/x","resource":` + res + `,"entries":[{"severity":"LOUD"}]}`, 400, "entries[0].severity", 0},
		{"bad timestamp", `{"logName":"projects/hybrid/logs/x","resource":` + res + `,"entries":[{"timestamp":"now"}]}`, 400, "entries[0].timestamp", 0},
		{"partial success", `{"partialSuccess":true,"logName":"projects/hybrid/logs/x","resource":` + res + `,"entries":[{"textPayload":"a"},{"severity":"LOUD"},{"textPayload":"c"}]}`, 400, "1 of the log entries could not be written", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, srv := newServer(t, Options{})
			code, body := post(t, srv.URL+WritePath, tc.body)
			require.Equal(t, tc.status, code, body)
			require.Len(t, s.Entries("hybrid"), tc.stored)
			if tc.status == 200 {
				require.JSONEq(t, `{}`, body)
				return
			}
			var e apiError
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			require.Equal(t, "INVALID_ARGUMENT", e.Error.Status)
			require.Contains(t, e.Error.Message, tc.want)
		})
	}
}

func TestWriteLimits(t *testing.T) {
	entries := make([]string, MaxEntriesPerRequest+1)
	for i := range entries {
		entries[i] = `{}`
	}
	big := `{"logName":"projects/hybrid/logs/x","resource":` + res + `,"entries":[{"textPayload":"` + strings.Repeat("x", MaxRequestBytes) + `"}]}`
	for _, tc := range []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"too many entries", `{"logName":"projects/hybrid/logs/x","resource":` + res + `,"entries":[` + strings.Join(entries, ",") + `]}`, 400, "at most 1000 entries"},
		{"too large", big, http.StatusRequestEntityTooLarge, "exceeds the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, srv := newServer(t, Options{})
			code, body := post(t, srv.URL+WritePath, tc.body)
			require.Equal(t, tc.status, code, body)
			require.Contains(t, body, tc.want)
			require.Empty(t, s.Entries("hybrid"))
		})
	}
}

func TestWriteDefaults(t *testing.T) {
	s, srv := newServer(t, Options{})
	code, body := post(t, srv.URL+WritePath, `{"logName":"projects/hybrid/logs/x","resource":`+res+`,"labels":{"a":"req","b":"req"},
		"entries":[{"labels":{"b":"entry"},"textPayload":"hi","severity":"warning","timestamp":"`+at(0)+`"},{"insertId":"mine","resource":{"type":"global"}}]}`)
	require.Equal(t, 200, code, body)
	got := s.Entries("hybrid")
	require.Len(t, got, 2)
	require.Equal(t, map[string]string{"a": "req", "b": "entry"}, got[0].Labels, "labels merged, the entry's win")
	require.Equal(t, "WARNING", got[0].Severity)
	require.Equal(t, at(0), got[0].Timestamp)
	require.Equal(t, at(time.Hour), got[0].ReceiveTimestamp)
	require.Len(t, got[0].InsertID, 14)
	require.Equal(t, at(time.Hour), got[1].Timestamp, "timestamp defaults to now")
	require.Equal(t, "mine", got[1].InsertID)
	require.Equal(t, "global", got[1].Resource.Type, "the entry's resource wins")
	require.Equal(t, "projects/hybrid/logs/x", got[1].LogName)
}

func TestListFiltersOrdersAndPages(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, srv := newServer(t, Options{Registerer: reg})
	entry := func(log, sev string, d time.Duration, payload string) string {
		return fmt.Sprintf(`{"logName":"projects/hybrid/logs/%s","severity":%q,"timestamp":%q,%s}`, log, sev, at(d), payload)
	}
	code, body := post(t, srv.URL+WritePath, `{"resource":`+res+`,"labels":{"env":"test"},"entries":[`+strings.Join([]string{
		entry("apigee-runtime", "INFO", 0, `"textPayload":"started message processor"`),
		entry("apigee-runtime", "ERROR", time.Minute, `"jsonPayload":{"message":"Target unreachable","code":503,"proxy":"hello"}`),
		entry("apigee-synchronizer", "WARNING", 2*time.Minute, `"textPayload":"Contract poll FAILED"`),
		entry("apigee-synchronizer", "DEBUG", 3*time.Minute, `"textPayload":"poll","labels":{"env":"prod"}`),
	}, ",")+`]}`)
	require.Equal(t, 200, code, body)
	code, body = post(t, srv.URL+WritePath, `{"logName":"projects/other/logs/x","resource":{"type":"global"},"entries":[{"textPayload":"elsewhere"}]}`)
	require.Equal(t, 200, code, body)
	require.Equal(t, 5.0, testutil.ToFloat64(s.written))

	list := func(req ListLogEntriesRequest) (int, ListLogEntriesResponse, string) {
		raw, err := json.Marshal(req)
		require.NoError(t, err)
		code, body := post(t, srv.URL+ListPath, string(raw))
		var out ListLogEntriesResponse
		if code == 200 {
			require.NoError(t, json.Unmarshal([]byte(body), &out), body)
		}
		return code, out, body
	}
	text := func(out ListLogEntriesResponse) []string {
		var got []string
		for _, e := range out.Entries {
			switch {
			case e.TextPayload != nil:
				got = append(got, *e.TextPayload)
			default:
				got = append(got, string(e.JSONPayload))
			}
		}
		return got
	}
	hybrid := []string{"projects/hybrid"}
	const errJSON = `{"message":"Target unreachable","code":503,"proxy":"hello"}`
	for _, tc := range []struct {
		name string
		req  ListLogEntriesRequest
		want []string
	}{
		{"all, oldest first", ListLogEntriesRequest{ResourceNames: hybrid}, []string{"started message processor", errJSON, "Contract poll FAILED", "poll"}},
		{"newest first", ListLogEntriesRequest{ResourceNames: hybrid, OrderBy: "timestamp desc"}, []string{"poll", "Contract poll FAILED", errJSON, "started message processor"}},
		{"two projects", ListLogEntriesRequest{ResourceNames: []string{"projects/hybrid", "projects/other"}, Filter: `textPayload:"s"`}, []string{"started message processor", "elsewhere"}},
		{"project ids", ListLogEntriesRequest{ProjectIds: []string{"other"}}, []string{"elsewhere"}},
		{"log name", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `logName="projects/hybrid/logs/apigee-synchronizer"`}, []string{"Contract poll FAILED", "poll"}},
		{"bare log name", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `logName=projects/hybrid/logs/apigee-synchronizer`}, []string{"Contract poll FAILED", "poll"}},
		{"severity", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `severity>=WARNING`}, []string{errJSON, "Contract poll FAILED"}},
		{"severity below", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `severity < "info"`}, []string{"poll"}},
		{"severity equal", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `severity = ERROR`}, []string{errJSON}},
		{"timestamp", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `timestamp >= "` + at(time.Minute) + `" AND timestamp < "` + at(3*time.Minute) + `"`}, []string{errJSON, "Contract poll FAILED"}},
		{"resource", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `resource.type="k8s_container" resource.labels.container_name="apigee-runtime" severity<=INFO`}, []string{"started message processor", "poll"}},
		{"labels", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `labels.env = "prod"`}, []string{"poll"}},
		{"labels not equal", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `labels.env != "prod"`}, []string{"started message processor", errJSON, "Contract poll FAILED"}},
		{"json payload string", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `jsonPayload.proxy = "hello"`}, []string{errJSON}},
		{"json payload number", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `jsonPayload.code = "503"`}, []string{errJSON}},
		{"text substring, any case", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `textPayload:"failed"`}, []string{"Contract poll FAILED"}},
		{"no match", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `jsonPayload.proxy = "orders"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, body := list(tc.req)
			require.Equal(t, 200, code, body)
			require.Equal(t, tc.want, text(out))
		})
	}

	t.Run("pages", func(t *testing.T) {
		req := ListLogEntriesRequest{ResourceNames: hybrid, OrderBy: "timestamp desc", PageSize: 3}
		code, out, body := list(req)
		require.Equal(t, 200, code, body)
		require.Equal(t, []string{"poll", "Contract poll FAILED", errJSON}, text(out))
		require.NotEmpty(t, out.NextPageToken)
		// An entry written between pages is not repeated and shifts nothing.
		code, body = post(t, srv.URL+WritePath, `{"logName":"projects/hybrid/logs/x","resource":`+res+`,"entries":[{"textPayload":"newest","timestamp":"`+at(time.Hour)+`"}]}`)
		require.Equal(t, 200, code, body)
		req.PageToken = out.NextPageToken
		code, out, body = list(req)
		require.Equal(t, 200, code, body)
		require.Equal(t, []string{"started message processor"}, text(out))
		require.Empty(t, out.NextPageToken)
		req.Filter = "severity>=ERROR"
		code, _, body = list(req)
		require.Equal(t, 400, code, body)
		require.Contains(t, body, "pageToken")
	})

	for _, tc := range []struct {
		name string
		req  ListLogEntriesRequest
		want string
	}{
		{"no resource names", ListLogEntriesRequest{}, "resourceNames"},
		{"organization", ListLogEntriesRequest{ResourceNames: []string{"organizations/1"}}, "resourceNames[0]"},
		{"bucket view", ListLogEntriesRequest{ResourceNames: []string{"projects/p/locations/global/buckets/b/views/v"}}, "resourceNames[0]"},
		{"order", ListLogEntriesRequest{ResourceNames: hybrid, OrderBy: "severity desc"}, "orderBy"},
		{"page size", ListLogEntriesRequest{ResourceNames: hybrid, PageSize: 1001}, "pageSize"},
		{"negative page size", ListLogEntriesRequest{ResourceNames: hybrid, PageSize: -1}, "pageSize"},
		{"field", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `httpRequest.status=500`}, `unsupported filter field "httpRequest.status"`},
		{"nested json", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `jsonPayload.a.b="x"`}, `unsupported filter field "jsonPayload.a.b"`},
		{"OR", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `severity=ERROR OR severity=INFO`}, "unsupported operator OR"},
		{"regex", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `textPayload=~"a.*"`}, "regular expressions"},
		{"severity has", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `severity:ERROR`}, `unsupported operator ":" for severity`},
		{"bad level", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `severity>=LOUD`}, `unknown severity "LOUD"`},
		{"bad time", ListLogEntriesRequest{ResourceNames: hybrid, Filter: `timestamp>="yesterday"`}, "not an RFC 3339 time"},
		{"bad token", ListLogEntriesRequest{ResourceNames: hybrid, PageToken: "x"}, "pageToken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := list(tc.req)
			require.Equal(t, 400, code, body)
			var e apiError
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			require.Equal(t, "INVALID_ARGUMENT", e.Error.Status)
			require.Contains(t, e.Error.Message, tc.want)
		})
	}
}

func TestRingBound(t *testing.T) {
	s, srv := newServer(t, Options{MaxEntries: 3})
	for i := range 5 {
		code, body := post(t, srv.URL+WritePath, fmt.Sprintf(`{"logName":"projects/hybrid/logs/x","resource":{"type":"global"},"entries":[{"textPayload":"%d"}]}`, i))
		require.Equal(t, 200, code, body)
	}
	var got []string
	for _, e := range s.Entries("hybrid") {
		got = append(got, *e.TextPayload)
	}
	require.Equal(t, []string{"2", "3", "4"}, got)
}

func TestUnknownProject(t *testing.T) {
	s, srv := newServer(t, Options{Projects: projectSet{"hybrid": true}})
	code, body := post(t, srv.URL+WritePath, `{"resource":{"type":"global"},"entries":[{"logName":"projects/hybrid/logs/x"},{"logName":"projects/nope/logs/x"}]}`)
	require.Equal(t, http.StatusNotFound, code, body)
	require.Empty(t, s.Entries("hybrid"), "nothing is written when one project is refused")
	code, body = post(t, srv.URL+ListPath, `{"resourceNames":["projects/nope"]}`)
	require.Equal(t, http.StatusNotFound, code, body)
}

type projectSet = gcpapitest.ProjectSet

// Concurrent writers and readers (run with -race).
func TestConcurrentUse(t *testing.T) {
	s := New(Options{MaxEntries: 50})
	f, err := ParseFilter(`severity>=INFO`)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				req := &WriteLogEntriesRequest{LogName: "projects/hybrid/logs/x", Resource: &MonitoredResource{Type: "global"},
					Entries: []LogEntry{{Severity: "INFO", JSONPayload: json.RawMessage(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))}}}
				p, err := prepare(0, req, time.Now())
				if err != nil {
					errs <- err
					return
				}
				s.store([]pending{p})
				if _, err := s.list(listQuery{projects: []string{"hybrid"}, filter: f, pageSize: 10}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, s.Entries("hybrid"), 50)
}

package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
)

var t0 = time.Date(2026, 5, 15, 6, 0, 0, 0, time.UTC)

// record is a call of proxy at offset from t0 taking ms milliseconds.
func record(id, proxy string, status int32, offset time.Duration, ms int64) *analyticsv1.ApiRecord {
	start := t0.Add(offset).UnixMilli()
	return &analyticsv1.ApiRecord{Organization: "org", Environment: "test", Apiproxy: proxy, ApiproxyRevision: "1",
		RequestVerb: "GET", ResponseStatusCode: status, IsError: status >= 400, GatewayFlowId: id,
		ClientReceivedStartTimestamp: start, ClientSentEndTimestamp: start + ms, ClientSentStartTimestamp: start + ms - 1,
		CustomDimensions: map[string]*analyticsv1.Dimension{"dc_tier": {Value: &analyticsv1.Dimension_StringValue{StringValue: "gold"}}}}
}

// writeFile writes records as UDCA does into the storage layout.
func writeFile(tb testing.TB, dir string, recs ...*analyticsv1.ApiRecord) string {
	tb.Helper()
	n := analyticsfile.Name{Time: t0, Dataset: "api", Org: "org", Env: "test", ID: "65fef1f5-baa7-47f7-966e-f4cb5b0c86f" + strconv.Itoa(len(recs)%10)}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for _, r := range recs {
		_, _ = zw.Write(append(analyticsv1.AppendJSON(nil, r), '\n'))
	}
	require.NoError(tb, zw.Close())
	path := filepath.Join(dir, Bucket("org"), "api", n.String())
	require.NoError(tb, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(tb, os.WriteFile(path, b.Bytes(), 0o600))
	return path
}

func newStore(t *testing.T) (*SQLStore, *Ingester, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenSQL(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, NewIngester(s, filepath.Join(dir, "storage"), filepath.Join(dir, "rejected"), time.Hour, zaptest.NewLogger(t)), filepath.Join(dir, "storage")
}

func TestIngestAndStats(t *testing.T) {
	s, in, storageDir := newStore(t)
	ctx := context.Background()
	var recs []*analyticsv1.ApiRecord
	for i := range 10 {
		proxy, status := "hello", int32(200)
		if i >= 7 {
			proxy, status = "weather", 500
		}
		recs = append(recs, record("id-"+strconv.Itoa(i), proxy, status, time.Duration(i)*time.Minute, int64(10*(i+1))))
	}
	path := writeFile(t, storageDir, recs...)
	require.Equal(t, 1, in.Sweep(ctx))
	_, err := os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "ingested files leave storage")
	// The same file uploaded again adds nothing.
	writeFile(t, storageDir, recs...)
	require.Equal(t, 1, in.Sweep(ctx))

	rng := "05/15/2026 06:00~05/15/2026 07:00"
	tests := []struct {
		name   string
		dims   string
		params url.Values
		check  func(t *testing.T, st *Stats)
	}{
		{"count without dimensions", "", url.Values{"select": {"sum(message_count),sum(is_error)"}, "timeRange": {rng}},
			func(t *testing.T, st *Stats) {
				require.Equal(t, "test", st.Environments[0].Name)
				require.Equal(t, []any{"10.0"}, st.Environments[0].Metrics[0].Values)
				require.Equal(t, []any{"3.0"}, st.Environments[0].Metrics[1].Values)
			}},
		{"by proxy, sorted", "apiproxy", url.Values{"select": {"sum(message_count),avg(total_response_time),p50(total_response_time),max(total_response_time)"},
			"timeRange": {rng}, "sortby": {"sum(message_count)"}, "sort": {"DESC"}},
			func(t *testing.T, st *Stats) {
				d := st.Environments[0].Dimensions
				require.Len(t, d, 2)
				require.Equal(t, "hello", d[0].Name)
				require.Equal(t, []any{"7.0"}, d[0].Metrics[0].Values)
				require.Equal(t, []any{"40.0"}, d[0].Metrics[1].Values) // 10..70
				require.Equal(t, []any{"40.0"}, d[0].Metrics[2].Values) // rank ceil(7/2)=4 → 40
				require.Equal(t, []any{"100.0"}, d[1].Metrics[3].Values)
			}},
		{"filter and custom dimension", "dc_tier", url.Values{"select": {"sum(message_count)"}, "timeRange": {rng},
			"filter": {"(apiproxy in 'weather') and (response_status_code ge 500)"}},
			func(t *testing.T, st *Stats) {
				require.Equal(t, "gold", st.Environments[0].Dimensions[0].Name)
				require.Equal(t, []any{"3.0"}, st.Environments[0].Dimensions[0].Metrics[0].Values)
			}},
		{"time buckets, empty ones zero", "", url.Values{"select": {"sum(message_count)"}, "timeRange": {"05/15/2026 06:00~05/15/2026 06:12"},
			"timeUnit": {"minute"}, "tsAscending": {"true"}},
			func(t *testing.T, st *Stats) {
				v := st.Environments[0].Metrics[0].Values
				require.Len(t, v, 12)
				require.Equal(t, TimedValue{Timestamp: t0.UnixMilli(), Value: "1.0"}, v[0])
				require.Equal(t, TimedValue{Timestamp: t0.Add(11 * time.Minute).UnixMilli(), Value: "0.0"}, v[11])
			}},
		{"outside the range", "apiproxy", url.Values{"select": {"sum(message_count)"}, "timeRange": {"05/16/2026 06:00~05/16/2026 07:00"}},
			func(t *testing.T, st *Stats) { require.Empty(t, st.Environments[0].Dimensions) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseQuery("org", "test", tt.dims, tt.params)
			require.NoError(t, err)
			st, err := Run(ctx, s, q)
			require.NoError(t, err)
			tt.check(t, st)
			_, err = json.Marshal(st)
			require.NoError(t, err)
		})
	}
}

func TestParseQueryErrors(t *testing.T) {
	rng := "05/15/2026 06:00~05/15/2026 07:00"
	tests := []struct {
		name   string
		dims   string
		params url.Values
		field  string
	}{
		{"unknown dimension", "nope", url.Values{"select": {"sum(message_count)"}, "timeRange": {rng}}, ""},
		{"unknown metric", "", url.Values{"select": {"sum(bogus)"}, "timeRange": {rng}}, "select"},
		{"wrong function", "", url.Values{"select": {"p95(message_count)"}, "timeRange": {rng}}, "select"},
		{"no select", "", url.Values{"timeRange": {rng}}, "select"},
		{"no range", "", url.Values{"select": {"sum(message_count)"}}, "timeRange"},
		{"bad range", "", url.Values{"select": {"sum(message_count)"}, "timeRange": {"yesterday"}}, "timeRange"},
		{"backwards range", "", url.Values{"select": {"sum(message_count)"}, "timeRange": {"05/15/2026 07:00~05/15/2026 06:00"}}, "timeRange"},
		{"bad unit", "", url.Values{"select": {"sum(message_count)"}, "timeRange": {rng}, "timeUnit": {"fortnight"}}, "timeUnit"},
		{"bad filter", "", url.Values{"select": {"sum(message_count)"}, "timeRange": {rng}, "filter": {"(apiproxy eq"}}, "filter"},
		{"filter on unknown dimension", "", url.Values{"select": {"sum(message_count)"}, "timeRange": {rng}, "filter": {"(x eq 'y')"}}, "filter"},
		{"sortby not selected", "", url.Values{"select": {"sum(message_count)"}, "timeRange": {rng}, "sortby": {"sum(is_error)"}}, "sortby"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseQuery("org", "test", tt.dims, tt.params)
			require.Error(t, err)
			e := apierr.From(err)
			require.Equal(t, http.StatusBadRequest, e.Code)
			require.Equal(t, "INVALID_ARGUMENT", e.Status)
			if tt.field != "" {
				b, _ := json.Marshal(e.Body())
				require.Contains(t, string(b), `"field":"`+tt.field+`"`)
			}
		})
	}
}

func TestCorruptFileMovedAside(t *testing.T) {
	_, in, storageDir := newStore(t)
	path := writeFile(t, storageDir, record("a", "p", 200, 0, 1))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data[:len(data)/2], 0o600))
	require.Equal(t, 1, in.Sweep(context.Background()))
	_, err = os.Stat(filepath.Join(in.RejectDir, filepath.Base(path)))
	require.NoError(t, err)
}

func TestJavaDouble(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tt := range []struct {
		v    *float64
		want string
	}{{nil, "0.0"}, {f(39), "39.0"}, {f(0.5), "0.5"}, {f(2.52056245e8), "2.52056245E8"}, {f(1e-4), "1.0E-4"}, {f(-3), "-3.0"}} {
		require.Equal(t, tt.want, javaDouble(tt.v))
	}
}

func TestDecodeRecord(t *testing.T) {
	col := func(v Values, name string) any { return v[columnIndex[name]] }
	tests := []struct {
		name, line string
		err        bool
		check      func(t *testing.T, v Values)
	}{
		{"fields, derived latencies, custom dimensions", `{"organization":"evil","apiproxy":"p\u00e9\"q","response_status_code":200,"is_error":true,` +
			`"client_received_start_timestamp":100,"client_sent_end_timestamp":130,"target_sent_start_timestamp":105,` +
			`"target_received_end_timestamp":120,"client_sent_start_timestamp":125,"gateway_flow_id":"x","dc_tier":"gold","dc_n":3,"unknown":[1]}`, true, nil},
		{"flat record", `{"organization":"evil","apiproxy":"p\u00e9\"q","response_status_code":200,"is_error":true,` +
			`"client_received_start_timestamp":100,"client_sent_end_timestamp":130,"target_sent_start_timestamp":105,` +
			`"target_received_end_timestamp":120,"client_sent_start_timestamp":125,"gateway_flow_id":"x","dc_tier":"gold","dc_n":3,"newer_field":"ok"}`, false,
			func(t *testing.T, v Values) {
				require.Equal(t, "org", col(v, "organization"), "the file's organization, not the record's")
				require.Equal(t, "pé\"q", col(v, "apiproxy"))
				require.Equal(t, int64(200), col(v, "response_status_code"))
				require.Equal(t, int64(1), col(v, "is_error"))
				require.Equal(t, int64(30), col(v, "total_response_time"))
				require.Equal(t, int64(15), col(v, "target_response_time"))
				require.Equal(t, int64(5), col(v, "request_processing_latency"))
				require.Equal(t, int64(5), col(v, "response_processing_latency"))
				require.JSONEq(t, `{"dc_tier":"gold","dc_n":3}`, col(v, "custom").(string))
			}},
		{"no target: no target latencies", `{"gateway_flow_id":"x","client_received_start_timestamp":1,"client_sent_end_timestamp":2}`, false,
			func(t *testing.T, v Values) { require.Nil(t, col(v, "target_response_time")) }},
		{"wrong type", `{"gateway_flow_id":"x","response_status_code":"200"}`, true, nil},
		{"no id", `{"apiproxy":"p"}`, true, nil},
		{"trailing garbage", `{"gateway_flow_id":"x"} x`, true, nil},
		{"not closed", `{"gateway_flow_id":"x"`, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decodeRecord([]byte(tt.line), "org", "test")
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			tt.check(t, v)
		})
	}
}

// FuzzDecodeRecord: any line decodes or fails, never panics.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"gateway_flow_id":"x","apiproxy":"p","response_status_code":200,"dc_a":1.5}`))
	f.Add([]byte(`{"a":"\u00e9\\"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		_, _ = decodeRecord(line, "org", "test")
	})
}

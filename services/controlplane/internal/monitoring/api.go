package monitoring

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/gcpapi"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

// Path is the prefix of the API's routes.
const Path = "/v3/projects/{project}/timeSeries"

// Register adds the API's routes to a mux (handle is
// (*http.ServeMux).Handle or (*service.Service).Handle):
//
//	POST /v3/projects/{project}/timeSeries   projects.timeSeries.create
//	GET  /v3/projects/{project}/timeSeries   projects.timeSeries.list
//
// Any other method on the path is a 405 in Google's error shape, also on
// a mux whose "/" is another API.
func (s *Store) Register(handle func(pattern string, h http.Handler)) {
	handle("POST "+Path, http.HandlerFunc(s.serveCreate))
	handle("GET "+Path, http.HandlerFunc(s.serveList))
	handle(Path, gcpapi.MethodNotAllowed("GET, POST"))
}

// authorize admits the caller to permission on the project: 401 without
// credentials, the IAM's 403 without the permission, 404 for a project
// that does not exist.
func (s *Store) authorize(r *http.Request, permission, projectID string) error {
	p, err := s.gate.Authenticate(r)
	if err != nil {
		return err
	}
	return s.gate.Authorize(r.Context(), p, permission, projectID)
}

func (s *Store) serveCreate(w http.ResponseWriter, r *http.Request) {
	projectID := r.PathValue("project")
	if err := s.authorize(r, iam.PermTimeSeriesCreate, projectID); err != nil {
		apierr.Write(w, err)
		return
	}
	var req CreateTimeSeriesRequest
	if err := gcpapi.DecodeBody(w, r, maxBody, &req); err != nil {
		apierr.Write(w, err)
		return
	}
	if _, err := s.Create(projectID, req.TimeSeries); err != nil {
		apierr.Write(w, err)
		return
	}
	gcpapi.WriteJSON(w, struct{}{})
}

// parsed is a validated series of a create request.
type parsed struct {
	key       string
	ts        TimeSeries
	kind      string
	valueType string
	point     storedPoint
}

// Create validates and stores series in project (one point each) and
// returns how many points it stored. Nothing is stored when any series is
// refused; the error is a 400 naming the series' index and field.
func (s *Store) Create(projectID string, in []TimeSeries) (int, error) {
	if len(in) == 0 {
		return 0, apierr.InvalidField("timeSeries", "Field timeSeries had an invalid value: at least one TimeSeries must be written.")
	}
	if len(in) > MaxSeriesPerRequest {
		return 0, apierr.InvalidField("timeSeries", "Field timeSeries had an invalid value: a request may write at most %d TimeSeries, this one has %d.", MaxSeriesPerRequest, len(in))
	}
	batch := make([]parsed, 0, len(in))
	seen := map[string]int{}
	for i, ts := range in {
		p, err := validate(i, ts)
		if err != nil {
			return 0, err
		}
		if j, dup := seen[p.key]; dup {
			return 0, apierr.InvalidField(fmt.Sprintf("timeSeries[%d]", i),
				"Field timeSeries[%d] had an invalid value: Duplicate TimeSeries encountered. Only one point can be written per TimeSeries per request (same series as timeSeries[%d]).", i, j)
		}
		seen[p.key] = i
		batch = append(batch, p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.projects[projectID]
	if pr == nil {
		pr = &project{series: map[string]*series{}, descriptors: map[string]descriptor{}}
	}
	// Checks against what is stored, before anything is changed.
	for i, p := range batch {
		if d, ok := pr.descriptors[p.ts.Metric.Type]; ok {
			if d.kind != p.kind {
				return 0, apierr.InvalidField(fmt.Sprintf("timeSeries[%d].metricKind", i),
					"Field timeSeries[%d].metricKind had an invalid value of \"%s\": must match the existing metric kind %s of %s.", i, p.kind, d.kind, p.ts.Metric.Type)
			}
			if d.valueType != p.valueType {
				return 0, apierr.InvalidField(fmt.Sprintf("timeSeries[%d].valueType", i),
					"Field timeSeries[%d].valueType had an invalid value of \"%s\": must match the existing value type %s of %s.", i, p.valueType, d.valueType, p.ts.Metric.Type)
			}
		}
		if sr := pr.series[p.key]; sr != nil && len(sr.points) > 0 && !p.point.end.After(sr.points[len(sr.points)-1].end) {
			return 0, apierr.InvalidField(fmt.Sprintf("timeSeries[%d]", i),
				"One or more TimeSeries could not be written: Points must be written in order. One or more of the points specified had an older start time than the most recent point.: timeSeries[%d]", i)
		}
	}
	s.projects[projectID] = pr
	for _, p := range batch {
		pr.clock++
		pr.descriptors[p.ts.Metric.Type] = descriptor{kind: p.kind, valueType: p.valueType}
		sr := pr.series[p.key]
		if sr == nil {
			if len(pr.series) >= s.opts.MaxSeries {
				pr.evictOldest()
			}
			sr = &series{key: p.key, metric: *p.ts.Metric, resource: *p.ts.Resource, kind: p.kind, valueType: p.valueType, unit: p.ts.Unit}
			pr.series[p.key] = sr
		}
		if len(sr.points) >= s.opts.MaxPoints {
			sr.points = append(sr.points[:0], sr.points[len(sr.points)-s.opts.MaxPoints+1:]...)
		}
		sr.points = append(sr.points, p.point)
		sr.lastWrite = pr.clock
	}
	s.written.Add(float64(len(batch)))
	return len(batch), nil
}

// evictOldest drops the least recently written series to make room: a
// bounded store forgets what nobody writes any more.
func (p *project) evictOldest() {
	var oldest *series
	for _, sr := range p.series {
		if oldest == nil || sr.lastWrite < oldest.lastWrite {
			oldest = sr
		}
	}
	if oldest != nil {
		delete(p.series, oldest.key)
	}
}

// validate checks one series of a create request as the real API does.
func validate(i int, ts TimeSeries) (parsed, error) {
	bad := func(field, format string, args ...any) error {
		f := fmt.Sprintf("timeSeries[%d]%s", i, field)
		return apierr.InvalidField(f, "Field %s had an invalid value: %s", f, fmt.Sprintf(format, args...))
	}
	if ts.Metric == nil || ts.Metric.Type == "" {
		return parsed{}, bad(".metric.type", "a metric type is required.")
	}
	if ts.Resource == nil || ts.Resource.Type == "" {
		return parsed{}, bad(".resource.type", "a monitored resource type is required.")
	}
	if len(ts.Points) != 1 {
		return parsed{}, bad(".points", "Only one point can be written per TimeSeries per request (got %d).", len(ts.Points))
	}
	kind := ts.MetricKind
	switch kind {
	case "":
		kind = KindGauge // the real API's default for a new metric
	case KindGauge, KindDelta, KindCumulative:
	default:
		return parsed{}, bad(".metricKind", "unknown metric kind %q: GAUGE, DELTA or CUMULATIVE.", ts.MetricKind)
	}
	pt := ts.Points[0]
	if pt.Interval == nil || pt.Interval.EndTime == "" {
		return parsed{}, bad(".points[0].interval.endTime", "an end time is required.")
	}
	end, err := time.Parse(time.RFC3339Nano, pt.Interval.EndTime)
	if err != nil {
		return parsed{}, bad(".points[0].interval.endTime", "%q is not an RFC 3339 time.", pt.Interval.EndTime)
	}
	start := end
	if pt.Interval.StartTime != "" {
		if start, err = time.Parse(time.RFC3339Nano, pt.Interval.StartTime); err != nil {
			return parsed{}, bad(".points[0].interval.startTime", "%q is not an RFC 3339 time.", pt.Interval.StartTime)
		}
	}
	switch {
	case kind == KindGauge && !start.Equal(end):
		return parsed{}, bad(".points[0].interval.startTime", "the start time of a GAUGE point must be empty or equal its end time.")
	case kind != KindGauge && pt.Interval.StartTime == "":
		return parsed{}, bad(".points[0].interval.startTime", "a start time is required for a %s metric.", kind)
	case start.After(end):
		return parsed{}, bad(".points[0].interval", "the start time %s is after the end time %s.", pt.Interval.StartTime, pt.Interval.EndTime)
	}
	if pt.Value == nil {
		return parsed{}, bad(".points[0].value", "a value is required.")
	}
	vt, n := valueTypeOf(pt.Value)
	switch {
	case n == 0:
		return parsed{}, bad(".points[0].value", "a value is required.")
	case n > 1:
		return parsed{}, bad(".points[0].value", "exactly one value field may be set.")
	case ts.ValueType != "" && ts.ValueType != vt:
		return parsed{}, bad(".points[0].value", "the value type %s does not match the series' valueType %s.", vt, ts.ValueType)
	}
	if d := pt.Value.DistributionValue; d != nil {
		if err := checkDistribution(d); err != nil {
			return parsed{}, bad(".points[0].value.distributionValue", "%v", err)
		}
	}
	if kind != KindGauge && (vt == TypeBool || vt == TypeString) {
		return parsed{}, bad(".metricKind", "a %s metric cannot have %s values.", kind, vt)
	}
	return parsed{
		key: seriesKey(*ts.Metric, *ts.Resource), ts: ts, kind: kind, valueType: vt,
		point: storedPoint{start: start.UTC(), end: end.UTC(), value: *pt.Value},
	}, nil
}

func checkDistribution(d *Distribution) error {
	if d.Count < 0 {
		return fmt.Errorf("count %d is negative", d.Count)
	}
	if math.IsNaN(float64(d.Mean)) {
		return errors.New("the mean is NaN")
	}
	if len(d.BucketCounts) == 0 {
		return nil
	}
	var sum int64
	for _, c := range d.BucketCounts {
		if c < 0 {
			return errors.New("bucket counts must not be negative")
		}
		sum += int64(c)
	}
	if sum != int64(d.Count) {
		return fmt.Errorf("the bucket counts add up to %d, not the count %d", sum, d.Count)
	}
	return nil
}

// seriesKey identifies a series: its metric and resource, labels
// included (json.Marshal sorts map keys, so the key is canonical; an
// empty label map is the same series as none).
func seriesKey(m Metric, r MonitoredResource) string {
	b, _ := json.Marshal([]any{m.Type, copyLabels(m.Labels), r.Type, copyLabels(r.Labels)}) // strings and maps of strings always encode
	return string(b)
}

// ---- list ----

func (s *Store) serveList(w http.ResponseWriter, r *http.Request) {
	projectID := r.PathValue("project")
	if err := s.authorize(r, iam.PermTimeSeriesList, projectID); err != nil {
		apierr.Write(w, err)
		return
	}
	q, err := parseListQuery(r)
	if err != nil {
		apierr.Write(w, err)
		return
	}
	out, err := s.list(projectID, q)
	if err != nil {
		apierr.Write(w, err)
		return
	}
	gcpapi.WriteJSON(w, out)
}

type listQuery struct {
	filter     *Filter
	start, end time.Time
	headers    bool
	pageSize   int
	pageToken  string
	hash       string // of what a page token must be reused with
}

func parseListQuery(r *http.Request) (listQuery, error) {
	v := r.URL.Query()
	for k := range v {
		if strings.HasPrefix(k, "aggregation.") || strings.HasPrefix(k, "secondaryAggregation.") || k == "orderBy" {
			return listQuery{}, apierr.InvalidField(k, "The mock Cloud Monitoring API does not support %s: it lists raw points only.", k)
		}
	}
	var q listQuery
	raw := v.Get("filter")
	if raw == "" {
		return q, apierr.InvalidField("filter", "Field filter had an invalid value: a filter with a metric type is required.")
	}
	f, err := ParseFilter(raw)
	if err != nil {
		return q, apierr.InvalidField("filter", "Field filter had an invalid value of %q: %v", raw, err)
	}
	q.filter = f
	endRaw := v.Get("interval.endTime")
	if endRaw == "" {
		return q, apierr.InvalidField("interval.endTime", "Field interval.endTime had an invalid value: an end time is required.")
	}
	if q.end, err = time.Parse(time.RFC3339Nano, endRaw); err != nil {
		return q, apierr.InvalidField("interval.endTime", "Field interval.endTime had an invalid value of %q: not an RFC 3339 time.", endRaw)
	}
	q.start = q.end
	if s := v.Get("interval.startTime"); s != "" {
		if q.start, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return q, apierr.InvalidField("interval.startTime", "Field interval.startTime had an invalid value of %q: not an RFC 3339 time.", s)
		}
		if q.start.After(q.end) {
			return q, apierr.InvalidField("interval.startTime", "Field interval.startTime had an invalid value of %q: after the end time.", s)
		}
	}
	switch view := v.Get("view"); view {
	case "", "FULL":
	case "HEADERS":
		q.headers = true
	default:
		return q, apierr.InvalidField("view", "Field view had an invalid value of %q: FULL or HEADERS.", view)
	}
	q.pageSize = maxPageSize
	if ps := v.Get("pageSize"); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 0 {
			return q, apierr.InvalidField("pageSize", "Field pageSize had an invalid value of %q.", ps)
		}
		if n > 0 && n < maxPageSize {
			q.pageSize = n
		}
	}
	q.pageToken = v.Get("pageToken")
	h := sha256.Sum256([]byte(raw + "\x00" + v.Get("interval.startTime") + "\x00" + endRaw + "\x00" + v.Get("view")))
	q.hash = base64.RawURLEncoding.EncodeToString(h[:8])
	return q, nil
}

// pageToken is a cursor: the key of the last series answered, bound to
// the query so a token is not reused with another one.
type pageToken struct {
	Query string `json:"q"`
	After string `json:"a"`
}

// inInterval is the read interval's rule: (start, end], or the single
// instant end when start equals end.
func inInterval(t, start, end time.Time) bool {
	if start.Equal(end) {
		return t.Equal(end)
	}
	return t.After(start) && !t.After(end)
}

func (s *Store) list(projectID string, q listQuery) (ListTimeSeriesResponse, error) {
	var after string
	if q.pageToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.pageToken)
		var tok pageToken
		if err == nil {
			err = json.Unmarshal(raw, &tok)
		}
		if err != nil || tok.Query != q.hash {
			return ListTimeSeriesResponse{}, apierr.InvalidField("pageToken", "Field pageToken had an invalid value: the token is not one this query returned.")
		}
		after = tok.After
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out ListTimeSeriesResponse
	var last string
	p := s.projects[projectID]
	if p == nil {
		return out, nil
	}
	for _, k := range p.sortedKeys() {
		if after != "" && k <= after {
			continue
		}
		sr := p.series[k]
		if !q.filter.matches(sr.metric, sr.resource) {
			continue
		}
		var pts []storedPoint
		for _, pt := range sr.points {
			if inInterval(pt.end, q.start, q.end) {
				pts = append(pts, pt)
			}
		}
		if len(pts) == 0 {
			continue // the real API omits series with no point in the interval
		}
		if len(out.TimeSeries) == q.pageSize {
			tok, _ := json.Marshal(pageToken{Query: q.hash, After: last}) // strings always encode
			out.NextPageToken = base64.RawURLEncoding.EncodeToString(tok)
			break
		}
		out.TimeSeries = append(out.TimeSeries, sr.view(pts, !q.headers))
		last = k
	}
	return out, nil
}

package analytics

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// Query is a parsed stats request: metrics grouped by dimensions (and by
// time bucket with a timeUnit) over a time range of one environment.
type Query struct {
	Org, Env   string
	Dimensions []Dimension
	Metrics    []Metric
	From, To   time.Time // [From, To)
	// Unit is the timeUnit ("" for one value over the whole range); TZO
	// the tzo offset in minutes, which buckets (days, weeks, months) and
	// timeRange are in.
	Unit string
	TZO  int
	// Filter is the filter expression as SQL with its arguments.
	FilterSQL  string
	FilterArgs []any
	// SortBy names metrics to order dimension rows by (Desc unless
	// sort=ASC); Limit, Offset and TopK cut the rows.
	SortBy        []int // indexes into Metrics
	Desc          bool
	Limit, Offset int
	TopK          int
	TsAscending   bool
}

// Dimension is one group-by dimension: its name as asked and its SQL.
type Dimension struct {
	Name string
	SQL  string
}

// Metric is one select item: "sum(message_count)" is Fn "sum" of Field
// "message_count".
type Metric struct {
	Name  string
	Fn    string
	Field string
	SQL   string // the field's expression
}

// Row is one group of a query's result: the dimension values, the time
// bucket (Unix ms; 0 without a unit) and one value per metric (nil: no
// data).
type Row struct {
	Dims   []string
	Bucket int64
	Values []*float64
}

// dimensionAliases are the Edge-era names the API still takes.
var dimensionAliases = map[string]string{
	"apis": "apiproxy", "apiproducts": "api_product", "apps": "developer_app", "devs": "developer_email",
	"developer_email": "developer_email", "target_host": "target_host", "proxy_client_ip": "client_ip",
	"access_token": "", "virtual_host": "", // known to Apigee, not recorded here: refused below
}

// dimensions are the columns a stats query may group and filter by.
var dimensions = map[string]bool{
	"organization": true, "environment": true, "apiproxy": true, "apiproxy_revision": true, "proxy": true,
	"proxy_basepath": true, "proxy_pathsuffix": true, "request_uri": true, "request_path": true, "request_verb": true,
	"client_ip": true, "useragent": true, "response_status_code": true, "target": true, "target_url": true,
	"target_host": true, "target_response_code": true, "developer_email": true, "developer_app": true,
	"api_product": true, "client_id": true, "developer": true, "x_apigee_fault_code": true,
	"x_apigee_fault_flow": true, "x_apigee_fault_policy": true, "x_apigee_fault_source": true,
	"message_processor": true, "gateway_flow_id": true,
}

// metrics are the metrics a stats query may select, with the functions
// each takes (Apigee's analytics reference; p50/p95/p99 as Apigee X has
// them for latencies). "" stands for a metric without a function (tps).
var metrics = map[string]struct {
	column string
	fns    []string
}{
	"message_count":               {"message_count", []string{"sum"}},
	"is_error":                    {"is_error", []string{"sum"}},
	"policy_error":                {"is_policy_error", []string{"sum"}},
	"target_error":                {"is_target_error", []string{"sum"}},
	"total_response_time":         {"total_response_time", []string{"avg", "min", "max", "sum", "p50", "p95", "p99"}},
	"target_response_time":        {"target_response_time", []string{"avg", "min", "max", "sum", "p50", "p95", "p99"}},
	"request_processing_latency":  {"request_processing_latency", []string{"avg", "min", "max", "p50", "p95", "p99"}},
	"response_processing_latency": {"response_processing_latency", []string{"avg", "min", "max", "p50", "p95", "p99"}},
	"request_size":                {"request_size", []string{"sum", "avg", "min", "max"}},
	"response_size":               {"response_size", []string{"sum", "avg", "min", "max"}},
	"tps":                         {"message_count", []string{""}},
}

var (
	customRE = regexp.MustCompile(`^dc_[A-Za-z0-9_]{1,100}$`)
	selectRE = regexp.MustCompile(`^([a-z0-9]+)\(([A-Za-z0-9_]+)\)$`)
)

// TimeUnits are the timeUnit values served, with their length (0: by
// calendar).
var TimeUnits = map[string]time.Duration{
	"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour, "month": 0,
}

// maxBuckets bounds the values of one metric in a response.
const maxBuckets = 50000

func customSQL(name string) string { return "json_extract(custom, '$." + name + "')" }

// dimensionSQL resolves a dimension name (or alias) to its SQL.
func dimensionSQL(name string) (string, bool) {
	if a, ok := dimensionAliases[name]; ok {
		if a == "" {
			return "", false
		}
		name = a
	}
	if dimensions[name] {
		return name, true
	}
	if customRE.MatchString(name) {
		return "COALESCE(CAST(" + customSQL(name) + " AS TEXT), '')", true
	}
	return "", false
}

// ParseQuery reads a stats request: the dimensions path segment ("" or
// "apiproxy,response_status_code") and the query parameters select,
// timeRange, timeUnit, tzo, filter, sortby, sort, limit, offset, topk and
// tsAscending. Errors are 400s in Google's shape naming the parameter.
func ParseQuery(org, env, dims string, p url.Values) (*Query, error) {
	q := &Query{Org: org, Env: env, Desc: true, Limit: 1000}
	for _, d := range strings.Split(dims, ",") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		s, ok := dimensionSQL(d)
		if !ok {
			return nil, apierr.InvalidArgument("Invalid dimension %q: it is not a known analytics dimension (apiproxy, response_status_code, developer_app, … or a custom dc_* dimension).", d)
		}
		q.Dimensions = append(q.Dimensions, Dimension{Name: d, SQL: s})
	}
	sel := strings.TrimSpace(p.Get("select"))
	if sel == "" {
		return nil, apierr.InvalidField("select", "Missing select: name the metrics, e.g. select=sum(message_count).")
	}
	for _, item := range strings.Split(sel, ",") {
		m, err := parseMetric(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		q.Metrics = append(q.Metrics, m)
	}
	if v := p.Get("tzo"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -14*60 || n > 14*60 {
			return nil, apierr.InvalidField("tzo", "Invalid tzo %q: the offset from UTC in minutes, between -840 and 840.", v)
		}
		q.TZO = n
	}
	var err error
	if q.From, q.To, err = parseTimeRange(p.Get("timeRange"), q.TZO); err != nil {
		return nil, err
	}
	if u := p.Get("timeUnit"); u != "" {
		d, ok := TimeUnits[u]
		if !ok {
			return nil, apierr.InvalidField("timeUnit", "Invalid timeUnit %q: one of second, minute, hour, day, week, month.", u)
		}
		if d > 0 && q.To.Sub(q.From)/d > maxBuckets {
			return nil, apierr.InvalidField("timeUnit", "timeUnit %s over this timeRange gives more than %d values; choose a coarser unit.", u, maxBuckets)
		}
		q.Unit = u
	}
	if f := strings.TrimSpace(p.Get("filter")); f != "" {
		if q.FilterSQL, q.FilterArgs, err = parseFilter(f); err != nil {
			return nil, err
		}
	}
	for _, s := range strings.Split(p.Get("sortby"), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		idx := -1
		for i, m := range q.Metrics {
			if m.Name == s {
				idx = i
			}
		}
		if idx < 0 {
			return nil, apierr.InvalidField("sortby", "Invalid sortby %q: it must be one of the selected metrics.", s)
		}
		q.SortBy = append(q.SortBy, idx)
	}
	switch strings.ToUpper(p.Get("sort")) {
	case "", "DESC":
	case "ASC":
		q.Desc = false
	default:
		return nil, apierr.InvalidField("sort", "Invalid sort %q: ASC or DESC.", p.Get("sort"))
	}
	for _, lim := range []struct {
		name string
		dst  *int
	}{{"limit", &q.Limit}, {"offset", &q.Offset}, {"topk", &q.TopK}} {
		if v := p.Get(lim.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, apierr.InvalidField(lim.name, "Invalid %s %q: a non-negative integer.", lim.name, v)
			}
			*lim.dst = n
		}
	}
	if v := p.Get("tsAscending"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, apierr.InvalidField("tsAscending", "Invalid tsAscending %q: true or false.", v)
		}
		q.TsAscending = b
	}
	return q, nil
}

func parseMetric(item string) (Metric, error) {
	if item == "tps" {
		return Metric{Name: item, Field: "tps", SQL: "message_count"}, nil
	}
	m := selectRE.FindStringSubmatch(item)
	if m == nil {
		return Metric{}, apierr.InvalidField("select", "Invalid metric %q: write function(metric), e.g. sum(message_count), avg(total_response_time).", item)
	}
	fn, field := m[1], m[2]
	if customRE.MatchString(field) {
		switch fn {
		case "sum", "avg", "min", "max":
			return Metric{Name: item, Fn: fn, Field: field, SQL: customSQL(field)}, nil
		}
		return Metric{}, apierr.InvalidField("select", "Invalid function %q for custom dimension %s: sum, avg, min or max.", fn, field)
	}
	def, ok := metrics[field]
	if !ok {
		return Metric{}, apierr.InvalidField("select", "Invalid metric %q: %s is not a known analytics metric.", item, field)
	}
	for _, f := range def.fns {
		if f == fn {
			return Metric{Name: item, Fn: fn, Field: field, SQL: def.column}, nil
		}
	}
	return Metric{}, apierr.InvalidField("select", "Invalid metric %q: %s takes %s.", item, field, strings.Join(def.fns, ", "))
}

// parseTimeRange reads "MM/DD/YYYY HH:MM~MM/DD/YYYY HH:MM" (seconds
// optional), in the tzo offset (GMT without one).
func parseTimeRange(s string, tzo int) (time.Time, time.Time, error) {
	if s == "" {
		return time.Time{}, time.Time{}, apierr.InvalidField("timeRange", "Missing timeRange: MM/DD/YYYY HH:MM~MM/DD/YYYY HH:MM.")
	}
	a, b, ok := strings.Cut(s, "~")
	loc := time.FixedZone("tzo", tzo*60)
	parse := func(v string) (time.Time, error) {
		v = strings.TrimSpace(v)
		for _, layout := range []string{"01/02/2006 15:04:05", "01/02/2006 15:04", "01/02/2006"} {
			if t, err := time.ParseInLocation(layout, v, loc); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("bad time %q", v)
	}
	from, err1 := parse(a)
	to, err2 := parse(b)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, apierr.InvalidField("timeRange", "Invalid timeRange %q: MM/DD/YYYY HH:MM~MM/DD/YYYY HH:MM.", s)
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, apierr.InvalidField("timeRange", "Invalid timeRange %q: the start must be before the end.", s)
	}
	return from, to, nil
}

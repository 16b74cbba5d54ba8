package analytics

import (
	"context"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Stats is the stats API's response (google.cloud.apigee.v1.Stats).
type Stats struct {
	Environments []EnvironmentStats `json:"environments"`
	MetaData     MetaData           `json:"metaData"`
}

// EnvironmentStats holds the metrics of one environment: top-level
// without dimensions, else per dimension value.
type EnvironmentStats struct {
	Name       string            `json:"name"`
	Dimensions []DimensionMetric `json:"dimensions,omitempty"`
	Metrics    []MetricValues    `json:"metrics,omitempty"`
}

// DimensionMetric is one value of the dimensions (comma-joined in Name).
type DimensionMetric struct {
	Name            string         `json:"name"`
	IndividualNames []string       `json:"individualNames,omitempty"`
	Metrics         []MetricValues `json:"metrics"`
}

// MetricValues is one metric: ["39.0"] over the whole range, or
// [{"timestamp": ms, "value": "39.0"}, …] with a timeUnit.
type MetricValues struct {
	Name   string `json:"name"`
	Values []any  `json:"values"`
}

// TimedValue is one bucket's value.
type TimedValue struct {
	Timestamp int64  `json:"timestamp"`
	Value     string `json:"value"`
}

// MetaData says where the answer came from, as Apigee's does.
type MetaData struct {
	Errors  []string `json:"errors"`
	Notices []string `json:"notices"`
}

// notSet is how Apigee shows an empty dimension value.
const notSet = "(not set)"

// Run answers a stats query from the store.
func Run(ctx context.Context, s Store, q *Query) (*Stats, error) {
	rows, err := s.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	env := EnvironmentStats{Name: q.Env}
	buckets := bucketStarts(q)
	if len(q.Dimensions) == 0 {
		if len(rows) == 0 && q.Unit == "" {
			rows = []Row{{Values: make([]*float64, len(q.Metrics))}}
		}
		env.Metrics = metricValues(q, rows, buckets)
	} else {
		groups := map[string][]Row{}
		var order []string
		for _, r := range rows {
			k := strings.Join(r.Dims, "\x00")
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], r)
		}
		type group struct {
			dims []string
			rows []Row
			tot  []float64 // per metric over the group, for sorting
		}
		var gs []group
		for _, k := range order {
			g := group{dims: groups[k][0].Dims, rows: groups[k], tot: make([]float64, len(q.Metrics))}
			for _, r := range g.rows {
				for i, v := range r.Values {
					if v != nil {
						g.tot[i] += *v
					}
				}
			}
			gs = append(gs, g)
		}
		sortBy := q.SortBy
		if len(sortBy) == 0 && q.TopK > 0 {
			sortBy = []int{0}
		}
		sort.SliceStable(gs, func(i, j int) bool {
			for _, m := range sortBy {
				if a, b := gs[i].tot[m], gs[j].tot[m]; a != b {
					if q.Desc {
						return a > b
					}
					return a < b
				}
			}
			if len(sortBy) > 0 {
				return false
			}
			return strings.Join(gs[i].dims, ",") < strings.Join(gs[j].dims, ",")
		})
		if q.TopK > 0 && len(gs) > q.TopK {
			gs = gs[:q.TopK]
		}
		if q.Offset > 0 {
			gs = gs[min(q.Offset, len(gs)):]
		}
		if q.Limit > 0 && len(gs) > q.Limit {
			gs = gs[:q.Limit]
		}
		for _, g := range gs {
			names := make([]string, len(g.dims))
			for i, d := range g.dims {
				names[i] = d
				if d == "" {
					names[i] = notSet
				}
			}
			dm := DimensionMetric{Name: strings.Join(names, ","), Metrics: metricValues(q, g.rows, buckets)}
			if len(names) > 1 {
				dm.IndividualNames = names
			}
			env.Dimensions = append(env.Dimensions, dm)
		}
	}
	return &Stats{
		Environments: []EnvironmentStats{env},
		MetaData: MetaData{Errors: []string{}, Notices: []string{
			"Source:SQLite", "Table used: api", "query served by:" + uuid.NewString(),
		}},
	}, nil
}

// bucketStarts lists every bucket of the range, so empty ones show as
// 0.0 as Apigee's do (nil without a unit).
func bucketStarts(q *Query) []int64 {
	if q.Unit == "" {
		return nil
	}
	loc := time.FixedZone("tzo", q.TZO*60)
	t := q.From.In(loc)
	switch q.Unit {
	case "month":
		t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	case "week":
		t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		t = t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	default:
		d := TimeUnits[q.Unit]
		off := time.Duration(q.TZO) * time.Minute
		t = q.From.Add(off).Truncate(d).Add(-off).In(loc)
	}
	var out []int64
	for ; t.Before(q.To) && len(out) <= maxBuckets; t = next(t, q.Unit) {
		out = append(out, t.UnixMilli())
	}
	return out
}

func next(t time.Time, unit string) time.Time {
	if unit == "month" {
		return t.AddDate(0, 1, 0)
	}
	return t.Add(TimeUnits[unit])
}

// metricValues turns one group's rows into its metrics.
func metricValues(q *Query, rows []Row, buckets []int64) []MetricValues {
	out := make([]MetricValues, len(q.Metrics))
	for i, m := range q.Metrics {
		out[i] = MetricValues{Name: m.Name, Values: []any{}}
		if q.Unit == "" {
			var v *float64
			if len(rows) > 0 {
				v = rows[0].Values[i]
			}
			out[i].Values = append(out[i].Values, javaDouble(v))
			continue
		}
		at := map[int64]*float64{}
		for _, r := range rows {
			at[r.Bucket] = r.Values[i]
		}
		vals := make([]any, 0, len(buckets))
		for _, b := range buckets {
			vals = append(vals, TimedValue{Timestamp: b, Value: javaDouble(at[b])})
		}
		if !q.TsAscending {
			for l, r := 0, len(vals)-1; l < r; l, r = l+1, r-1 {
				vals[l], vals[r] = vals[r], vals[l]
			}
		}
		out[i].Values = vals
	}
	return out
}

// javaDouble prints a value as Apigee's (Java's Double.toString) does:
// "39.0", "0.5", "2.52056245E8"; no data is "0.0".
func javaDouble(v *float64) string {
	if v == nil {
		return "0.0"
	}
	f := *v
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 2.52056245E+08
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

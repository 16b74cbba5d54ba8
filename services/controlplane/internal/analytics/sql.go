package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// bucketSQL is the start (Unix ms) of the time bucket of a record, in the
// query's tzo offset: fixed-length units by arithmetic (weeks start on
// Monday, 1970-01-05), months by the calendar.
func bucketSQL(q *Query) string {
	const ts = "client_received_start_timestamp"
	off := strconv.FormatInt(int64(q.TZO)*60_000, 10)
	switch q.Unit {
	case "":
		return "0"
	case "month":
		return "(CAST(strftime('%s', datetime((" + ts + " + " + off + ") / 1000, 'unixepoch', 'start of month')) AS INTEGER) * 1000 - " + off + ")"
	case "week":
		const week, monday = 7 * 86_400_000, 4 * 86_400_000
		return fmt.Sprintf("(((%s + %s - %d) / %d) * %d + %d - %s)", ts, off, monday, week, week, monday, off)
	}
	n := TimeUnits[q.Unit].Milliseconds()
	return fmt.Sprintf("(((%s + %s) / %d) * %d - %s)", ts, off, n, n, off)
}

// where is the query's WHERE clause and its arguments.
func where(q *Query) (string, []any) {
	w := "organization = ? AND environment = ? AND client_received_start_timestamp >= ? AND client_received_start_timestamp < ?"
	args := []any{q.Org, q.Env, q.From.UnixMilli(), q.To.UnixMilli()}
	if q.FilterSQL != "" {
		w += " AND (" + q.FilterSQL + ")"
		args = append(args, q.FilterArgs...)
	}
	return w, args
}

// Query implements Store: one aggregate query for sum/avg/min/max (and
// tps), one window-function query per percentile metric (nearest rank:
// the value at rank ceil(n·p/100) of the group's sorted values).
func (s *SQLStore) Query(ctx context.Context, q *Query) ([]Row, error) {
	var dims []string
	for _, d := range q.Dimensions {
		dims = append(dims, d.SQL)
	}
	bucket := bucketSQL(q)
	group := append([]string(nil), dims...)
	if q.Unit != "" { // "0" would be a column index in GROUP BY
		group = append(group, bucket)
	}
	w, args := where(q)
	var aggs []string
	var pct []int
	for i, m := range q.Metrics {
		switch m.Fn {
		case "sum", "":
			aggs = append(aggs, "SUM("+m.SQL+")")
		case "avg":
			aggs = append(aggs, "AVG("+m.SQL+")")
		case "min":
			aggs = append(aggs, "MIN("+m.SQL+")")
		case "max":
			aggs = append(aggs, "MAX("+m.SQL+")")
		default:
			aggs = append(aggs, "NULL")
			pct = append(pct, i)
		}
	}
	sel := make([]string, 0, len(dims)+1+len(aggs))
	for _, d := range dims {
		sel = append(sel, "CAST("+d+" AS TEXT)")
	}
	sel = append(sel, bucket)
	sel = append(sel, aggs...)
	stmt := "SELECT " + strings.Join(sel, ", ") + " FROM api WHERE " + w
	if len(group) > 0 {
		stmt += " GROUP BY " + strings.Join(group, ", ")
	}
	byKey := map[string]*Row{}
	var out []Row
	rows, err := s.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("stats query: %w", err)
	}
	for rows.Next() {
		r := Row{Dims: make([]string, len(dims)), Values: make([]*float64, len(q.Metrics))}
		dst := make([]any, 0, len(dims)+1+len(aggs))
		ds := make([]sql.NullString, len(dims))
		for i := range ds {
			dst = append(dst, &ds[i])
		}
		dst = append(dst, &r.Bucket)
		vs := make([]sql.NullFloat64, len(aggs))
		for i := range vs {
			dst = append(dst, &vs[i])
		}
		if err := rows.Scan(dst...); err != nil {
			rows.Close()
			return nil, err
		}
		for i, d := range ds {
			r.Dims[i] = d.String
		}
		for i, v := range vs {
			if v.Valid {
				f := v.Float64
				r.Values[i] = &f
			}
		}
		out = append(out, r)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		byKey[rowKey(out[i].Dims, out[i].Bucket)] = &out[i]
	}
	for _, mi := range pct {
		m := q.Metrics[mi]
		p, _ := strconv.Atoi(strings.TrimPrefix(m.Fn, "p"))
		part := ""
		if len(group) > 0 {
			part = "PARTITION BY " + strings.Join(group, ", ")
		}
		inner := "SELECT " + strings.Join(append(append([]string(nil), sel[:len(dims)+1]...), m.SQL+" AS v",
			"ROW_NUMBER() OVER ("+part+" ORDER BY "+m.SQL+") AS rn",
			"COUNT(*) OVER ("+part+") AS n"), ", ") +
			" FROM api WHERE " + w + " AND " + m.SQL + " IS NOT NULL"
		rows, err := s.db.QueryContext(ctx, "SELECT * FROM ("+inner+") WHERE rn = (n * "+strconv.Itoa(p)+" + 99) / 100", args...)
		if err != nil {
			return nil, fmt.Errorf("stats percentile query: %w", err)
		}
		for rows.Next() {
			ds := make([]sql.NullString, len(dims))
			var b int64
			var v float64
			var rn, n int64
			dst := make([]any, 0, len(dims)+4)
			for i := range ds {
				dst = append(dst, &ds[i])
			}
			dst = append(dst, &b, &v, &rn, &n)
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return nil, err
			}
			key := make([]string, len(ds))
			for i, d := range ds {
				key[i] = d.String
			}
			if r := byKey[rowKey(key, b)]; r != nil {
				r.Values[mi] = &v
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	// tps: transactions per second of the bucket (or the whole range).
	for i, m := range q.Metrics {
		if m.Field != "tps" {
			continue
		}
		for j := range out {
			if v := out[j].Values[i]; v != nil {
				secs := bucketSeconds(q, out[j].Bucket)
				t := *v / secs
				out[j].Values[i] = &t
			}
		}
	}
	return out, nil
}

func rowKey(dims []string, bucket int64) string {
	return strings.Join(dims, "\x00") + "\x00" + strconv.FormatInt(bucket, 10)
}

// bucketSeconds is the length of a bucket (the whole range without a
// unit) in seconds.
func bucketSeconds(q *Query, start int64) float64 {
	switch q.Unit {
	case "":
		return q.To.Sub(q.From).Seconds()
	case "month":
		loc := time.FixedZone("tzo", q.TZO*60)
		t := time.UnixMilli(start).In(loc)
		return t.AddDate(0, 1, 0).Sub(t).Seconds()
	}
	return TimeUnits[q.Unit].Seconds()
}

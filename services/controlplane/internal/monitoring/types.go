package monitoring

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// The wire types are google.monitoring.v3's JSON forms, as
// google.golang.org/api/monitoring/v3 sends and reads them. They are the
// package's own rather than the client's so that a request with a field
// the mock does not know is refused (as the real API refuses it) instead
// of being dropped silently.

// CreateTimeSeriesRequest is the body of projects.timeSeries.create.
type CreateTimeSeriesRequest struct {
	TimeSeries []TimeSeries `json:"timeSeries"`
}

// ListTimeSeriesResponse is the answer of projects.timeSeries.list.
type ListTimeSeriesResponse struct {
	TimeSeries    []TimeSeries `json:"timeSeries,omitempty"`
	NextPageToken string       `json:"nextPageToken,omitempty"`
	Unit          string       `json:"unit,omitempty"`
}

// TimeSeries is one metric stream of a monitored resource.
type TimeSeries struct {
	Metric      *Metric            `json:"metric,omitempty"`
	Resource    *MonitoredResource `json:"resource,omitempty"`
	Metadata    json.RawMessage    `json:"metadata,omitempty"`
	MetricKind  string             `json:"metricKind,omitempty"`
	ValueType   string             `json:"valueType,omitempty"`
	Points      []Point            `json:"points,omitempty"`
	Unit        string             `json:"unit,omitempty"`
	Description string             `json:"description,omitempty"`
}

// Metric names a metric type and its label values.
type Metric struct {
	Type   string            `json:"type,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// MonitoredResource is the resource a series belongs to.
type MonitoredResource struct {
	Type   string            `json:"type,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Point is one value over an interval.
type Point struct {
	Interval *TimeInterval `json:"interval,omitempty"`
	Value    *TypedValue   `json:"value,omitempty"`
}

// TimeInterval bounds a point (RFC 3339 times).
type TimeInterval struct {
	StartTime string `json:"startTime,omitempty"`
	EndTime   string `json:"endTime,omitempty"`
}

// TypedValue is a point's value: exactly one field is set.
type TypedValue struct {
	BoolValue         *bool         `json:"boolValue,omitempty"`
	Int64Value        *Int64        `json:"int64Value,omitempty"`
	DoubleValue       *Double       `json:"doubleValue,omitempty"`
	StringValue       *string       `json:"stringValue,omitempty"`
	DistributionValue *Distribution `json:"distributionValue,omitempty"`
}

// Distribution is a histogram value. Bucket layout, range and exemplars are
// kept as sent: the mock checks counts, not bucket bounds.
type Distribution struct {
	Count                 Int64           `json:"count,omitempty"`
	Mean                  Double          `json:"mean,omitempty"`
	SumOfSquaredDeviation Double          `json:"sumOfSquaredDeviation,omitempty"`
	Range                 json.RawMessage `json:"range,omitempty"`
	BucketOptions         json.RawMessage `json:"bucketOptions,omitempty"`
	BucketCounts          []Int64         `json:"bucketCounts,omitempty"`
	Exemplars             json.RawMessage `json:"exemplars,omitempty"`
}

// Int64 is proto3 JSON's int64: written as a string, read from a string
// or a number (both are valid proto3 JSON).
type Int64 int64

// MarshalJSON writes the decimal string.
func (v Int64) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(strconv.FormatInt(int64(v), 10))), nil
}

// UnmarshalJSON reads "123" or 123.
func (v *Int64) UnmarshalJSON(b []byte) error {
	s := string(b)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid int64 value %s", b)
	}
	*v = Int64(n)
	return nil
}

// Double is proto3 JSON's double: a number, or "NaN", "Infinity",
// "-Infinity" as strings (what the Go client sends for them).
type Double float64

// MarshalJSON writes a number, or the proto3 string of a special value.
func (v Double) MarshalJSON() ([]byte, error) {
	f := float64(v)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads a number or a quoted number or special value.
func (v *Double) UnmarshalJSON(b []byte) error {
	s := string(b)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	switch s {
	case "NaN":
		*v = Double(math.NaN())
		return nil
	case "Infinity":
		*v = Double(math.Inf(1))
		return nil
	case "-Infinity":
		*v = Double(math.Inf(-1))
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("invalid double value %s", b)
	}
	*v = Double(f)
	return nil
}

// Metric kinds and value types of google.api.MetricDescriptor.
const (
	KindGauge      = "GAUGE"
	KindDelta      = "DELTA"
	KindCumulative = "CUMULATIVE"

	TypeBool         = "BOOL"
	TypeInt64        = "INT64"
	TypeDouble       = "DOUBLE"
	TypeString       = "STRING"
	TypeDistribution = "DISTRIBUTION"
)

// valueTypeOf names the field set in v ("" when none or more than one is).
func valueTypeOf(v *TypedValue) (string, int) {
	n, t := 0, ""
	if v.BoolValue != nil {
		n, t = n+1, TypeBool
	}
	if v.Int64Value != nil {
		n, t = n+1, TypeInt64
	}
	if v.DoubleValue != nil {
		n, t = n+1, TypeDouble
	}
	if v.StringValue != nil {
		n, t = n+1, TypeString
	}
	if v.DistributionValue != nil {
		n, t = n+1, TypeDistribution
	}
	return t, n
}

package analytics

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Values is one record's column values, in the order of the api table's
// columns (records.proto's fields, then the derived ones).
type Values []any

var (
	columnIndex = func() map[string]int {
		m := make(map[string]int, len(columns))
		for i, c := range columns {
			m[c.name] = i
		}
		return m
	}()
	ixOrg, ixEnv, ixID, ixCustom, ixCount = columnIndex["organization"], columnIndex["environment"],
		columnIndex["gateway_flow_id"], columnIndex["custom"], columnIndex["message_count"]
)

// derivations are the latencies computed from a record's timestamps, as
// Apigee's analytics derives them: column, later timestamp, earlier one.
var derivations = [][3]int{
	{columnIndex["total_response_time"], columnIndex["client_sent_end_timestamp"], columnIndex["client_received_start_timestamp"]},
	{columnIndex["target_response_time"], columnIndex["target_received_end_timestamp"], columnIndex["target_sent_start_timestamp"]},
	{columnIndex["request_processing_latency"], columnIndex["target_sent_start_timestamp"], columnIndex["client_received_start_timestamp"]},
	{columnIndex["response_processing_latency"], columnIndex["client_sent_start_timestamp"], columnIndex["target_received_end_timestamp"]},
}

// decodeRecord turns one record (a flat JSON object, as UDCA writes it)
// into column values. Organization and environment are the file's, not
// the record's. Unknown keys are ignored (a newer UDCA's fields), dc_*
// keys go into the custom column, and a value of the wrong type is an
// error. It is a small flat-object parser rather than encoding/json into
// a map: the ingest is on the path of every API call's record.
func decodeRecord(line []byte, org, env string) (Values, error) {
	v := make(Values, len(columns))
	for i, c := range columns {
		switch c.sql {
		case "TEXT":
			v[i] = ""
		case "REAL":
			v[i] = 0.0
		default:
			v[i] = int64(0)
		}
	}
	var custom []string
	p := flatParser{b: line}
	err := p.object(func(key string, val any) error {
		if strings.HasPrefix(key, "dc_") {
			b, _ := json.Marshal(val)
			custom = append(custom, strconv.Quote(key)+":"+string(b))
			return nil
		}
		i, ok := columnIndex[key]
		if !ok || i >= ixCount { // unknown, or a derived column a record cannot set
			return nil
		}
		switch c := columns[i]; c.sql {
		case "TEXT":
			s, ok := val.(string)
			if !ok {
				return fmt.Errorf("field %s: want a string", key)
			}
			v[i] = s
		case "REAL":
			f, ok := val.(float64)
			if !ok {
				return fmt.Errorf("field %s: want a number", key)
			}
			v[i] = f
		default:
			switch x := val.(type) {
			case float64:
				v[i] = int64(x)
			case int64:
				v[i] = x
			case bool:
				v[i] = map[bool]int64{false: 0, true: 1}[x]
			default:
				return fmt.Errorf("field %s: want a number", key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if id, _ := v[ixID].(string); id == "" {
		return nil, errors.New("record without gateway_flow_id")
	}
	v[ixOrg], v[ixEnv], v[ixCount] = org, env, int64(1)
	for _, d := range derivations {
		a, b := v[d[1]].(int64), v[d[2]].(int64)
		if a == 0 || b == 0 {
			v[d[0]] = nil
			continue
		}
		v[d[0]] = max(a-b, 0)
	}
	v[ixCustom] = nil
	if len(custom) > 0 {
		v[ixCustom] = "{" + strings.Join(custom, ",") + "}"
	}
	return v, nil
}

// flatParser reads one JSON object whose values are strings, numbers,
// booleans or null (nothing nested).
type flatParser struct {
	b []byte
	i int
}

var errSyntax = errors.New("not a flat JSON object")

func (p *flatParser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *flatParser) object(fn func(key string, val any) error) error {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return errSyntax
	}
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return p.end()
	}
	for {
		p.ws()
		key, err := p.str()
		if err != nil {
			return err
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return errSyntax
		}
		p.i++
		p.ws()
		val, err := p.value()
		if err != nil {
			return err
		}
		if err := fn(key, val); err != nil {
			return err
		}
		p.ws()
		if p.i >= len(p.b) {
			return errSyntax
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return p.end()
		default:
			return errSyntax
		}
	}
}

func (p *flatParser) end() error {
	p.ws()
	if p.i != len(p.b) {
		return errSyntax
	}
	return nil
}

func (p *flatParser) str() (string, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", errSyntax
	}
	start := p.i
	p.i++
	escaped := false
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '\\':
			escaped = true
			p.i += 2
			continue
		case '"':
			p.i++
			if !escaped {
				return string(p.b[start+1 : p.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
				return "", errSyntax
			}
			return s, nil
		}
		p.i++
	}
	return "", errSyntax
}

func (p *flatParser) value() (any, error) {
	if p.i >= len(p.b) {
		return nil, errSyntax
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == 't' && strings.HasPrefix(string(p.b[p.i:min(p.i+4, len(p.b))]), "true"):
		p.i += 4
		return true, nil
	case c == 'f' && strings.HasPrefix(string(p.b[p.i:min(p.i+5, len(p.b))]), "false"):
		p.i += 5
		return false, nil
	case c == 'n' && strings.HasPrefix(string(p.b[p.i:min(p.i+4, len(p.b))]), "null"):
		p.i += 4
		return nil, nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		isFloat := false
		for p.i < len(p.b) {
			d := p.b[p.i]
			if d == '.' || d == 'e' || d == 'E' || d == '+' {
				isFloat = true
			} else if d != '-' && (d < '0' || d > '9') {
				break
			}
			p.i++
		}
		s := string(p.b[start:p.i])
		if !isFloat {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, errSyntax
		}
		return f, nil
	}
	return nil, errSyntax
}

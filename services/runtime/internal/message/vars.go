package message

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrReadOnly is returned when a policy assigns a read-only part of a
// message (request.path, request.uri, a header's values list …).
var ErrReadOnly = errors.New("read-only variable")

// ErrNotFound means the variable names no part of a message.
var ErrNotFound = errors.New("no such message variable")

// Lookup resolves the part of a flow variable after the message name, e.g.
// "header.Accept" for request.header.Accept. Values are strings except
// status.code (int), the counts (int) and the lists ([]string).
func (m *Message) Lookup(sub string) (any, bool) {
	switch sub {
	case "content":
		b, err := m.Content()
		if err != nil {
			return nil, false
		}
		return string(b), true
	case "verb":
		return m.Method, m.Kind == Request
	case "path":
		return m.Path, m.Kind == Request
	case "uri":
		return m.URI(), m.Kind == Request
	case "url", "completeurl":
		return m.URL(), m.Kind == Request
	case "querystring":
		return m.QueryString(), m.Kind == Request
	case "version":
		return m.Version, true
	case "status.code":
		return m.StatusCode, m.Kind == Response
	case "reason.phrase":
		return m.ReasonPhrase(), m.Kind == Response
	case "headers.names", "header.names":
		return m.HeaderNames(), true
	case "headers.count":
		return len(m.Header), true
	case "queryparams.names":
		return m.Query.Names(), true
	case "queryparams.count":
		return len(m.Query.Names()), true
	case "formparams.names":
		return m.FormParams().Names(), true
	case "formparams.count":
		return len(m.FormParams().Names()), true
	case "formstring":
		return m.FormParams().Encode(), true
	case "transport.message":
		return m, true
	}
	if name, ok := strings.CutPrefix(sub, "header."); ok {
		return lookupMulti(name, m.HeaderValues, func(n string) string { return strings.Join(m.Header.Values(n), ", ") })
	}
	if name, ok := strings.CutPrefix(sub, "queryparam."); ok {
		return lookupMulti(name, m.Query.Values, nil)
	}
	if name, ok := strings.CutPrefix(sub, "formparam."); ok {
		return lookupMulti(name, m.FormParams().Values, nil)
	}
	return nil, false
}

// lookupMulti resolves X, X.values, X.values.count, X.values.string and X.N
// (1-based) for headers and parameters.
func lookupMulti(name string, values func(string) []string, raw func(string) string) (any, bool) {
	if base, ok := strings.CutSuffix(name, ".values.count"); ok {
		return len(values(base)), true
	}
	if base, ok := strings.CutSuffix(name, ".values.string"); ok && raw != nil {
		return raw(base), true
	}
	if base, ok := strings.CutSuffix(name, ".values"); ok {
		v := values(base)
		return v, v != nil
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil && n >= 1 {
			if v := values(name[:i]); len(v) > 0 {
				if n <= len(v) {
					return v[n-1], true
				}
				return nil, false
			}
		}
	}
	v := values(name)
	if len(v) == 0 {
		return nil, false
	}
	return v[0], true
}

// Set assigns a writable part of the message. A nil value removes headers
// and parameters.
func (m *Message) Set(sub string, value any) error {
	s := ToString(value)
	switch sub {
	case "content":
		if b, ok := value.([]byte); ok {
			m.SetContent(b)
		} else {
			m.SetContent([]byte(s))
		}
		return nil
	case "verb":
		m.Method = strings.ToUpper(s)
		return nil
	case "querystring":
		m.Query = ParseQuery(strings.TrimPrefix(s, "?"))
		return nil
	case "path":
		m.Path = s
		return nil
	case "version":
		m.Version = s
		return nil
	case "status.code":
		code, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || code < 100 || code > 999 {
			return fmt.Errorf("invalid status code %q", s)
		}
		m.StatusCode = code
		return nil
	case "reason.phrase":
		m.Reason = s
		return nil
	case "uri", "url", "completeurl", "headers.names", "header.names", "headers.count", "queryparams.names",
		"queryparams.count", "formparams.names", "formparams.count", "formstring", "transport.message":
		return ErrReadOnly
	}
	if name, ok := strings.CutPrefix(sub, "header."); ok {
		if strings.HasSuffix(name, ".values") || strings.HasSuffix(name, ".values.count") || strings.HasSuffix(name, ".values.string") {
			return ErrReadOnly
		}
		if value == nil {
			m.Header.Del(name)
			return nil
		}
		if vs, ok := value.([]string); ok {
			m.Header.Del(name)
			for _, v := range vs {
				m.Header.Add(name, v)
			}
			return nil
		}
		m.Header.Set(name, s)
		return nil
	}
	if name, ok := strings.CutPrefix(sub, "queryparam."); ok {
		if value == nil {
			m.Query = m.Query.Del(name)
		} else {
			m.Query = m.Query.Set(name, s)
		}
		return nil
	}
	if name, ok := strings.CutPrefix(sub, "formparam."); ok {
		p := append(Params(nil), m.FormParams()...)
		if value == nil {
			p = p.Del(name)
		} else {
			p = p.Set(name, s)
		}
		m.SetFormParams(p)
		return nil
	}
	return ErrNotFound
}

// ToString formats a flow variable value the way Apigee prints it.
func ToString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []string:
		return "[" + strings.Join(x, ", ") + "]"
	case *Message:
		return x.ContentString()
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

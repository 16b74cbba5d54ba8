package analyticsv1

import (
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// AppendJSON appends r as one JSON object in the layout of UDCA's "api"
// dataset files: the keys are the proto field names (Apigee's analytics
// field names), numbers are JSON numbers (protojson would quote int64s),
// fields at their zero value are left out, and the custom dimensions are
// flattened into top-level "dc_*" keys.
//
// It walks the message descriptor, so a field added to records.proto is
// written without touching this code; it allocates nothing beyond dst.
func AppendJSON(dst []byte, r *ApiRecord) []byte {
	m := r.ProtoReflect()
	fields := m.Descriptor().Fields()
	dst = append(dst, '{')
	first := true
	key := func(name string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, name)
		dst = append(dst, ':')
	}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.IsMap() || !m.Has(fd) {
			continue
		}
		key(string(fd.Name()))
		dst = appendScalar(dst, fd.Kind(), m.Get(fd))
	}
	if n := len(r.CustomDimensions); n > 0 {
		names := make([]string, 0, n)
		for k := range r.CustomDimensions {
			names = append(names, k)
		}
		sort.Strings(names) // stable files: the same record always encodes the same
		for _, k := range names {
			key(k)
			dst = appendDimension(dst, r.CustomDimensions[k])
		}
	}
	return append(dst, '}')
}

func appendScalar(dst []byte, kind protoreflect.Kind, v protoreflect.Value) []byte {
	switch kind {
	case protoreflect.StringKind:
		return appendString(dst, v.String())
	case protoreflect.BoolKind:
		return strconv.AppendBool(dst, v.Bool())
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind,
		protoreflect.Sfixed32Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(dst, v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(dst, v.Uint(), 10)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return appendFloat(dst, v.Float())
	default:
		return append(dst, "null"...)
	}
}

func appendDimension(dst []byte, d *Dimension) []byte {
	switch v := d.GetValue().(type) {
	case *Dimension_StringValue:
		return appendString(dst, v.StringValue)
	case *Dimension_IntValue:
		return strconv.AppendInt(dst, v.IntValue, 10)
	case *Dimension_DoubleValue:
		return appendFloat(dst, v.DoubleValue)
	case *Dimension_BoolValue:
		return strconv.AppendBool(dst, v.BoolValue)
	default:
		return append(dst, "null"...)
	}
}

// appendFloat writes a JSON number; JSON has no NaN or infinities, so
// those become null.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD (a client's header
// bytes end up here, and a file must stay valid JSON).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// FieldNames lists the record's scalar fields (the JSON keys and the
// analytics store's columns), in descriptor order.
func FieldNames() []string {
	fields := (&ApiRecord{}).ProtoReflect().Descriptor().Fields()
	out := make([]string, 0, fields.Len())
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); !fd.IsMap() {
			out = append(out, string(fd.Name()))
		}
	}
	return out
}

package jsonpath

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The document model is the one Jayway's default JSON provider builds
// with json-smart, because equality in filters, the order of wildcard
// results and the way a result is printed all depend on it:
//
//	JSON        Go value   json-smart (Java)
//	null        nil        null
//	true/false  bool       Boolean
//	string      string     String
//	integer     int64      Integer or Long (by magnitude; one type here,
//	                       as the two never meet with equal values)
//	big integer *big.Int   BigInteger (beyond the range of a long)
//	fraction    float64    Double (the number's text is at most 18 chars)
//	            Decimal    BigDecimal (longer text: "3.14159265358979323846")
//	array       []any      JSONArray
//	object      *Object    LinkedHashMap (members in document order)

// Object is a decoded JSON object with its members in document order. A
// repeated name keeps its first position and its last value, as a
// LinkedHashMap does.
type Object struct {
	keys []string
	vals map[string]any
}

// NewObject returns an empty object.
func NewObject() *Object { return &Object{vals: map[string]any{}} }

// Keys returns the member names in document order; do not modify it.
func (o *Object) Keys() []string { return o.keys }

// Len is the number of members.
func (o *Object) Len() int { return len(o.keys) }

// Get returns a member.
func (o *Object) Get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

// Set adds or replaces a member.
func (o *Object) Set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// Decimal is a JSON fraction whose text is longer than 18 characters,
// which json-smart keeps as a BigDecimal rather than a Double; it holds
// the number's text.
type Decimal string

// String formats v the way Apigee puts a JSONPath result into a string
// flow variable: a string as it is, anything else as json-smart writes it
// (null as "null", numbers as Java prints them: 8.95, 1.0, 1.0E-7,
// arrays and objects as compact JSON, e.g. ["a","b"]).
func String(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return JSON(v)
}

// JSON writes v as json-smart's JSONValue.toJSONString does (its default
// style, NO_COMPRESS): compact, every key and string quoted, "/" escaped
// as "\/", and control characters, U+007F-U+009F and U+2000-U+20FF as
// \uXXXX.
func JSON(v any) string { return string(appendJSON(nil, v)) }

func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case string:
		return appendQuoted(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case *big.Int:
		return x.Append(b, 10)
	case float64:
		if math.IsInf(x, 0) {
			return append(b, "null"...) // json-smart writes an infinite Double as null
		}
		return append(b, javaDouble(x)...)
	case Decimal:
		return append(b, bigDecimalString(string(x))...)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case *Object:
		b = append(b, '{')
		for i, k := range x.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, k)
			b = append(b, ':')
			b = appendJSON(b, x.vals[k])
		}
		return append(b, '}')
	case map[string]any:
		// Not from Decode (whose objects keep their order): sorted keys.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, k)
			b = append(b, ':')
			b = appendJSON(b, x[k])
		}
		return append(b, '}')
	}
	return appendQuoted(b, fmt.Sprint(v))
}

func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	for _, r := range s {
		switch r {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '/':
			b = append(b, '\\', '/')
		default:
			if r <= 0x1F || (r >= 0x7F && r <= 0x9F) || (r >= 0x2000 && r <= 0x20FF) {
				b = append(b, '\\', 'u', hex[r>>12&0xF], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
			} else {
				b = utf8.AppendRune(b, r)
			}
		}
	}
	return append(b, '"')
}

// javaDouble is Java's Double.toString: the shortest digits that identify
// the value, in plain notation from 10^-3 up to 10^7 (always with a
// fraction: "1.0") and in computerized scientific notation otherwise
// ("1.0E-7", "1.5E300").
//
// JDK 19 made Double.toString always give the shortest digits; earlier
// JDKs give one digit too many for a few values (JDK-4511638). This is the
// modern behaviour.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // shortest: 1.5e+300, 1e-07
	if !strings.Contains(s, ".") {
		// Java shows at least two digits and picks, among the two-digit
		// decimals that read back as f, the one nearest f: usually the
		// one digit and a zero, but 4.9E-324 for Double.MIN_VALUE.
		if two := strconv.FormatFloat(f, 'e', 1, 64); parsesTo(two, f) {
			s = two
		}
	}
	mant, exp, _ := strings.Cut(s, "e")
	neg := strings.HasPrefix(mant, "-")
	digits := strings.TrimRight(strings.Replace(strings.TrimPrefix(mant, "-"), ".", "", 1), "0")
	if digits == "" {
		digits = "0"
	}
	e, _ := strconv.Atoi(exp) // f = 0.digits × 10^(e+1)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		// Plain notation, at least one digit after the point.
		switch {
		case e < 0:
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", -e-1))
			b.WriteString(digits)
		case len(digits) <= e+1:
			b.WriteString(digits)
			b.WriteString(strings.Repeat("0", e+1-len(digits)))
			b.WriteString(".0")
		default:
			b.WriteString(digits[:e+1])
			b.WriteByte('.')
			b.WriteString(digits[e+1:])
		}
		return b.String()
	}
	b.WriteByte(digits[0])
	b.WriteByte('.')
	if len(digits) > 1 {
		b.WriteString(digits[1:])
	} else {
		b.WriteByte('0')
	}
	b.WriteByte('E')
	b.WriteString(strconv.Itoa(e))
	return b.String()
}

func parsesTo(s string, f float64) bool {
	g, err := strconv.ParseFloat(s, 64)
	return err == nil && g == f
}

// decimalParts splits a decimal number's text (as Java's BigDecimal(String)
// accepts it: sign, digits with at most one point, optional exponent) into
// its sign, unscaled digits (no leading zeros; "0" for zero) and scale.
func decimalParts(s string) (neg bool, digits string, scale int, ok bool) {
	if s == "" {
		return false, "", 0, false
	}
	i := 0
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		i++
	}
	var d strings.Builder
	frac, point, seen := 0, false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			d.WriteByte(c)
			seen = true
			if point {
				frac++
			}
		case c == '.' && !point:
			point = true
		case c == 'e' || c == 'E':
			if !seen {
				return false, "", 0, false
			}
			e, err := strconv.Atoi(s[i+1:])
			if err != nil {
				return false, "", 0, false
			}
			scale = frac - e
			return neg, trimZeros(d.String()), scale, true
		default:
			return false, "", 0, false
		}
	}
	if !seen {
		return false, "", 0, false
	}
	return neg, trimZeros(d.String()), frac, true
}

func trimZeros(s string) string {
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0"
	}
	return s
}

// bigDecimalString is Java's BigDecimal.toString of new BigDecimal(s):
// plain notation unless the scale is negative or the number is below
// 10^-6, then scientific notation with an explicit sign on a positive
// exponent ("1.0E+7").
func bigDecimalString(s string) string {
	neg, coeff, scale, ok := decimalParts(s)
	if !ok {
		return s
	}
	if coeff == "0" {
		neg = false // BigDecimal has no negative zero
	}
	sign := ""
	if neg {
		sign = "-"
	}
	adjusted := -scale + len(coeff) - 1
	switch {
	case scale == 0:
		return sign + coeff
	case scale > 0 && adjusted >= -6:
		if len(coeff) > scale {
			return sign + coeff[:len(coeff)-scale] + "." + coeff[len(coeff)-scale:]
		}
		return sign + "0." + strings.Repeat("0", scale-len(coeff)) + coeff
	}
	out := sign + coeff[:1]
	if len(coeff) > 1 {
		out += "." + coeff[1:]
	}
	if adjusted != 0 {
		out += "E"
		if adjusted > 0 {
			out += "+"
		}
		out += strconv.Itoa(adjusted)
	}
	return out
}

// javaString is Java's String.valueOf of a document value, which some
// functions (concat) and the number-to-string comparisons of filters use:
// numbers as Java prints them, arrays as JSON (JSONArray.toString), and
// objects as a LinkedHashMap prints itself: {key=value, key=value}.
func javaString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case *Object:
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(javaString(x.vals[k]))
		}
		b.WriteByte('}')
		return b.String()
	case float64:
		return javaDouble(x)
	}
	return JSON(v)
}

// javaEquals is Java's Object.equals between two document values (used
// where Jayway compares parsed JSON: @.tags == ['a','b']): lists element
// by element, maps by their entries, numbers only with numbers of the
// same Java type.
func javaEquals(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case float64:
		y, ok := b.(float64)
		// Double.equals compares the bits: NaN equals NaN, 0.0 is not -0.0.
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case Decimal:
		// BigDecimal.equals wants the same value and scale.
		y, ok := b.(Decimal)
		if !ok {
			return false
		}
		n1, d1, s1, _ := decimalParts(string(x))
		n2, d2, s2, _ := decimalParts(string(y))
		return n1 == n2 && d1 == d2 && s1 == s2
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !javaEquals(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Object:
		y, ok := b.(*Object)
		if !ok || len(x.keys) != len(y.keys) {
			return false
		}
		for _, k := range x.keys {
			w, ok := y.vals[k]
			if !ok || !javaEquals(x.vals[k], w) {
				return false
			}
		}
		return true
	}
	return false
}

package condition

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

type valueKind uint8

const (
	vNull valueKind = iota
	vString
	vNumber
	vBool
)

// value is a resolved operand. It is passed by value during evaluation so
// that resolving a flow variable never allocates.
type value struct {
	kind  valueKind
	s     string  // vString: the string; vNumber: source text of a literal ("" for variables)
	f     float64 // vNumber (and vString when num is true)
	i     int64   // valid when isInt
	isInt bool
	num   bool // vString literal only: s parses as a decimal number (precomputed)
	b     bool // vBool
}

func stringValue(s string) value {
	v := value{kind: vString, s: s}
	v.f, v.i, v.isInt, v.num = parseDecimal(s)
	return v
}

// numberLiteral converts the source text of a number token (already
// validated by the lexer) into a value. Java suffixes f/F/d/D mark floating
// point, l/L marks long.
func numberLiteral(src string) value {
	v := value{kind: vNumber, s: src}
	body := src
	forceFloat := false
	if n := len(body); n > 0 {
		switch body[n-1] {
		case 'f', 'F', 'd', 'D':
			forceFloat = true
			body = body[:n-1]
		case 'l', 'L':
			body = body[:n-1]
		}
	}
	f, i, isInt, ok := parseDecimal(body)
	if !ok { // cannot happen for lexer-validated text; keep it a number anyway
		f, _ = strconv.ParseFloat(body, 64)
	}
	v.f, v.i, v.isInt = f, i, isInt && !forceFloat
	return v
}

// parseDecimal parses  [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?
// — deliberately narrower than strconv.ParseFloat, which would also accept
// "Inf", "NaN", hex floats and underscores that Apigee would not treat as
// numbers. It does not allocate.
func parseDecimal(s string) (f float64, i int64, isInt, ok bool) {
	n := len(s)
	if n == 0 || n > 64 {
		return 0, 0, false, false
	}
	j := 0
	if s[j] == '+' || s[j] == '-' {
		j++
	}
	intDigits := 0
	for j < n && isDigit(s[j]) {
		j++
		intDigits++
	}
	fracDigits := 0
	hasDot, hasExp := false, false
	if j < n && s[j] == '.' {
		hasDot = true
		j++
		for j < n && isDigit(s[j]) {
			j++
			fracDigits++
		}
	}
	if intDigits+fracDigits == 0 {
		return 0, 0, false, false
	}
	if j < n && (s[j] == 'e' || s[j] == 'E') {
		hasExp = true
		j++
		if j < n && (s[j] == '+' || s[j] == '-') {
			j++
		}
		expDigits := 0
		for j < n && isDigit(s[j]) {
			j++
			expDigits++
		}
		if expDigits == 0 {
			return 0, 0, false, false
		}
	}
	if j != n {
		return 0, 0, false, false
	}
	if !hasDot && !hasExp {
		if iv, err := strconv.ParseInt(s, 10, 64); err == nil {
			return float64(iv), iv, true, true
		}
	}
	fv, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(fv, 0) {
		return 0, 0, false, false
	}
	return fv, 0, false, true
}

// fromAny converts a resolver value into a value.
func fromAny(x any) value {
	switch t := x.(type) {
	case nil:
		return value{}
	case string:
		return value{kind: vString, s: t}
	case bool:
		return value{kind: vBool, b: t}
	case int:
		return intValue(int64(t))
	case int64:
		return intValue(t)
	case int32:
		return intValue(int64(t))
	case int16:
		return intValue(int64(t))
	case int8:
		return intValue(int64(t))
	case uint:
		return uintValue(uint64(t))
	case uint64:
		return uintValue(t)
	case uint32:
		return intValue(int64(t))
	case uint16:
		return intValue(int64(t))
	case uint8:
		return intValue(int64(t))
	case float64:
		return floatValue(t)
	case float32:
		return floatValue(float64(t))
	case []byte:
		return value{kind: vString, s: string(t)}
	case fmt.Stringer:
		return value{kind: vString, s: t.String()}
	default:
		return value{kind: vString, s: fmt.Sprint(t)}
	}
}

func intValue(i int64) value { return value{kind: vNumber, f: float64(i), i: i, isInt: true} }

func uintValue(u uint64) value {
	if u <= math.MaxInt64 {
		return intValue(int64(u))
	}
	return value{kind: vNumber, f: float64(u)}
}

func floatValue(f float64) value {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return value{kind: vNumber, f: f, i: int64(f), isInt: true}
	}
	return value{kind: vNumber, f: f}
}

// numeric returns the value as a number, if it has one. Strings count when
// they are decimal numbers; booleans count as 1/0 (Apigee adapts Boolean to
// Integer when compared with a number).
func (v value) numeric() (f float64, i int64, isInt, ok bool) {
	switch v.kind {
	case vNumber:
		return v.f, v.i, v.isInt, true
	case vString:
		if v.num {
			return v.f, v.i, v.isInt, true
		}
		return parseDecimal(v.s)
	case vBool:
		if v.b {
			return 1, 1, true, true
		}
		return 0, 0, true, true
	}
	return 0, 0, false, false
}

// text is the string form used for string comparisons and pattern matching.
func (v value) text() string {
	switch v.kind {
	case vString:
		return v.s
	case vBool:
		if v.b {
			return "true"
		}
		return "false"
	case vNumber:
		if v.s != "" {
			return v.s
		}
		if v.isInt {
			return strconv.FormatInt(v.i, 10)
		}
		return strconv.FormatFloat(v.f, 'f', -1, 64)
	}
	return ""
}

// truthy implements a bare variable used as a whole condition: it holds when
// the variable exists and is not false, "false" (any case) or "".
func (v value) truthy() bool {
	switch v.kind {
	case vNull:
		return false
	case vBool:
		return v.b
	case vString:
		return v.s != "" && !strings.EqualFold(v.s, "false")
	}
	return true
}

// compareValues orders l against r using Apigee-like type adaptation.
// ok is false when the two cannot be ordered (NaN).
func compareValues(l, r value, foldCase bool) (c int, ok bool) {
	if l.kind == vNumber || r.kind == vNumber {
		lf, li, lInt, lok := l.numeric()
		rf, ri, rInt, rok := r.numeric()
		if lok && rok {
			if lInt && rInt {
				return cmpOrdered(li, ri), true
			}
			if math.IsNaN(lf) || math.IsNaN(rf) {
				return 0, false
			}
			return cmpOrdered(lf, rf), true
		}
	}
	if l.kind == vBool && r.kind == vBool {
		return cmpOrdered(b2i(l.b), b2i(r.b)), true
	}
	ls, rs := l.text(), r.text()
	if foldCase {
		if strings.EqualFold(ls, rs) {
			return 0, true
		}
		return strings.Compare(ls, rs) | 1, true // never 0
	}
	return strings.Compare(ls, rs), true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpOrdered[T int | int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

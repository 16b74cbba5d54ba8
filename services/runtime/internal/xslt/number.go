package xslt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// numberInstr is xsl:number (XSLT 1.0 section 7.7).
type numberInstr struct {
	loc
	level               string
	count, from         *pattern
	value               expr
	format              *avt
	groupSep, groupSize *avt
}

func (in *numberInstr) exec(t *transform) error {
	if in.value != nil {
		v, err := t.eval(in.value)
		if err != nil {
			return in.wrap(err)
		}
		if f := xpathRound(toNumber(v)); math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			// Not a natural number: written as a string, as Saxon does.
			t.text(numberToString(f), false)
			return nil
		}
	}
	nums, err := in.numbers(t)
	if err != nil {
		return in.wrap(err)
	}
	format := "1"
	if in.format != nil {
		if format, err = in.format.eval(t); err != nil {
			return in.wrap(err)
		}
	}
	sep, size := "", 0
	if in.groupSep != nil && in.groupSize != nil {
		if sep, err = in.groupSep.eval(t); err != nil {
			return in.wrap(err)
		}
		s, err := in.groupSize.eval(t)
		if err != nil {
			return in.wrap(err)
		}
		if size, err = strconv.Atoi(strings.TrimSpace(s)); err != nil || size < 0 {
			return in.wrap(fmt.Errorf("grouping-size %q is not a positive integer", s))
		}
	}
	t.text(formatNumberList(nums, format, sep, size), false)
	return nil
}

func (in *numberInstr) numbers(t *transform) ([]int, error) {
	if in.value != nil {
		v, err := t.eval(in.value)
		if err != nil {
			return nil, err
		}
		return []int{int(xpathRound(toNumber(v)))}, nil
	}
	n := t.current
	count := func(k *node) (bool, error) {
		if in.count != nil {
			return in.count.matches(t, k)
		}
		// Default: nodes of the same kind and name as the current node.
		return k.kind == n.kind && k.local == n.local && k.space == n.space, nil
	}
	from := func(k *node) (bool, error) {
		if in.from == nil {
			return false, nil
		}
		return in.from.matches(t, k)
	}
	siblingNumber := func(k *node) (int, error) {
		if k.parent == nil || k.kind == attributeNode {
			return 1, nil
		}
		num := 1
		for _, s := range k.parent.children[:k.idx] {
			ok, err := count(s)
			if err != nil {
				return 0, err
			}
			if ok {
				num++
			}
		}
		return num, nil
	}
	switch in.level {
	case "single", "multiple":
		var out []int
		for a := n; a != nil; a = a.parent {
			stop, err := from(a)
			if err != nil {
				return nil, err
			}
			ok, err := count(a)
			if err != nil {
				return nil, err
			}
			if ok {
				num, err := siblingNumber(a)
				if err != nil {
					return nil, err
				}
				out = append([]int{num}, out...)
				if in.level == "single" {
					return out, nil
				}
			}
			if stop {
				break
			}
		}
		return out, nil
	}
	// level="any": matching nodes before the current node in document
	// order (ancestors included), after the last node matching from.
	total := 0
	all := (&step{axis: axisPreceding, test: nodeTest{kind: testNode}}).collect(n, nil)
	var anc []*node
	for a := n; a != nil; a = a.parent {
		anc = append(anc, a)
	}
	// Merge preceding and ancestor-or-self, nearest first.
	merged := make([]*node, 0, len(all)+len(anc))
	i, j := 0, 0
	for i < len(all) || j < len(anc) {
		if j >= len(anc) || i < len(all) && all[i].ord > anc[j].ord {
			merged = append(merged, all[i])
			i++
		} else {
			merged = append(merged, anc[j])
			j++
		}
	}
	for _, k := range merged {
		ok, err := count(k)
		if err != nil {
			return nil, err
		}
		if ok {
			total++
		}
		stop, err := from(k)
		if err != nil {
			return nil, err
		}
		if stop {
			break
		}
	}
	if total == 0 {
		return nil, nil
	}
	return []int{total}, nil
}

// formatNumberList applies an xsl:number format string: alphanumeric
// tokens (1, 01, a, A, i, I) format the numbers, the text around them
// separates them.
func formatNumberList(nums []int, format, groupSep string, groupSize int) string {
	type tok struct {
		alnum bool
		s     string
	}
	var toks []tok
	for _, r := range format {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if n := len(toks); n > 0 && toks[n-1].alnum == alnum {
			toks[n-1].s += string(r)
		} else {
			toks = append(toks, tok{alnum, string(r)})
		}
	}
	var prefix, suffix string
	if len(toks) > 0 && !toks[0].alnum {
		prefix, toks = toks[0].s, toks[1:]
	}
	if len(toks) > 0 && !toks[len(toks)-1].alnum {
		suffix, toks = toks[len(toks)-1].s, toks[:len(toks)-1]
	}
	var fmts, seps []string
	for _, t := range toks {
		if t.alnum {
			fmts = append(fmts, t.s)
		} else {
			seps = append(seps, t.s)
		}
	}
	if len(fmts) == 0 {
		fmts = []string{"1"}
	}
	var b strings.Builder
	b.WriteString(prefix)
	for i, n := range nums {
		if i > 0 {
			sep := "."
			if len(seps) > 0 {
				sep = seps[min(i-1, len(seps)-1)]
			}
			b.WriteString(sep)
		}
		b.WriteString(formatOne(n, fmts[min(i, len(fmts)-1)], groupSep, groupSize))
	}
	if len(nums) > 0 {
		b.WriteString(suffix)
	}
	return b.String()
}

func formatOne(n int, token, groupSep string, groupSize int) string {
	switch token {
	case "a", "A":
		if n <= 0 {
			break
		}
		var s []byte
		for m := n; m > 0; m = (m - 1) / 26 {
			s = append([]byte{byte('a' + (m-1)%26)}, s...)
		}
		if token == "A" {
			return strings.ToUpper(string(s))
		}
		return string(s)
	case "i", "I":
		if n <= 0 || n >= 4000 {
			break
		}
		r := roman(n)
		if token == "i" {
			return strings.ToLower(r)
		}
		return r
	}
	width := 1
	if allDigits(token) {
		width = utf8.RuneCountInString(token)
	}
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	if groupSep != "" && groupSize > 0 {
		var b strings.Builder
		for i, r := range s {
			if i > 0 && (len(s)-i)%groupSize == 0 {
				b.WriteString(groupSep)
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	return s
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func roman(n int) string {
	vals := []int{1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1}
	syms := []string{"M", "CM", "D", "CD", "C", "XC", "L", "XL", "X", "IX", "V", "IV", "I"}
	var b strings.Builder
	for i, v := range vals {
		for n >= v {
			b.WriteString(syms[i])
			n -= v
		}
	}
	return b.String()
}

// decimalFormat is an xsl:decimal-format.
type decimalFormat struct {
	decimal, grouping, minus, percent, perMille, zero, digit, patternSep rune
	infinity, nan                                                        string
}

func defaultDecimalFormat() *decimalFormat {
	return &decimalFormat{decimal: '.', grouping: ',', minus: '-', percent: '%', perMille: '‰', zero: '0', digit: '#', patternSep: ';', infinity: "Infinity", nan: "NaN"}
}

func (c *compiler) decimalFormat(el *node) error {
	q := qname{}
	if v, ok := el.attr("", "name"); ok {
		var err error
		if q, err = c.expandQName(el, v); err != nil {
			return err
		}
	}
	df := defaultDecimalFormat()
	for _, ch := range []struct {
		attr string
		dst  *rune
	}{{"decimal-separator", &df.decimal}, {"grouping-separator", &df.grouping}, {"minus-sign", &df.minus}, {"percent", &df.percent},
		{"per-mille", &df.perMille}, {"zero-digit", &df.zero}, {"digit", &df.digit}, {"pattern-separator", &df.patternSep}} {
		if v, ok := el.attr("", ch.attr); ok {
			if utf8.RuneCountInString(v) != 1 {
				return errAt(el, "%s must be a single character, not %q", ch.attr, v)
			}
			*ch.dst, _ = utf8.DecodeRuneInString(v)
		}
	}
	if df.zero != '0' {
		return errAt(el, "zero-digit other than 0 is not supported")
	}
	if v, ok := el.attr("", "infinity"); ok {
		df.infinity = v
	}
	if v, ok := el.attr("", "NaN"); ok {
		df.nan = v
	}
	c.sheet.decimalFormats[q] = df
	return nil
}

// subPattern is one half of a format-number pattern.
type subPattern struct {
	prefix, suffix     string
	minInt             int
	minFrac, maxFrac   int
	grouping           int // digits per group; 0 = none
	multiplier         float64
	percent, perMille  bool
	hasDigitsOrPattern bool
}

func (df *decimalFormat) parseSub(p string) (subPattern, error) {
	sp := subPattern{multiplier: 1}
	rs := []rune(p)
	i := 0
	isPat := func(r rune) bool {
		return r == df.digit || r == df.zero || r == df.grouping || r == df.decimal
	}
	for i < len(rs) && !isPat(rs[i]) {
		sp.prefix += string(rs[i])
		i++
	}
	lastGroup := -1
	intDigits := 0
	inFrac := false
	for ; i < len(rs) && isPat(rs[i]); i++ {
		switch r := rs[i]; {
		case r == df.decimal:
			if inFrac {
				return sp, fmt.Errorf("two decimal separators in %q", p)
			}
			inFrac = true
		case r == df.grouping:
			if inFrac {
				return sp, fmt.Errorf("grouping separator in the fraction of %q", p)
			}
			lastGroup = intDigits
		case r == df.zero:
			sp.hasDigitsOrPattern = true
			if inFrac {
				sp.minFrac++
				sp.maxFrac++
			} else {
				sp.minInt++
				intDigits++
			}
		case r == df.digit:
			sp.hasDigitsOrPattern = true
			if inFrac {
				sp.maxFrac++
			} else {
				intDigits++
			}
		}
	}
	if lastGroup >= 0 {
		sp.grouping = intDigits - lastGroup
	}
	for ; i < len(rs); i++ {
		sp.suffix += string(rs[i])
	}
	for _, s := range []string{sp.prefix, sp.suffix} {
		if strings.ContainsRune(s, df.percent) {
			sp.percent, sp.multiplier = true, 100
		}
		if strings.ContainsRune(s, df.perMille) {
			sp.perMille, sp.multiplier = true, 1000
		}
	}
	if !sp.hasDigitsOrPattern {
		return sp, fmt.Errorf("pattern %q has no digits", p)
	}
	return sp, nil
}

// format implements format-number() with Java DecimalFormat semantics
// (rounding half to even).
func (df *decimalFormat) format(f float64, pattern string) (string, error) {
	parts := strings.Split(pattern, string(df.patternSep))
	if len(parts) > 2 {
		return "", fmt.Errorf("format-number(): pattern %q has more than two sub-patterns", pattern)
	}
	pos, err := df.parseSub(parts[0])
	if err != nil {
		return "", fmt.Errorf("format-number(): %v", err)
	}
	neg := pos
	neg.prefix = string(df.minus) + pos.prefix
	if len(parts) == 2 {
		if neg, err = df.parseSub(parts[1]); err != nil {
			return "", fmt.Errorf("format-number(): %v", err)
		}
		// The negative sub-pattern only contributes prefix and suffix.
		pre, suf := neg.prefix, neg.suffix
		neg = pos
		neg.prefix, neg.suffix = pre, suf
	}
	if math.IsNaN(f) {
		return df.nan, nil
	}
	sp := pos
	if f < 0 || f == 0 && math.Signbit(f) {
		sp = neg
		f = -f
	}
	if math.IsInf(f, 0) {
		return sp.prefix + df.infinity + sp.suffix, nil
	}
	f *= sp.multiplier
	s := strconv.FormatFloat(roundHalfEven(f, sp.maxFrac), 'f', sp.maxFrac, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	for len(frac) > sp.minFrac && strings.HasSuffix(frac, "0") {
		frac = frac[:len(frac)-1]
	}
	intPart = strings.TrimLeft(intPart, "0")
	for len(intPart) < sp.minInt {
		intPart = "0" + intPart
	}
	if sp.grouping > 0 {
		var b strings.Builder
		for i, r := range intPart {
			if i > 0 && (len(intPart)-i)%sp.grouping == 0 {
				b.WriteRune(df.grouping)
			}
			b.WriteRune(r)
		}
		intPart = b.String()
	}
	out := intPart
	if frac != "" {
		out += string(df.decimal) + frac
	}
	if out == "" {
		out = "0"
	}
	return sp.prefix + out + sp.suffix, nil
}

// roundHalfEven rounds to the given number of decimals, ties to even, on
// the decimal value a reader sees (2.5 -> 2, 0.125 -> 0.12).
func roundHalfEven(f float64, decimals int) float64 {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	if len(frac) <= decimals {
		return f
	}
	keep, rest := frac[:decimals], frac[decimals:]
	digits := intPart + keep
	up := false
	switch {
	case rest[0] > '5':
		up = true
	case rest[0] == '5':
		if strings.TrimRight(rest[1:], "0") != "" {
			up = true
		} else {
			last := digits[len(digits)-1]
			up = (last-'0')%2 == 1
		}
	}
	v, _ := strconv.ParseFloat(intPart+"."+keep, 64)
	if decimals == 0 {
		v, _ = strconv.ParseFloat(intPart, 64)
	}
	if up {
		v += math.Pow(10, -float64(decimals))
	}
	return v
}

// Package template compiles Apigee message templates: text with flow
// variable references in braces ("Hello {request.queryparam.name}") and
// template functions ("{toUpperCase(request.verb)}", "{firstnonnull(a,b,'x')}").
//
// Compile once, Execute per request. A brace group that is not a valid
// reference or function call stays literal text, so JSON payloads such as
// `{"id":"{request.queryparam.id}"}` work without escaping, as in Apigee.
// Apigee has no "{var:default}" syntax; the documented way to give a
// default is firstnonnull(var,'default'), which is supported here.
package template

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"html"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/jsonpath"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

// Resolver looks up flow variables.
type Resolver interface {
	Lookup(name string) (any, bool)
}

// Template is a compiled message template; safe for concurrent use.
type Template struct {
	src   string
	parts []part
	// static is set when the template has no references.
	static bool
}

type part struct {
	lit  string
	ref  string // variable name
	call *call
}

type call struct {
	fn   string
	args []arg
	re   *regexp.Regexp // precompiled for replaceAll/replaceFirst with a literal pattern
	jp   *jsonpath.Path // precompiled for jsonPath with a literal path
}

type arg struct {
	lit   string
	isLit bool
	ref   string
}

// Compile parses a template with "{" and "}" delimiters.
func Compile(src string) (*Template, error) { return CompileDelims(src, '{', '}') }

// CompileDelims parses a template with other delimiters, as AssignMessage's
// variablePrefix/variableSuffix attributes allow (e.g. '@' and '#').
func CompileDelims(src string, open, close byte) (*Template, error) {
	t := &Template{src: src}
	var lit strings.Builder
	for i := 0; i < len(src); {
		c := src[i]
		if c != open {
			lit.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(src[i+1:], close)
		if end < 0 {
			lit.WriteString(src[i:])
			break
		}
		inner := src[i+1 : i+1+end]
		p, ok, err := parseRef(inner)
		if err != nil {
			return nil, err
		}
		if !ok {
			lit.WriteByte(c)
			i++
			continue
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, p)
		i += end + 2
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{lit: lit.String()})
	}
	t.static = len(t.parts) <= 1
	for _, p := range t.parts {
		if p.ref != "" || p.call != nil {
			t.static = false
		}
	}
	return t, nil
}

// MustCompile is Compile that panics; for fixed templates.
func MustCompile(src string) *Template {
	t, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return t
}

// Source returns the template text.
func (t *Template) Source() string { return t.src }

// Static reports whether the template has no variable references.
func (t *Template) Static() bool { return t.static }

// Execute renders the template. missing names the first reference that did
// not resolve ("" when all did); unresolved references render as "".
func (t *Template) Execute(r Resolver) (out string, missing string) {
	if t.static {
		if len(t.parts) == 0 {
			return "", ""
		}
		return t.parts[0].lit, ""
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.ref != "":
			v, ok := r.Lookup(p.ref)
			if !ok || v == nil {
				if missing == "" {
					missing = p.ref
				}
				continue
			}
			b.WriteString(message.ToString(v))
		case p.call != nil:
			s, err := p.call.eval(r)
			if err != nil && missing == "" {
				missing = p.call.fn
			}
			b.WriteString(s)
		default:
			b.WriteString(p.lit)
		}
	}
	return b.String(), missing
}

// String renders the template, ignoring unresolved references.
func (t *Template) String(r Resolver) string {
	s, _ := t.Execute(r)
	return s
}

func isNameChar(c byte) bool {
	return c == '.' || c == '_' || c == '-' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	if !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

// parseRef parses the inside of a brace group: a variable name or a
// function call. ok is false when the group is not a reference (literal
// text); err is set for a call to an unknown function or bad arguments.
func parseRef(inner string) (part, bool, error) {
	s := strings.TrimSpace(inner)
	if validName(s) {
		return part{ref: s}, true, nil
	}
	open := strings.IndexByte(s, '(')
	if open <= 0 || !strings.HasSuffix(s, ")") || !validName(s[:open]) {
		return part{}, false, nil
	}
	fn := s[:open]
	args, ok := splitArgs(s[open+1 : len(s)-1])
	if !ok && fn == "jsonPath" {
		args, ok = splitJSONPathArgs(s[open+1 : len(s)-1])
	}
	if !ok {
		return part{}, false, nil
	}
	if _, known := functions[fn]; !known {
		return part{}, false, fmt.Errorf("message template %q: unknown function %s()", inner, fn)
	}
	c := &call{fn: fn, args: args}
	switch fn {
	case "replaceAll", "replaceFirst":
		if len(args) != 3 {
			return part{}, false, fmt.Errorf("message template %q: %s takes 3 arguments", inner, fn)
		}
		if args[1].isLit {
			re, err := regexp.Compile(args[1].lit)
			if err != nil {
				return part{}, false, fmt.Errorf("message template %q: %w", inner, err)
			}
			c.re = re
		}
	case "jsonPath":
		if len(args) < 2 {
			return part{}, false, fmt.Errorf("message template %q: jsonPath takes a path and a variable", inner)
		}
		if args[0].isLit {
			x, err := jsonpath.Compile(args[0].lit)
			if err != nil {
				return part{}, false, fmt.Errorf("message template %q: %w", inner, err)
			}
			c.jp = x
		}
	}
	return part{call: c}, true, nil
}

// splitJSONPathArgs splits the arguments of jsonPath() when the path is
// written bare, as Apigee documents it: {jsonPath($.a[?(@.b == 'x')],json)}.
// The path runs to the first comma outside brackets, parentheses and
// quotes; the rest are ordinary arguments.
func splitJSONPathArgs(s string) ([]arg, bool) {
	s = strings.TrimSpace(s)
	if s == "" || (s[0] != '$' && s[0] != '@') {
		return nil, false
	}
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[' || c == '(' || c == '{':
			depth++
		case c == ']' || c == ')' || c == '}':
			depth--
		case c == ',' && depth == 0:
			rest, ok := splitArgs(s[i+1:])
			if !ok || len(rest) == 0 {
				return nil, false
			}
			return append([]arg{{lit: strings.TrimSpace(s[:i]), isLit: true}}, rest...), true
		}
	}
	return nil, false
}

// splitArgs splits a comma-separated argument list; arguments are variable
// names, single- or double-quoted strings, or numbers.
func splitArgs(s string) ([]arg, bool) {
	var out []arg
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	for {
		s = strings.TrimSpace(s)
		var a arg
		switch {
		case s == "":
			return nil, false
		case s[0] == '\'' || s[0] == '"':
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return nil, false
			}
			a = arg{lit: s[1 : 1+end], isLit: true}
			s = s[end+2:]
		default:
			end := strings.IndexByte(s, ',')
			tok := s
			if end >= 0 {
				tok, s = s[:end], s[end:]
			} else {
				s = ""
			}
			tok = strings.TrimSpace(tok)
			if _, err := strconv.ParseFloat(tok, 64); err == nil {
				a = arg{lit: tok, isLit: true}
			} else if validName(tok) {
				a = arg{ref: tok}
			} else {
				return nil, false
			}
		}
		out = append(out, a)
		s = strings.TrimSpace(s)
		if s == "" {
			return out, true
		}
		if s[0] != ',' {
			return nil, false
		}
		s = s[1:]
	}
}

func (a arg) value(r Resolver) (string, bool) {
	if a.isLit {
		return a.lit, true
	}
	v, ok := r.Lookup(a.ref)
	if !ok || v == nil {
		return "", false
	}
	return message.ToString(v), true
}

type fnImpl func(c *call, r Resolver, args []string) (string, error)

var functions map[string]fnImpl

func init() {
	hashFn := func(h func() hash.Hash, b64 bool) fnImpl {
		return func(_ *call, _ Resolver, a []string) (string, error) {
			if len(a) != 1 {
				return "", fmt.Errorf("takes one argument")
			}
			d := h()
			d.Write([]byte(a[0]))
			if b64 {
				return base64.StdEncoding.EncodeToString(d.Sum(nil)), nil
			}
			return hex.EncodeToString(d.Sum(nil)), nil
		}
	}
	functions = map[string]fnImpl{
		"toUpperCase":  one(strings.ToUpper),
		"toLowerCase":  one(strings.ToLower),
		"escapeJSON":   one(escapeJSON),
		"escapeXML":    one(html.EscapeString),
		"escapeXML11":  one(html.EscapeString),
		"encodeHTML":   one(html.EscapeString),
		"encodeBase64": one(func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }),
		"decodeBase64": func(_ *call, _ Resolver, a []string) (string, error) {
			if len(a) != 1 {
				return "", fmt.Errorf("takes one argument")
			}
			b, err := base64.StdEncoding.DecodeString(a[0])
			return string(b), err
		},
		"md5Hex": hashFn(md5.New, false), "sha1Hex": hashFn(sha1.New, false), "sha256Hex": hashFn(sha256.New, false),
		"sha384Hex": hashFn(sha512.New384, false), "sha512Hex": hashFn(sha512.New, false),
		"md5Base64": hashFn(md5.New, true), "sha1Base64": hashFn(sha1.New, true), "sha256Base64": hashFn(sha256.New, true),
		"sha384Base64": hashFn(sha512.New384, true), "sha512Base64": hashFn(sha512.New, true),
		"hmacSha256": func(_ *call, _ Resolver, a []string) (string, error) {
			if len(a) < 2 {
				return "", fmt.Errorf("takes a key and a value")
			}
			m := hmac.New(sha256.New, []byte(a[0]))
			m.Write([]byte(a[1]))
			if len(a) > 2 && strings.EqualFold(a[2], "base64") {
				return base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
			}
			return hex.EncodeToString(m.Sum(nil)), nil
		},
		"createUuid": func(*call, Resolver, []string) (string, error) { return uuid.NewString(), nil },
		"randomLong": func(_ *call, _ Resolver, a []string) (string, error) {
			lo, hi := int64(0), int64(1<<62)
			if len(a) >= 1 {
				lo, _ = strconv.ParseInt(a[0], 10, 64)
			}
			if len(a) >= 2 {
				hi, _ = strconv.ParseInt(a[1], 10, 64)
			}
			if hi <= lo {
				return strconv.FormatInt(lo, 10), nil
			}
			return strconv.FormatInt(lo+rand.Int64N(hi-lo), 10), nil
		},
		"substring": func(_ *call, _ Resolver, a []string) (string, error) {
			if len(a) < 2 {
				return "", fmt.Errorf("takes a string and a start index")
			}
			s := a[0]
			start, err := strconv.Atoi(a[1])
			if err != nil || start < 0 || start > len(s) {
				return "", fmt.Errorf("bad start index")
			}
			end := len(s)
			if len(a) > 2 {
				if end, err = strconv.Atoi(a[2]); err != nil || end < start || end > len(s) {
					return "", fmt.Errorf("bad end index")
				}
			}
			return s[start:end], nil
		},
		"replaceAll": func(c *call, _ Resolver, a []string) (string, error) {
			re := c.re
			if re == nil {
				var err error
				if re, err = regexp.Compile(a[1]); err != nil {
					return "", err
				}
			}
			return re.ReplaceAllString(a[0], javaReplacement(a[2])), nil
		},
		"replaceFirst": func(c *call, _ Resolver, a []string) (string, error) {
			re := c.re
			if re == nil {
				var err error
				if re, err = regexp.Compile(a[1]); err != nil {
					return "", err
				}
			}
			done := false
			return re.ReplaceAllStringFunc(a[0], func(m string) string {
				if done {
					return m
				}
				done = true
				return re.ReplaceAllString(m, javaReplacement(a[2]))
			}), nil
		},
		"timeFormat":      timeFormat(false, time.Local),
		"timeFormatMs":    timeFormat(true, time.Local),
		"timeFormatUTC":   timeFormat(false, time.UTC),
		"timeFormatUTCMs": timeFormat(true, time.UTC),
		// jsonPath(path, json[, want-array]) gives Jayway's result as
		// Apigee prints it: the value of a definite path (nothing when it
		// finds none). When the result is a list — what an indefinite path
		// finds, or an array value — Apigee's message template reference
		// gives only its zeroth element unless want-array is "true"; then
		// the whole list as JSON.
		"jsonPath": func(c *call, _ Resolver, a []string) (string, error) {
			x := c.jp
			if x == nil {
				var err error
				if x, err = jsonpath.Compile(a[0]); err != nil {
					return "", err
				}
			}
			doc, err := jsonpath.Decode([]byte(a[1]))
			if err != nil {
				return "", err
			}
			v, err := x.Eval(doc)
			if errors.Is(err, jsonpath.ErrNotFound) {
				return "", nil
			}
			if err != nil {
				return "", err
			}
			if list, isList := v.([]any); isList && !(len(a) > 2 && strings.TrimSpace(a[2]) == "true") {
				if len(list) == 0 {
					return "", nil
				}
				v = list[0]
			}
			return jsonpath.String(v), nil
		},
	}
	// firstnonnull needs the unresolved-ness of each argument, so it is
	// handled in eval; it is registered for name checking.
	functions["firstnonnull"] = nil
}

func one(f func(string) string) fnImpl {
	return func(_ *call, _ Resolver, a []string) (string, error) {
		if len(a) != 1 {
			return "", fmt.Errorf("takes one argument")
		}
		return f(a[0]), nil
	}
}

func escapeJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// javaReplacement converts Java's $1 group references to Go's ${1}.
func javaReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			if s[i+1] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i+1])
			}
			i++
		case s[i] == '$' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString("${" + s[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// timeFormat formats an epoch (seconds or milliseconds) with a Java
// SimpleDateFormat pattern.
func timeFormat(ms bool, loc *time.Location) fnImpl {
	return func(_ *call, _ Resolver, a []string) (string, error) {
		if len(a) != 2 {
			return "", fmt.Errorf("takes a format and a time")
		}
		n, err := strconv.ParseInt(strings.TrimSpace(a[1]), 10, 64)
		if err != nil {
			return "", err
		}
		t := time.Unix(n, 0)
		if ms {
			t = time.UnixMilli(n)
		}
		return FormatJava(t.In(loc), a[0]), nil
	}
}

func (c *call) eval(r Resolver) (string, error) {
	if c.fn == "firstnonnull" {
		for _, a := range c.args {
			if v, ok := a.value(r); ok {
				return v, nil
			}
		}
		return "", nil
	}
	vals := make([]string, len(c.args))
	for i, a := range c.args {
		v, ok := a.value(r)
		if !ok {
			return "", fmt.Errorf("unresolved %s", a.ref)
		}
		vals[i] = v
	}
	return functions[c.fn](c, r, vals)
}

package bundle

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// PropertySetSuffix is the file name suffix every property set file needs:
// the set "myProps" is the file myProps.properties.
const PropertySetSuffix = ".properties"

// MaxPropertySetBytes bounds one property set file (Apigee's limit on a
// property set's size is 1 MB).
const MaxPropertySetBytes = 1 << 20

// propertySetNameRE is what a set name (the file name without the suffix)
// may be: letters, digits, "_", "-" and "." (Apigee allows
// "myconfig.my_key.properties", whose set is "myconfig.my_key").
var propertySetNameRE = regexp.MustCompile(`^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$`)

// PropertySetName returns the set name of a property set file name
// ("myProps.properties" → "myProps"), or an error saying what is wrong with
// the name.
func PropertySetName(file string) (string, error) {
	name, ok := strings.CutSuffix(file, PropertySetSuffix)
	if !ok {
		return "", fmt.Errorf("property set file %q must have the suffix %s", file, PropertySetSuffix)
	}
	if !propertySetNameRE.MatchString(name) || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return "", fmt.Errorf("property set name %q must be letters, digits, '_', '-' and inner '.'", name)
	}
	return name, nil
}

// PropertiesError is a syntax error in a property set file.
type PropertiesError struct {
	Line   int // 1-based line of the logical line in error
	Reason string
}

func (e *PropertiesError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ParseProperties reads a property set file with the syntax of Java's
// Properties.load: "key=value", "key: value" or "key value"; leading
// white space is ignored; lines whose first non-blank character is '#' or
// '!' are comments; a line ending in an odd number of backslashes continues
// on the next line (whose leading white space is dropped); in keys and
// values "\t", "\n", "\r", "\f", "\uXXXX" are escapes and a backslash
// before any other character stands for that character (so "\=", "\:",
// "\ ", "\#" and "\\"). When a key repeats, the last value wins, as in
// Java. Unlike Java's byte stream form (ISO-8859-1), the file is read as
// UTF-8, so Unicode values may be written as they are.
//
// It is strict where Java is lenient or undefined: the file must be valid
// UTF-8 (a byte order mark is skipped), must not contain NUL characters,
// a "\u" escape must have four hex digits, an escape cannot end the file
// and a key cannot be empty. Errors are *PropertiesError with the line.
func ParseProperties(data []byte) (map[string]string, error) {
	if len(data) > MaxPropertySetBytes {
		return nil, &PropertiesError{Line: 1, Reason: fmt.Sprintf("the file is %d bytes; a property set may be at most %d bytes", len(data), MaxPropertySetBytes)}
	}
	src := strings.TrimPrefix(string(data), "\ufeff")
	out := map[string]string{}
	line := 0 // number of the last natural line read
	for len(src) > 0 {
		// Read one logical line starting at natural line start.
		start := line + 1
		var logical strings.Builder
		first := true
		for {
			nat, rest, ok := nextLine(src)
			src = rest
			line++
			if !utf8.ValidString(nat) {
				return nil, &PropertiesError{Line: line, Reason: "not valid UTF-8 (property set files are read as UTF-8)"}
			}
			if strings.IndexByte(nat, 0) >= 0 {
				return nil, &PropertiesError{Line: line, Reason: "contains a NUL character"}
			}
			trimmed := strings.TrimLeft(nat, " \t\f")
			if first && (trimmed == "" || trimmed[0] == '#' || trimmed[0] == '!') {
				// Blank and comment lines end here; a trailing
				// backslash does not continue a comment.
				break
			}
			first = false
			if trailingBackslashes(trimmed)%2 == 1 {
				logical.WriteString(trimmed[:len(trimmed)-1])
				if !ok {
					// The file ends inside a continuation: Java keeps
					// what it has; so do we.
					break
				}
				continue
			}
			logical.WriteString(trimmed)
			break
		}
		if first {
			continue
		}
		k, v, err := splitProperty(logical.String())
		if err != nil {
			return nil, &PropertiesError{Line: start, Reason: err.Error()}
		}
		out[k] = v
	}
	return out, nil
}

// nextLine cuts the first natural line (terminated by \n, \r or \r\n) off
// s; ok is false when s had no terminator left.
func nextLine(s string) (line, rest string, ok bool) {
	i := strings.IndexAny(s, "\r\n")
	if i < 0 {
		return s, "", false
	}
	if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
		return s[:i], s[i+2:], true
	}
	return s[:i], s[i+1:], true
}

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

// splitProperty splits a logical line (leading white space removed) into
// its unescaped key and value.
func splitProperty(l string) (string, string, error) {
	end := len(l)
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c == '\\' {
			i++ // the escaped character is part of the key
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			end = i
			break
		}
	}
	rawKey := l[:end]
	rest := strings.TrimLeft(l[end:], " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	if rawKey == "" {
		return "", "", fmt.Errorf("property has no name (a line may not start with '=' or ':')")
	}
	key, err := unescapeProperty(rawKey)
	if err != nil {
		return "", "", fmt.Errorf("key %q: %v", rawKey, err)
	}
	val, err := unescapeProperty(rest)
	if err != nil {
		return "", "", fmt.Errorf("value of %q: %v", key, err)
	}
	return key, val, nil
}

func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", fmt.Errorf("ends with an incomplete escape")
		}
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, err := hex4(s[i+1:])
			if err != nil {
				return "", err
			}
			i += 4
			// A UTF-16 surrogate pair written as two escapes is one
			// character, as in Java.
			if utf16.IsSurrogate(r) && strings.HasPrefix(s[i+1:], `\u`) {
				if lo, err := hex4(s[i+3:]); err == nil {
					if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
						r = pair
						i += 6
					}
				}
			}
			b.WriteRune(r)
		default:
			// Any other escaped character stands for itself (a
			// multi-byte UTF-8 character is copied byte by byte).
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// hex4 decodes the four hex digits of a \uXXXX escape at the start of s.
func hex4(s string) (rune, error) {
	if len(s) < 4 {
		return 0, fmt.Errorf(`malformed \uXXXX escape "%s": needs four hex digits`, `\u`+s)
	}
	var r rune
	for _, h := range []byte(s[:4]) {
		d, ok := hexDigit(h)
		if !ok {
			return 0, fmt.Errorf(`malformed \uXXXX escape "%s": needs four hex digits`, `\u`+s[:4])
		}
		r = r<<4 | d
	}
	return r, nil
}

func hexDigit(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

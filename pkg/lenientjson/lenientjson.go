// Package lenientjson decodes request bodies the way Google's API front end
// does, which is more forgiving than encoding/json in one way real clients
// rely on: control characters (a raw newline, tab or carriage return) inside
// a string. apigeecli builds some bodies by pasting a value between quotes
// (`kvms entries create --value "$(cat key.pem)"`), so a PEM arrives with raw
// newlines, and the real API stores it as if they had been escaped.
//
// Everything else is strict: a body that is not JSON after that repair is
// still an error.
package lenientjson

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Unmarshal decodes data into v. If data is not valid JSON only because of
// raw control characters inside strings, they are taken as their escaped
// forms.
func Unmarshal(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	if !asSyntax(err, &syn) {
		return err
	}
	repaired, changed := escapeControlsInStrings(data)
	if !changed {
		return err
	}
	if err2 := json.Unmarshal(repaired, v); err2 != nil {
		return err2
	}
	return nil
}

func asSyntax(err error, target **json.SyntaxError) bool {
	s, ok := err.(*json.SyntaxError)
	if ok {
		*target = s
	}
	return ok
}

// escapeControlsInStrings rewrites bytes below 0x20 that sit inside JSON
// strings as \n, \r, \t or \u00XX. Outside strings they are left alone
// (whitespace there is legal; anything else stays an error).
func escapeControlsInStrings(data []byte) ([]byte, bool) {
	var out bytes.Buffer
	inString, escaped, changed := false, false, false
	for _, c := range data {
		switch {
		case !inString:
			if c == '"' {
				inString = true
			}
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			inString = false
		case c < 0x20:
			changed = true
			switch c {
			case '\n':
				out.WriteString(`\n`)
			case '\r':
				out.WriteString(`\r`)
			case '\t':
				out.WriteString(`\t`)
			default:
				fmt.Fprintf(&out, `\u%04x`, c)
			}
			continue
		}
		out.WriteByte(c)
	}
	return out.Bytes(), changed
}

package bundle

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxXMLDepth bounds element nesting. Real bundle files nest < 15 deep;
// without a bound a 10 MiB file of "<a>" costs the decoder hundreds of MiB.
const maxXMLDepth = 256

// xmlErr is an error found while decoding, reported as ErrInvalidBundle.
type xmlErr struct{ msg string }

func (e *xmlErr) Error() string { return e.msg }

func errorf(format string, args ...any) error { return &xmlErr{fmt.Sprintf(format, args...)} }

var (
	utf8BOM    = []byte{0xEF, 0xBB, 0xBF}
	encodingRE = regexp.MustCompile(`encoding\s*=\s*("[^"]*"|'[^']*')`)
)

// normalizeXML returns the document as UTF-8 without a byte order mark. It
// understands UTF-16 with a BOM and the single-byte encodings old bundles
// declare (ISO-8859-1, Windows-1252, US-ASCII); the XML declaration is
// rewritten to say UTF-8 so the result can be decoded with no CharsetReader.
func normalizeXML(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, utf8BOM):
		data = data[len(utf8BOM):]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return rewriteDecl(decodeUTF16(data)), nil
	}
	if !bytes.HasPrefix(data, []byte("<?xml")) {
		return data, nil
	}
	end := bytes.Index(data, []byte("?>"))
	if end < 0 {
		return data, nil // let the decoder report it
	}
	m := encodingRE.FindSubmatch(data[:end])
	if m == nil {
		return data, nil
	}
	enc := strings.ToLower(strings.TrimSpace(string(m[1][1 : len(m[1])-1])))
	switch enc {
	case "utf-8", "utf8":
		return data, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1",
		"us-ascii", "ascii", "windows-1252", "cp1252":
		return rewriteDecl(decodeSingleByte(data, enc == "windows-1252" || enc == "cp1252")), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (use UTF-8)", enc)
}

func rewriteDecl(data []byte) []byte {
	if !bytes.HasPrefix(data, []byte("<?xml")) {
		return data
	}
	end := bytes.Index(data, []byte("?>"))
	if end < 0 {
		return data
	}
	decl := encodingRE.ReplaceAll(data[:end], []byte(`encoding="UTF-8"`))
	return append(decl, data[end:]...)
}

func decodeUTF16(data []byte) []byte {
	big := data[0] == 0xFE
	data = data[2:]
	u := make([]uint16, 0, len(data)/2)
	for i := 0; i+1 < len(data); i += 2 {
		if big {
			u = append(u, uint16(data[i])<<8|uint16(data[i+1]))
		} else {
			u = append(u, uint16(data[i+1])<<8|uint16(data[i]))
		}
	}
	return []byte(string(utf16.Decode(u)))
}

// cp1252 maps Windows-1252's 0x80–0x9F to Unicode (0 = undefined: kept as Latin-1).
var cp1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

func decodeSingleByte(data []byte, windows bool) []byte {
	out := make([]byte, 0, len(data)+len(data)/8)
	for _, c := range data {
		r := rune(c)
		if windows && c >= 0x80 && c < 0xA0 && cp1252[c-0x80] != 0 {
			r = cp1252[c-0x80]
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// childTextNames are the direct children of a policy's root element whose
// text names a resource file.
var childTextNames = map[string]bool{"ResourceURL": true, "IncludeURL": true, "OASResource": true}

// xmlInfo is what checkXML learns about a document.
type xmlInfo struct {
	root xml.StartElement
	// refs holds the text of direct children of the root named in
	// childTextNames, in document order.
	refs []string
}

// checkXML verifies that data is a well-formed document with exactly one root
// element and no DTD, and returns its root.
func checkXML(file string, data []byte) (*xmlInfo, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	info := &xmlInfo{}
	depth, roots := 0, 0
	capturing := false
	var text strings.Builder
	malformed := func(line int, format string, args ...any) error {
		return verr(ErrMalformedXML, file, "line %d: %s", line, fmt.Sprintf(format, args...))
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, malformed(se.Line, "%s", strings.TrimPrefix(se.Msg, "xml: "))
			}
			line, _ := d.InputPos()
			return nil, malformed(line, "%s", strings.TrimPrefix(err.Error(), "xml: "))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					line, _ := d.InputPos()
					return nil, malformed(line, "more than one root element (<%s> after <%s>)", t.Name.Local, info.root.Name.Local)
				}
				info.root = t.Copy()
			}
			depth++
			if depth > maxXMLDepth {
				line, _ := d.InputPos()
				return nil, malformed(line, "elements nested more than %d deep", maxXMLDepth)
			}
			if depth == 2 && childTextNames[t.Name.Local] {
				capturing = true
				text.Reset()
			}
		case xml.EndElement:
			if depth == 2 && capturing {
				info.refs = append(info.refs, strings.TrimSpace(text.String()))
				capturing = false
			}
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				line, _ := d.InputPos()
				return nil, malformed(line, "text outside the root element")
			}
			if capturing {
				text.Write(t)
			}
		case xml.Directive:
			if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) {
				line, _ := d.InputPos()
				return nil, malformed(line, "DOCTYPE declarations are not allowed")
			}
		}
	}
	if roots == 0 {
		line, _ := d.InputPos()
		return nil, malformed(line, "no root element")
	}
	return info, nil
}

// decodeInto unmarshals a checked document into v and trims every string in it.
func decodeInto(file string, data []byte, v any) error {
	if err := xml.Unmarshal(data, v); err != nil {
		var xe *xmlErr
		if errors.As(err, &xe) {
			return verr(ErrInvalidBundle, file, "%s", xe.msg)
		}
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			return verr(ErrInvalidBundle, file, "%s", describeBadValue(data, ne))
		}
		return verr(ErrInvalidBundle, file, "invalid value: %s", strings.TrimPrefix(err.Error(), "xml: "))
	}
	trimStrings(reflect.ValueOf(v))
	return nil
}

// trimStrings trims leading and trailing white space from every settable
// string reachable from v (struct fields, slices, pointers, map values).
func trimStrings(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			trimStrings(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				trimStrings(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			trimStrings(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.String {
			for _, k := range v.MapKeys() {
				v.SetMapIndex(k, reflect.ValueOf(strings.TrimSpace(v.MapIndex(k).String())).Convert(v.Type().Elem()))
			}
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(strings.TrimSpace(v.String()))
		}
	}
}

// describeBadValue turns a strconv error from xml.Unmarshal into a message
// that names the element (or attribute) holding the value and its line.
func describeBadValue(data []byte, ne *strconv.NumError) string {
	want := "a number"
	if ne.Func == "ParseBool" {
		want = "true or false"
	}
	bad := strings.TrimSpace(ne.Num)
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			for _, a := range t.Attr {
				if strings.TrimSpace(a.Value) == bad {
					line, _ := d.InputPos()
					return fmt.Sprintf("line %d: attribute %s=%q of <%s> must be %s", line, a.Name.Local, a.Value, t.Name.Local, want)
				}
			}
			stack = append(stack, t.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if strings.TrimSpace(text.String()) == bad && len(stack) > 0 {
				line, _ := d.InputPos()
				return fmt.Sprintf("line %d: <%s> value %q must be %s", line, stack[len(stack)-1], bad, want)
			}
			text.Reset()
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	return fmt.Sprintf("value %q must be %s", bad, want)
}

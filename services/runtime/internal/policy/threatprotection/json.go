// Package threatprotection implements the content-protection policies:
// JSONThreatProtection, XMLThreatProtection and RegularExpressionProtection.
package threatprotection

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// sourceMessage finds the policy's <Source> message and whether its content
// type is one the policy checks.
func sourceMessage(mc *flow.MessageContext, source string, want string) (*message.Message, bool) {
	m := mc.Message(source)
	if m == nil {
		return nil, false
	}
	ct, _, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	return m, strings.Contains(ct, want)
}

type jsonPolicy struct {
	name, source                                                 string
	arrayCount, depth, entryCount, nameLength, stringValueLength int
}

// CompileJSON compiles a <JSONThreatProtection> policy. A limit of 0 or
// an absent element is no limit.
func CompileJSON(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("JSONThreatProtection", "%v", err)
	}
	p := &jsonPolicy{name: cc.Policy.Name, source: root.ChildText("Source")}
	if p.source == "" {
		p.source = "message"
	}
	for _, l := range []struct {
		el  string
		dst *int
	}{{"ArrayElementCount", &p.arrayCount}, {"ContainerDepth", &p.depth}, {"ObjectEntryCount", &p.entryCount},
		{"ObjectEntryNameLength", &p.nameLength}, {"StringValueLength", &p.stringValueLength}} {
		if *l.dst, err = root.Int(l.el, 0); err != nil || *l.dst < 0 {
			return nil, flow.Invalid("JSONThreatProtection/"+l.el, "must be a non-negative number")
		}
	}
	return p, nil
}

type jsonViolation struct {
	what string
	off  int64
}

func (v *jsonViolation) Error() string { return v.what }

func (p *jsonPolicy) Execute(_ context.Context, mc *flow.MessageContext) error {
	m, ok := sourceMessage(mc, p.source, "json")
	if !ok {
		return nil
	}
	body, err := m.Content()
	if err != nil {
		return p.fail(err.Error(), 0, body)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	err = p.walk(d, 0)
	if err == nil {
		if _, terr := d.Token(); terr != io.EOF {
			err = &jsonViolation{what: "Unexpected content after the JSON value", off: d.InputOffset()}
		}
	}
	if err != nil {
		var v *jsonViolation
		if errors.As(err, &v) {
			return p.fail(v.what, v.off, body)
		}
		return p.fail(err.Error(), d.InputOffset(), body)
	}
	return nil
}

func (p *jsonPolicy) walk(d *json.Decoder, depth int) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		depth++
		if p.depth > 0 && depth > p.depth {
			return &jsonViolation{what: "Exceeded container depth", off: d.InputOffset()}
		}
		switch t {
		case '{':
			n := 0
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return err
				}
				n++
				if p.entryCount > 0 && n > p.entryCount {
					return &jsonViolation{what: "Exceeded object entry count", off: d.InputOffset()}
				}
				if k, _ := kt.(string); p.nameLength > 0 && utf8.RuneCountInString(k) > p.nameLength {
					return &jsonViolation{what: "Exceeded object entry name length", off: d.InputOffset()}
				}
				if err := p.walk(d, depth); err != nil {
					return err
				}
			}
		case '[':
			n := 0
			for d.More() {
				n++
				if p.arrayCount > 0 && n > p.arrayCount {
					return &jsonViolation{what: "Exceeded array element count", off: d.InputOffset()}
				}
				if err := p.walk(d, depth); err != nil {
					return err
				}
			}
		}
		_, err := d.Token() // closing delimiter
		return err
	case string:
		if p.stringValueLength > 0 && utf8.RuneCountInString(t) > p.stringValueLength {
			return &jsonViolation{what: "Exceeded string value length", off: d.InputOffset()}
		}
	}
	return nil
}

func lineOf(body []byte, off int64) int {
	line, _ := lineAndColumn(body, off)
	return line
}

// lineAndColumn is the 1-based line of a byte offset and the offset's
// character position within that line.
func lineAndColumn(body []byte, off int64) (line, col int) {
	if off > int64(len(body)) {
		off = int64(len(body))
	}
	before := body[:off]
	start := bytes.LastIndexByte(before, '\n') + 1
	return bytes.Count(before, []byte("\n")) + 1, utf8.RuneCount(before[start:])
}

func (p *jsonPolicy) fail(what string, off int64, body []byte) error {
	reason := fmt.Sprintf("JSONThreatProtection[%s]: %s at line %d", p.name, what, lineOf(body, off))
	return fault("steps.jsonthreatprotection.ExecutionFailed", "JSONThreatProtection[%s]: Execution failed. reason: %s", p.name, reason)
}

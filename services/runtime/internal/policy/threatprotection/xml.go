package threatprotection

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

type xmlPolicy struct {
	name, source string
	// Name limits.
	elementName, attrName, nsPrefix, piTarget int
	// Structure limits.
	depth, attrCount, nsCount, childCount        int
	childElems, childText, childComment, childPI bool
	// Value limits.
	text, attrValue, nsURI, comment, piData int
}

// CompileXML compiles an <XMLThreatProtection> policy.
func CompileXML(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("XMLThreatProtection", "%v", err)
	}
	p := &xmlPolicy{name: cc.Policy.Name, source: root.ChildText("Source"), childElems: true, childText: true, childComment: true, childPI: true}
	if p.source == "" {
		p.source = "message"
	}
	ints := []struct {
		parent, el string
		dst        *int
	}{
		{"NameLimits", "Element", &p.elementName}, {"NameLimits", "Attribute", &p.attrName}, {"NameLimits", "NamespacePrefix", &p.nsPrefix},
		{"NameLimits", "ProcessingInstructionTarget", &p.piTarget},
		{"StructureLimits", "NodeDepth", &p.depth}, {"StructureLimits", "AttributeCountPerElement", &p.attrCount},
		{"StructureLimits", "NamespaceCountPerElement", &p.nsCount}, {"StructureLimits", "ChildCount", &p.childCount},
		{"ValueLimits", "Text", &p.text}, {"ValueLimits", "Attribute", &p.attrValue}, {"ValueLimits", "NamespaceURI", &p.nsURI},
		{"ValueLimits", "Comment", &p.comment}, {"ValueLimits", "ProcessingInstructionData", &p.piData},
	}
	for _, l := range ints {
		if *l.dst, err = root.Child(l.parent).Int(l.el, 0); err != nil || *l.dst < 0 {
			return nil, flow.Invalid("XMLThreatProtection/"+l.parent+"/"+l.el, "must be a non-negative number")
		}
	}
	if cc := root.Child("StructureLimits").Child("ChildCount"); cc != nil {
		for _, a := range []struct {
			attr string
			dst  *bool
		}{{"includeElement", &p.childElems}, {"includeText", &p.childText}, {"includeComment", &p.childComment}, {"includeProcessingInstruction", &p.childPI}} {
			if *a.dst, err = cc.BoolAttr(a.attr, true); err != nil {
				return nil, flow.Invalid("XMLThreatProtection/StructureLimits/ChildCount", "%v", err)
			}
		}
	}
	return p, nil
}

func (p *xmlPolicy) Execute(_ context.Context, mc *flow.MessageContext) error {
	m, ok := sourceMessage(mc, p.source, "xml")
	if !ok {
		return nil
	}
	body, err := m.Content()
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	var children []int
	// kind is the violation's name in Apigee's troubleshooting guide; every
	// violation is the one fault code ExecutionFailed, told apart by its
	// faultstring.
	check := func(limit, n int, kind, what string) error {
		if limit > 0 && n > limit {
			return p.fail(fmt.Sprintf("XMLThreatProtection stepDefinition %s: %s (%d)", p.name, what, limit), body, d.InputOffset())
		}
		return nil
	}
	child := func(include bool) error {
		if include && len(children) > 0 {
			children[len(children)-1]++
			return check(p.childCount, children[len(children)-1], "ChildCountExceeded", "Children count exceeded")
		}
		return nil
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return p.fail("Malformed XML: "+err.Error(), body, d.InputOffset())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := child(p.childElems); err != nil {
				return err
			}
			depth++
			children = append(children, 0)
			if err := check(p.depth, depth, "NodeDepthExceeded", "Node depth exceeded"); err != nil {
				return err
			}
			if err := check(p.elementName, utf8.RuneCountInString(t.Name.Local), "ElementNameExceeded", "Element name length exceeded"); err != nil {
				return err
			}
			if err := check(p.nsPrefix, utf8.RuneCountInString(t.Name.Space), "NSPrefixExceeded", "Namespace prefix length exceeded"); err != nil {
				return err
			}
			attrs, nss := 0, 0
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					nss++
					if err := check(p.nsCount, nss, "NSCountExceeded", "Namespace count exceeded"); err != nil {
						return err
					}
					if err := check(p.nsURI, utf8.RuneCountInString(a.Value), "NSURIExceeded", "Namespace uri length exceeded"); err != nil {
						return err
					}
					continue
				}
				attrs++
				if err := check(p.attrCount, attrs, "AttributeCountExceeded", "Attribute count exceeded"); err != nil {
					return err
				}
				if err := check(p.attrName, utf8.RuneCountInString(a.Name.Local), "AttributeNameExceeded", "Attribute name length exceeded"); err != nil {
					return err
				}
				if err := check(p.attrValue, utf8.RuneCountInString(a.Value), "AttributeValueExceeded", "Attribute value length exceeded"); err != nil {
					return err
				}
			}
		case xml.EndElement:
			depth--
			if len(children) > 0 {
				children = children[:len(children)-1]
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) == 0 {
				continue
			}
			if err := child(p.childText); err != nil {
				return err
			}
			if err := check(p.text, utf8.RuneCount(t), "TextExceeded", "Text length exceeded"); err != nil {
				return err
			}
		case xml.Comment:
			if err := child(p.childComment); err != nil {
				return err
			}
			if err := check(p.comment, utf8.RuneCount(t), "CommentExceeded", "Comment length exceeded"); err != nil {
				return err
			}
		case xml.ProcInst:
			if t.Target == "xml" {
				continue
			}
			if err := child(p.childPI); err != nil {
				return err
			}
			if err := check(p.piTarget, utf8.RuneCountInString(t.Target), "PITargetExceeded", "Processing Instruction target length exceeded"); err != nil {
				return err
			}
			if err := check(p.piData, utf8.RuneCount(t.Inst), "PIDataExceeded", "Processing Instruction data length exceeded"); err != nil {
				return err
			}
		}
	}
}

// fail raises XMLThreatProtection's fault, in the shape Apigee's
// troubleshooting guide shows: "... Execution failed. reason: <why> at line
// N(possibly around char M)".
func (p *xmlPolicy) fail(why string, body []byte, off int64) error {
	line, col := lineAndColumn(body, off)
	return fault("steps.xmlthreatprotection.ExecutionFailed",
		"XMLThreatProtection stepDefinition %s: Execution failed. reason: %s at line %d(possibly around char %d)", p.name, why, line, col)
}

// Package basicauth implements the BasicAuthentication policy: Encode
// builds "Basic base64(user:password)" from two variables and assigns it to
// a variable (usually request.header.Authorization); Decode splits such a
// value from <Source> into the <User> and <Password> variables.
package basicauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// Runtime error codes (Apigee's BasicAuthentication error reference).
const (
	CodeInvalidSource      = "steps.basicauthentication.InvalidBasicAuthenticationSource"
	CodeUnresolvedVariable = "steps.basicauthentication.UnresolvedVariable"
)

type policy struct {
	decode    bool
	user      string
	password  string
	assignTo  string
	createNew bool
	source    string
	ignore    bool
}

// Compile compiles a <BasicAuthentication> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("BasicAuthentication", "%v", err)
	}
	p := &policy{}
	switch op := strings.TrimSpace(root.ChildText("Operation")); op {
	case "Encode":
	case "Decode":
		p.decode = true
	case "":
		return nil, flow.Invalid("BasicAuthentication/Operation", "element is required (Encode or Decode)")
	default:
		return nil, flow.Invalid("BasicAuthentication/Operation", "InvalidOperation: %q is not Encode or Decode", op)
	}
	if p.ignore, err = root.Bool("IgnoreUnresolvedVariables", false); err != nil {
		return nil, flow.Invalid("BasicAuthentication/IgnoreUnresolvedVariables", "%v", err)
	}
	ref := func(name, errName string) (string, error) {
		el := root.Child(name)
		if el == nil || strings.TrimSpace(el.Attr("ref")) == "" {
			return "", flow.Invalid("BasicAuthentication/"+name, "%s: element with a ref attribute is required", errName)
		}
		return strings.TrimSpace(el.Attr("ref")), nil
	}
	if p.user, err = ref("User", "UserNameRequired"); err != nil {
		return nil, err
	}
	if p.password, err = ref("Password", "PasswordRequired"); err != nil {
		return nil, err
	}
	if p.decode {
		if p.source = strings.TrimSpace(root.ChildText("Source")); p.source == "" {
			return nil, flow.Invalid("BasicAuthentication/Source", "SourceRequired: the Decode operation needs a Source variable")
		}
		return p, nil
	}
	at := root.Child("AssignTo")
	if at == nil || strings.TrimSpace(at.Text) == "" {
		return nil, flow.Invalid("BasicAuthentication/AssignTo", "AssignToRequired: the Encode operation needs an AssignTo variable")
	}
	p.assignTo = strings.TrimSpace(at.Text)
	if p.createNew, err = at.BoolAttr("createNew", false); err != nil {
		return nil, flow.Invalid("BasicAuthentication/AssignTo", "%v", err)
	}
	return p, nil
}

func unresolved(name string) *flow.Fault {
	return &flow.Fault{Code: CodeUnresolvedVariable, Status: http.StatusInternalServerError, Message: "Unresolved variable : " + name}
}

func (p *policy) Execute(_ context.Context, mc *flow.MessageContext) error {
	if p.decode {
		return p.runDecode(mc)
	}
	user, ok := mc.GetString(p.user)
	if !ok && !p.ignore {
		return unresolved(p.user)
	}
	pass, ok := mc.GetString(p.password)
	if !ok && !p.ignore {
		return unresolved(p.password)
	}
	if !p.createNew {
		if _, exists := mc.Lookup(p.assignTo); exists {
			return nil
		}
	}
	return set(mc, p.assignTo, "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
}

func (p *policy) runDecode(mc *flow.MessageContext) error {
	v, ok := mc.GetString(p.source)
	if !ok {
		if p.ignore {
			return nil
		}
		return unresolved(p.source)
	}
	invalid := &flow.Fault{Code: CodeInvalidSource, Status: http.StatusInternalServerError,
		Message: "Source variable : " + p.source + " for basic authentication decode policy is not valid"}
	scheme, enc, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return invalid
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return invalid
	}
	user, pass, found := strings.Cut(string(raw), ":")
	if !found {
		return invalid
	}
	if err := set(mc, p.user, user); err != nil {
		return err
	}
	return set(mc, p.password, pass)
}

func set(mc *flow.MessageContext, name, value string) error {
	err := mc.Set(name, value)
	var ro *flow.ErrReadOnly
	if errors.As(err, &ro) {
		return &flow.Fault{Code: "steps.basicauthentication.ExecutionFailed", Status: http.StatusInternalServerError,
			Message: "Variable " + name + " is read only"}
	}
	return err
}

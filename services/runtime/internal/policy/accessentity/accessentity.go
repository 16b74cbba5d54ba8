// Package accessentity implements the AccessEntity policy: it reads a
// developer, app group, app, API product or consumer key from the runtime
// data store (uncached, as the management data is) and stores its profile
// as XML in AccessEntity.<policy name>, in the shape of the Apigee
// management API's XML representation, for ExtractVariables (XPath) or
// JavaScript to read. An entity that does not exist leaves the variable
// unset; it is not a fault (as in Apigee).
package accessentity

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// identifier types each entity type accepts as <EntityIdentifier type>.
var identifierTypes = map[string][]string{
	"app":         {"appid", "appname", "consumerkey"},
	"developer":   {"developeremail", "developerid", "appid", "consumerkey"},
	"apiproduct":  {"apiproductname", "appid", "consumerkey", "appname"},
	"consumerkey": {"consumerkey"},
	// AppGroups (Apigee documents that AccessEntity retrieves them): by
	// name, or through one of the group's apps.
	"appgroup": {"appgroupname", "appid", "consumerkey"},
}

// secondaryTypes name an appname identifier's owner: a developer, or an
// app group.
var secondaryTypes = []string{"developeremail", "developerid", "appgroupname"}

type identifier struct {
	ref, value, typ string
}

func (id *identifier) resolve(mc *flow.MessageContext) (string, bool) {
	if id.ref != "" {
		if v, ok := mc.GetString(id.ref); ok && v != "" {
			return v, true
		}
	}
	return id.value, id.value != ""
}

type policy struct {
	name      string
	entity    string
	id        identifier
	secondary *identifier
	data      *rtdata.Store
}

// Compile compiles an <AccessEntity> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("AccessEntity", "%v", err)
	}
	p := &policy{name: cc.Policy.Name}
	et := root.Child("EntityType")
	if et == nil || strings.TrimSpace(et.Attr("value")) == "" {
		return nil, flow.Invalid("AccessEntity/EntityType", "InvalidEntityType: element with a value attribute is required (app, appgroup, developer, apiproduct or consumerkey)")
	}
	p.entity = strings.ToLower(strings.TrimSpace(et.Attr("value")))
	allowed, ok := identifierTypes[p.entity]
	if !ok {
		return nil, flow.Invalid("AccessEntity/EntityType", "InvalidEntityType: invalid entity type %s in policy %s (supported: apiproduct, app, appgroup, consumerkey, developer)", et.Attr("value"), p.name)
	}
	parseID := func(el *xmltree.Element, path string) (*identifier, error) {
		id := &identifier{ref: strings.TrimSpace(el.Attr("ref")), value: strings.TrimSpace(el.Text), typ: strings.ToLower(strings.TrimSpace(el.Attr("type")))}
		if id.ref == "" && id.value == "" {
			return nil, flow.Invalid(path, "EntityIdentifierRequired: a ref attribute or a value is required")
		}
		return id, nil
	}
	el := root.Child("EntityIdentifier")
	if el == nil {
		return nil, flow.Invalid("AccessEntity/EntityIdentifier", "EntityIdentifierRequired: element is required")
	}
	id, err := parseID(el, "AccessEntity/EntityIdentifier")
	if err != nil {
		return nil, err
	}
	if id.typ == "" {
		id.typ = allowed[0]
	}
	if !contains(allowed, id.typ) {
		return nil, flow.Invalid("AccessEntity/EntityIdentifier", "InvalidIdentifierType: identifier type %q cannot identify a %s (use one of %s)", el.Attr("type"), p.entity, strings.Join(allowed, ", "))
	}
	p.id = *id
	if s := root.Child("SecondaryIdentifier"); s != nil {
		if p.secondary, err = parseID(s, "AccessEntity/SecondaryIdentifier"); err != nil {
			return nil, err
		}
		if !contains(secondaryTypes, p.secondary.typ) {
			return nil, flow.Invalid("AccessEntity/SecondaryIdentifier", "InvalidIdentifierType: secondary identifier type %q is not one of %s", s.Attr("type"), strings.Join(secondaryTypes, ", "))
		}
	}
	if p.id.typ == "appname" && p.secondary == nil {
		return nil, flow.Invalid("AccessEntity/SecondaryIdentifier", "an appname identifier needs a SecondaryIdentifier of type %s", strings.Join(secondaryTypes, ", "))
	}
	if p.data, err = cc.NeedData(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	id, ok := p.id.resolve(mc)
	if !ok {
		return nil
	}
	var owner string
	if p.secondary != nil {
		if owner, ok = p.secondary.resolve(mc); !ok {
			return nil
		}
	}
	v, err := p.lookup(ctx, id, owner)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v == nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("access %s %s: %w", p.entity, id, err)
	}
	out, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	mc.SetVar("AccessEntity."+p.name, string(out))
	return nil
}

// lookup returns the XML value of the entity (nil when there is none).
// owner is the secondary identifier: the developer or app group of an
// appname.
func (p *policy) lookup(ctx context.Context, id, owner string) (any, error) {
	kms, org := p.data.KMS(), p.data.Org()
	// The app the identifier leads to, for the types that go through one.
	app := func() (*store.App, error) {
		switch p.id.typ {
		case "appid":
			return kms.GetAppByID(ctx, org, id)
		case "appname":
			if p.secondary.typ == "appgroupname" {
				return kms.GetAppGroupApp(ctx, org, owner, id)
			}
			return kms.GetApp(ctx, org, owner, id)
		case "consumerkey":
			info, err := kms.LookupKey(ctx, org, id)
			if err != nil {
				return nil, err
			}
			return kms.GetAppByID(ctx, org, info.App.AppID)
		}
		return nil, nil
	}
	switch p.entity {
	case "app":
		a, err := app()
		if err != nil || a == nil {
			return nil, err
		}
		return appXML(a), nil
	case "developer":
		ref := id
		if p.id.typ == "appid" || p.id.typ == "consumerkey" {
			a, err := app()
			if err != nil || a == nil {
				return nil, err
			}
			ref = a.DeveloperID
			if ref == "" { // an app group's app has no developer
				return nil, nil
			}
		}
		d, err := kms.GetDeveloper(ctx, org, ref)
		if err != nil {
			return nil, err
		}
		return developerXML(d, org), nil
	case "appgroup":
		name := id
		if p.id.typ != "appgroupname" {
			a, err := app()
			if err != nil || a == nil || a.AppGroup == "" {
				return nil, err
			}
			name = a.AppGroup
		}
		g, err := kms.GetAppGroup(ctx, org, name)
		if err != nil {
			return nil, err
		}
		return appGroupXML(g, org), nil
	case "apiproduct":
		name := id
		switch p.id.typ {
		case "consumerkey":
			info, err := kms.LookupKey(ctx, org, id)
			if err != nil {
				return nil, err
			}
			if len(info.Credential.APIProducts) == 0 {
				return nil, nil
			}
			name = info.Credential.APIProducts[0].APIProduct
		case "appid", "appname":
			a, err := app()
			if err != nil || a == nil {
				return nil, err
			}
			name = ""
			for _, c := range a.Credentials {
				if len(c.APIProducts) > 0 {
					name = c.APIProducts[0].APIProduct
					break
				}
			}
			if name == "" {
				return nil, nil
			}
		}
		pr, err := kms.GetProduct(ctx, org, name)
		if err != nil {
			return nil, err
		}
		return productXML(pr), nil
	case "consumerkey":
		info, err := kms.LookupKey(ctx, org, id)
		if err != nil {
			return nil, err
		}
		return credentialXML(info.Credential), nil
	}
	return nil, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

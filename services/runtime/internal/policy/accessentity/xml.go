package accessentity

import (
	"encoding/xml"
	"strconv"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// The XML shapes of the Apigee management API's entity representations.

type attributeXML struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type attributesXML struct {
	Attribute []attributeXML `xml:"Attribute"`
}

func attrs(in []store.Attribute) attributesXML {
	out := attributesXML{Attribute: []attributeXML{}}
	for _, a := range in {
		out.Attribute = append(out.Attribute, attributeXML(a))
	}
	return out
}

type developerXMLT struct {
	XMLName          xml.Name      `xml:"Developer"`
	Apps             []string      `xml:"Apps>App"`
	Attributes       attributesXML `xml:"Attributes"`
	CreatedAt        int64         `xml:"CreatedAt"`
	DeveloperID      string        `xml:"DeveloperId"`
	Email            string        `xml:"Email"`
	FirstName        string        `xml:"FirstName"`
	LastModifiedAt   int64         `xml:"LastModifiedAt"`
	LastName         string        `xml:"LastName"`
	OrganizationName string        `xml:"OrganizationName"`
	Status           string        `xml:"Status"`
	UserName         string        `xml:"UserName"`
}

func developerXML(d *store.Developer, org string) *developerXMLT {
	return &developerXMLT{Apps: d.Apps, Attributes: attrs(d.Attributes), CreatedAt: d.CreatedAt, DeveloperID: d.DeveloperID,
		Email: d.Email, FirstName: d.FirstName, LastModifiedAt: d.LastModifiedAt, LastName: d.LastName, OrganizationName: org,
		Status: d.Status, UserName: d.UserName}
}

// appGroupXMLT is an AppGroup in the element names of the other entities
// (the API's JSON fields, capitalized).
type appGroupXMLT struct {
	XMLName        xml.Name      `xml:"AppGroup"`
	AppGroupID     string        `xml:"AppGroupId"`
	Attributes     attributesXML `xml:"Attributes"`
	ChannelID      string        `xml:"ChannelId"`
	ChannelURI     string        `xml:"ChannelUri"`
	CreatedAt      int64         `xml:"CreatedAt"`
	DisplayName    string        `xml:"DisplayName"`
	LastModifiedAt int64         `xml:"LastModifiedAt"`
	Name           string        `xml:"Name"`
	Organization   string        `xml:"Organization"`
	Status         string        `xml:"Status"`
}

func appGroupXML(g *store.AppGroup, org string) *appGroupXMLT {
	return &appGroupXMLT{AppGroupID: g.AppGroupID, Attributes: attrs(g.Attributes), ChannelID: g.ChannelID, ChannelURI: g.ChannelURI,
		CreatedAt: g.CreatedAt, DisplayName: g.DisplayName, LastModifiedAt: g.LastModifiedAt, Name: g.Name, Organization: org, Status: g.Status}
}

type productRefXML struct {
	Name   string `xml:"Name"`
	Status string `xml:"Status"`
}

type credentialXMLT struct {
	XMLName        xml.Name        `xml:"Credential"`
	APIProducts    []productRefXML `xml:"ApiProducts>ApiProduct"`
	Attributes     attributesXML   `xml:"Attributes"`
	ConsumerKey    string          `xml:"ConsumerKey"`
	ConsumerSecret string          `xml:"ConsumerSecret"`
	ExpiresAt      string          `xml:"ExpiresAt"`
	IssuedAt       string          `xml:"IssuedAt"`
	Scopes         []string        `xml:"Scopes>Scope"`
	Status         string          `xml:"Status"`
}

func credentialXML(c *store.Credential) *credentialXMLT {
	out := &credentialXMLT{Attributes: attrs(c.Attributes), ConsumerKey: c.ConsumerKey, ConsumerSecret: c.ConsumerSecret,
		ExpiresAt: strconv.FormatInt(c.ExpiresAt, 10), IssuedAt: strconv.FormatInt(c.IssuedAt, 10), Scopes: c.Scopes, Status: c.Status}
	for _, r := range c.APIProducts {
		out.APIProducts = append(out.APIProducts, productRefXML{Name: r.APIProduct, Status: r.Status})
	}
	return out
}

type appXMLT struct {
	XMLName        xml.Name          `xml:"App"`
	AppID          string            `xml:"AppId"`
	Attributes     attributesXML     `xml:"Attributes"`
	CallbackURL    string            `xml:"CallbackUrl"`
	CreatedAt      int64             `xml:"CreatedAt"`
	Credentials    []*credentialXMLT `xml:"Credentials>Credential"`
	DeveloperID    string            `xml:"DeveloperId"`
	AppGroup       string            `xml:"AppGroup,omitempty"` // an app group's app
	LastModifiedAt int64             `xml:"LastModifiedAt"`
	Name           string            `xml:"Name"`
	Scopes         []string          `xml:"Scopes>Scope"`
	Status         string            `xml:"Status"`
}

func appXML(a *store.App) *appXMLT {
	out := &appXMLT{AppID: a.AppID, Attributes: attrs(a.Attributes), CallbackURL: a.CallbackURL, CreatedAt: a.CreatedAt,
		DeveloperID: a.DeveloperID, AppGroup: a.AppGroup, LastModifiedAt: a.LastModifiedAt, Name: a.Name, Scopes: a.Scopes, Status: a.Status}
	for _, c := range a.Credentials {
		out.Credentials = append(out.Credentials, credentialXML(c))
	}
	return out
}

type productXMLT struct {
	XMLName        xml.Name      `xml:"ApiProduct"`
	NameAttr       string        `xml:"name,attr"`
	APIResources   []string      `xml:"ApiResources>ApiResource"`
	ApprovalType   string        `xml:"ApprovalType"`
	Attributes     attributesXML `xml:"Attributes"`
	CreatedAt      int64         `xml:"CreatedAt"`
	Description    string        `xml:"Description"`
	DisplayName    string        `xml:"DisplayName"`
	Environments   []string      `xml:"Environments>Environment"`
	LastModifiedAt int64         `xml:"LastModifiedAt"`
	Name           string        `xml:"Name"`
	Proxies        []string      `xml:"Proxies>Proxy"`
	Quota          string        `xml:"Quota,omitempty"`
	QuotaInterval  string        `xml:"QuotaInterval,omitempty"`
	QuotaTimeUnit  string        `xml:"QuotaTimeUnit,omitempty"`
	Scopes         []string      `xml:"Scopes>Scope"`
}

func productXML(p *store.APIProduct) *productXMLT {
	return &productXMLT{NameAttr: p.Name, APIResources: p.APIResources, ApprovalType: p.ApprovalType, Attributes: attrs(p.Attributes),
		CreatedAt: p.CreatedAt, Description: p.Description, DisplayName: p.DisplayName, Environments: p.Environments,
		LastModifiedAt: p.LastModifiedAt, Name: p.Name, Proxies: p.Proxies, Quota: p.Quota, QuotaInterval: p.QuotaInterval,
		QuotaTimeUnit: p.QuotaTimeUnit, Scopes: p.Scopes}
}

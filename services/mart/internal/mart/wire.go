package mart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// flexInt64 reads an int64 sent as a JSON number or, as Google's clients
// send int64 fields, a JSON string.
type flexInt64 int64

func (f *flexInt64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not an integer", b)
	}
	*f = flexInt64(n)
	return nil
}

// flexString reads a string sent as a JSON string or number (quota fields
// are strings in the API, numbers in some hand-written requests).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%s is neither a string nor a number", b)
	}
	*f = flexString(n.String())
	return nil
}

// productName reads an API product named by a string or, in a key's
// apiProducts, by an {"apiproduct": …} object.
type productName string

func (p *productName) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var ref store.ProductRef
		if err := json.Unmarshal(b, &ref); err != nil {
			return err
		}
		*p = productName(ref.APIProduct)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*p = productName(s)
	return nil
}

func productNames(in []productName) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		out = append(out, string(p))
	}
	return out
}

// Requests.

type developerIn struct {
	Email      string            `json:"email"`
	FirstName  string            `json:"firstName"`
	LastName   string            `json:"lastName"`
	UserName   string            `json:"userName"`
	Attributes []store.Attribute `json:"attributes"`
}

type appIn struct {
	Name         string            `json:"name"`
	APIProducts  []string          `json:"apiProducts"`
	CallbackURL  string            `json:"callbackUrl"`
	KeyExpiresIn flexInt64         `json:"keyExpiresIn"`
	Scopes       []string          `json:"scopes"`
	Attributes   []store.Attribute `json:"attributes"`
	Status       string            `json:"status"`
}

type keyIn struct {
	ConsumerKey      string             `json:"consumerKey"`
	ConsumerSecret   string             `json:"consumerSecret"`
	APIProducts      []productName      `json:"apiProducts"`
	Attributes       *[]store.Attribute `json:"attributes"`
	Scopes           *[]string          `json:"scopes"`
	ExpiresAt        flexInt64          `json:"expiresAt"`
	ExpiresInSeconds flexInt64          `json:"expiresInSeconds"`
}

type productIn struct {
	Name              string                `json:"name"`
	DisplayName       string                `json:"displayName"`
	Description       string                `json:"description"`
	ApprovalType      string                `json:"approvalType"`
	Environments      []string              `json:"environments"`
	Proxies           []string              `json:"proxies"`
	APIResources      []string              `json:"apiResources"`
	OperationGroup    *store.OperationGroup `json:"operationGroup"`
	Quota             flexString            `json:"quota"`
	QuotaInterval     flexString            `json:"quotaInterval"`
	QuotaTimeUnit     string                `json:"quotaTimeUnit"`
	QuotaCounterScope string                `json:"quotaCounterScope"`
	Scopes            []string              `json:"scopes"`
	Attributes        []store.Attribute     `json:"attributes"`
}

type mapIn struct {
	Name         string `json:"name"`
	Encrypted    *bool  `json:"encrypted"`
	MaskedValues bool   `json:"maskedValues"`
}

type entryIn struct {
	Name  *string `json:"name"`
	Value *string `json:"value"`
}

// Responses (int64 fields as strings, as Google's APIs send them).

type developerOut struct {
	Email            string            `json:"email"`
	DeveloperID      string            `json:"developerId,omitempty"`
	FirstName        string            `json:"firstName,omitempty"`
	LastName         string            `json:"lastName,omitempty"`
	UserName         string            `json:"userName,omitempty"`
	OrganizationName string            `json:"organizationName,omitempty"`
	Status           string            `json:"status,omitempty"`
	Attributes       []store.Attribute `json:"attributes,omitempty"`
	Apps             []string          `json:"apps,omitempty"`
	CreatedAt        int64             `json:"createdAt,omitempty,string"`
	LastModifiedAt   int64             `json:"lastModifiedAt,omitempty,string"`
}

func (a *API) developerOut(d *store.Developer) developerOut {
	return developerOut{
		Email: d.Email, DeveloperID: d.DeveloperID, FirstName: d.FirstName, LastName: d.LastName, UserName: d.UserName,
		OrganizationName: a.org, Status: d.Status, Attributes: d.Attributes, Apps: d.Apps,
		CreatedAt: d.CreatedAt, LastModifiedAt: d.LastModifiedAt,
	}
}

type credentialOut struct {
	ConsumerKey    string             `json:"consumerKey"`
	ConsumerSecret string             `json:"consumerSecret"`
	Status         string             `json:"status"`
	IssuedAt       int64              `json:"issuedAt,string"`
	ExpiresAt      int64              `json:"expiresAt,string"`
	APIProducts    []store.ProductRef `json:"apiProducts"`
	Scopes         []string           `json:"scopes,omitempty"`
	Attributes     []store.Attribute  `json:"attributes"`
}

func credOut(c *store.Credential) credentialOut {
	out := credentialOut{
		ConsumerKey: c.ConsumerKey, ConsumerSecret: c.ConsumerSecret, Status: c.Status, IssuedAt: c.IssuedAt,
		ExpiresAt: c.ExpiresAt, APIProducts: c.APIProducts, Scopes: c.Scopes, Attributes: c.Attributes,
	}
	if out.APIProducts == nil {
		out.APIProducts = []store.ProductRef{}
	}
	if out.Attributes == nil {
		out.Attributes = []store.Attribute{}
	}
	return out
}

type appOut struct {
	AppID          string            `json:"appId"`
	Name           string            `json:"name,omitempty"`
	DeveloperID    string            `json:"developerId,omitempty"`
	DeveloperEmail string            `json:"developerEmail,omitempty"`
	AppGroup       string            `json:"appGroup,omitempty"`
	AppFamily      string            `json:"appFamily,omitempty"`
	CallbackURL    string            `json:"callbackUrl,omitempty"`
	Status         string            `json:"status,omitempty"`
	Scopes         []string          `json:"scopes,omitempty"`
	Attributes     []store.Attribute `json:"attributes,omitempty"`
	Credentials    []credentialOut   `json:"credentials,omitempty"`
	CreatedAt      int64             `json:"createdAt,omitempty,string"`
	LastModifiedAt int64             `json:"lastModifiedAt,omitempty,string"`
}

// appOutOf renders a developer app; withEmail adds developerEmail (the
// organization-level App resource has it, DeveloperApp does not). An app
// group's app (only in the organization's list) names its appGroup
// instead of a developer.
func appOutOf(a *store.App, withEmail bool) appOut {
	out := appOut{
		AppID: a.AppID, Name: a.Name, DeveloperID: a.DeveloperID, AppGroup: a.AppGroup, AppFamily: "default", CallbackURL: a.CallbackURL,
		Status: a.Status, Scopes: a.Scopes, Attributes: a.Attributes, CreatedAt: a.CreatedAt, LastModifiedAt: a.LastModifiedAt,
	}
	if withEmail {
		out.DeveloperEmail = a.DeveloperEmail
	}
	for _, c := range a.Credentials {
		out.Credentials = append(out.Credentials, credOut(c))
	}
	return out
}

type productOut struct {
	Name              string                `json:"name"`
	DisplayName       string                `json:"displayName,omitempty"`
	Description       string                `json:"description,omitempty"`
	ApprovalType      string                `json:"approvalType,omitempty"`
	Environments      []string              `json:"environments,omitempty"`
	Proxies           []string              `json:"proxies,omitempty"`
	APIResources      []string              `json:"apiResources,omitempty"`
	OperationGroup    *store.OperationGroup `json:"operationGroup,omitempty"`
	Quota             string                `json:"quota,omitempty"`
	QuotaInterval     string                `json:"quotaInterval,omitempty"`
	QuotaTimeUnit     string                `json:"quotaTimeUnit,omitempty"`
	QuotaCounterScope string                `json:"quotaCounterScope,omitempty"`
	Scopes            []string              `json:"scopes,omitempty"`
	Attributes        []store.Attribute     `json:"attributes,omitempty"`
	CreatedAt         int64                 `json:"createdAt,omitempty,string"`
	LastModifiedAt    int64                 `json:"lastModifiedAt,omitempty,string"`
}

func prodOut(p *store.APIProduct) productOut {
	return productOut{
		Name: p.Name, DisplayName: p.DisplayName, Description: p.Description, ApprovalType: p.ApprovalType,
		Environments: p.Environments, Proxies: p.Proxies, APIResources: p.APIResources, OperationGroup: p.OperationGroup,
		Quota: p.Quota, QuotaInterval: p.QuotaInterval, QuotaTimeUnit: p.QuotaTimeUnit, QuotaCounterScope: p.QuotaCounterScope,
		Scopes: p.Scopes, Attributes: p.Attributes, CreatedAt: p.CreatedAt, LastModifiedAt: p.LastModifiedAt,
	}
}

type mapOut struct {
	Name         string `json:"name"`
	Encrypted    bool   `json:"encrypted"`
	MaskedValues bool   `json:"maskedValues,omitempty"`
}

func kvmOut(m *store.KeyValueMap) mapOut {
	return mapOut{Name: m.Name, Encrypted: m.Encrypted, MaskedValues: m.MaskedValues}
}

type entryOut struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Validation.

// checkAttributes enforces Apigee's custom attribute rules (at most
// store.MaxAttributes, names non-empty and unique): 400 otherwise.
func checkAttributes(attrs []store.Attribute) error { return store.CheckAttributes(attrs) }

func checkEmail(email string) error {
	if email == "" {
		return apierr.InvalidArgument("Developer email is required.")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || !strings.Contains(email, "@") {
		return apierr.InvalidArgument("Invalid developer email %q.", email)
	}
	return nil
}

func (d *developerIn) check() error {
	if err := checkEmail(strings.TrimSpace(d.Email)); err != nil {
		return err
	}
	for field, v := range map[string]string{"firstName": d.FirstName, "lastName": d.LastName, "userName": d.UserName} {
		if strings.TrimSpace(v) == "" {
			return apierr.InvalidArgument("Developer %s is required.", field)
		}
	}
	return checkAttributes(d.Attributes)
}

// Names of apps, API products, maps and entries: no path separators or
// control characters, at most 255 characters.
var nameRE = regexp.MustCompile(`^[^/\\\x00-\x1f\x7f]+$`)

func checkName(kind, name string) error {
	if name == "" {
		return apierr.InvalidArgument("%s name is required.", kind)
	}
	if len(name) > 255 || !nameRE.MatchString(name) || strings.TrimSpace(name) != name || name == "." || name == ".." {
		return apierr.InvalidArgument("Invalid %s name %q: use 1 to 255 characters without slashes, control characters or surrounding spaces.", kind, name)
	}
	return nil
}

var timeUnits = map[string]bool{"minute": true, "hour": true, "day": true, "month": true}

func checkQuota(what, limit, interval, unit string) error {
	if limit != "" {
		if n, err := strconv.ParseInt(limit, 10, 64); err != nil || n < 0 {
			return apierr.InvalidArgument("Invalid %s quota %q: use a non-negative integer.", what, limit)
		}
	}
	if interval != "" {
		if n, err := strconv.ParseInt(interval, 10, 64); err != nil || n < 1 {
			return apierr.InvalidArgument("Invalid %s quotaInterval %q: use a positive integer.", what, interval)
		}
	}
	if unit != "" && !timeUnits[unit] {
		return apierr.InvalidArgument("Invalid %s quotaTimeUnit %q: use minute, hour, day or month.", what, unit)
	}
	return nil
}

func (p *productIn) toStore() (store.APIProduct, error) {
	if err := checkName("API product", p.Name); err != nil {
		return store.APIProduct{}, err
	}
	if p.ApprovalType != "" && p.ApprovalType != store.ApprovalAuto && p.ApprovalType != store.ApprovalManual {
		return store.APIProduct{}, apierr.InvalidArgument("Invalid approvalType %q: use auto or manual.", p.ApprovalType)
	}
	if err := checkQuota("product", string(p.Quota), string(p.QuotaInterval), p.QuotaTimeUnit); err != nil {
		return store.APIProduct{}, err
	}
	if err := checkAttributes(p.Attributes); err != nil {
		return store.APIProduct{}, err
	}
	if g := p.OperationGroup; g != nil {
		if g.OperationConfigType != "" && g.OperationConfigType != "proxy" && g.OperationConfigType != "remoteservice" {
			return store.APIProduct{}, apierr.InvalidArgument("Invalid operationGroup.operationConfigType %q: use proxy or remoteservice.", g.OperationConfigType)
		}
		for i, oc := range g.OperationConfigs {
			if oc.APISource == "" {
				return store.APIProduct{}, apierr.InvalidArgument("operationGroup.operationConfigs[%d].apiSource is required.", i)
			}
			if q := oc.Quota; q != nil {
				if err := checkQuota(fmt.Sprintf("operationConfigs[%d]", i), q.Limit, q.Interval, q.TimeUnit); err != nil {
					return store.APIProduct{}, err
				}
			}
		}
	}
	for _, r := range p.APIResources {
		if !strings.HasPrefix(r, "/") {
			return store.APIProduct{}, apierr.InvalidArgument("Invalid apiResources entry %q: resource paths start with /.", r)
		}
	}
	return store.APIProduct{
		Name: p.Name, DisplayName: p.DisplayName, Description: p.Description, ApprovalType: p.ApprovalType,
		Environments: p.Environments, Proxies: p.Proxies, APIResources: p.APIResources, OperationGroup: p.OperationGroup,
		Quota: string(p.Quota), QuotaInterval: string(p.QuotaInterval), QuotaTimeUnit: p.QuotaTimeUnit,
		QuotaCounterScope: p.QuotaCounterScope, Scopes: p.Scopes, Attributes: p.Attributes,
	}, nil
}

package engine

import "github.com/hybrid-emulator/hybrid/pkg/store"

// caseRuntimeData is a case's runtime data, in the Apigee API's field names,
// written to a fresh organization through pkg/store (the tables MART writes).
type caseRuntimeData struct {
	Developers  []caseDeveloper `yaml:"developers"`
	AppGroups   []caseAppGroup  `yaml:"appGroups"`
	APIProducts []caseProduct   `yaml:"apiProducts"`
	Apps        []caseApp       `yaml:"apps"`
	KVMs        []caseKVM       `yaml:"kvms"`
}

type caseDeveloper struct {
	Email      string            `yaml:"email"`
	FirstName  string            `yaml:"firstName"`
	LastName   string            `yaml:"lastName"`
	UserName   string            `yaml:"userName"`
	Status     string            `yaml:"status"` // active (default) or inactive
	Attributes []store.Attribute `yaml:"attributes"`
}

type caseAppGroup struct {
	Name        string            `yaml:"name"`
	DisplayName string            `yaml:"displayName"`
	ChannelID   string            `yaml:"channelId"`
	ChannelURI  string            `yaml:"channelUri"`
	Status      string            `yaml:"status"` // active (default) or inactive
	Attributes  []store.Attribute `yaml:"attributes"`
}

type caseProduct struct {
	Name           string            `yaml:"name"`
	DisplayName    string            `yaml:"displayName"`
	ApprovalType   string            `yaml:"approvalType"`
	Environments   []string          `yaml:"environments"`
	Proxies        []string          `yaml:"proxies"`
	APIResources   []string          `yaml:"apiResources"`
	OperationGroup *caseOpGroup      `yaml:"operationGroup"`
	Quota          string            `yaml:"quota"`
	QuotaInterval  string            `yaml:"quotaInterval"`
	QuotaTimeUnit  string            `yaml:"quotaTimeUnit"`
	Scopes         []string          `yaml:"scopes"`
	Attributes     []store.Attribute `yaml:"attributes"`
}

type caseOpGroup struct {
	OperationConfigType string         `yaml:"operationConfigType"`
	OperationConfigs    []caseOpConfig `yaml:"operationConfigs"`
}

type caseOpConfig struct {
	APISource  string            `yaml:"apiSource"`
	Operations []store.Operation `yaml:"operations"`
	Quota      *caseOpQuota      `yaml:"quota"`
	Attributes []store.Attribute `yaml:"attributes"`
}

type caseOpQuota struct {
	Limit    string `yaml:"limit"`
	Interval string `yaml:"interval"`
	TimeUnit string `yaml:"timeUnit"`
}

type caseApp struct {
	// The owner: exactly one of a developer (email) or an app group (name).
	Developer   string            `yaml:"developer"`
	AppGroup    string            `yaml:"appGroup"`
	Name        string            `yaml:"name"`
	Status      string            `yaml:"status"` // approved (default) or revoked
	CallbackURL string            `yaml:"callbackUrl"`
	Scopes      []string          `yaml:"scopes"`
	Attributes  []store.Attribute `yaml:"attributes"`
	Credentials []caseCredential  `yaml:"credentials"`
}

type caseCredential struct {
	ConsumerKey    string   `yaml:"consumerKey"`
	ConsumerSecret string   `yaml:"consumerSecret"`
	APIProducts    []string `yaml:"apiProducts"`
	Status         string   `yaml:"status"` // approved (default) or revoked
	// ProductStatus sets a product's approval on this credential
	// (approved, pending, revoked).
	ProductStatus map[string]string `yaml:"productStatus"`
	// ExpiresAt is epoch ms; "-1" or empty: never. ExpiresInSeconds is
	// relative to the case clock's start.
	ExpiresInSeconds int64             `yaml:"expiresInSeconds"`
	Scopes           []string          `yaml:"scopes"`
	Attributes       []store.Attribute `yaml:"attributes"`
}

type caseKVM struct {
	// Scope: organization, environment (the case's) or apiproxy:<name>.
	Scope   string            `yaml:"scope"`
	Name    string            `yaml:"name"`
	Entries map[string]string `yaml:"entries"`
}

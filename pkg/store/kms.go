package store

import (
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// KMS is the runtime plane's key management data in kms_<org>: developers,
// app groups, their apps and the apps' credentials, API products, and OAuth
// tokens.
// MART serves it over the Apigee API; the message processor reads it for
// VerifyAPIKey, OAuthV2 and AccessEntity.
//
// # Consistency model
//
// Cassandra has no multi-table transactions, so every entity has one owning
// row that decides whether it exists, and everything else is an index that
// only counts while the owner points back at it:
//
//   - developers (by email) owns a developer; developers_by_id maps an id to
//     the email and is valid only if that developer row carries the same id.
//   - apps (partition per developer id, clustered by name) owns an app and
//     lists its consumer keys (credential_keys); apps_by_id is an index.
//   - app_groups (by name) owns an app group; its apps are in the apps
//     table like a developer's, in the partition of the group's id.
//   - credentials (by consumer key) holds a credential; it is valid only if
//     its app row exists with the same app id and lists the key, and the
//     app's owner row (developer, or the app group the credential names)
//     exists with the same id.
//
// Creates write the index rows first and the owning row last with a
// lightweight transaction (INSERT … IF NOT EXISTS), which is both the
// duplicate check (first writer wins, later ones get ErrAlreadyExists) and
// the commit point: a create that fails or loses removes what it wrote, and
// one cut short by a crash leaves only index rows nothing points at.
// Everything the create needs (developer, API products) is read and checked
// before the first write, so bad input writes nothing. Deletes remove the
// owning row first (again a lightweight transaction), then the rest.
// Read-modify-write updates are lightweight transactions on the row's
// `revision`, retried when they lose.
//
// # VerifyAPIKey lookup
//
// LookupKey(ctx, org, consumerKey) is the lookup the message processor uses:
// one read of credentials by consumer key, then the owner — the developer
// (by id) or the app group the credential names (by name), checking the id
// either way — the app (by owner id and app name, checking app id and that
// the app still lists the key), and the credential's API products (by
// name; products deleted since are left out). It returns ErrNotFound for an
// unknown or orphaned key. It does not decide whether the call is allowed:
// the caller checks KeyInfo.Credential.Status / ExpiresAt, the app's and
// developer's (or app group's) status, and each product's status, environments and
// resources, as VerifyAPIKey does, and should cache results (Apigee caches
// KMS entities for 180 s).
//
// Consumer secrets are sealed with AES-256-GCM under the org's "kms" key
// (EncryptionKeys, kept out of Cassandra) and opened on read.
type KMS struct {
	session *gocql.Session
	keys    *keyring
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// NewKMS returns the KMS data access for a session, sealing with keys.
func NewKMS(s *gocql.Session, keys EncryptionKeys) *KMS {
	return &KMS{session: s, keys: newKeyring(keys), Now: time.Now}
}

func (k *KMS) now() int64 { return millis(k.Now()) }

// Status values.
const (
	StatusActive   = "active"   // developer
	StatusInactive = "inactive" // developer
	StatusApproved = "approved" // app, credential, credential API product
	StatusRevoked  = "revoked"  // app, credential, credential API product
	StatusPending  = "pending"  // credential API product of a manual-approval product
)

// Approval types of API products.
const (
	ApprovalAuto   = "auto"
	ApprovalManual = "manual"
)

// NeverExpires is a credential's ExpiresAt when it does not expire.
const NeverExpires int64 = -1

// Attribute is a custom name/value pair; order is kept.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Developer is an app developer, addressed by email.
type Developer struct {
	DeveloperID    string
	Email          string
	FirstName      string
	LastName       string
	UserName       string
	Status         string
	Attributes     []Attribute
	CreatedAt      int64 // epoch ms
	LastModifiedAt int64 // epoch ms
	// Apps are the names of the developer's apps (filled by reads that
	// return a developer; ignored on writes).
	Apps []string
}

// App is a developer's or an app group's app with its credentials.
type App struct {
	AppID          string
	DeveloperID    string // "" for an app group's app
	DeveloperEmail string // "" for an app group's app
	AppGroup       string // the owning app group's name; "" for a developer app
	Name           string
	CallbackURL    string
	Status         string
	Scopes         []string
	Attributes     []Attribute
	Credentials    []*Credential // in issue order
	CreatedAt      int64
	LastModifiedAt int64
}

// Credential is a consumer key/secret pair of an app.
type Credential struct {
	ConsumerKey    string
	ConsumerSecret string
	AppID          string
	DeveloperID    string // "" for an app group's app
	AppGroup       string // the owning app group's name; "" for a developer app
	AppName        string
	Status         string
	IssuedAt       int64
	ExpiresAt      int64 // NeverExpires or epoch ms
	APIProducts    []ProductRef
	Scopes         []string
	Attributes     []Attribute
}

// ProductRef is an API product on a credential with its approval status.
type ProductRef struct {
	APIProduct string `json:"apiproduct"`
	Status     string `json:"status"`
}

// APIProduct bundles API resources with quota and access settings.
type APIProduct struct {
	Name              string
	DisplayName       string
	Description       string
	ApprovalType      string
	Environments      []string
	Proxies           []string
	APIResources      []string
	OperationGroup    *OperationGroup
	Quota             string
	QuotaInterval     string
	QuotaTimeUnit     string
	QuotaCounterScope string
	Scopes            []string
	Attributes        []Attribute
	CreatedAt         int64
	LastModifiedAt    int64
}

// OperationGroup is the Apigee API's operationGroup (JSON field names kept).
type OperationGroup struct {
	OperationConfigType string            `json:"operationConfigType,omitempty"`
	OperationConfigs    []OperationConfig `json:"operationConfigs,omitempty"`
}

// OperationConfig binds operations of an API source (proxy) to a quota.
type OperationConfig struct {
	APISource  string          `json:"apiSource,omitempty"`
	Operations []Operation     `json:"operations,omitempty"`
	Quota      *OperationQuota `json:"quota,omitempty"`
	Attributes []Attribute     `json:"attributes,omitempty"`
}

// Operation is a resource path with HTTP methods (none: all methods).
type Operation struct {
	Resource string   `json:"resource,omitempty"`
	Methods  []string `json:"methods,omitempty"`
}

// OperationQuota is the quota of an operation config.
type OperationQuota struct {
	Limit    string `json:"limit,omitempty"`
	Interval string `json:"interval,omitempty"`
	TimeUnit string `json:"timeUnit,omitempty"`
}

// Page selects part of a list: StartKey is the first key to return
// (inclusive) and Count the most to return.
type Page struct {
	StartKey string
	Count    int
}

func (p Page) limit(def int) int {
	if p.Count <= 0 {
		return def
	}
	return p.Count
}

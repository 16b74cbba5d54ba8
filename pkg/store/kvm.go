package store

import (
	"context"
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// ScopeKind is where a key value map lives.
type ScopeKind string

const (
	ScopeOrganization ScopeKind = "organization"
	ScopeEnvironment  ScopeKind = "environment"
	ScopeAPIProxy     ScopeKind = "apiproxy"
)

// Scope is a key value map's scope: the organization, an environment or an
// API proxy (Name is the environment or proxy name).
type Scope struct {
	Kind ScopeKind
	Name string
}

// OrgScope, EnvScope and ProxyScope build scopes.
func OrgScope() Scope             { return Scope{Kind: ScopeOrganization} }
func EnvScope(env string) Scope   { return Scope{Kind: ScopeEnvironment, Name: env} }
func ProxyScope(api string) Scope { return Scope{Kind: ScopeAPIProxy, Name: api} }

// String is the scope as stored: "organization", "environment:<env>" or
// "apiproxy:<api>".
func (s Scope) String() string {
	if s.Kind == ScopeOrganization || s.Kind == "" {
		return string(ScopeOrganization)
	}
	return string(s.Kind) + ":" + s.Name
}

func (s Scope) describe(org string) string {
	switch s.Kind {
	case ScopeEnvironment:
		return fmt.Sprintf("environment %s of organization %s", s.Name, org)
	case ScopeAPIProxy:
		return fmt.Sprintf("API proxy %s of organization %s", s.Name, org)
	}
	return "organization " + org
}

// KeyValueMap is a map's metadata. Entries are always stored encrypted
// (Apigee hybrid has no unencrypted maps), so Encrypted is always true.
type KeyValueMap struct {
	Scope        Scope
	Name         string
	Encrypted    bool
	MaskedValues bool
	CreatedAt    int64
	id           gocql.UUID
}

// KeyValueEntry is one entry with its plaintext value.
type KeyValueEntry struct {
	Name  string
	Value string
}

// KVM is the key value map data in kvm_<org>. Entry values are sealed with
// AES-256-GCM under the org's "kvm" key (EncryptionKeys, kept out of Cassandra), bound
// to the map's id and the entry's name, and opened on read. MART manages
// maps and entries through the API; the message processor's
// KeyValueMapOperations policy uses GetEntry, PutEntry and DeleteEntry.
type KVM struct {
	session *gocql.Session
	keys    *keyring
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// NewKVM returns the KVM data access for a session, sealing with keys.
func NewKVM(s *gocql.Session, keys EncryptionKeys) *KVM {
	return &KVM{session: s, keys: newKeyring(keys), Now: time.Now}
}

func entryAAD(mapID gocql.UUID, name string) []byte {
	return []byte("kvm/" + mapID.String() + "/" + name)
}

func mapNotFound(org string, scope Scope, name string) error {
	return errorf(ErrNotFound, "Key value map %s does not exist in %s.", name, scope.describe(org))
}

// CreateMap creates an empty map; a second map of the same name in the
// scope gets ErrAlreadyExists.
func (v *KVM) CreateMap(ctx context.Context, org string, scope Scope, name string, maskedValues bool) (*KeyValueMap, error) {
	if name == "" {
		return nil, errorf(ErrInvalid, "Key value map name is required.")
	}
	m := &KeyValueMap{Scope: scope, Name: name, Encrypted: true, MaskedValues: maskedValues, CreatedAt: millis(v.Now()), id: gocql.MustRandomUUID()}
	applied, err := casApplied(ctx, v.session.Query(fmt.Sprintf(
		`INSERT INTO %s.maps (scope, name, map_id, encrypted, masked_values, created_at) VALUES (?, ?, ?, true, ?, ?) IF NOT EXISTS`, kvmKS(org)),
		scope.String(), name, m.id, maskedValues, m.CreatedAt))
	if err != nil {
		return nil, fmt.Errorf("store: create key value map %s: %w", name, err)
	}
	if !applied {
		return nil, errorf(ErrAlreadyExists, "Key value map %s already exists in %s.", name, scope.describe(org))
	}
	return m, nil
}

// GetMap reads a map's metadata.
func (v *KVM) GetMap(ctx context.Context, org string, scope Scope, name string) (*KeyValueMap, error) {
	m := &KeyValueMap{Scope: scope, Name: name}
	err := v.session.Query(fmt.Sprintf(`SELECT map_id, encrypted, masked_values, created_at FROM %s.maps WHERE scope = ? AND name = ?`, kvmKS(org)),
		scope.String(), name).ScanContext(ctx, &m.id, &m.Encrypted, &m.MaskedValues, &m.CreatedAt)
	if isNotFound(err) {
		return nil, mapNotFound(org, scope, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read key value map %s: %w", name, err)
	}
	return m, nil
}

// SetMaskedValues changes whether the API masks the map's values.
func (v *KVM) SetMaskedValues(ctx context.Context, org string, scope Scope, name string, masked bool) (*KeyValueMap, error) {
	applied, err := casApplied(ctx, v.session.Query(fmt.Sprintf(`UPDATE %s.maps SET masked_values = ? WHERE scope = ? AND name = ? IF EXISTS`, kvmKS(org)),
		masked, scope.String(), name))
	if err != nil {
		return nil, fmt.Errorf("store: update key value map %s: %w", name, err)
	}
	if !applied {
		return nil, mapNotFound(org, scope, name)
	}
	return v.GetMap(ctx, org, scope, name)
}

// DeleteMap deletes a map with its entries and returns its metadata.
func (v *KVM) DeleteMap(ctx context.Context, org string, scope Scope, name string) (*KeyValueMap, error) {
	m, err := v.GetMap(ctx, org, scope, name)
	if err != nil {
		return nil, err
	}
	applied, err := casApplied(ctx, v.session.Query(fmt.Sprintf(`DELETE FROM %s.maps WHERE scope = ? AND name = ? IF map_id = ?`, kvmKS(org)),
		scope.String(), name, m.id))
	if err != nil {
		return nil, fmt.Errorf("store: delete key value map %s: %w", name, err)
	}
	if !applied {
		return nil, mapNotFound(org, scope, name)
	}
	// The entries are unreachable now (a new map of this name gets a new
	// id); dropping their partition only reclaims space.
	_ = v.session.Query(fmt.Sprintf(`DELETE FROM %s.map_entries WHERE map_id = ?`, kvmKS(org)), m.id).ExecContext(context.WithoutCancel(ctx))
	return m, nil
}

// ListMaps returns the names of a scope's maps, sorted.
func (v *KVM) ListMaps(ctx context.Context, org string, scope Scope) ([]string, error) {
	iter := v.session.Query(fmt.Sprintf(`SELECT name FROM %s.maps WHERE scope = ?`, kvmKS(org)), scope.String()).WithContext(ctx).Iter()
	names := []string{}
	var n string
	for iter.Scan(&n) {
		names = append(names, n)
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("store: list key value maps: %w", err)
	}
	return names, nil
}

func (v *KVM) seal(ctx context.Context, org string, m *KeyValueMap, name, value string) ([]byte, error) {
	s, err := v.keys.mapValues()
	if err != nil {
		return nil, err
	}
	return s.Seal([]byte(value), entryAAD(m.id, name))
}

func (v *KVM) open(ctx context.Context, org string, m *KeyValueMap, name string, sealed []byte) (string, error) {
	s, err := v.keys.mapValues()
	if err != nil {
		return "", err
	}
	pt, err := s.Open(sealed, entryAAD(m.id, name))
	if err != nil {
		return "", fmt.Errorf("store: entry %s of key value map %s: %w", name, m.Name, err)
	}
	return string(pt), nil
}

func entryNotFound(org string, m *KeyValueMap, name string) error {
	return errorf(ErrNotFound, "Entry %s does not exist in key value map %s of %s.", name, m.Name, m.Scope.describe(org))
}

// CreateEntry adds an entry; an existing one gets ErrAlreadyExists.
func (v *KVM) CreateEntry(ctx context.Context, org string, scope Scope, mapName, name, value string) (*KeyValueEntry, error) {
	if name == "" {
		return nil, errorf(ErrInvalid, "Entry name is required.")
	}
	m, err := v.GetMap(ctx, org, scope, mapName)
	if err != nil {
		return nil, err
	}
	sealed, err := v.seal(ctx, org, m, name, value)
	if err != nil {
		return nil, err
	}
	applied, err := casApplied(ctx, v.session.Query(fmt.Sprintf(
		`INSERT INTO %s.map_entries (map_id, name, value, last_modified_at) VALUES (?, ?, ?, ?) IF NOT EXISTS`, kvmKS(org)),
		m.id, name, sealed, millis(v.Now())))
	if err != nil {
		return nil, fmt.Errorf("store: create entry %s: %w", name, err)
	}
	if !applied {
		return nil, errorf(ErrAlreadyExists, "Entry %s already exists in key value map %s of %s.", name, mapName, scope.describe(org))
	}
	return &KeyValueEntry{Name: name, Value: value}, nil
}

// UpdateEntry changes an existing entry's value.
func (v *KVM) UpdateEntry(ctx context.Context, org string, scope Scope, mapName, name, value string) (*KeyValueEntry, error) {
	m, err := v.GetMap(ctx, org, scope, mapName)
	if err != nil {
		return nil, err
	}
	sealed, err := v.seal(ctx, org, m, name, value)
	if err != nil {
		return nil, err
	}
	applied, err := casApplied(ctx, v.session.Query(fmt.Sprintf(
		`UPDATE %s.map_entries SET value = ?, last_modified_at = ? WHERE map_id = ? AND name = ? IF EXISTS`, kvmKS(org)),
		sealed, millis(v.Now()), m.id, name))
	if err != nil {
		return nil, fmt.Errorf("store: update entry %s: %w", name, err)
	}
	if !applied {
		return nil, entryNotFound(org, m, name)
	}
	return &KeyValueEntry{Name: name, Value: value}, nil
}

// PutEntry writes an entry whether or not it exists (the
// KeyValueMapOperations policy's Put with override).
func (v *KVM) PutEntry(ctx context.Context, org string, scope Scope, mapName, name, value string) error {
	m, err := v.GetMap(ctx, org, scope, mapName)
	if err != nil {
		return err
	}
	sealed, err := v.seal(ctx, org, m, name, value)
	if err != nil {
		return err
	}
	// Insert-or-update as two lightweight transactions, so that every write
	// to entries goes through Paxos and none can be reordered by timestamps.
	for range casRetries {
		applied, err := casApplied(ctx, v.session.Query(fmt.Sprintf(
			`INSERT INTO %s.map_entries (map_id, name, value, last_modified_at) VALUES (?, ?, ?, ?) IF NOT EXISTS`, kvmKS(org)),
			m.id, name, sealed, millis(v.Now())))
		if err != nil {
			return fmt.Errorf("store: put entry %s: %w", name, err)
		}
		if applied {
			return nil
		}
		applied, err = casApplied(ctx, v.session.Query(fmt.Sprintf(
			`UPDATE %s.map_entries SET value = ?, last_modified_at = ? WHERE map_id = ? AND name = ? IF EXISTS`, kvmKS(org)),
			sealed, millis(v.Now()), m.id, name))
		if err != nil {
			return fmt.Errorf("store: put entry %s: %w", name, err)
		}
		if applied {
			return nil
		}
	}
	return errorf(ErrConflict, "Entry %s is being modified concurrently; try again.", name)
}

// GetEntry reads an entry's plaintext value.
func (v *KVM) GetEntry(ctx context.Context, org string, scope Scope, mapName, name string) (*KeyValueEntry, error) {
	m, err := v.GetMap(ctx, org, scope, mapName)
	if err != nil {
		return nil, err
	}
	var sealed []byte
	err = v.session.Query(fmt.Sprintf(`SELECT value FROM %s.map_entries WHERE map_id = ? AND name = ?`, kvmKS(org)), m.id, name).
		ScanContext(ctx, &sealed)
	if isNotFound(err) {
		return nil, entryNotFound(org, m, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read entry %s: %w", name, err)
	}
	value, err := v.open(ctx, org, m, name, sealed)
	if err != nil {
		return nil, err
	}
	return &KeyValueEntry{Name: name, Value: value}, nil
}

// DeleteEntry removes an entry and returns it.
func (v *KVM) DeleteEntry(ctx context.Context, org string, scope Scope, mapName, name string) (*KeyValueEntry, error) {
	e, err := v.GetEntry(ctx, org, scope, mapName, name)
	if err != nil {
		return nil, err
	}
	m, err := v.GetMap(ctx, org, scope, mapName)
	if err != nil {
		return nil, err
	}
	applied, err := casApplied(ctx, v.session.Query(fmt.Sprintf(`DELETE FROM %s.map_entries WHERE map_id = ? AND name = ? IF EXISTS`, kvmKS(org)), m.id, name))
	if err != nil {
		return nil, fmt.Errorf("store: delete entry %s: %w", name, err)
	}
	if !applied {
		return nil, entryNotFound(org, m, name)
	}
	return e, nil
}

// ListEntries returns up to pageSize entries (default 100) in name order
// from pageToken (an entry name, inclusive); next is the first entry of
// the following page, empty on the last page.
func (v *KVM) ListEntries(ctx context.Context, org string, scope Scope, mapName, pageToken string, pageSize int) (entries []KeyValueEntry, next string, err error) {
	if pageSize <= 0 {
		pageSize = 100
	}
	m, err := v.GetMap(ctx, org, scope, mapName)
	if err != nil {
		return nil, "", err
	}
	iter := v.session.Query(fmt.Sprintf(`SELECT name, value FROM %s.map_entries WHERE map_id = ? AND name >= ? LIMIT ?`, kvmKS(org)),
		m.id, pageToken, pageSize+1).WithContext(ctx).Iter()
	var name string
	var sealed []byte
	entries = []KeyValueEntry{}
	for iter.Scan(&name, &sealed) {
		if len(entries) == pageSize {
			next = name
			break
		}
		value, err := v.open(ctx, org, m, name, sealed)
		if err != nil {
			_ = iter.Close()
			return nil, "", err
		}
		entries = append(entries, KeyValueEntry{Name: name, Value: value})
	}
	if err := iter.Close(); err != nil {
		return nil, "", fmt.Errorf("store: list entries of %s: %w", mapName, err)
	}
	return entries, next, nil
}

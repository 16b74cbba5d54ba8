package store

import (
	"context"
	"fmt"
	"regexp"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// AppGroup is an owner of apps besides developers (organizations.appgroups,
// the successor of companies), addressed by name.
type AppGroup struct {
	AppGroupID     string
	Name           string
	DisplayName    string
	ChannelURI     string
	ChannelID      string
	Email          string
	Status         string // active or inactive
	Attributes     []Attribute
	CreatedAt      int64
	LastModifiedAt int64
}

const appGroupCols = `name, app_group_id, display_name, channel_uri, channel_id, email, status, attributes, created_at, last_modified_at, revision`

type groupRow struct {
	g        AppGroup
	id       gocql.UUID
	revision int64
}

func scanGroup(scan func(...any) error) (*groupRow, error) {
	var r groupRow
	var attrs string
	if err := scan(&r.g.Name, &r.id, &r.g.DisplayName, &r.g.ChannelURI, &r.g.ChannelID, &r.g.Email, &r.g.Status, &attrs,
		&r.g.CreatedAt, &r.g.LastModifiedAt, &r.revision); err != nil {
		return nil, err
	}
	r.g.AppGroupID = r.id.String()
	var err error
	if r.g.Attributes, err = decodeJSON[Attribute](attrs); err != nil {
		return nil, err
	}
	return &r, nil
}

func appGroupNotFound(org, name string) error {
	return errorf(ErrNotFound, "AppGroup %s does not exist in organization %s.", name, org)
}

// appGroupNameRE is the API's rule for AppGroup names: "Characters you can
// use in the name are restricted to: A-Z0-9._\-$ %" (letters of either
// case, as the API's own examples use lower case).
var appGroupNameRE = regexp.MustCompile(`^[A-Za-z0-9._\-$ %]{1,255}$`)

// CheckAppGroupName reports a name the API would refuse (ErrInvalid).
func CheckAppGroupName(name string) error {
	if name == "" {
		return errorf(ErrInvalid, "AppGroup name is required.")
	}
	if !appGroupNameRE.MatchString(name) || name == "." || name == ".." {
		return errorf(ErrInvalid, "Invalid AppGroup name %q: use 1 to 255 of the characters A-Z a-z 0-9 . _ - $ %% and space.", name)
	}
	return nil
}

func (k *KMS) groupRow(ctx context.Context, org, name string) (*groupRow, error) {
	if name == "" { // Cassandra refuses an empty partition key
		return nil, appGroupNotFound(org, name)
	}
	r, err := scanGroup(k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.app_groups WHERE name = ?`, appGroupCols, kmsKS(org)), name).
		WithContext(ctx).Scan)
	if isNotFound(err) {
		return nil, appGroupNotFound(org, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read AppGroup %s: %w", name, err)
	}
	return r, nil
}

// CreateAppGroup adds an app group. It starts active, whatever g.Status
// says ("At creation time, the AppGroup's state is set as active"); a
// second group with the same name gets ErrAlreadyExists.
func (k *KMS) CreateAppGroup(ctx context.Context, org string, g AppGroup) (*AppGroup, error) {
	if err := CheckAppGroupName(g.Name); err != nil {
		return nil, err
	}
	if err := CheckAttributes(g.Attributes); err != nil {
		return nil, err
	}
	attrs, err := encodeJSON(g.Attributes)
	if err != nil {
		return nil, err
	}
	id := gocql.MustRandomUUID()
	now := k.now()
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`INSERT INTO %s.app_groups (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) IF NOT EXISTS`, kmsKS(org), appGroupCols),
		g.Name, id, nullIfEmpty(g.DisplayName), nullIfEmpty(g.ChannelURI), nullIfEmpty(g.ChannelID), nullIfEmpty(g.Email), StatusActive, attrs, now, now))
	if err != nil {
		// A timed-out lightweight transaction may still have applied.
		if r, rerr := k.groupRow(ctx, org, g.Name); rerr == nil && r.id == id {
			return &r.g, nil
		}
		return nil, fmt.Errorf("store: create AppGroup %s: %w", g.Name, err)
	}
	if !applied {
		return nil, errorf(ErrAlreadyExists, "AppGroup %s already exists in organization %s.", g.Name, org)
	}
	out := g
	out.AppGroupID, out.Status, out.CreatedAt, out.LastModifiedAt = id.String(), StatusActive, now, now
	return &out, nil
}

// GetAppGroup reads an app group by name.
func (k *KMS) GetAppGroup(ctx context.Context, org, name string) (*AppGroup, error) {
	r, err := k.groupRow(ctx, org, name)
	if err != nil {
		return nil, err
	}
	return &r.g, nil
}

// updateAppGroup is a read-modify-write guarded by the row's revision.
func (k *KMS) updateAppGroup(ctx context.Context, org, name string, mutate func(*AppGroup) error) (*AppGroup, error) {
	for range casRetries {
		r, err := k.groupRow(ctx, org, name)
		if err != nil {
			return nil, err
		}
		g := r.g
		if err := mutate(&g); err != nil {
			return nil, err
		}
		attrs, err := encodeJSON(g.Attributes)
		if err != nil {
			return nil, err
		}
		g.LastModifiedAt = max(k.now(), r.g.LastModifiedAt)
		applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(
			`UPDATE %s.app_groups SET display_name = ?, channel_uri = ?, channel_id = ?, email = ?, status = ?, attributes = ?, last_modified_at = ?, revision = ? WHERE name = ? IF revision = ?`, kmsKS(org)),
			nullIfEmpty(g.DisplayName), nullIfEmpty(g.ChannelURI), nullIfEmpty(g.ChannelID), nullIfEmpty(g.Email), g.Status, attrs,
			g.LastModifiedAt, r.revision+1, name, r.revision))
		if err != nil {
			return nil, fmt.Errorf("store: update AppGroup %s: %w", name, err)
		}
		if applied {
			return &g, nil
		}
	}
	return nil, errorf(ErrConflict, "AppGroup %s is being modified concurrently; try again.", name)
}

// UpdateAppGroup replaces an app group's details (the API's PUT):
// displayName, channelUri, channelId, email and attributes. The name cannot
// change, and the status changes only through SetAppGroupStatus.
func (k *KMS) UpdateAppGroup(ctx context.Context, org, name string, upd AppGroup) (*AppGroup, error) {
	if upd.Name != "" && upd.Name != name {
		return nil, errorf(ErrInvalid, "AppGroup name cannot be changed (from %s to %s).", name, upd.Name)
	}
	if err := CheckAttributes(upd.Attributes); err != nil {
		return nil, err
	}
	return k.updateAppGroup(ctx, org, name, func(g *AppGroup) error {
		g.DisplayName, g.ChannelURI, g.ChannelID, g.Email, g.Attributes = upd.DisplayName, upd.ChannelURI, upd.ChannelID, upd.Email, upd.Attributes
		return nil
	})
}

// SetAppGroupStatus sets an app group active or inactive. An inactive
// group's keys stop working even while approved, as an inactive
// developer's do.
func (k *KMS) SetAppGroupStatus(ctx context.Context, org, name, status string) (*AppGroup, error) {
	if status != StatusActive && status != StatusInactive {
		return nil, errorf(ErrInvalid, "Invalid AppGroup status %q: use %s or %s.", status, StatusActive, StatusInactive)
	}
	return k.updateAppGroup(ctx, org, name, func(g *AppGroup) error { g.Status = status; return nil })
}

// DeleteAppGroup removes an app group with all its apps and their keys and
// returns what was deleted.
func (k *KMS) DeleteAppGroup(ctx context.Context, org, name string) (*AppGroup, error) {
	r, err := k.groupRow(ctx, org, name)
	if err != nil {
		return nil, err
	}
	apps, err := k.appRows(ctx, org, groupOwner(r), Page{}, 0)
	if err != nil {
		return nil, err
	}
	ks := kmsKS(org)
	// The group row decides; once it is gone its apps and keys no longer
	// resolve even if the cleanup below is cut short.
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`DELETE FROM %s.app_groups WHERE name = ? IF app_group_id = ?`, ks), name, r.id))
	if err != nil {
		return nil, fmt.Errorf("store: delete AppGroup %s: %w", name, err)
	}
	if !applied {
		return nil, appGroupNotFound(org, name)
	}
	cleanup := context.WithoutCancel(ctx)
	b := k.session.Batch(gocql.LoggedBatch).WithContext(cleanup)
	b.Query(fmt.Sprintf(`DELETE FROM %s.apps WHERE developer_id = ?`, ks), r.id)
	for _, a := range apps {
		b.Query(fmt.Sprintf(`DELETE FROM %s.apps_by_id WHERE app_id = ?`, ks), a.id)
		for _, key := range a.keys {
			b.Query(fmt.Sprintf(`DELETE FROM %s.credentials WHERE consumer_key = ?`, ks), key)
		}
	}
	_ = b.ExecContext(cleanup) // best effort: leftovers are unreachable (see KMS)
	return &r.g, nil
}

// AppGroupsQuery selects app groups.
type AppGroupsQuery struct {
	// StartName is the group to start from (inclusive), in token order.
	StartName string
	// Limit is the most groups to return (default 1000).
	Limit int
	// Match keeps only the groups it accepts (nil: all).
	Match func(*AppGroup) bool
}

// ListAppGroups lists app groups in Cassandra token order of their names,
// as the other Cassandra-backed lists are. next is the name of the next
// matching group when more remain; total counts every matching group in
// the organization (the API's totalSize).
func (k *KMS) ListAppGroups(ctx context.Context, org string, q AppGroupsQuery) (groups []*AppGroup, next string, total int, err error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	ks := kmsKS(org)
	scan := func(cq *gocql.Query, visit func(*AppGroup) bool) error {
		iter := cq.WithContext(ctx).PageSize(500).Iter()
		for {
			r, done, err := scanNext(iter, scanGroup)
			if done {
				break
			}
			if err != nil {
				_ = iter.Close()
				return err
			}
			if q.Match != nil && !q.Match(&r.g) {
				continue
			}
			if !visit(&r.g) {
				break
			}
		}
		if err := iter.Close(); err != nil {
			return fmt.Errorf("store: list AppGroups: %w", err)
		}
		return nil
	}
	all := k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.app_groups`, appGroupCols, ks))
	if err := scan(all, func(*AppGroup) bool { total++; return true }); err != nil {
		return nil, "", 0, err
	}
	page := all
	if q.StartName != "" {
		page = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.app_groups WHERE token(name) >= token(?)`, appGroupCols, ks), q.StartName)
	}
	err = scan(page, func(g *AppGroup) bool {
		if len(groups) == limit {
			next = g.Name
			return false
		}
		groups = append(groups, g)
		return true
	})
	if err != nil {
		return nil, "", 0, err
	}
	return groups, next, total, nil
}

// App group apps: the developer app operations with an app group as the
// owner (see owner in apps.go).

// CreateAppGroupApp adds an app to an app group and issues it a generated
// credential for the requested API products. Unknown group: ErrNotFound;
// unknown product: ErrInvalid; existing app name: ErrAlreadyExists — in
// each case nothing is written.
func (k *KMS) CreateAppGroupApp(ctx context.Context, org, group string, in NewApp) (*App, error) {
	return k.createApp(ctx, org, appGroupRef(group), in)
}

// GetAppGroupApp reads an app group's app with its credentials.
func (k *KMS) GetAppGroupApp(ctx context.Context, org, group, name string) (*App, error) {
	return k.getApp(ctx, org, appGroupRef(group), name)
}

// ListAppGroupApps lists an app group's apps by name from p.StartKey
// (inclusive; count default 1000), with their credentials.
func (k *KMS) ListAppGroupApps(ctx context.Context, org, group string, p Page) ([]*App, error) {
	return k.listApps(ctx, org, appGroupRef(group), p, true)
}

// UpdateAppGroupApp applies an AppUpdate to an app group's app.
func (k *KMS) UpdateAppGroupApp(ctx context.Context, org, group, name string, u AppUpdate) (*App, error) {
	return k.replaceApp(ctx, org, appGroupRef(group), name, u)
}

// SetAppGroupAppStatus approves or revokes an app group's app and returns
// it.
func (k *KMS) SetAppGroupAppStatus(ctx context.Context, org, group, name, status string) (*App, error) {
	return k.setAppStatus(ctx, org, appGroupRef(group), name, status)
}

// DeleteAppGroupApp removes an app group's app with its credentials and
// returns what was deleted.
func (k *KMS) DeleteAppGroupApp(ctx context.Context, org, group, name string) (*App, error) {
	return k.deleteApp(ctx, org, appGroupRef(group), name)
}

// AddAppGroupAppCredential issues an app group's app another credential
// (generated, or imported when nc names the key).
func (k *KMS) AddAppGroupAppCredential(ctx context.Context, org, group, app string, nc NewCredential) (*Credential, error) {
	return k.addCredential(ctx, org, appGroupRef(group), app, nc)
}

// GetAppGroupAppCredential reads one of an app group app's credentials.
func (k *KMS) GetAppGroupAppCredential(ctx context.Context, org, group, app, key string) (*Credential, error) {
	return k.getCredential(ctx, org, appGroupRef(group), app, key)
}

// UpdateAppGroupAppCredential applies a CredentialUpdate to an app group
// app's key. Unknown products: ErrInvalid, nothing written.
func (k *KMS) UpdateAppGroupAppCredential(ctx context.Context, org, group, app, key string, u CredentialUpdate) (*Credential, error) {
	return k.updateCredentialWith(ctx, org, appGroupRef(group), app, key, u)
}

// SetAppGroupAppCredentialProductStatus approves or revokes an app group
// app's key for one of its API products.
func (k *KMS) SetAppGroupAppCredentialProductStatus(ctx context.Context, org, group, app, key, product, status string) (*Credential, error) {
	return k.setCredentialProductStatus(ctx, org, appGroupRef(group), app, key, product, status)
}

// RemoveAppGroupAppCredentialProduct takes an API product off an app group
// app's key.
func (k *KMS) RemoveAppGroupAppCredentialProduct(ctx context.Context, org, group, app, key, product string) (*Credential, error) {
	return k.removeCredentialProduct(ctx, org, appGroupRef(group), app, key, product)
}

// DeleteAppGroupAppCredential removes a key from an app group's app and
// returns it.
func (k *KMS) DeleteAppGroupAppCredential(ctx context.Context, org, group, app, key string) (*Credential, error) {
	return k.deleteCredential(ctx, org, appGroupRef(group), app, key)
}

package store

import (
	"context"
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

const appCols = `developer_id, name, app_id, callback_url, status, scopes, attributes, credential_keys, created_at, last_modified_at, revision`

// owner is who an app belongs to: a developer or an app group. Both keep
// their apps in the apps table, in the partition of their own id (the
// developer_id column holds the owner's id; see migration 0007).
type owner struct {
	id    gocql.UUID
	dev   *devRow   // a developer's apps
	group *groupRow // an app group's apps
}

func devOwner(d *devRow) *owner     { return &owner{id: d.id, dev: d} }
func groupOwner(g *groupRow) *owner { return &owner{id: g.id, group: g} }

// String names the owner in error messages.
func (o *owner) String() string {
	if o.group != nil {
		return "AppGroup " + o.group.g.Name
	}
	return "developer " + o.dev.dev.Email
}

// appGroup is what apps_by_id and credentials store in app_group: the
// group's name, or nil for a developer's app.
func (o *owner) appGroup() *string {
	if o.group == nil {
		return nil
	}
	return &o.group.g.Name
}

// fill sets the owner fields of an app read from the apps table.
func (o *owner) fill(a *App) {
	if o.group != nil {
		a.DeveloperID, a.DeveloperEmail, a.AppGroup = "", "", o.group.g.Name
		return
	}
	a.DeveloperID, a.DeveloperEmail, a.AppGroup = o.dev.dev.DeveloperID, o.dev.dev.Email, ""
}

// ownerRef names an app's owner as the API does: a developer by email or
// id, or an app group by name.
type ownerRef struct {
	developer string
	appGroup  string
	isGroup   bool
}

func developerRef(ref string) ownerRef { return ownerRef{developer: ref} }
func appGroupRef(name string) ownerRef { return ownerRef{appGroup: name, isGroup: true} }

func (k *KMS) resolveOwner(ctx context.Context, org string, ref ownerRef) (*owner, error) {
	if ref.isGroup {
		g, err := k.groupRow(ctx, org, ref.appGroup)
		if err != nil {
			return nil, err
		}
		return groupOwner(g), nil
	}
	d, err := k.resolveDeveloper(ctx, org, ref.developer)
	if err != nil {
		return nil, err
	}
	return devOwner(d), nil
}

// ownerByID finds the live owner an index row (apps_by_id, credentials)
// points at: the named app group when group is set, else the developer;
// nil when it no longer exists or has a new id.
func (k *KMS) ownerByID(ctx context.Context, org string, id gocql.UUID, group string) (*owner, error) {
	if group != "" {
		g, err := k.groupRow(ctx, org, group)
		if isKind(err, ErrNotFound) || (err == nil && g.id != id) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return groupOwner(g), nil
	}
	d, err := k.developerByID(ctx, org, id)
	if isKind(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return devOwner(d), nil
}

type appRow struct {
	app      App
	id       gocql.UUID
	ownerID  gocql.UUID
	keys     []string
	revision int64
}

func scanApp(scan func(...any) error) (*appRow, error) {
	var r appRow
	var attrs string
	if err := scan(&r.ownerID, &r.app.Name, &r.id, &r.app.CallbackURL, &r.app.Status, &r.app.Scopes, &attrs, &r.keys,
		&r.app.CreatedAt, &r.app.LastModifiedAt, &r.revision); err != nil {
		return nil, err
	}
	r.app.AppID = r.id.String()
	r.keys = dedupe(r.keys) // a retried list append may have doubled a key
	var err error
	if r.app.Attributes, err = decodeJSON[Attribute](attrs); err != nil {
		return nil, err
	}
	return &r, nil
}

func appNotFound(org, name string, o *owner) error {
	return errorf(ErrNotFound, "App %s does not exist for %s in organization %s.", name, o, org)
}

func (k *KMS) appRow(ctx context.Context, org string, o *owner, name string) (*appRow, error) {
	r, err := scanApp(k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.apps WHERE developer_id = ? AND name = ?`, appCols, kmsKS(org)),
		o.id, name).WithContext(ctx).Scan)
	if isNotFound(err) {
		return nil, appNotFound(org, name, o)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read app %s: %w", name, err)
	}
	o.fill(&r.app)
	return r, nil
}

func (k *KMS) appFor(ctx context.Context, org string, ref ownerRef, name string) (*owner, *appRow, error) {
	o, err := k.resolveOwner(ctx, org, ref)
	if err != nil {
		return nil, nil, err
	}
	a, err := k.appRow(ctx, org, o, name)
	if err != nil {
		return nil, nil, err
	}
	return o, a, nil
}

// appRows lists an owner's apps by name from p.StartKey; limit 0: all.
func (k *KMS) appRows(ctx context.Context, org string, o *owner, p Page, limit int) ([]*appRow, error) {
	var q *gocql.Query
	ks := kmsKS(org)
	switch {
	case p.StartKey != "" && limit > 0:
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.apps WHERE developer_id = ? AND name >= ? LIMIT ?`, appCols, ks), o.id, p.StartKey, limit)
	case p.StartKey != "":
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.apps WHERE developer_id = ? AND name >= ?`, appCols, ks), o.id, p.StartKey)
	case limit > 0:
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.apps WHERE developer_id = ? LIMIT ?`, appCols, ks), o.id, limit)
	default:
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.apps WHERE developer_id = ?`, appCols, ks), o.id)
	}
	iter := q.WithContext(ctx).Iter()
	var out []*appRow
	for {
		r, done, err := scanNext(iter, scanApp)
		if done {
			break
		}
		if err != nil {
			_ = iter.Close()
			return nil, err
		}
		o.fill(&r.app)
		out = append(out, r)
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("store: list apps of %s: %w", o, err)
	}
	return out, nil
}

// full returns the app with its credentials.
func (k *KMS) full(ctx context.Context, org string, r *appRow) (*App, error) {
	a := r.app
	creds, err := k.credentialsOf(ctx, org, r)
	if err != nil {
		return nil, err
	}
	a.Credentials = creds
	return &a, nil
}

// NewApp is what CreateApp needs.
type NewApp struct {
	Name        string
	CallbackURL string
	Status      string // approved (default) or revoked
	Scopes      []string
	Attributes  []Attribute
	// APIProducts go on the generated credential; each must exist.
	APIProducts []string
	// KeyExpiresIn is the credential's lifetime in ms; <= 0: never expires.
	KeyExpiresIn int64
}

// CreateApp adds an app to a developer and issues it a generated
// credential for the requested API products. Unknown developer: ErrNotFound;
// unknown product: ErrInvalid; existing app name: ErrAlreadyExists — in each
// case nothing is written.
func (k *KMS) CreateApp(ctx context.Context, org, devRef string, in NewApp) (*App, error) {
	return k.createApp(ctx, org, developerRef(devRef), in)
}

func (k *KMS) createApp(ctx context.Context, org string, ref ownerRef, in NewApp) (*App, error) {
	if in.Name == "" {
		return nil, errorf(ErrInvalid, "App name is required.")
	}
	status, err := appStatus(in.Status)
	if err != nil {
		return nil, err
	}
	o, err := k.resolveOwner(ctx, org, ref)
	if err != nil {
		return nil, err
	}
	if _, err := k.appRow(ctx, org, o, in.Name); err == nil {
		return nil, errorf(ErrAlreadyExists, "App %s already exists for %s in organization %s.", in.Name, o, org)
	} else if !isKind(err, ErrNotFound) {
		return nil, err
	}
	refs, err := k.productRefs(ctx, org, in.APIProducts)
	if err != nil {
		return nil, err
	}
	attrs, err := encodeJSON(in.Attributes)
	if err != nil {
		return nil, err
	}
	now := k.now()
	appID := gocql.MustRandomUUID()
	cred, err := k.insertCredential(ctx, org, o, appID, in.Name, NewCredential{
		APIProducts: in.APIProducts, Scopes: in.Scopes, ExpiresAt: expiresAt(now, in.KeyExpiresIn),
	}, refs, now)
	if err != nil {
		return nil, err
	}
	ks := kmsKS(org)
	if err := k.session.Query(fmt.Sprintf(`INSERT INTO %s.apps_by_id (app_id, developer_id, name, app_group) VALUES (?, ?, ?, ?)`, ks),
		appID, o.id, in.Name, o.appGroup()).ExecContext(ctx); err != nil {
		k.dropApp(ctx, org, appID, []string{cred.ConsumerKey})
		return nil, fmt.Errorf("store: create app %s: %w", in.Name, err)
	}
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`INSERT INTO %s.apps (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) IF NOT EXISTS`, ks, appCols),
		o.id, in.Name, appID, nullIfEmpty(in.CallbackURL), status, in.Scopes, attrs, []string{cred.ConsumerKey}, now, now))
	if err != nil {
		if r, rerr := k.appRow(ctx, org, o, in.Name); rerr == nil && r.id == appID { // it did apply
			return k.full(ctx, org, r)
		}
		k.dropApp(ctx, org, appID, []string{cred.ConsumerKey})
		return nil, fmt.Errorf("store: create app %s: %w", in.Name, err)
	}
	if !applied {
		k.dropApp(ctx, org, appID, []string{cred.ConsumerKey})
		return nil, errorf(ErrAlreadyExists, "App %s already exists for %s in organization %s.", in.Name, o, org)
	}
	a := &App{
		AppID: appID.String(), Name: in.Name, CallbackURL: in.CallbackURL, Status: status, Scopes: in.Scopes, Attributes: in.Attributes,
		Credentials: []*Credential{cred}, CreatedAt: now, LastModifiedAt: now,
	}
	o.fill(a)
	return a, nil
}

// dropApp removes the index and credential rows of an app that was never
// committed or has just been deleted. Best effort: leftovers are unreachable.
func (k *KMS) dropApp(ctx context.Context, org string, appID gocql.UUID, keys []string) {
	ctx = context.WithoutCancel(ctx)
	ks := kmsKS(org)
	_ = k.session.Query(fmt.Sprintf(`DELETE FROM %s.apps_by_id WHERE app_id = ?`, ks), appID).ExecContext(ctx)
	for _, key := range keys {
		_, _ = casApplied(ctx, k.session.Query(fmt.Sprintf(`DELETE FROM %s.credentials WHERE consumer_key = ? IF app_id = ?`, ks), key, appID))
	}
}

func appStatus(s string) (string, error) {
	switch s {
	case "":
		return StatusApproved, nil
	case StatusApproved, StatusRevoked:
		return s, nil
	}
	return "", errorf(ErrInvalid, "Invalid app status %q: use %s or %s.", s, StatusApproved, StatusRevoked)
}

func expiresAt(now, expiresInMs int64) int64 {
	if expiresInMs <= 0 {
		return NeverExpires
	}
	return now + expiresInMs
}

// GetApp reads a developer's app with its credentials.
func (k *KMS) GetApp(ctx context.Context, org, devRef, name string) (*App, error) {
	return k.getApp(ctx, org, developerRef(devRef), name)
}

func (k *KMS) getApp(ctx context.Context, org string, ref ownerRef, name string) (*App, error) {
	_, r, err := k.appFor(ctx, org, ref, name)
	if err != nil {
		return nil, err
	}
	return k.full(ctx, org, r)
}

// ListApps lists a developer's apps by name from p.StartKey (count default
// 1000), with their credentials when withCredentials is set.
func (k *KMS) ListApps(ctx context.Context, org, devRef string, p Page, withCredentials bool) ([]*App, error) {
	return k.listApps(ctx, org, developerRef(devRef), p, withCredentials)
}

func (k *KMS) listApps(ctx context.Context, org string, ref ownerRef, p Page, withCredentials bool) ([]*App, error) {
	o, err := k.resolveOwner(ctx, org, ref)
	if err != nil {
		return nil, err
	}
	rows, err := k.appRows(ctx, org, o, p, p.limit(1000))
	if err != nil {
		return nil, err
	}
	out := make([]*App, 0, len(rows))
	for _, r := range rows {
		if !withCredentials {
			a := r.app
			out = append(out, &a)
			continue
		}
		a, err := k.full(ctx, org, r)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// updateApp is a read-modify-write of an app's own columns, guarded by its
// revision.
func (k *KMS) updateApp(ctx context.Context, org string, ref ownerRef, name string, mutate func(*App) error) (*App, error) {
	for range casRetries {
		_, r, err := k.appFor(ctx, org, ref, name)
		if err != nil {
			return nil, err
		}
		a := r.app
		if err := mutate(&a); err != nil {
			return nil, err
		}
		attrs, err := encodeJSON(a.Attributes)
		if err != nil {
			return nil, err
		}
		a.LastModifiedAt = max(k.now(), r.app.LastModifiedAt)
		applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(
			`UPDATE %s.apps SET callback_url = ?, status = ?, scopes = ?, attributes = ?, last_modified_at = ?, revision = ? WHERE developer_id = ? AND name = ? IF revision = ?`, kmsKS(org)),
			nullIfEmpty(a.CallbackURL), a.Status, a.Scopes, attrs, a.LastModifiedAt, r.revision+1, r.ownerID, name, r.revision))
		if err != nil {
			return nil, fmt.Errorf("store: update app %s: %w", name, err)
		}
		if applied {
			r.app = a
			return k.full(ctx, org, r)
		}
	}
	return nil, errorf(ErrConflict, "App %s is being modified concurrently; try again.", name)
}

// AppUpdate is the API's PUT of an app: callback URL and attributes are
// replaced; API products not yet on the app's newest credential are added
// to it (or to a new credential when the app has none).
type AppUpdate struct {
	CallbackURL  string
	Attributes   []Attribute
	APIProducts  []string
	KeyExpiresIn int64 // ms, for a credential created here
}

// UpdateApp applies an AppUpdate. Unknown products: ErrInvalid, nothing
// written.
func (k *KMS) UpdateApp(ctx context.Context, org, devRef, name string, u AppUpdate) (*App, error) {
	return k.replaceApp(ctx, org, developerRef(devRef), name, u)
}

func (k *KMS) replaceApp(ctx context.Context, org string, ref ownerRef, name string, u AppUpdate) (*App, error) {
	if _, err := k.productRefs(ctx, org, u.APIProducts); err != nil {
		return nil, err
	}
	a, err := k.updateApp(ctx, org, ref, name, func(a *App) error {
		a.CallbackURL, a.Attributes = u.CallbackURL, u.Attributes
		return nil
	})
	if err != nil || len(u.APIProducts) == 0 {
		return a, err
	}
	if len(a.Credentials) == 0 {
		if _, err := k.addCredential(ctx, org, ref, name, NewCredential{
			APIProducts: u.APIProducts, Scopes: a.Scopes, ExpiresAt: expiresAt(k.now(), u.KeyExpiresIn),
		}); err != nil {
			return nil, err
		}
	} else {
		newest := a.Credentials[len(a.Credentials)-1]
		if _, err := k.updateCredentialWith(ctx, org, ref, name, newest.ConsumerKey, CredentialUpdate{AddAPIProducts: u.APIProducts}); err != nil {
			return nil, err
		}
	}
	return k.getApp(ctx, org, ref, name)
}

// SetAppStatus approves or revokes an app; a revoked app's keys stop
// working even while approved.
func (k *KMS) SetAppStatus(ctx context.Context, org, devRef, name, status string) error {
	_, err := k.setAppStatus(ctx, org, developerRef(devRef), name, status)
	return err
}

func (k *KMS) setAppStatus(ctx context.Context, org string, ref ownerRef, name, status string) (*App, error) {
	if status != StatusApproved && status != StatusRevoked {
		return nil, errorf(ErrInvalid, "Invalid app status %q: use %s or %s.", status, StatusApproved, StatusRevoked)
	}
	return k.updateApp(ctx, org, ref, name, func(a *App) error { a.Status = status; return nil })
}

// DeleteApp removes an app with its credentials and returns what was
// deleted.
func (k *KMS) DeleteApp(ctx context.Context, org, devRef, name string) (*App, error) {
	return k.deleteApp(ctx, org, developerRef(devRef), name)
}

func (k *KMS) deleteApp(ctx context.Context, org string, ref ownerRef, name string) (*App, error) {
	o, r, err := k.appFor(ctx, org, ref, name)
	if err != nil {
		return nil, err
	}
	a, err := k.full(ctx, org, r)
	if err != nil {
		return nil, err
	}
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`DELETE FROM %s.apps WHERE developer_id = ? AND name = ? IF app_id = ?`, kmsKS(org)),
		r.ownerID, name, r.id))
	if err != nil {
		return nil, fmt.Errorf("store: delete app %s: %w", name, err)
	}
	if !applied {
		return nil, appNotFound(org, name, o)
	}
	k.dropApp(ctx, org, r.id, r.keys)
	return a, nil
}

// GetAppByID reads an app by its id, with credentials: a developer's or
// an app group's.
func (k *KMS) GetAppByID(ctx context.Context, org, appID string) (*App, error) {
	r, err := k.appByID(ctx, org, appID, ownerCache{})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errorf(ErrNotFound, "App %s does not exist in organization %s.", appID, org)
	}
	return k.full(ctx, org, r)
}

// ownerCache keeps owner lookups across the apps of one listing (nil
// values: owners that are gone).
type ownerCache map[gocql.UUID]*owner

// appByID follows apps_by_id to a live app; nil when the index row is
// stale.
func (k *KMS) appByID(ctx context.Context, org, appID string, owners ownerCache) (*appRow, error) {
	id, ok := parseUUID(appID)
	if !ok {
		return nil, nil
	}
	var ownerID gocql.UUID
	var name, group string
	err := k.session.Query(fmt.Sprintf(`SELECT developer_id, name, app_group FROM %s.apps_by_id WHERE app_id = ?`, kmsKS(org)), id).
		ScanContext(ctx, &ownerID, &name, &group)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read app %s: %w", appID, err)
	}
	return k.liveApp(ctx, org, id, ownerID, name, group, owners)
}

func (k *KMS) liveApp(ctx context.Context, org string, id, ownerID gocql.UUID, name, group string, owners ownerCache) (*appRow, error) {
	o, seen := owners[ownerID]
	if !seen {
		var err error
		if o, err = k.ownerByID(ctx, org, ownerID, group); err != nil {
			return nil, err
		}
		owners[ownerID] = o
	}
	if o == nil {
		return nil, nil
	}
	r, err := k.appRow(ctx, org, o, name)
	if isKind(err, ErrNotFound) || (err == nil && r.id != id) {
		return nil, nil
	}
	return r, err
}

// OrgAppsQuery selects apps across the organization.
type OrgAppsQuery struct {
	// StartKey is the app id to start from (inclusive).
	StartKey string
	// Limit is the most apps to return (default 1000).
	Limit int
	// Match keeps only apps it accepts (it sees their credentials).
	Match func(*App) bool
	// WithCredentials returns the apps' credentials.
	WithCredentials bool
}

// ListOrgApps lists the organization's apps, developers' and app groups',
// in Cassandra token order of their ids. next is the id of the next
// matching app when more remain.
func (k *KMS) ListOrgApps(ctx context.Context, org string, q OrgAppsQuery) (apps []*App, next string, err error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	var cq *gocql.Query
	if start, ok := parseUUID(q.StartKey); ok {
		cq = k.session.Query(fmt.Sprintf(`SELECT app_id, developer_id, name, app_group FROM %s.apps_by_id WHERE token(app_id) >= token(?)`, kmsKS(org)), start)
	} else {
		cq = k.session.Query(fmt.Sprintf(`SELECT app_id, developer_id, name, app_group FROM %s.apps_by_id`, kmsKS(org)))
	}
	iter := cq.WithContext(ctx).PageSize(500).Iter()
	defer func() {
		if cerr := iter.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("store: list apps: %w", cerr)
		}
	}()
	owners := ownerCache{}
	var id, ownerID gocql.UUID
	var name, group string
	for iter.Scan(&id, &ownerID, &name, &group) {
		r, err := k.liveApp(ctx, org, id, ownerID, name, group, owners)
		if err != nil {
			return nil, "", err
		}
		if r == nil {
			continue
		}
		a := &r.app
		if q.Match != nil || q.WithCredentials {
			if a, err = k.full(ctx, org, r); err != nil {
				return nil, "", err
			}
		}
		if q.Match != nil && !q.Match(a) {
			continue
		}
		if len(apps) == limit {
			return apps, a.AppID, nil
		}
		if !q.WithCredentials {
			cp := *a
			cp.Credentials = nil
			a = &cp
		}
		apps = append(apps, a)
	}
	return apps, "", nil
}

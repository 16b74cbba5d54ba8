package store

import (
	"context"
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

const appCols = `developer_id, name, app_id, callback_url, status, scopes, attributes, credential_keys, created_at, last_modified_at, revision`

type appRow struct {
	app      App
	id       gocql.UUID
	devID    gocql.UUID
	keys     []string
	revision int64
}

func scanApp(scan func(...any) error) (*appRow, error) {
	var r appRow
	var attrs string
	if err := scan(&r.devID, &r.app.Name, &r.id, &r.app.CallbackURL, &r.app.Status, &r.app.Scopes, &attrs, &r.keys,
		&r.app.CreatedAt, &r.app.LastModifiedAt, &r.revision); err != nil {
		return nil, err
	}
	r.app.AppID, r.app.DeveloperID = r.id.String(), r.devID.String()
	r.keys = dedupe(r.keys) // a retried list append may have doubled a key
	var err error
	if r.app.Attributes, err = decodeJSON[Attribute](attrs); err != nil {
		return nil, err
	}
	return &r, nil
}

func appNotFound(org, name string, dev *devRow) error {
	return errorf(ErrNotFound, "App %s does not exist for developer %s in organization %s.", name, dev.dev.Email, org)
}

func (k *KMS) appRow(ctx context.Context, org string, dev *devRow, name string) (*appRow, error) {
	r, err := scanApp(k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.apps WHERE developer_id = ? AND name = ?`, appCols, kmsKS(org)),
		dev.id, name).WithContext(ctx).Scan)
	if isNotFound(err) {
		return nil, appNotFound(org, name, dev)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read app %s: %w", name, err)
	}
	r.app.DeveloperEmail = dev.dev.Email
	return r, nil
}

func (k *KMS) appFor(ctx context.Context, org, devRef, name string) (*devRow, *appRow, error) {
	dev, err := k.resolveDeveloper(ctx, org, devRef)
	if err != nil {
		return nil, nil, err
	}
	a, err := k.appRow(ctx, org, dev, name)
	if err != nil {
		return nil, nil, err
	}
	return dev, a, nil
}

// appRows lists a developer's apps by name from p.StartKey; limit 0: all.
func (k *KMS) appRows(ctx context.Context, org string, dev *devRow, p Page, limit int) ([]*appRow, error) {
	var q *gocql.Query
	ks := kmsKS(org)
	switch {
	case p.StartKey != "" && limit > 0:
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.apps WHERE developer_id = ? AND name >= ? LIMIT ?`, appCols, ks), dev.id, p.StartKey, limit)
	case p.StartKey != "":
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.apps WHERE developer_id = ? AND name >= ?`, appCols, ks), dev.id, p.StartKey)
	case limit > 0:
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.apps WHERE developer_id = ? LIMIT ?`, appCols, ks), dev.id, limit)
	default:
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.apps WHERE developer_id = ?`, appCols, ks), dev.id)
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
		r.app.DeveloperEmail = dev.dev.Email
		out = append(out, r)
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("store: list apps of %s: %w", dev.dev.Email, err)
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
	if in.Name == "" {
		return nil, errorf(ErrInvalid, "App name is required.")
	}
	status, err := appStatus(in.Status)
	if err != nil {
		return nil, err
	}
	dev, err := k.resolveDeveloper(ctx, org, devRef)
	if err != nil {
		return nil, err
	}
	if _, err := k.appRow(ctx, org, dev, in.Name); err == nil {
		return nil, errorf(ErrAlreadyExists, "App %s already exists for developer %s in organization %s.", in.Name, dev.dev.Email, org)
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
	cred, err := k.insertCredential(ctx, org, dev.id, appID, in.Name, NewCredential{
		APIProducts: in.APIProducts, Scopes: in.Scopes, ExpiresAt: expiresAt(now, in.KeyExpiresIn),
	}, refs, now)
	if err != nil {
		return nil, err
	}
	ks := kmsKS(org)
	if err := k.session.Query(fmt.Sprintf(`INSERT INTO %s.apps_by_id (app_id, developer_id, name) VALUES (?, ?, ?)`, ks), appID, dev.id, in.Name).
		ExecContext(ctx); err != nil {
		k.dropApp(ctx, org, appID, []string{cred.ConsumerKey})
		return nil, fmt.Errorf("store: create app %s: %w", in.Name, err)
	}
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`INSERT INTO %s.apps (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) IF NOT EXISTS`, ks, appCols),
		dev.id, in.Name, appID, nullIfEmpty(in.CallbackURL), status, in.Scopes, attrs, []string{cred.ConsumerKey}, now, now))
	if err != nil {
		if r, rerr := k.appRow(ctx, org, dev, in.Name); rerr == nil && r.id == appID { // it did apply
			return k.full(ctx, org, r)
		}
		k.dropApp(ctx, org, appID, []string{cred.ConsumerKey})
		return nil, fmt.Errorf("store: create app %s: %w", in.Name, err)
	}
	if !applied {
		k.dropApp(ctx, org, appID, []string{cred.ConsumerKey})
		return nil, errorf(ErrAlreadyExists, "App %s already exists for developer %s in organization %s.", in.Name, dev.dev.Email, org)
	}
	return &App{
		AppID: appID.String(), DeveloperID: dev.dev.DeveloperID, DeveloperEmail: dev.dev.Email, Name: in.Name,
		CallbackURL: in.CallbackURL, Status: status, Scopes: in.Scopes, Attributes: in.Attributes,
		Credentials: []*Credential{cred}, CreatedAt: now, LastModifiedAt: now,
	}, nil
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
	_, r, err := k.appFor(ctx, org, devRef, name)
	if err != nil {
		return nil, err
	}
	return k.full(ctx, org, r)
}

// ListApps lists a developer's apps by name from p.StartKey (count default
// 1000), with their credentials when withCredentials is set.
func (k *KMS) ListApps(ctx context.Context, org, devRef string, p Page, withCredentials bool) ([]*App, error) {
	dev, err := k.resolveDeveloper(ctx, org, devRef)
	if err != nil {
		return nil, err
	}
	rows, err := k.appRows(ctx, org, dev, p, p.limit(1000))
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
func (k *KMS) updateApp(ctx context.Context, org, devRef, name string, mutate func(*App) error) (*App, error) {
	for range casRetries {
		_, r, err := k.appFor(ctx, org, devRef, name)
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
			nullIfEmpty(a.CallbackURL), a.Status, a.Scopes, attrs, a.LastModifiedAt, r.revision+1, r.devID, name, r.revision))
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
	KeyExpiresIn int64 // for a credential created here
}

// UpdateApp applies an AppUpdate. Unknown products: ErrInvalid, nothing
// written.
func (k *KMS) UpdateApp(ctx context.Context, org, devRef, name string, u AppUpdate) (*App, error) {
	if _, err := k.productRefs(ctx, org, u.APIProducts); err != nil {
		return nil, err
	}
	a, err := k.updateApp(ctx, org, devRef, name, func(a *App) error {
		a.CallbackURL, a.Attributes = u.CallbackURL, u.Attributes
		return nil
	})
	if err != nil || len(u.APIProducts) == 0 {
		return a, err
	}
	if len(a.Credentials) == 0 {
		if _, err := k.AddCredential(ctx, org, devRef, name, NewCredential{
			APIProducts: u.APIProducts, Scopes: a.Scopes, ExpiresAt: expiresAt(k.now(), u.KeyExpiresIn),
		}); err != nil {
			return nil, err
		}
	} else {
		newest := a.Credentials[len(a.Credentials)-1]
		if _, err := k.UpdateCredential(ctx, org, devRef, name, newest.ConsumerKey, CredentialUpdate{AddAPIProducts: u.APIProducts}); err != nil {
			return nil, err
		}
	}
	return k.GetApp(ctx, org, devRef, name)
}

// SetAppStatus approves or revokes an app; a revoked app's keys stop
// working even while approved.
func (k *KMS) SetAppStatus(ctx context.Context, org, devRef, name, status string) error {
	if status != StatusApproved && status != StatusRevoked {
		return errorf(ErrInvalid, "Invalid app status %q: use %s or %s.", status, StatusApproved, StatusRevoked)
	}
	_, err := k.updateApp(ctx, org, devRef, name, func(a *App) error { a.Status = status; return nil })
	return err
}

// DeleteApp removes an app with its credentials and returns what was
// deleted.
func (k *KMS) DeleteApp(ctx context.Context, org, devRef, name string) (*App, error) {
	dev, r, err := k.appFor(ctx, org, devRef, name)
	if err != nil {
		return nil, err
	}
	a, err := k.full(ctx, org, r)
	if err != nil {
		return nil, err
	}
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`DELETE FROM %s.apps WHERE developer_id = ? AND name = ? IF app_id = ?`, kmsKS(org)),
		r.devID, name, r.id))
	if err != nil {
		return nil, fmt.Errorf("store: delete app %s: %w", name, err)
	}
	if !applied {
		return nil, appNotFound(org, name, dev)
	}
	k.dropApp(ctx, org, r.id, r.keys)
	return a, nil
}

// GetAppByID reads an app by its id, with credentials.
func (k *KMS) GetAppByID(ctx context.Context, org, appID string) (*App, error) {
	r, err := k.appByID(ctx, org, appID, map[gocql.UUID]*devRow{})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errorf(ErrNotFound, "App %s does not exist in organization %s.", appID, org)
	}
	return k.full(ctx, org, r)
}

// appByID follows apps_by_id to a live app; nil when the index row is
// stale. devs caches developer lookups across calls.
func (k *KMS) appByID(ctx context.Context, org, appID string, devs map[gocql.UUID]*devRow) (*appRow, error) {
	id, ok := parseUUID(appID)
	if !ok {
		return nil, nil
	}
	var devID gocql.UUID
	var name string
	err := k.session.Query(fmt.Sprintf(`SELECT developer_id, name FROM %s.apps_by_id WHERE app_id = ?`, kmsKS(org)), id).
		ScanContext(ctx, &devID, &name)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read app %s: %w", appID, err)
	}
	return k.liveApp(ctx, org, id, devID, name, devs)
}

func (k *KMS) liveApp(ctx context.Context, org string, id, devID gocql.UUID, name string, devs map[gocql.UUID]*devRow) (*appRow, error) {
	dev, seen := devs[devID]
	if !seen {
		var err error
		dev, err = k.developerByID(ctx, org, devID)
		if err != nil && !isKind(err, ErrNotFound) {
			return nil, err
		}
		devs[devID] = dev
	}
	if dev == nil {
		return nil, nil
	}
	r, err := k.appRow(ctx, org, dev, name)
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

// ListOrgApps lists the organization's apps in Cassandra token order of
// their ids. next is the id of the next matching app when more remain.
func (k *KMS) ListOrgApps(ctx context.Context, org string, q OrgAppsQuery) (apps []*App, next string, err error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	var cq *gocql.Query
	if start, ok := parseUUID(q.StartKey); ok {
		cq = k.session.Query(fmt.Sprintf(`SELECT app_id, developer_id, name FROM %s.apps_by_id WHERE token(app_id) >= token(?)`, kmsKS(org)), start)
	} else {
		cq = k.session.Query(fmt.Sprintf(`SELECT app_id, developer_id, name FROM %s.apps_by_id`, kmsKS(org)))
	}
	iter := cq.WithContext(ctx).PageSize(500).Iter()
	defer func() {
		if cerr := iter.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("store: list apps: %w", cerr)
		}
	}()
	devs := map[gocql.UUID]*devRow{}
	var id, devID gocql.UUID
	var name string
	for iter.Scan(&id, &devID, &name) {
		r, err := k.liveApp(ctx, org, id, devID, name, devs)
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

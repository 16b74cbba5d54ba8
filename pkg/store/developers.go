package store

import (
	"context"
	"fmt"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

const developerCols = `email, developer_id, first_name, last_name, user_name, status, attributes, created_at, last_modified_at, revision`

type devRow struct {
	dev      Developer
	id       gocql.UUID
	revision int64
}

func scanDeveloper(scan func(...any) error) (*devRow, error) {
	var r devRow
	var attrs string
	if err := scan(&r.dev.Email, &r.id, &r.dev.FirstName, &r.dev.LastName, &r.dev.UserName, &r.dev.Status,
		&attrs, &r.dev.CreatedAt, &r.dev.LastModifiedAt, &r.revision); err != nil {
		return nil, err
	}
	r.dev.DeveloperID = r.id.String()
	var err error
	if r.dev.Attributes, err = decodeJSON[Attribute](attrs); err != nil {
		return nil, err
	}
	return &r, nil
}

// NormalizeEmail is how developer emails are compared: Apigee treats them
// as lower case.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func (k *KMS) developerByEmail(ctx context.Context, org, email string) (*devRow, error) {
	r, err := scanDeveloper(k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.developers WHERE email = ?`, developerCols, kmsKS(org)),
		NormalizeEmail(email)).WithContext(ctx).Scan)
	if isNotFound(err) {
		return nil, errorf(ErrNotFound, "Developer %s does not exist in organization %s.", email, org)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read developer %s: %w", email, err)
	}
	return r, nil
}

func (k *KMS) developerByID(ctx context.Context, org string, id gocql.UUID) (*devRow, error) {
	var email string
	err := k.session.Query(fmt.Sprintf(`SELECT email FROM %s.developers_by_id WHERE developer_id = ?`, kmsKS(org)), id).
		ScanContext(ctx, &email)
	if isNotFound(err) {
		return nil, errorf(ErrNotFound, "Developer %s does not exist in organization %s.", id, org)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read developer %s: %w", id, err)
	}
	r, err := k.developerByEmail(ctx, org, email)
	if err != nil || r.id != id { // the index row outlived its developer
		return nil, errorf(ErrNotFound, "Developer %s does not exist in organization %s.", id, org)
	}
	return r, nil
}

// resolveDeveloper accepts an email or a developer id, as the API does.
func (k *KMS) resolveDeveloper(ctx context.Context, org, ref string) (*devRow, error) {
	if !strings.Contains(ref, "@") {
		if id, ok := parseUUID(ref); ok {
			return k.developerByID(ctx, org, id)
		}
	}
	return k.developerByEmail(ctx, org, ref)
}

func (k *KMS) appNames(ctx context.Context, org string, devID gocql.UUID) ([]string, error) {
	iter := k.session.Query(fmt.Sprintf(`SELECT name FROM %s.apps WHERE developer_id = ?`, kmsKS(org)), devID).
		WithContext(ctx).Iter()
	var names []string
	var n string
	for iter.Scan(&n) {
		names = append(names, n)
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("store: list apps: %w", err)
	}
	return names, nil
}

func (k *KMS) withApps(ctx context.Context, org string, r *devRow) (*Developer, error) {
	d := r.dev
	var err error
	if d.Apps, err = k.appNames(ctx, org, r.id); err != nil {
		return nil, err
	}
	return &d, nil
}

// CreateDeveloper adds a developer (status active). The email is the
// identity: a second developer with the same email gets ErrAlreadyExists.
func (k *KMS) CreateDeveloper(ctx context.Context, org string, d Developer) (*Developer, error) {
	email := NormalizeEmail(d.Email)
	if email == "" {
		return nil, errorf(ErrInvalid, "Developer email is required.")
	}
	if _, err := k.developerByEmail(ctx, org, email); err == nil {
		return nil, errorf(ErrAlreadyExists, "Developer with email %s already exists in organization %s.", email, org)
	}
	attrs, err := encodeJSON(d.Attributes)
	if err != nil {
		return nil, err
	}
	id := gocql.MustRandomUUID()
	now := k.now()
	ks := kmsKS(org)
	// The id index first: it means nothing until the developer row below
	// points back at it.
	if err := k.session.Query(fmt.Sprintf(`INSERT INTO %s.developers_by_id (developer_id, email) VALUES (?, ?)`, ks), id, email).
		ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("store: create developer %s: %w", email, err)
	}
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`INSERT INTO %s.developers (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1) IF NOT EXISTS`, ks, developerCols),
		email, id, d.FirstName, d.LastName, d.UserName, StatusActive, attrs, now, now))
	if err != nil {
		// A timed-out lightweight transaction may still have applied.
		if r, rerr := k.developerByEmail(ctx, org, email); rerr == nil && r.id == id {
			return k.withApps(ctx, org, r)
		}
		k.dropDeveloperIndex(ctx, org, id)
		return nil, fmt.Errorf("store: create developer %s: %w", email, err)
	}
	if !applied {
		k.dropDeveloperIndex(ctx, org, id)
		return nil, errorf(ErrAlreadyExists, "Developer with email %s already exists in organization %s.", email, org)
	}
	out := d
	out.Email, out.DeveloperID, out.Status, out.CreatedAt, out.LastModifiedAt, out.Apps = email, id.String(), StatusActive, now, now, nil
	return &out, nil
}

func (k *KMS) dropDeveloperIndex(ctx context.Context, org string, id gocql.UUID) {
	_ = k.session.Query(fmt.Sprintf(`DELETE FROM %s.developers_by_id WHERE developer_id = ?`, kmsKS(org)), id).
		ExecContext(context.WithoutCancel(ctx))
}

// GetDeveloper reads a developer by email or developer id, with its apps'
// names.
func (k *KMS) GetDeveloper(ctx context.Context, org, ref string) (*Developer, error) {
	r, err := k.resolveDeveloper(ctx, org, ref)
	if err != nil {
		return nil, err
	}
	return k.withApps(ctx, org, r)
}

// updateDeveloper is a read-modify-write guarded by the row's revision.
func (k *KMS) updateDeveloper(ctx context.Context, org, ref string, mutate func(*Developer) error) (*Developer, error) {
	for range casRetries {
		r, err := k.resolveDeveloper(ctx, org, ref)
		if err != nil {
			return nil, err
		}
		d := r.dev
		if err := mutate(&d); err != nil {
			return nil, err
		}
		attrs, err := encodeJSON(d.Attributes)
		if err != nil {
			return nil, err
		}
		d.LastModifiedAt = max(k.now(), r.dev.LastModifiedAt)
		applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(
			`UPDATE %s.developers SET first_name = ?, last_name = ?, user_name = ?, status = ?, attributes = ?, last_modified_at = ?, revision = ? WHERE email = ? IF revision = ?`, kmsKS(org)),
			d.FirstName, d.LastName, d.UserName, d.Status, attrs, d.LastModifiedAt, r.revision+1, r.dev.Email, r.revision))
		if err != nil {
			return nil, fmt.Errorf("store: update developer %s: %w", r.dev.Email, err)
		}
		if applied {
			r.dev = d
			return k.withApps(ctx, org, r)
		}
	}
	return nil, errorf(ErrConflict, "Developer %s is being modified concurrently; try again.", ref)
}

// UpdateDeveloper replaces a developer's names and attributes (the API's
// PUT). The email cannot change.
func (k *KMS) UpdateDeveloper(ctx context.Context, org, ref string, upd Developer) (*Developer, error) {
	return k.updateDeveloper(ctx, org, ref, func(d *Developer) error {
		if upd.Email != "" && NormalizeEmail(upd.Email) != d.Email {
			return errorf(ErrInvalid, "Developer email cannot be changed (from %s to %s).", d.Email, upd.Email)
		}
		d.FirstName, d.LastName, d.UserName, d.Attributes = upd.FirstName, upd.LastName, upd.UserName, upd.Attributes
		return nil
	})
}

// SetDeveloperStatus sets a developer active or inactive. An inactive
// developer's keys stop working even while approved.
func (k *KMS) SetDeveloperStatus(ctx context.Context, org, ref, status string) error {
	if status != StatusActive && status != StatusInactive {
		return errorf(ErrInvalid, "Invalid developer status %q: use %s or %s.", status, StatusActive, StatusInactive)
	}
	_, err := k.updateDeveloper(ctx, org, ref, func(d *Developer) error { d.Status = status; return nil })
	return err
}

// DeleteDeveloper removes a developer with all its apps and credentials and
// returns what was deleted.
func (k *KMS) DeleteDeveloper(ctx context.Context, org, ref string) (*Developer, error) {
	r, err := k.resolveDeveloper(ctx, org, ref)
	if err != nil {
		return nil, err
	}
	d, err := k.withApps(ctx, org, r)
	if err != nil {
		return nil, err
	}
	apps, err := k.appRows(ctx, org, devOwner(r), Page{}, 0)
	if err != nil {
		return nil, err
	}
	ks := kmsKS(org)
	// The developer row decides; once it is gone, its apps and keys no
	// longer resolve even if the cleanup below is cut short.
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`DELETE FROM %s.developers WHERE email = ? IF developer_id = ?`, ks), r.dev.Email, r.id))
	if err != nil {
		return nil, fmt.Errorf("store: delete developer %s: %w", r.dev.Email, err)
	}
	if !applied {
		return nil, errorf(ErrNotFound, "Developer %s does not exist in organization %s.", ref, org)
	}
	cleanup := context.WithoutCancel(ctx)
	b := k.session.Batch(gocql.LoggedBatch).WithContext(cleanup)
	b.Query(fmt.Sprintf(`DELETE FROM %s.developers_by_id WHERE developer_id = ?`, ks), r.id)
	b.Query(fmt.Sprintf(`DELETE FROM %s.apps WHERE developer_id = ?`, ks), r.id)
	for _, a := range apps {
		b.Query(fmt.Sprintf(`DELETE FROM %s.apps_by_id WHERE app_id = ?`, ks), a.id)
		for _, key := range a.keys {
			b.Query(fmt.Sprintf(`DELETE FROM %s.credentials WHERE consumer_key = ?`, ks), key)
		}
	}
	_ = b.ExecContext(cleanup) // best effort: leftovers are unreachable (see KMS)
	return d, nil
}

// ListDevelopers lists developers in Cassandra token order, as Apigee's
// own Cassandra-backed listing does; StartKey is an email or developer id
// (the first developer returned). Count defaults to 1000.
func (k *KMS) ListDevelopers(ctx context.Context, org string, p Page) ([]*Developer, error) {
	start := p.StartKey
	if start != "" && !strings.Contains(start, "@") {
		if id, ok := parseUUID(start); ok {
			if r, err := k.developerByID(ctx, org, id); err == nil {
				start = r.dev.Email
			}
		}
	}
	var q *gocql.Query
	if start == "" {
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.developers LIMIT ?`, developerCols, kmsKS(org)), p.limit(1000))
	} else {
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.developers WHERE token(email) >= token(?) LIMIT ?`, developerCols, kmsKS(org)),
			NormalizeEmail(start), p.limit(1000))
	}
	iter := q.WithContext(ctx).Iter()
	var rows []*devRow
	for {
		r, done, err := scanNext(iter, scanDeveloper)
		if done {
			break
		}
		if err != nil {
			_ = iter.Close()
			return nil, err
		}
		rows = append(rows, r)
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("store: list developers: %w", err)
	}
	out := make([]*Developer, 0, len(rows))
	for _, r := range rows {
		d, err := k.withApps(ctx, org, r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// DevelopersByID returns the developers with the given ids, in that order,
// leaving out unknown ones.
func (k *KMS) DevelopersByID(ctx context.Context, org string, ids []string) ([]*Developer, error) {
	var out []*Developer
	for _, s := range dedupe(ids) {
		id, ok := parseUUID(strings.TrimSpace(s))
		if !ok {
			continue
		}
		r, err := k.developerByID(ctx, org, id)
		if isKind(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		d, err := k.withApps(ctx, org, r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

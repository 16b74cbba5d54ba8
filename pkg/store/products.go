package store

import (
	"context"
	"encoding/json"
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

const productCols = `name, display_name, description, approval_type, environments, proxies, api_resources, operation_group, quota, quota_interval, quota_time_unit, quota_counter_scope, scopes, attributes, created_at, last_modified_at, revision`

type productRow struct {
	p        APIProduct
	revision int64
}

func scanProduct(scan func(...any) error) (*productRow, error) {
	var r productRow
	var opGroup, attrs string
	p := &r.p
	if err := scan(&p.Name, &p.DisplayName, &p.Description, &p.ApprovalType, &p.Environments, &p.Proxies, &p.APIResources,
		&opGroup, &p.Quota, &p.QuotaInterval, &p.QuotaTimeUnit, &p.QuotaCounterScope, &p.Scopes, &attrs,
		&p.CreatedAt, &p.LastModifiedAt, &r.revision); err != nil {
		return nil, err
	}
	if opGroup != "" {
		p.OperationGroup = &OperationGroup{}
		if err := json.Unmarshal([]byte(opGroup), p.OperationGroup); err != nil {
			return nil, fmt.Errorf("store: decode operation group of %s: %w", p.Name, err)
		}
	}
	var err error
	if p.Attributes, err = decodeJSON[Attribute](attrs); err != nil {
		return nil, err
	}
	return &r, nil
}

func encodeOpGroup(g *OperationGroup) (*string, error) {
	if g == nil {
		return nil, nil
	}
	b, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("store: encode operation group: %w", err)
	}
	s := string(b)
	return &s, nil
}

func (k *KMS) productRow(ctx context.Context, org, name string) (*productRow, error) {
	r, err := scanProduct(k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.api_products WHERE name = ?`, productCols, kmsKS(org)), name).
		WithContext(ctx).Scan)
	if isNotFound(err) {
		return nil, errorf(ErrNotFound, "API product %s does not exist in organization %s.", name, org)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read API product %s: %w", name, err)
	}
	return r, nil
}

func approvalType(s string) (string, error) {
	switch s {
	case "":
		return ApprovalAuto, nil
	case ApprovalAuto, ApprovalManual:
		return s, nil
	}
	return "", errorf(ErrInvalid, "Invalid approvalType %q: use %s or %s.", s, ApprovalAuto, ApprovalManual)
}

// CreateProduct adds an API product; approval type defaults to auto. A
// second product with the same name gets ErrAlreadyExists.
func (k *KMS) CreateProduct(ctx context.Context, org string, p APIProduct) (*APIProduct, error) {
	if p.Name == "" {
		return nil, errorf(ErrInvalid, "API product name is required.")
	}
	var err error
	if p.ApprovalType, err = approvalType(p.ApprovalType); err != nil {
		return nil, err
	}
	if p.DisplayName == "" {
		p.DisplayName = p.Name
	}
	og, err := encodeOpGroup(p.OperationGroup)
	if err != nil {
		return nil, err
	}
	attrs, err := encodeJSON(p.Attributes)
	if err != nil {
		return nil, err
	}
	now := k.now()
	p.CreatedAt, p.LastModifiedAt = now, now
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`INSERT INTO %s.api_products (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) IF NOT EXISTS`, kmsKS(org), productCols),
		p.Name, p.DisplayName, nullIfEmpty(p.Description), p.ApprovalType, p.Environments, p.Proxies, p.APIResources, og,
		nullIfEmpty(p.Quota), nullIfEmpty(p.QuotaInterval), nullIfEmpty(p.QuotaTimeUnit), nullIfEmpty(p.QuotaCounterScope),
		p.Scopes, attrs, now, now))
	if err != nil {
		return nil, fmt.Errorf("store: create API product %s: %w", p.Name, err)
	}
	if !applied {
		return nil, errorf(ErrAlreadyExists, "API product %s already exists in organization %s.", p.Name, org)
	}
	return &p, nil
}

// GetProduct reads an API product.
func (k *KMS) GetProduct(ctx context.Context, org, name string) (*APIProduct, error) {
	r, err := k.productRow(ctx, org, name)
	if err != nil {
		return nil, err
	}
	return &r.p, nil
}

// UpdateProduct replaces everything but the name and creation time (the
// API's PUT).
func (k *KMS) UpdateProduct(ctx context.Context, org, name string, upd APIProduct) (*APIProduct, error) {
	at, err := approvalType(upd.ApprovalType)
	if err != nil {
		return nil, err
	}
	if upd.Name != "" && upd.Name != name {
		return nil, errorf(ErrInvalid, "API product name cannot be changed (from %s to %s).", name, upd.Name)
	}
	og, err := encodeOpGroup(upd.OperationGroup)
	if err != nil {
		return nil, err
	}
	attrs, err := encodeJSON(upd.Attributes)
	if err != nil {
		return nil, err
	}
	for range casRetries {
		r, err := k.productRow(ctx, org, name)
		if err != nil {
			return nil, err
		}
		p := upd
		p.Name, p.ApprovalType, p.CreatedAt = name, at, r.p.CreatedAt
		if p.DisplayName == "" {
			p.DisplayName = name
		}
		p.LastModifiedAt = max(k.now(), r.p.LastModifiedAt)
		applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`UPDATE %s.api_products SET display_name = ?, description = ?, approval_type = ?,
			environments = ?, proxies = ?, api_resources = ?, operation_group = ?, quota = ?, quota_interval = ?, quota_time_unit = ?,
			quota_counter_scope = ?, scopes = ?, attributes = ?, last_modified_at = ?, revision = ? WHERE name = ? IF revision = ?`, kmsKS(org)),
			p.DisplayName, nullIfEmpty(p.Description), p.ApprovalType, p.Environments, p.Proxies, p.APIResources, og,
			nullIfEmpty(p.Quota), nullIfEmpty(p.QuotaInterval), nullIfEmpty(p.QuotaTimeUnit), nullIfEmpty(p.QuotaCounterScope),
			p.Scopes, attrs, p.LastModifiedAt, r.revision+1, name, r.revision))
		if err != nil {
			return nil, fmt.Errorf("store: update API product %s: %w", name, err)
		}
		if applied {
			return &p, nil
		}
	}
	return nil, errorf(ErrConflict, "API product %s is being modified concurrently; try again.", name)
}

// DeleteProduct removes an API product and returns it. Credentials keep
// naming it; lookups leave it out from then on (as in Apigee, their calls
// to its resources fail).
func (k *KMS) DeleteProduct(ctx context.Context, org, name string) (*APIProduct, error) {
	r, err := k.productRow(ctx, org, name)
	if err != nil {
		return nil, err
	}
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`DELETE FROM %s.api_products WHERE name = ? IF EXISTS`, kmsKS(org)), name))
	if err != nil {
		return nil, fmt.Errorf("store: delete API product %s: %w", name, err)
	}
	if !applied {
		return nil, errorf(ErrNotFound, "API product %s does not exist in organization %s.", name, org)
	}
	return &r.p, nil
}

// ListProducts lists API products in Cassandra token order from p.StartKey
// (a product name, inclusive); count defaults to 1000.
func (k *KMS) ListProducts(ctx context.Context, org string, p Page) ([]*APIProduct, error) {
	var q *gocql.Query
	if p.StartKey == "" {
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.api_products LIMIT ?`, productCols, kmsKS(org)), p.limit(1000))
	} else {
		q = k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.api_products WHERE token(name) >= token(?) LIMIT ?`, productCols, kmsKS(org)),
			p.StartKey, p.limit(1000))
	}
	iter := q.WithContext(ctx).Iter()
	var out []*APIProduct
	for {
		r, done, err := scanNext(iter, scanProduct)
		if done {
			break
		}
		if err != nil {
			_ = iter.Close()
			return nil, err
		}
		out = append(out, &r.p)
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("store: list API products: %w", err)
	}
	return out, nil
}

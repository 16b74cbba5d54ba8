package store

import (
	"context"
	"fmt"
	"regexp"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

const credCols = `consumer_key, consumer_secret, app_id, developer_id, app_name, status, issued_at, expires_at, api_products, scopes, attributes, app_group, revision`

type credRow struct {
	cred     Credential
	sealed   []byte
	appID    gocql.UUID
	ownerID  gocql.UUID // the developer's or the app group's id
	group    string     // the app group's name; "" for a developer's app
	revision int64
}

func scanCred(scan func(...any) error) (*credRow, error) {
	var r credRow
	var products, attrs string
	if err := scan(&r.cred.ConsumerKey, &r.sealed, &r.appID, &r.ownerID, &r.cred.AppName, &r.cred.Status, &r.cred.IssuedAt,
		&r.cred.ExpiresAt, &products, &r.cred.Scopes, &attrs, &r.group, &r.revision); err != nil {
		return nil, err
	}
	r.cred.AppID, r.cred.AppGroup = r.appID.String(), r.group
	if r.group == "" {
		r.cred.DeveloperID = r.ownerID.String()
	}
	var err error
	if r.cred.APIProducts, err = decodeJSON[ProductRef](products); err != nil {
		return nil, err
	}
	if r.cred.Attributes, err = decodeJSON[Attribute](attrs); err != nil {
		return nil, err
	}
	return &r, nil
}

func secretAAD(consumerKey string) []byte { return []byte("kms/credential/" + consumerKey) }

func (k *KMS) credRow(ctx context.Context, org, key string) (*credRow, error) {
	r, err := scanCred(k.session.Query(fmt.Sprintf(`SELECT %s FROM %s.credentials WHERE consumer_key = ?`, credCols, kmsKS(org)), key).
		WithContext(ctx).Scan)
	if isNotFound(err) {
		return nil, errorf(ErrNotFound, "Consumer key %s does not exist in organization %s.", key, org)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read credential: %w", err)
	}
	return r, nil
}

// open returns the credential with its secret unsealed.
func (k *KMS) open(ctx context.Context, org string, r *credRow) (*Credential, error) {
	s, err := k.keys.consumerSecrets()
	if err != nil {
		return nil, err
	}
	secret, err := s.Open(r.sealed, secretAAD(r.cred.ConsumerKey))
	if err != nil {
		return nil, fmt.Errorf("store: consumer secret of %s: %w", r.cred.ConsumerKey, err)
	}
	c := r.cred
	c.ConsumerSecret = string(secret)
	return &c, nil
}

func (k *KMS) credentialsOf(ctx context.Context, org string, a *appRow) ([]*Credential, error) {
	out := make([]*Credential, 0, len(a.keys))
	for _, key := range a.keys {
		r, err := k.credRow(ctx, org, key)
		if isKind(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if r.appID != a.id {
			continue
		}
		c, err := k.open(ctx, org, r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// live reports whether a credential row is reachable from its owners: the
// app (same id, listing the key) and its developer or app group (same id).
func (k *KMS) live(ctx context.Context, org string, r *credRow) (*owner, *appRow, error) {
	o, err := k.ownerByID(ctx, org, r.ownerID, r.group)
	if err != nil || o == nil {
		return nil, nil, err
	}
	a, err := k.appRow(ctx, org, o, r.cred.AppName)
	if isKind(err, ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if a.id != r.appID || !contains(a.keys, r.cred.ConsumerKey) {
		return nil, nil, nil
	}
	return o, a, nil
}

func (k *KMS) productRefs(ctx context.Context, org string, names []string) ([]ProductRef, error) {
	var refs []ProductRef
	for _, n := range dedupe(names) {
		p, err := k.GetProduct(ctx, org, n)
		if isKind(err, ErrNotFound) {
			return nil, errorf(ErrInvalid, "API product %s does not exist in organization %s.", n, org)
		}
		if err != nil {
			return nil, err
		}
		st := StatusApproved
		if p.ApprovalType == ApprovalManual {
			st = StatusPending
		}
		refs = append(refs, ProductRef{APIProduct: n, Status: st})
	}
	return refs, nil
}

// NewCredential is a credential to add to an app.
type NewCredential struct {
	// ConsumerKey and ConsumerSecret import an existing pair; empty ones are
	// generated (48 and 64 characters of [A-Za-z0-9]).
	ConsumerKey    string
	ConsumerSecret string
	APIProducts    []string
	// ExpiresAt is epoch ms; 0 or NeverExpires: never.
	ExpiresAt int64
	// ExpiresIn, when positive, sets ExpiresAt that many ms after the
	// issue time (so both come from one clock reading).
	ExpiresIn  int64
	Scopes     []string
	Attributes []Attribute
}

// Imported keys and secrets: letters, digits, underscores and hyphens, at
// most 2 KB (the Apigee API's rule).
var importedKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func validImported(s string) bool { return len(s) <= 2048 && importedKeyRE.MatchString(s) }

// insertCredential writes the credential row (a lightweight transaction on
// the consumer key). The caller then makes the app point at it.
func (k *KMS) insertCredential(ctx context.Context, org string, o *owner, appID gocql.UUID, appName string, nc NewCredential, refs []ProductRef, now int64) (*Credential, error) {
	generated := nc.ConsumerKey == ""
	if !generated && !validImported(nc.ConsumerKey) {
		return nil, errorf(ErrInvalid, "Invalid consumer key: use 1 to 2048 letters, digits, underscores or hyphens.")
	}
	if nc.ConsumerSecret != "" && !validImported(nc.ConsumerSecret) {
		return nil, errorf(ErrInvalid, "Invalid consumer secret: use 1 to 2048 letters, digits, underscores or hyphens.")
	}
	secret := nc.ConsumerSecret
	if secret == "" {
		var err error
		if secret, err = randomKey(64); err != nil {
			return nil, err
		}
	}
	products, err := encodeJSON(refs)
	if err != nil {
		return nil, err
	}
	attrs, err := encodeJSON(nc.Attributes)
	if err != nil {
		return nil, err
	}
	s, err := k.keys.consumerSecrets()
	if err != nil {
		return nil, err
	}
	exp := nc.ExpiresAt
	if exp <= 0 {
		exp = NeverExpires
	}
	for attempt := 0; attempt < 3; attempt++ {
		key := nc.ConsumerKey
		if generated {
			if key, err = randomKey(48); err != nil {
				return nil, err
			}
		}
		sealed, err := s.Seal([]byte(secret), secretAAD(key))
		if err != nil {
			return nil, err
		}
		prev := map[string]any{}
		applied, err := k.session.Query(fmt.Sprintf(`INSERT INTO %s.credentials (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) IF NOT EXISTS`, kmsKS(org), credCols),
			key, sealed, appID, o.id, appName, StatusApproved, now, exp, products, nc.Scopes, attrs, o.appGroup()).MapScanCASContext(ctx, prev)
		if err != nil {
			return nil, fmt.Errorf("store: create credential: %w", err)
		}
		if applied {
			c := &Credential{
				ConsumerKey: key, ConsumerSecret: secret, AppID: appID.String(), AppName: appName,
				Status: StatusApproved, IssuedAt: now, ExpiresAt: exp, APIProducts: refs, Scopes: nc.Scopes, Attributes: nc.Attributes,
			}
			if o.group != nil {
				c.AppGroup = o.group.g.Name
			} else {
				c.DeveloperID = o.id.String()
			}
			return c, nil
		}
		if generated {
			continue // a 48-character collision: draw again
		}
		existing, err := k.credRow(ctx, org, key)
		if isKind(err, ErrNotFound) {
			continue // deleted meanwhile: try again
		}
		if err != nil {
			return nil, err
		}
		_, liveApp, err := k.live(ctx, org, existing)
		if err != nil {
			return nil, err
		}
		if liveApp != nil {
			return nil, errorf(ErrAlreadyExists, "Consumer key %s already exists in organization %s.", key, org)
		}
		// A leftover of a create that never committed: take the key over.
		if _, err := casApplied(ctx, k.session.Query(fmt.Sprintf(`DELETE FROM %s.credentials WHERE consumer_key = ? IF app_id = ?`, kmsKS(org)),
			key, existing.appID)); err != nil {
			return nil, fmt.Errorf("store: create credential: %w", err)
		}
	}
	return nil, errorf(ErrConflict, "Could not allocate consumer key; try again.")
}

// AddCredential issues an app another credential: generated, or imported
// when nc names the key (the API's keys/create). Products must exist.
func (k *KMS) AddCredential(ctx context.Context, org, devRef, appName string, nc NewCredential) (*Credential, error) {
	return k.addCredential(ctx, org, developerRef(devRef), appName, nc)
}

func (k *KMS) addCredential(ctx context.Context, org string, ref ownerRef, appName string, nc NewCredential) (*Credential, error) {
	o, a, err := k.appFor(ctx, org, ref, appName)
	if err != nil {
		return nil, err
	}
	refs, err := k.productRefs(ctx, org, nc.APIProducts)
	if err != nil {
		return nil, err
	}
	if nc.Scopes == nil {
		nc.Scopes = a.app.Scopes
	}
	now := k.now()
	if nc.ExpiresIn > 0 {
		nc.ExpiresAt = now + nc.ExpiresIn
	}
	c, err := k.insertCredential(ctx, org, o, a.id, appName, nc, refs, now)
	if err != nil {
		return nil, err
	}
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(
		`UPDATE %s.apps SET credential_keys = credential_keys + ?, last_modified_at = ? WHERE developer_id = ? AND name = ? IF app_id = ?`, kmsKS(org)),
		[]string{c.ConsumerKey}, now, o.id, appName, a.id))
	if err != nil {
		if r, rerr := k.appRow(ctx, org, o, appName); rerr == nil && r.id == a.id && contains(r.keys, c.ConsumerKey) {
			return c, nil
		}
		k.dropCredential(ctx, org, c.ConsumerKey, a.id)
		return nil, fmt.Errorf("store: add credential to %s: %w", appName, err)
	}
	if !applied {
		k.dropCredential(ctx, org, c.ConsumerKey, a.id)
		return nil, appNotFound(org, appName, o)
	}
	return c, nil
}

func (k *KMS) dropCredential(ctx context.Context, org, key string, appID gocql.UUID) {
	_, _ = casApplied(context.WithoutCancel(ctx), k.session.Query(fmt.Sprintf(`DELETE FROM %s.credentials WHERE consumer_key = ? IF app_id = ?`, kmsKS(org)), key, appID))
}

func keyNotFound(org, key, appName string) error {
	return errorf(ErrNotFound, "Consumer key %s does not exist for app %s in organization %s.", key, appName, org)
}

// appCredential reads a credential that must belong to the app.
func (k *KMS) appCredential(ctx context.Context, org string, ref ownerRef, appName, key string) (*appRow, *credRow, error) {
	_, a, err := k.appFor(ctx, org, ref, appName)
	if err != nil {
		return nil, nil, err
	}
	if !contains(a.keys, key) {
		return nil, nil, keyNotFound(org, key, appName)
	}
	r, err := k.credRow(ctx, org, key)
	if isKind(err, ErrNotFound) || (err == nil && r.appID != a.id) {
		return nil, nil, keyNotFound(org, key, appName)
	}
	return a, r, err
}

// GetCredential reads one of an app's credentials.
func (k *KMS) GetCredential(ctx context.Context, org, devRef, appName, key string) (*Credential, error) {
	return k.getCredential(ctx, org, developerRef(devRef), appName, key)
}

func (k *KMS) getCredential(ctx context.Context, org string, ref ownerRef, appName, key string) (*Credential, error) {
	_, r, err := k.appCredential(ctx, org, ref, appName, key)
	if err != nil {
		return nil, err
	}
	return k.open(ctx, org, r)
}

func (k *KMS) updateCredential(ctx context.Context, org string, ref ownerRef, appName, key string, mutate func(*Credential) error) (*Credential, error) {
	for range casRetries {
		_, r, err := k.appCredential(ctx, org, ref, appName, key)
		if err != nil {
			return nil, err
		}
		c := r.cred
		if err := mutate(&c); err != nil {
			return nil, err
		}
		products, err := encodeJSON(c.APIProducts)
		if err != nil {
			return nil, err
		}
		attrs, err := encodeJSON(c.Attributes)
		if err != nil {
			return nil, err
		}
		applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(
			`UPDATE %s.credentials SET status = ?, api_products = ?, scopes = ?, attributes = ?, revision = ? WHERE consumer_key = ? IF revision = ?`, kmsKS(org)),
			c.Status, products, c.Scopes, attrs, r.revision+1, key, r.revision))
		if err != nil {
			return nil, fmt.Errorf("store: update credential: %w", err)
		}
		if applied {
			r.cred = c
			return k.open(ctx, org, r)
		}
	}
	return nil, errorf(ErrConflict, "Consumer key %s is being modified concurrently; try again.", key)
}

// SetCredentialStatus approves or revokes a key.
func (k *KMS) SetCredentialStatus(ctx context.Context, org, devRef, appName, key, status string) (*Credential, error) {
	if status == "" {
		return nil, errorf(ErrInvalid, "Invalid key status %q: use %s or %s.", status, StatusApproved, StatusRevoked)
	}
	return k.updateCredentialWith(ctx, org, developerRef(devRef), appName, key, CredentialUpdate{Status: status})
}

// SetCredentialProductStatus approves or revokes a key for one of its API
// products.
func (k *KMS) SetCredentialProductStatus(ctx context.Context, org, devRef, appName, key, product, status string) (*Credential, error) {
	return k.setCredentialProductStatus(ctx, org, developerRef(devRef), appName, key, product, status)
}

func (k *KMS) setCredentialProductStatus(ctx context.Context, org string, ref ownerRef, appName, key, product, status string) (*Credential, error) {
	if status != StatusApproved && status != StatusRevoked {
		return nil, errorf(ErrInvalid, "Invalid API product status %q: use %s or %s.", status, StatusApproved, StatusRevoked)
	}
	return k.updateCredential(ctx, org, ref, appName, key, func(c *Credential) error {
		for i := range c.APIProducts {
			if c.APIProducts[i].APIProduct == product {
				c.APIProducts[i].Status = status
				return nil
			}
		}
		return errorf(ErrNotFound, "API product %s is not on consumer key %s.", product, key)
	})
}

// RemoveCredentialProduct takes an API product off a key.
func (k *KMS) RemoveCredentialProduct(ctx context.Context, org, devRef, appName, key, product string) (*Credential, error) {
	return k.removeCredentialProduct(ctx, org, developerRef(devRef), appName, key, product)
}

func (k *KMS) removeCredentialProduct(ctx context.Context, org string, ref ownerRef, appName, key, product string) (*Credential, error) {
	return k.updateCredential(ctx, org, ref, appName, key, func(c *Credential) error {
		for i := range c.APIProducts {
			if c.APIProducts[i].APIProduct == product {
				c.APIProducts = append(c.APIProducts[:i:i], c.APIProducts[i+1:]...)
				return nil
			}
		}
		return errorf(ErrNotFound, "API product %s is not on consumer key %s.", product, key)
	})
}

// CredentialUpdate changes a key: the API's POST (add products, replace
// attributes, approve or revoke) and PUT (replace scopes) of a key.
type CredentialUpdate struct {
	AddAPIProducts []string     // must exist; added with their approval status
	Attributes     *[]Attribute // nil: unchanged
	Scopes         *[]string    // nil: unchanged
	Status         string       // approved or revoked; "": unchanged
}

// UpdateCredential applies a CredentialUpdate. Unknown products:
// ErrInvalid, nothing written.
func (k *KMS) UpdateCredential(ctx context.Context, org, devRef, appName, key string, u CredentialUpdate) (*Credential, error) {
	return k.updateCredentialWith(ctx, org, developerRef(devRef), appName, key, u)
}

func (k *KMS) updateCredentialWith(ctx context.Context, org string, owner ownerRef, appName, key string, u CredentialUpdate) (*Credential, error) {
	if u.Status != "" && u.Status != StatusApproved && u.Status != StatusRevoked {
		return nil, errorf(ErrInvalid, "Invalid key status %q: use %s or %s.", u.Status, StatusApproved, StatusRevoked)
	}
	refs, err := k.productRefs(ctx, org, u.AddAPIProducts)
	if err != nil {
		return nil, err
	}
	return k.updateCredential(ctx, org, owner, appName, key, func(c *Credential) error {
		for _, ref := range refs {
			found := false
			for _, have := range c.APIProducts {
				found = found || have.APIProduct == ref.APIProduct
			}
			if !found {
				c.APIProducts = append(c.APIProducts, ref)
			}
		}
		if u.Attributes != nil {
			c.Attributes = *u.Attributes
		}
		if u.Scopes != nil {
			c.Scopes = *u.Scopes
		}
		if u.Status != "" {
			c.Status = u.Status
		}
		return nil
	})
}

// DeleteCredential removes a key from its app and returns it.
func (k *KMS) DeleteCredential(ctx context.Context, org, devRef, appName, key string) (*Credential, error) {
	return k.deleteCredential(ctx, org, developerRef(devRef), appName, key)
}

func (k *KMS) deleteCredential(ctx context.Context, org string, ref ownerRef, appName, key string) (*Credential, error) {
	a, r, err := k.appCredential(ctx, org, ref, appName, key)
	if err != nil {
		return nil, err
	}
	c, err := k.open(ctx, org, r)
	if err != nil {
		return nil, err
	}
	applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(
		`UPDATE %s.apps SET credential_keys = credential_keys - ?, last_modified_at = ? WHERE developer_id = ? AND name = ? IF app_id = ?`, kmsKS(org)),
		[]string{key}, k.now(), a.ownerID, appName, a.id))
	if err != nil {
		return nil, fmt.Errorf("store: delete credential: %w", err)
	}
	if !applied {
		return nil, keyNotFound(org, key, appName)
	}
	k.dropCredential(ctx, org, key, a.id)
	return c, nil
}

// KeyInfo is everything VerifyAPIKey needs about a consumer key.
type KeyInfo struct {
	Credential *Credential
	App        *App // without its other credentials
	// Developer owns a developer app. For an app group's app it is an
	// empty Developer (never nil, so callers reading developer fields get
	// "") and AppGroup is set.
	Developer *Developer
	// AppGroup owns an app group's app; nil for a developer app.
	AppGroup *AppGroup
	// Products are the credential's API products that still exist, in the
	// credential's order (match them to Credential.APIProducts for status).
	Products []*APIProduct
}

// LookupKey resolves a consumer key for the message processor (see KMS).
// Unknown or orphaned keys: ErrNotFound.
func (k *KMS) LookupKey(ctx context.Context, org, consumerKey string) (*KeyInfo, error) {
	r, err := k.credRow(ctx, org, consumerKey)
	if err != nil {
		return nil, err
	}
	o, a, err := k.live(ctx, org, r)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, errorf(ErrNotFound, "Consumer key %s does not exist in organization %s.", consumerKey, org)
	}
	c, err := k.open(ctx, org, r)
	if err != nil {
		return nil, err
	}
	app := a.app
	app.Credentials = []*Credential{c}
	info := &KeyInfo{Credential: c, App: &app, Developer: &Developer{}}
	if o.group != nil {
		g := o.group.g
		info.AppGroup = &g
	} else {
		d := o.dev.dev
		info.Developer = &d
	}
	for _, ref := range c.APIProducts {
		p, err := k.GetProduct(ctx, org, ref.APIProduct)
		if isKind(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		info.Products = append(info.Products, p)
	}
	return info, nil
}

package apigee

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Sync authorization (hybrid only): the service accounts allowed to
// download an org's runtime contracts, managed with
// POST /v1/organizations/{org}:getSyncAuthorization and
// :setSyncAuthorization. The permissions are the ones the API reference
// names: apigee.organizations.get and apigee.organizations.update.
const (
	PermGetSyncAuthorization = "apigee.organizations.get"
	PermSetSyncAuthorization = "apigee.organizations.update"
)

// syncAuthorizationView is Apigee's SyncAuthorization: etag is base64 (a
// bytes field) of the list's version.
type syncAuthorizationView struct {
	Identities []string `json:"identities,omitempty"`
	Etag       string   `json:"etag"`
}

// syncIdentityRE is "serviceAccount:" and an email address.
var syncIdentityRE = regexp.MustCompile(`^serviceAccount:[^@\s:]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$`)

func syncEtag(version int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(version))
	return base64.StdEncoding.EncodeToString(b[:])
}

func syncView(sa *state.SyncAuthorization) syncAuthorizationView {
	if sa == nil {
		return syncAuthorizationView{Etag: syncEtag(0)}
	}
	return syncAuthorizationView{Identities: append([]string(nil), sa.Identities...), Etag: syncEtag(sa.Version)}
}

// orgResource is what the sync authorization methods are checked on: the
// organization, not the path with its :verb.
func orgResource(r *http.Request) (string, error) {
	return "organizations/" + r.PathValue("org"), nil
}

// getSyncAuthorization serves POST {o}:getSyncAuthorization (empty body).
func (a *API) getSyncAuthorization(w http.ResponseWriter, r *http.Request) error {
	var in struct{}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var v syncAuthorizationView
	err := a.viewOrg(r, func(o *state.Org) error {
		v = syncView(o.SyncAuthorization)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// setSyncAuthorization serves POST {o}:setSyncAuthorization: the list is
// replaced; a non-empty etag must be the current one (else 409 ABORTED),
// an empty one overwrites whatever is there.
func (a *API) setSyncAuthorization(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Identities []string `json:"identities"`
		Etag       string   `json:"etag"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	seen := map[string]bool{}
	ids := []string{}
	for i, id := range in.Identities {
		if !syncIdentityRE.MatchString(id) {
			return apierr.InvalidField(fmt.Sprintf("identities[%d]", i), "Invalid identity %q: each identity must be serviceAccount:{email}, e.g. serviceAccount:apigee-synchronizer@my-project.iam.gserviceaccount.com.", id)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if in.Etag != "" {
		if _, err := base64.StdEncoding.DecodeString(in.Etag); err != nil {
			return apierr.InvalidField("etag", "Invalid value at 'sync_authorization.etag' (TYPE_BYTES), Base64 decoding failed for %q", in.Etag)
		}
	}
	var v syncAuthorizationView
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		cur := o.SyncAuthorization
		var curVersion int64
		if cur != nil {
			curVersion = cur.Version
		}
		if in.Etag != "" && in.Etag != syncEtag(curVersion) {
			return apierr.Aborted("The sync authorization of organization %s was changed since etag %s was read (current etag %s); get it again and retry.", o.Name, in.Etag, syncEtag(curVersion))
		}
		o.SyncAuthorization = &state.SyncAuthorization{Identities: ids, Version: nextSyncVersion(tx, curVersion)}
		v = syncView(o.SyncAuthorization)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// nextSyncVersion is a microsecond timestamp, above the previous version.
func nextSyncVersion(tx *state.Tx, prev int64) int64 {
	return max(prev+1, tx.Now.UnixMicro())
}

// MsgSyncNotAuthorized is the refusal of a contract fetch by a service
// account missing from the org's sync authorization.
const MsgSyncNotAuthorized = "%s is not authorized to access the organization %s: it is not in the organization's sync authorization (see setSyncAuthorization)."

// syncAuthorized guards the synchronizer's contract routes: a service
// account caller must be in the org's sync authorization, as hybrid's
// control plane requires; other principals (the admin token, users,
// legacy static tokens) are not affected.
func (a *API) syncAuthorized(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := principalOf(r.Context())
		if p.Admin || !strings.HasPrefix(p.Member, "serviceAccount:") {
			return h(w, r)
		}
		org := r.PathValue("org")
		allowed, exists := false, false
		_ = a.store.View(func(d *state.Data) error {
			o := d.Orgs[org]
			if o == nil {
				return nil
			}
			exists = true
			if o.SyncAuthorization != nil {
				for _, id := range o.SyncAuthorization.Identities {
					if strings.EqualFold(id, p.Member) {
						allowed = true
					}
				}
			}
			return nil
		})
		if exists && !allowed {
			return apierr.PermissionDenied(MsgSyncNotAuthorized, strings.TrimPrefix(p.Member, "serviceAccount:"), org)
		}
		return h(w, r)
	}
}

// SyncIdentity is the sync authorization entry of a service account email.
func SyncIdentity(email string) string { return "serviceAccount:" + email }

// seedSyncAuthorization is a seeded org's sync authorization.
func seedSyncAuthorization(tx *state.Tx, ids []string) *state.SyncAuthorization {
	return &state.SyncAuthorization{Identities: append([]string{}, ids...), Version: nextSyncVersion(tx, 0)}
}

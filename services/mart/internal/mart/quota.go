package mart

import (
	"net/http"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// quotaReset is the body of …/apis/{api}/quotaCounters:reset: the Quota
// policy's name (or its <SharedName>) and the identifier to reset
// ("_default" when the quota has no <Identifier>).
type quotaReset struct {
	Quota      string `json:"quota"`
	Identifier string `json:"identifier,omitempty"`
}

// resetQuotaCounter deletes a distributed quota counter: every message
// processor counts that quota afresh from its next request.
func (a *API) resetQuotaCounter(w http.ResponseWriter, r *http.Request) error {
	var in quotaReset
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.Quota == "" {
		return apierr.InvalidArgument("Field quota is required: the Quota policy's name or its SharedName.")
	}
	c := store.QuotaCounter{Env: r.PathValue("env"), Proxy: r.PathValue("api"), Policy: in.Quota, Identifier: in.Identifier}
	if err := a.kms.ResetQuotaCounter(r.Context(), a.org, c); err != nil {
		return err
	}
	if c.Identifier == "" {
		c.Identifier = store.DefaultQuotaIdentifier
	}
	return ok(w, map[string]string{"environment": c.Env, "apiProxy": c.Proxy, "quota": in.Quota, "identifier": c.Identifier})
}

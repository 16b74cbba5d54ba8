package mart

import (
	"net/http"
)

// deleteCache is the Apigee API's organizations.environments.caches.delete
// (the only method Apigee hybrid and X have on environment caches): it
// removes every entry of the named cache from the runtime plane's
// Cassandra. Message processors stop serving the entries once their
// in-memory copies lapse (one second, rtdata.L1TTL). The answer is
// google.protobuf.Empty; a cache nothing was ever written to is cleared
// all the same, since caches exist implicitly once a policy names them.
func (a *API) deleteCache(w http.ResponseWriter, r *http.Request) error {
	if err := a.kms.ClearCache(r.Context(), a.org, r.PathValue("env"), r.PathValue("cache")); err != nil {
		return err
	}
	return ok(w, struct{}{})
}

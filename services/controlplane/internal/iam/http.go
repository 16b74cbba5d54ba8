package iam

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// Register adds the IAM's HTTP endpoints to a mux (handle is
// (*http.ServeMux).Handle or (*service.Service).Handle):
//
//	POST /token                                         OAuth 2.0 token endpoint (JWT-bearer grant)
//	GET  /robot/v1/metadata/x509/{email}                public key certificates (client_x509_cert_url)
//	GET, POST /v1/projects/{p}/serviceAccounts          IAM: list, create
//	GET, DELETE /v1/projects/{p}/serviceAccounts/{sa}   IAM: get, delete; POST …:disable / …:enable
//	GET, POST /v1/projects/{p}/serviceAccounts/{sa}/keys, GET, DELETE …/keys/{id}
//	POST /v1/projects/{p}:getIamPolicy, :setIamPolicy   Resource Manager
//	GET  /v1/projects/{p}/auditLogs                     the audit log, newest first
//	POST /v1/projects/-/serviceAccounts/{sa}:generateAccessToken, :generateIdToken   IAM Credentials
//	POST /v1/projects/{p}/serviceAccounts/{sa}:getIamPolicy, :setIamPolicy            IAM: the account's own policy
//	GET, POST /oauth2/v3/tokeninfo                      Google's token validation
//	GET  /oauth2/v3/certs                               ID token signing keys (JWK set)
func (m *IAM) Register(handle func(pattern string, h http.Handler)) {
	const sa = "/v1/projects/{project}/serviceAccounts"
	// net/http's mux (the listener's) matches whole segments only, so it
	// hands every POST {p}:verb and {sa}:verb to verbs, chi's.
	verbs := m.customMethods(sa)
	handle("POST /token", http.HandlerFunc(m.ServeToken))
	handle("GET "+TokenInfoPath, http.HandlerFunc(m.serveTokenInfo))
	handle("POST "+TokenInfoPath, http.HandlerFunc(m.serveTokenInfo))
	handle("GET "+CertsPath, http.HandlerFunc(m.serveCertsV3))
	handle("GET "+CertPath+"{email}", http.HandlerFunc(m.serveCerts))
	handle("GET "+sa, m.api(m.listAccounts))
	handle("POST "+sa, m.api(m.createAccount))
	handle("GET "+sa+"/{ref}", m.api(m.getAccount))
	handle("DELETE "+sa+"/{ref}", m.api(m.deleteAccount))
	handle("POST "+sa+"/{ref}", verbs)
	handle("GET "+sa+"/{ref}/keys", m.api(m.listKeys))
	handle("POST "+sa+"/{ref}/keys", m.api(m.createKey))
	handle("GET "+sa+"/{ref}/keys/{id}", m.api(m.getKey))
	handle("DELETE "+sa+"/{ref}/keys/{id}", m.api(m.deleteKey))
	handle("POST /v1/projects/{resource}", verbs)
	handle("GET /v1/projects/{project}/auditLogs", m.api(m.listAudit))
}

// customMethods routes the custom methods ({name}:verb) of projects and
// service accounts; IAM and IAM Credentials share the account ones (one
// host serves both APIs). Any other verb is a 404.
func (m *IAM) customMethods(sa string) http.Handler {
	verbs := chi.NewRouter()
	post := func(path string, fn apiFunc) { verbs.Method(http.MethodPost, path, m.api(fn)) }
	post("/v1/projects/{project}:getIamPolicy", m.getProjectIamPolicy)
	post("/v1/projects/{project}:setIamPolicy", m.setProjectIamPolicy)
	post(sa+"/{ref}:disable", m.setAccountDisabled(true))
	post(sa+"/{ref}:enable", m.setAccountDisabled(false))
	post(sa+"/{ref}:getIamPolicy", onAccount(m.getAccountIamPolicy))
	post(sa+"/{ref}:setIamPolicy", onAccount(m.setAccountIamPolicy))
	post(sa+"/{ref}:generateAccessToken", onAccount(m.generateAccessToken))
	post(sa+"/{ref}:generateIdToken", onAccount(m.generateIDToken))
	verbs.NotFound(func(w http.ResponseWriter, r *http.Request) {
		apierr.Write(w, apierr.NotFound("The requested URL %s was not found on this server (method %s).", r.URL.Path, r.Method))
	})
	// Matched on the decoded path, as net/http's mux matches segments
	// ("sa%40p.iam…" is the account "sa@p.iam…"); chi would take the raw
	// one.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx := chi.NewRouteContext()
		rctx.RoutePath = r.URL.Path
		verbs.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx)))
	})
}

// audienceOf names the API a path of Register belongs to, the audience a
// self-signed JWT for it carries.
func audienceOf(path string) string {
	switch {
	case strings.HasSuffix(path, ":generateAccessToken"), strings.HasSuffix(path, ":generateIdToken"):
		return IAMCredentialsAudience
	case strings.Contains(path, "/serviceAccounts"):
		return IAMAudience
	case strings.HasSuffix(path, "/auditLogs"):
		return LoggingAudience
	default:
		return ResourceManagerAudience
	}
}

type apiFunc func(w http.ResponseWriter, r *http.Request, p Principal) error

// api authenticates the caller and turns returned errors into Google's
// error JSON.
func (m *IAM) api(fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := m.AuthenticateFor(r, audienceOf(r.URL.Path))
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			e := apierr.From(err)
			if e.Code == http.StatusInternalServerError {
				// The detail (file paths of the state) stays in the log.
				m.log.Error("IAM request failed", zap.String("path", r.URL.Path), zap.Error(err))
				e = apierr.Internal("Internal error encountered.")
			}
			apierr.Write(w, e)
		}
	})
}

func writeJSON(w http.ResponseWriter, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return apierr.Internal("encode response: %v", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(data)
	return nil
}

// decodeBody reads a JSON body into v; an empty body leaves v as is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierr.TooLarge("Request body is larger than %d bytes.", mbe.Limit)
		}
		return apierr.InvalidArgument("Cannot read request body: %v", err)
	}
	if strings.TrimSpace(string(raw)) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apierr.InvalidArgument("Invalid JSON payload received. %v", err)
	}
	return nil
}

const iamService = "iam.googleapis.com"

func iamMethod(name string) string { return "google.iam.admin.v1." + name }

// saProject is the project an account route acts on: the account's own
// when it exists (the path may say "-"), else the path's.
func (m *IAM) saProject(project, ref string) string {
	if a, err := m.GetServiceAccount("-", ref); err == nil {
		return a.ProjectID
	}
	return project
}

func (m *IAM) enforceSA(r *http.Request, p Principal, method, permission, project, ref string) error {
	res := "projects/" + m.saProject(project, ref) + "/serviceAccounts"
	if ref != "" {
		res += "/" + ref
	}
	return m.Enforce(r.Context(), p, Call{ServiceName: iamService, MethodName: iamMethod(method), Permission: permission, Resource: res})
}

func (m *IAM) createAccount(w http.ResponseWriter, r *http.Request, p Principal) error {
	project := r.PathValue("project")
	if err := m.enforceSA(r, p, "CreateServiceAccount", PermSACreate, project, ""); err != nil {
		return err
	}
	var in struct {
		AccountID      string `json:"accountId"`
		ServiceAccount struct {
			DisplayName string `json:"displayName"`
			Description string `json:"description"`
		} `json:"serviceAccount"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	sa, err := m.CreateServiceAccount(project, in.AccountID, in.ServiceAccount.DisplayName, in.ServiceAccount.Description)
	if err != nil {
		return err
	}
	return writeJSON(w, sa)
}

func (m *IAM) listAccounts(w http.ResponseWriter, r *http.Request, p Principal) error {
	project := r.PathValue("project")
	if err := m.enforceSA(r, p, "ListServiceAccounts", PermSAList, project, ""); err != nil {
		return err
	}
	all := m.ListServiceAccounts(project)
	page, next, err := paginate(r, len(all))
	if err != nil {
		return err
	}
	var out struct {
		Accounts      []ServiceAccount `json:"accounts,omitempty"`
		NextPageToken string           `json:"nextPageToken,omitempty"`
	}
	out.Accounts, out.NextPageToken = all[page[0]:page[1]], next
	return writeJSON(w, out)
}

// paginate reads pageSize/pageToken (an offset) over n items.
func paginate(r *http.Request, n int) ([2]int, string, error) {
	q := r.URL.Query()
	size := 100
	if s := q.Get("pageSize"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			return [2]int{}, "", apierr.InvalidArgument("Invalid pageSize %q.", s)
		}
		if v > 0 {
			size = min(v, 100)
		}
	}
	start := 0
	if t := q.Get("pageToken"); t != "" {
		v, err := strconv.Atoi(t)
		if err != nil || v < 0 || v > n {
			return [2]int{}, "", apierr.InvalidArgument("Invalid pageToken %q.", t)
		}
		start = v
	}
	end := min(start+size, n)
	next := ""
	if end < n {
		next = strconv.Itoa(end)
	}
	return [2]int{start, end}, next, nil
}

func (m *IAM) getAccount(w http.ResponseWriter, r *http.Request, p Principal) error {
	project, ref := r.PathValue("project"), r.PathValue("ref")
	if err := m.enforceSA(r, p, "GetServiceAccount", PermSAGet, project, ref); err != nil {
		return err
	}
	sa, err := m.GetServiceAccount(project, ref)
	if err != nil {
		return err
	}
	return writeJSON(w, sa)
}

func (m *IAM) deleteAccount(w http.ResponseWriter, r *http.Request, p Principal) error {
	project, ref := r.PathValue("project"), r.PathValue("ref")
	if err := m.enforceSA(r, p, "DeleteServiceAccount", PermSADelete, project, ref); err != nil {
		return err
	}
	if err := m.DeleteServiceAccount(project, ref); err != nil {
		return err
	}
	return writeJSON(w, struct{}{})
}

// setAccountDisabled serves POST …/serviceAccounts/{sa}:disable and
// :enable.
func (m *IAM) setAccountDisabled(disable bool) apiFunc {
	method, perm := "EnableServiceAccount", PermSAEnable
	if disable {
		method, perm = "DisableServiceAccount", PermSADisable
	}
	return func(w http.ResponseWriter, r *http.Request, p Principal) error {
		project, ref := r.PathValue("project"), r.PathValue("ref")
		if err := m.enforceSA(r, p, method, perm, project, ref); err != nil {
			return err
		}
		if err := m.SetServiceAccountDisabled(project, ref, disable); err != nil {
			return err
		}
		return writeJSON(w, struct{}{})
	}
}

// onAccount adapts a handler of the service account the path names.
func onAccount(fn func(w http.ResponseWriter, r *http.Request, p Principal, project, ref string) error) apiFunc {
	return func(w http.ResponseWriter, r *http.Request, p Principal) error {
		return fn(w, r, p, r.PathValue("project"), r.PathValue("ref"))
	}
}

// getAccountIamPolicy serves the IAM API's …/serviceAccounts/{sa}:getIamPolicy:
// the account's own policy (who may act as it, mint its tokens).
func (m *IAM) getAccountIamPolicy(w http.ResponseWriter, r *http.Request, p Principal, project, ref string) error {
	if err := m.enforceSA(r, p, "GetIamPolicy", PermSAGetIamPolicy, project, ref); err != nil {
		return err
	}
	pol, err := m.GetAccountPolicy(project, ref)
	if err != nil {
		return err
	}
	return writeJSON(w, pol)
}

// setAccountIamPolicy serves …/serviceAccounts/{sa}:setIamPolicy, the
// `gcloud iam service-accounts add-iam-policy-binding` path.
func (m *IAM) setAccountIamPolicy(w http.ResponseWriter, r *http.Request, p Principal, project, ref string) error {
	if err := m.enforceSA(r, p, "SetIamPolicy", PermSASetIamPolicy, project, ref); err != nil {
		return err
	}
	var in struct {
		Policy     *Policy `json:"policy"`
		UpdateMask string  `json:"updateMask"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if in.Policy == nil {
		return apierr.InvalidArgument("Request contains an invalid argument: policy is required.")
	}
	pol, err := m.SetAccountPolicy(project, ref, *in.Policy)
	if err != nil {
		return err
	}
	return writeJSON(w, pol)
}

func (m *IAM) createKey(w http.ResponseWriter, r *http.Request, p Principal) error {
	project, ref := r.PathValue("project"), r.PathValue("ref")
	if err := m.enforceSA(r, p, "CreateServiceAccountKey", PermKeyCreate, project, ref); err != nil {
		return err
	}
	var in struct {
		PrivateKeyType string `json:"privateKeyType"`
		KeyAlgorithm   string `json:"keyAlgorithm"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if t := in.PrivateKeyType; t != "" && t != "TYPE_UNSPECIFIED" && t != TypeCredentialsFile {
		return apierr.InvalidArgument("Unsupported privateKeyType %s: the emulated IAM issues %s only.", t, TypeCredentialsFile)
	}
	if a := in.KeyAlgorithm; a != "" && a != "KEY_ALG_UNSPECIFIED" && a != KeyAlgRSA2048 {
		return apierr.InvalidArgument("Unsupported keyAlgorithm %s: the emulated IAM issues %s only.", a, KeyAlgRSA2048)
	}
	key, _, err := m.CreateKey(project, ref)
	if err != nil {
		return err
	}
	return writeJSON(w, key)
}

func (m *IAM) listKeys(w http.ResponseWriter, r *http.Request, p Principal) error {
	project, ref := r.PathValue("project"), r.PathValue("ref")
	if err := m.enforceSA(r, p, "ListServiceAccountKeys", PermKeyList, project, ref); err != nil {
		return err
	}
	keys, err := m.ListKeys(project, ref)
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{"keys": keys})
}

func (m *IAM) getKey(w http.ResponseWriter, r *http.Request, p Principal) error {
	project, ref := r.PathValue("project"), r.PathValue("ref")
	if err := m.enforceSA(r, p, "GetServiceAccountKey", PermKeyGet, project, ref); err != nil {
		return err
	}
	withPublic := false
	switch t := r.URL.Query().Get("publicKeyType"); t {
	case "", "TYPE_NONE":
	case TypeX509PEM:
		withPublic = true
	default:
		return apierr.InvalidArgument("Unsupported publicKeyType %s.", t)
	}
	key, err := m.GetKey(project, ref, r.PathValue("id"), withPublic)
	if err != nil {
		return err
	}
	return writeJSON(w, key)
}

func (m *IAM) deleteKey(w http.ResponseWriter, r *http.Request, p Principal) error {
	project, ref := r.PathValue("project"), r.PathValue("ref")
	if err := m.enforceSA(r, p, "DeleteServiceAccountKey", PermKeyDelete, project, ref); err != nil {
		return err
	}
	if err := m.DeleteKey(project, ref, r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, struct{}{})
}

// resourceManager is the Resource Manager call of method on project.
func resourceManager(method, permission, project string) Call {
	return Call{ServiceName: "cloudresourcemanager.googleapis.com", MethodName: method, Permission: permission, Resource: "projects/" + project}
}

// getProjectIamPolicy serves Resource Manager's POST /v1/projects/{p}:getIamPolicy.
func (m *IAM) getProjectIamPolicy(w http.ResponseWriter, r *http.Request, p Principal) error {
	project := r.PathValue("project")
	if err := m.Enforce(r.Context(), p, resourceManager("GetIamPolicy", PermGetIamPolicy, project)); err != nil {
		return err
	}
	var in struct {
		Options *struct {
			RequestedPolicyVersion int `json:"requestedPolicyVersion"`
		} `json:"options"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	pol, err := m.GetPolicy(project)
	if err != nil {
		return err
	}
	return writeJSON(w, pol)
}

// setProjectIamPolicy serves Resource Manager's POST /v1/projects/{p}:setIamPolicy.
func (m *IAM) setProjectIamPolicy(w http.ResponseWriter, r *http.Request, p Principal) error {
	project := r.PathValue("project")
	if err := m.Enforce(r.Context(), p, resourceManager("SetIamPolicy", PermSetIamPolicy, project)); err != nil {
		return err
	}
	var in struct {
		Policy     *Policy `json:"policy"`
		UpdateMask string  `json:"updateMask"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if in.Policy == nil {
		return apierr.InvalidArgument("Request contains an invalid argument: policy is required.")
	}
	pol, err := m.SetPolicy(project, *in.Policy)
	if err != nil {
		return err
	}
	return writeJSON(w, pol)
}

func (m *IAM) listAudit(w http.ResponseWriter, r *http.Request, p Principal) error {
	project := r.PathValue("project")
	// Reading the log is not itself logged: tests poll it.
	if err := m.Authorize(r.Context(), p, PermListPrivateLogs, "//logging.googleapis.com/projects/"+project); err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 100
	if s := q.Get("pageSize"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			return apierr.InvalidArgument("Invalid pageSize %q.", s)
		}
		limit = min(v, DefaultAuditSize)
	}
	entries := m.AuditLog(AuditFilter{
		Project: project, Category: q.Get("category"),
		MethodName: q.Get("methodName"), Principal: q.Get("principalEmail"),
	})
	if len(entries) > limit {
		entries = entries[:limit]
	}
	return writeJSON(w, map[string]any{"entries": entries})
}

// serveCerts publishes an account's key certificates by key id, the
// document client_x509_cert_url names.
func (m *IAM) serveCerts(w http.ResponseWriter, r *http.Request) {
	certs, ok := m.Certificates(r.PathValue("email"))
	if !ok {
		apierr.Write(w, apierr.NotFound("Unknown service account %s", r.PathValue("email")))
		return
	}
	_ = writeJSON(w, certs)
}

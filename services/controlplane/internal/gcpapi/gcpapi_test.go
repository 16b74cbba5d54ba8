package gcpapi

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

type request struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeBody(t *testing.T) {
	const limit = 32
	for _, tc := range []struct {
		name     string
		body     string
		optional bool
		want     request
		code     int    // 0: no error
		msg      string // in the error message
	}{
		{"ok", `{"name":"a","count":2}`, false, request{Name: "a", Count: 2}, 0, ""},
		{"at the limit", `{"name":"` + strings.Repeat("x", limit-11) + `"}`, false, request{Name: strings.Repeat("x", limit-11)}, 0, ""},
		{"unknown field", `{"name":"a","extra":1}`, false, request{}, http.StatusBadRequest, `Invalid JSON payload received. json: unknown field "extra"`},
		{"wrong type", `{"count":"2"}`, false, request{}, http.StatusBadRequest, "Invalid JSON payload received."},
		{"malformed", `{"name":`, false, request{}, http.StatusBadRequest, "Invalid JSON payload received."},
		{"too large", `{"name":"` + strings.Repeat("x", limit) + `"}`, false, request{}, http.StatusRequestEntityTooLarge, "Request payload size exceeds the limit: 32 bytes."},
		{"empty", ``, false, request{}, http.StatusBadRequest, "Invalid JSON payload received. EOF"},
		{"optional: empty", ``, true, request{}, 0, ""},
		{"optional: white space", " \n\t", true, request{}, 0, ""},
		{"optional: unknown field", `{"other":1}`, true, request{}, http.StatusBadRequest, `unknown field "other"`},
		{"optional: too large", strings.Repeat(" ", limit+1), true, request{}, http.StatusRequestEntityTooLarge, "exceeds the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			decode := DecodeBody
			if tc.optional {
				decode = DecodeOptionalBody
			}
			var got request
			err := decode(httptest.NewRecorder(), r, limit, &got)
			if tc.code == 0 {
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
				return
			}
			var e *apierr.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tc.code, e.Code)
			require.Equal(t, "INVALID_ARGUMENT", e.Status)
			require.Contains(t, e.Message, tc.msg)
		})
	}
}

// fakeIAM knows one caller, "ok", allowed "perm" on projects/p and
// projects/q.
type fakeIAM struct{}

func (fakeIAM) AuthenticateFor(r *http.Request, audience string) (iam.Principal, error) {
	if r.Header.Get("Authorization") != "ok" || audience != "aud" {
		return iam.Principal{}, apierr.Unauthenticated("no credentials")
	}
	return iam.Principal{Name: "ok"}, nil
}

func (fakeIAM) Authorize(_ context.Context, p iam.Principal, permission, resource string) error {
	if p.Name == "ok" && permission == "perm" && (resource == "projects/p" || resource == "projects/q") {
		return nil
	}
	return apierr.PermissionDenied("denied on %s", resource)
}

func TestGate(t *testing.T) {
	exists := projectSet{"p": true}
	for _, tc := range []struct {
		name     string
		gate     Gate
		creds    string
		perm     string
		projects []string
		code     int // 0: admitted
	}{
		{"no IAM admits anyone", Gate{}, "", "perm", []string{"anything"}, 0},
		{"no IAM, unknown project", Gate{Projects: exists}, "", "perm", []string{"p", "nope"}, http.StatusNotFound},
		{"no credentials", Gate{Auth: fakeIAM{}, Audience: "aud"}, "", "perm", []string{"p"}, http.StatusUnauthorized},
		{"another audience", Gate{Auth: fakeIAM{}, Audience: "other"}, "ok", "perm", []string{"p"}, http.StatusUnauthorized},
		{"allowed", Gate{Auth: fakeIAM{}, Projects: exists, Audience: "aud"}, "ok", "perm", []string{"p"}, 0},
		{"no projects", Gate{Auth: fakeIAM{}, Audience: "aud"}, "ok", "perm", nil, 0},
		{"without the permission", Gate{Auth: fakeIAM{}, Audience: "aud"}, "ok", "other", []string{"p"}, http.StatusForbidden},
		{"one project denied", Gate{Auth: fakeIAM{}, Audience: "aud"}, "ok", "perm", []string{"p", "r"}, http.StatusForbidden},
		{"IAM before existence", Gate{Auth: fakeIAM{}, Projects: exists, Audience: "aud"}, "ok", "perm", []string{"r"}, http.StatusForbidden},
		{"allowed but gone", Gate{Auth: fakeIAM{}, Projects: exists, Audience: "aud"}, "ok", "perm", []string{"q"}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.creds != "" {
				r.Header.Set("Authorization", tc.creds)
			}
			p, err := tc.gate.Authenticate(r)
			if err == nil {
				if tc.gate.Auth == nil {
					require.Equal(t, iam.AdminPrincipal, p)
				}
				err = tc.gate.Authorize(r.Context(), p, tc.perm, tc.projects...)
			}
			if tc.code == 0 {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tc.code, apierr.From(err).Code, "%v", err)
		})
	}
}

type projectSet map[string]bool

func (s projectSet) ProjectExists(id string) bool { return s[id] }

func TestMethodNotAllowed(t *testing.T) {
	w := httptest.NewRecorder()
	MethodNotAllowed("GET, POST").ServeHTTP(w, httptest.NewRequest(http.MethodDelete, "/v3/x", nil))
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	require.Equal(t, "GET, POST", w.Header().Get("Allow"))
	require.Contains(t, w.Body.String(), "Method DELETE is not allowed on /v3/x; it takes GET, POST.")
}

func TestWriteJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		code int
		body string
	}{
		{"empty object", struct{}{}, http.StatusOK, `{}`},
		{"value", map[string]int{"a": 1}, http.StatusOK, `{"a":1}`},
		{"does not encode", math.Inf(1), http.StatusInternalServerError, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteJSON(w, tc.v)
			require.Equal(t, tc.code, w.Code)
			if tc.code != http.StatusOK {
				var e struct {
					Error struct{ Status string } `json:"error"`
				}
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), w.Body.String())
				require.Equal(t, "INTERNAL", e.Error.Status)
				return
			}
			require.Equal(t, "application/json; charset=UTF-8", w.Header().Get("Content-Type"))
			require.JSONEq(t, tc.body, w.Body.String())
		})
	}
}

func TestWriteCounter(t *testing.T) {
	for _, tc := range []struct {
		name string
		reg  *prometheus.Registry
	}{
		{"no registry", nil},
		{"registered", prometheus.NewRegistry()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reg prometheus.Registerer
			if tc.reg != nil {
				reg = tc.reg
			}
			c := WriteCounter(reg, "test_written_total", "Things written.")
			c.Add(3)
			require.Equal(t, 3.0, testutil.ToFloat64(c))
			if tc.reg != nil {
				n, err := testutil.GatherAndCount(tc.reg, "test_written_total")
				require.NoError(t, err)
				require.Equal(t, 1, n)
			}
		})
	}
}

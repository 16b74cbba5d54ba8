package mart

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func TestFlexibleNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{`123`, 123, true}, {`"123"`, 123, true}, {`"-1"`, -1, true}, {`null`, 0, true}, {`""`, 0, true},
		{`"soon"`, 0, false}, {`1.5`, 0, false},
	} {
		var v struct {
			N flexInt64 `json:"n"`
		}
		err := json.Unmarshal([]byte(`{"n":`+tc.in+`}`), &v)
		if !tc.ok {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, int64(v.N), tc.in)
	}
	var q struct {
		Quota flexString `json:"quota"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"quota":100}`), &q))
	require.Equal(t, flexString("100"), q.Quota)
	require.NoError(t, json.Unmarshal([]byte(`{"quota":"7"}`), &q))
	require.Equal(t, flexString("7"), q.Quota)
	require.Error(t, json.Unmarshal([]byte(`{"quota":[1]}`), &q))

	var k keyIn
	require.NoError(t, json.Unmarshal([]byte(`{"apiProducts":["a",{"apiproduct":"b","status":"approved"}]}`), &k))
	require.Equal(t, []string{"a", "b"}, productNames(k.APIProducts))
}

func TestParseFilter(t *testing.T) {
	f, err := parseFilter("appName=weather")
	require.NoError(t, err)
	require.Equal(t, appFilter{"appName": "weather"}, f)
	f, err = parseFilter(`developerEmail=a@b.com AND apiProduct="gold"`)
	require.NoError(t, err)
	require.Equal(t, appFilter{"developerEmail": "a@b.com", "apiProduct": "gold"}, f)
	_, err = parseFilter("color=blue")
	require.Error(t, err)
	_, err = parseFilter("appName")
	require.Error(t, err)

	app := &store.App{Name: "weather", DeveloperEmail: "a@b.com", Status: "approved",
		Credentials: []*store.Credential{{ConsumerKey: "k1", Status: "revoked", APIProducts: []store.ProductRef{{APIProduct: "gold"}}}}}
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{"appName=weather", true}, {"appName=other", false}, {"developerEmail=A@B.com", true},
		{"consumerKey=k1", true}, {"consumerKey=k2", false}, {"apiProduct=gold", true}, {"apiProduct=silver", false},
		{"keyStatus=revoked", true}, {"status=revoked", false}, {"appType=Developer", true}, {"appType=AppGroup", false},
	} {
		f, err := parseFilter(tc.filter)
		require.NoError(t, err)
		require.Equal(t, tc.want, f.match(app), tc.filter)
	}
}

func TestChecks(t *testing.T) {
	for _, email := range []string{"a@example.com", "first.last+tag@sub.example.org"} {
		require.NoError(t, checkEmail(email), email)
	}
	for _, email := range []string{"", "plain", "Ann <a@example.com>", "a@", "a b@example.com"} {
		require.Error(t, checkEmail(email), email)
	}
	for _, name := range []string{"app", "My App 1", "a.b-c_d$%"} {
		require.NoError(t, checkName("App", name), name)
	}
	for _, name := range []string{"", "a/b", " lead", "trail ", "..", "tab\tname", strings.Repeat("x", 256)} {
		require.Error(t, checkName("App", name), name)
	}
}

// Requests that fail before reaching the store: no Cassandra needed.
func TestRequestsRejectedBeforeTheStore(t *testing.T) {
	a, err := NewAPI(Options{Org: "org1", SharedSecret: "s", KMS: store.NewKMS(nil, store.EncryptionKeys{}), KVM: store.NewKVM(nil, store.EncryptionKeys{}), MaxBodyBytes: 64})
	require.NoError(t, err)
	for _, tc := range []struct {
		name, method, path, body string
		secret                   bool
		want                     int
		status                   string
	}{
		{"no secret", "GET", "/v1/organizations/org1/developers", "", false, 401, "UNAUTHENTICATED"},
		{"unknown path", "GET", "/v1/organizations/org1/widgets", "", true, 404, "NOT_FOUND"},
		{"wrong method", "PATCH", "/v1/organizations/org1/developers", "", true, 405, "UNIMPLEMENTED"},
		{"other org", "GET", "/v1/organizations/org2/developers", "", true, 404, "NOT_FOUND"},
		{"too large", "POST", "/v1/organizations/org1/developers", strings.Repeat("x", 100), true, 413, "INVALID_ARGUMENT"},
		{"malformed", "POST", "/v1/organizations/org1/developers", `{"email":`, true, 400, "INVALID_ARGUMENT"},
		{"bad email", "POST", "/v1/organizations/org1/developers", `{"email":"x"}`, true, 400, "INVALID_ARGUMENT"},
		{"bad count", "GET", "/v1/organizations/org1/apiproducts?count=0", "", true, 400, "INVALID_ARGUMENT"},
		{"bad action", "POST", "/v1/organizations/org1/developers/a@b.com?action=nap", "", true, 400, "INVALID_ARGUMENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.secret {
				req.Header.Set(SecretHeader, "s")
			}
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			var body struct {
				Error struct {
					Code   int    `json:"code"`
					Status string `json:"status"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			require.Equal(t, tc.want, body.Error.Code)
			require.Equal(t, tc.status, body.Error.Status)
			require.Equal(t, "application/json; charset=UTF-8", rec.Header().Get("Content-Type"))
		})
	}
}

func TestStoreErrorsMapToGoogleCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{&store.Error{Kind: store.ErrNotFound, Msg: "x"}, http.StatusNotFound},
		{&store.Error{Kind: store.ErrAlreadyExists, Msg: "x"}, http.StatusConflict},
		{&store.Error{Kind: store.ErrInvalid, Msg: "x"}, http.StatusBadRequest},
		{&store.Error{Kind: store.ErrConflict, Msg: "x"}, http.StatusConflict},
		{json.Unmarshal([]byte("{"), new(any)), http.StatusInternalServerError},
	} {
		require.Equal(t, tc.code, toAPIError(tc.err).Code, tc.err.Error())
	}
}

// TestLogsRedactUnknownQueryValues: the access log keeps the API's own
// query parameters and never the value of anything else a caller sent.
func TestLogsRedactUnknownQueryValues(t *testing.T) {
	q, err := url.ParseQuery("action=revoke&expand=true&apikey=abc123&access_token=tok&count=5")
	require.NoError(t, err)
	got := loggableQuery(q)
	require.Equal(t, "access_token=REDACTED&action=revoke&apikey=REDACTED&count=5&expand=true", got)
	require.NotContains(t, got, "abc123")
	require.Empty(t, loggableQuery(url.Values{}))
}

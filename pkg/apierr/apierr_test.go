package apierr_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

func TestConstructors(t *testing.T) {
	for _, tc := range []struct {
		e      *apierr.Error
		code   int
		status string
	}{
		{apierr.InvalidArgument("x %d", 1), 400, "INVALID_ARGUMENT"},
		{apierr.FailedPrecondition("x %d", 1), 400, "FAILED_PRECONDITION"},
		{apierr.NotFound("x %d", 1), 404, "NOT_FOUND"},
		{apierr.AlreadyExists("x %d", 1), 409, "ALREADY_EXISTS"},
		{apierr.Aborted("x %d", 1), 409, "ABORTED"},
		{apierr.Unauthenticated("x %d", 1), 401, "UNAUTHENTICATED"},
		{apierr.PermissionDenied("x %d", 1), 403, "PERMISSION_DENIED"},
		{apierr.TooLarge("x %d", 1), 413, "INVALID_ARGUMENT"},
		{apierr.Unimplemented("x %d", 1), 405, "UNIMPLEMENTED"},
		{apierr.Unavailable("x %d", 1), 503, "UNAVAILABLE"},
		{apierr.Internal("x %d", 1), 500, "INTERNAL"},
		{apierr.New(418, "TEAPOT", "x %d", 1), 418, "TEAPOT"},
	} {
		require.Equal(t, &apierr.Error{Code: tc.code, Status: tc.status, Message: "x 1"}, tc.e)
		require.Equal(t, fmt.Sprintf("%d %s: x 1", tc.code, tc.status), tc.e.Error())
	}
}

func TestFrom(t *testing.T) {
	nf := apierr.NotFound("gone")
	require.Same(t, nf, apierr.From(nf))
	require.Same(t, nf, apierr.From(fmt.Errorf("wrapped: %w", nf)))
	require.Equal(t, apierr.Internal("boom"), apierr.From(errors.New("boom")))
}

func TestWrite(t *testing.T) {
	w := httptest.NewRecorder()
	apierr.Write(w, apierr.NotFound(`Proxy "a<b>&c" not found.`))
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Equal(t, "application/json; charset=UTF-8", w.Header().Get("Content-Type"))
	require.Empty(t, w.Header().Get("WWW-Authenticate"))
	require.Equal(t, `{"error":{"code":404,"message":"Proxy \"a\u003cb\u003e\u0026c\" not found.","status":"NOT_FOUND"}}`+"\n", w.Body.String())

	w = httptest.NewRecorder()
	apierr.Write(w, errors.New("disk full"))
	require.Equal(t, http.StatusInternalServerError, w.Code)
	require.Equal(t, `{"error":{"code":500,"message":"disk full","status":"INTERNAL"}}`+"\n", w.Body.String())

	w = httptest.NewRecorder()
	apierr.Write(w, apierr.Unauthenticated("who?"))
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Equal(t, `Bearer realm="https://accounts.google.com/"`, w.Header().Get("WWW-Authenticate"))
}

func TestWriterFraming(t *testing.T) {
	mart := apierr.Writer{Realm: "apigee-mart"}
	w := httptest.NewRecorder()
	mart.Write(w, apierr.Unauthenticated("no secret"))
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Equal(t, `Bearer realm="apigee-mart"`, w.Header().Get("WWW-Authenticate"))
	require.Equal(t, `{"error":{"code":401,"message":"no secret","status":"UNAUTHENTICATED"}}`, w.Body.String())

	w = httptest.NewRecorder()
	apierr.Writer{}.Write(w, apierr.Unauthenticated("no realm"))
	require.Empty(t, w.Header().Get("WWW-Authenticate"))
	require.Equal(t, `{"error":{"code":401,"message":"no realm","status":"UNAUTHENTICATED"}}`, w.Body.String())
}

func TestDetailsJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    *apierr.Error
		want string
	}{
		{"none", apierr.NotFound("gone"),
			`{"error":{"code":404,"message":"gone","status":"NOT_FOUND"}}`},
		{"empty slice", &apierr.Error{Code: 400, Status: "INVALID_ARGUMENT", Message: "x", Details: []any{}},
			`{"error":{"code":400,"message":"x","status":"INVALID_ARGUMENT"}}`},
		{"bad request", apierr.InvalidField("name", "Invalid name %q.", "a b"),
			`{"error":{"code":400,"message":"Invalid name \"a b\".","status":"INVALID_ARGUMENT","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"name","description":"Invalid name \"a b\"."}]}]}}`},
		{"error info", apierr.IAMPermissionDenied("apigee.developers.create", "organizations/x", "Permission '%s' denied.", "apigee.developers.create"),
			`{"error":{"code":403,"message":"Permission 'apigee.developers.create' denied.","status":"PERMISSION_DENIED","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"IAM_PERMISSION_DENIED","domain":"iam.googleapis.com",` +
				`"metadata":{"permission":"apigee.developers.create","resource":"organizations/x"}}]}}`},
		{"resource info", apierr.NotFound("Proxy p not found.").With(apierr.Resource("apiproxy", "organizations/x/apis/p")),
			`{"error":{"code":404,"message":"Proxy p not found.","status":"NOT_FOUND","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.ResourceInfo","resourceType":"apiproxy","resourceName":"organizations/x/apis/p"}]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			apierr.Writer{}.Write(w, tc.e)
			require.Equal(t, tc.e.Code, w.Code)
			require.Equal(t, tc.want, w.Body.String())
		})
	}
}

func TestWithCopies(t *testing.T) {
	base := apierr.NotFound("gone")
	d := base.With(apierr.Resource("t", "n"))
	require.Nil(t, base.Details)
	require.Len(t, d.Details, 1)
	require.Equal(t, base.Message, d.Message)
}

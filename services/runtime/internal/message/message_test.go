package message

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRequestVariables(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/items?a=1&b=x%20y&a=2", strings.NewReader("f=1&g=two"))
	r.Host = "api.example.com"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Add("Accept", "text/plain, application/json")
	r.Header.Add("Accept", "text/html")
	r.Header.Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
	m := FromRequest(r)
	tests := []struct {
		name string
		want any
	}{
		{"verb", "POST"},
		{"path", "/v1/items"},
		{"querystring", "a=1&b=x+y&a=2"},
		{"uri", "/v1/items?a=1&b=x+y&a=2"},
		{"url", "http://api.example.com/v1/items?a=1&b=x+y&a=2"},
		{"queryparam.a", "1"},
		{"queryparam.a.2", "2"},
		{"queryparam.a.values", []string{"1", "2"}},
		{"queryparam.a.values.count", 2},
		{"queryparam.b", "x y"},
		{"queryparams.count", 2},
		{"queryparams.names", []string{"a", "b"}},
		{"header.accept", "text/plain"},
		{"header.Accept.values", []string{"text/plain", "application/json", "text/html"}},
		{"header.Accept.values.count", 3},
		{"header.Accept.3", "text/html"},
		{"header.Accept.values.string", "text/plain, application/json, text/html"},
		{"header.Date", "Mon, 02 Jan 2006 15:04:05 GMT"},
		{"formparam.g", "two"},
		{"formparams.count", 2},
		{"formstring", "f=1&g=two"},
		{"content", "f=1&g=two"},
	}
	for _, tt := range tests {
		got, ok := m.Lookup(tt.name)
		require.True(t, ok, tt.name)
		require.Equal(t, tt.want, got, tt.name)
	}
	_, ok := m.Lookup("header.missing")
	require.False(t, ok)
	_, ok = m.Lookup("status.code")
	require.False(t, ok, "a request has no status")
}

func TestSetAndReadOnly(t *testing.T) {
	m := NewRequest()
	require.NoError(t, m.Set("header.X-A", "1"))
	require.NoError(t, m.Set("queryparam.q", "v w"))
	require.NoError(t, m.Set("formparam.f", "1"))
	require.NoError(t, m.Set("verb", "put"))
	require.Equal(t, "PUT", m.Method)
	require.Equal(t, "q=v+w", m.QueryString())
	require.Equal(t, "f=1", m.ContentString())
	require.Equal(t, "application/x-www-form-urlencoded", m.Header.Get("Content-Type"))
	require.NoError(t, m.Set("header.X-A", nil))
	require.Empty(t, m.Header.Get("X-A"))
	for _, ro := range []string{"uri", "url", "header.X.values", "queryparams.count", "formstring"} {
		require.ErrorIs(t, m.Set(ro, "x"), ErrReadOnly, ro)
	}
	require.ErrorIs(t, m.Set("nonsense", "x"), ErrNotFound)

	resp := NewResponse()
	require.NoError(t, resp.Set("status.code", "404"))
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, "Not Found", resp.ReasonPhrase())
	require.Error(t, resp.Set("status.code", "abc"))
}

func TestContentIsReadLazilyAndOnce(t *testing.T) {
	resp := &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: io.NopCloser(strings.NewReader("payload"))}
	m := FromResponse(resp)
	require.False(t, m.Loaded())
	body, n, stream := m.Body()
	require.True(t, stream, "unread content is handed on as the stream")
	require.Equal(t, int64(-1), n)
	b, _ := io.ReadAll(body)
	require.Equal(t, "payload", string(b))

	m = FromResponse(&http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("payload"))})
	require.Equal(t, "payload", m.ContentString())
	require.True(t, m.Loaded())
	_, n, stream = m.Body()
	require.False(t, stream)
	require.Equal(t, int64(7), n)
}

func TestToString(t *testing.T) {
	for _, tt := range []struct {
		in   any
		want string
	}{{nil, ""}, {"s", "s"}, {true, "true"}, {42, "42"}, {int64(7), "7"}, {2.0, "2"}, {2.5, "2.5"}, {[]string{"a", "b"}, "[a, b]"}, {[]byte("x"), "x"}} {
		require.Equal(t, tt.want, ToString(tt.in))
	}
}

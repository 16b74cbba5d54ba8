package server_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
)

// apis.patch (labels, the only field a client may change) and apis.list's
// includeRevisions / includeMetaData, through Google's Go client.
func TestAPIProxyLabelsAndListOptions(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const org = "organizations/hybrid"
	_, err := api.Organizations.Apis.Create(org, &apigee.GoogleApiHttpBody{
		ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString(proxyZip(t, "labelled", "/labelled")),
	}).Action("import").Name("labelled").Do()
	require.NoError(t, err)

	p, err := api.Organizations.Apis.Patch(org+"/apis/labelled", &apigee.GoogleCloudApigeeV1ApiProxy{
		Labels: map[string]string{"team": "payments", "tier": "gold", "empty": ""},
	}).UpdateMask("labels").Do()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"team": "payments", "tier": "gold", "empty": ""}, p.Labels)
	got, err := api.Organizations.Apis.Get(org + "/apis/labelled").Do()
	require.NoError(t, err)
	require.Equal(t, p.Labels, got.Labels, "labels are stored")
	require.Equal(t, []string{"1"}, got.Revision)

	// The labels sent replace the old ones.
	p, err = api.Organizations.Apis.Patch(org+"/apis/labelled", &apigee.GoogleCloudApigeeV1ApiProxy{
		Labels: map[string]string{"team": "risk"},
	}).UpdateMask("labels").Do()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"team": "risk"}, p.Labels)

	for _, tc := range []struct {
		name, mask string
		labels     map[string]string
		want       string
	}{
		{"no mask", "", map[string]string{"a": "b"}, "updateMask is required"},
		{"other field", "name", map[string]string{"a": "b"}, `updateMask field "name" cannot be changed`},
		{"upper-case key", "labels", map[string]string{"Team": "x"}, `Label key "Team" is invalid`},
		{"key starting with a digit", "labels", map[string]string{"1a": "x"}, `Label key "1a" is invalid`},
		{"value with a space", "labels", map[string]string{"a": "b c"}, `Label value "b c" of key "a" is invalid`},
		{"value too long", "labels", map[string]string{"a": strings.Repeat("v", 64)}, "is invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call := api.Organizations.Apis.Patch(org+"/apis/labelled", &apigee.GoogleCloudApigeeV1ApiProxy{Labels: tc.labels})
			if tc.mask != "" {
				call = call.UpdateMask(tc.mask)
			}
			_, err := call.Do()
			ge := requireAPIError(t, err, http.StatusBadRequest)
			require.Contains(t, ge.Message, tc.want)
		})
	}
	many := map[string]string{}
	for i := 0; i < 65; i++ {
		many["k"+strings.Repeat("x", i)] = "v"
	}
	_, err = api.Organizations.Apis.Patch(org+"/apis/labelled", &apigee.GoogleCloudApigeeV1ApiProxy{Labels: many}).UpdateMask("labels").Do()
	requireAPIError(t, err, http.StatusBadRequest)
	got, err = api.Organizations.Apis.Get(org + "/apis/labelled").Do()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"team": "risk"}, got.Labels, "a refused patch changes nothing")

	_, err = api.Organizations.Apis.Patch(org+"/apis/nope", &apigee.GoogleCloudApigeeV1ApiProxy{}).UpdateMask("labels").Do()
	requireAPIError(t, err, http.StatusNotFound)

	// List options.
	list, err := api.Organizations.Apis.List(org).Do()
	require.NoError(t, err)
	require.Len(t, list.Proxies, 1)
	require.Equal(t, []string{"1"}, list.Proxies[0].Revision)
	require.NotNil(t, list.Proxies[0].MetaData)
	require.Equal(t, map[string]string{"team": "risk"}, list.Proxies[0].Labels)
	list, err = api.Organizations.Apis.List(org).IncludeRevisions(false).IncludeMetaData(false).Do()
	require.NoError(t, err)
	require.Empty(t, list.Proxies[0].Revision)
	require.Nil(t, list.Proxies[0].MetaData)
	require.Equal(t, "labelled", list.Proxies[0].Name)
	_, err = api.Organizations.Apis.List(org).IncludeRevisions(true).IncludeMetaData(true).Do()
	require.NoError(t, err)
}

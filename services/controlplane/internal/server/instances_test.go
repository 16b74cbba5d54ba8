package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
)

// organizations.instances and their attachments through Google's Go
// client: long-running operations that finish at once, the real shapes,
// and clear errors for bad names, duplicates and unknown references.
func TestInstancesAndAttachments(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const org = "organizations/hybrid"

	op, err := api.Organizations.Instances.Create(org, &apigee.GoogleCloudApigeeV1Instance{
		Name: "us-east", Location: "us-east1", DisplayName: "US East", Description: "first region",
	}).Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	require.Contains(t, string(op.Response), `"@type":"type.googleapis.com/google.cloud.apigee.v1.Instance"`)
	require.Contains(t, string(op.Metadata), `"targetResourceName":"organizations/hybrid/instances/us-east"`)
	_, err = api.Organizations.Instances.Create(org, &apigee.GoogleCloudApigeeV1Instance{Name: "eu-west", Location: "europe-west1"}).Do()
	require.NoError(t, err)

	inst, err := api.Organizations.Instances.Get(org + "/instances/us-east").Do()
	require.NoError(t, err)
	require.Equal(t, "us-east1", inst.Location)
	require.Equal(t, "ACTIVE", inst.State)
	require.Equal(t, "US East", inst.DisplayName)
	require.NotZero(t, inst.CreatedAt)
	list, err := api.Organizations.Instances.List(org).Do()
	require.NoError(t, err)
	require.Len(t, list.Instances, 2)
	require.Equal(t, "eu-west", list.Instances[0].Name)

	// An environment can run on a subset of instances.
	aop, err := api.Organizations.Instances.Attachments.Create(org+"/instances/us-east", &apigee.GoogleCloudApigeeV1InstanceAttachment{Environment: "test"}).Do()
	require.NoError(t, err)
	require.True(t, aop.Done)
	atts, err := api.Organizations.Instances.Attachments.List(org + "/instances/us-east").Do()
	require.NoError(t, err)
	require.Len(t, atts.Attachments, 1)
	require.Equal(t, "test", atts.Attachments[0].Environment)
	id := atts.Attachments[0].Name
	att, err := api.Organizations.Instances.Attachments.Get(org + "/instances/us-east/attachments/" + id).Do()
	require.NoError(t, err)
	require.Equal(t, "test", att.Environment)
	none, err := api.Organizations.Instances.Attachments.List(org + "/instances/eu-west").Do()
	require.NoError(t, err)
	require.Empty(t, none.Attachments)

	for _, tc := range []struct {
		name string
		call func() error
		code int
	}{
		{"bad name", func() error {
			_, err := api.Organizations.Instances.Create(org, &apigee.GoogleCloudApigeeV1Instance{Name: "Bad_Name", Location: "x"}).Do()
			return err
		}, http.StatusBadRequest},
		{"no location", func() error {
			_, err := api.Organizations.Instances.Create(org, &apigee.GoogleCloudApigeeV1Instance{Name: "nowhere"}).Do()
			return err
		}, http.StatusBadRequest},
		{"duplicate instance", func() error {
			_, err := api.Organizations.Instances.Create(org, &apigee.GoogleCloudApigeeV1Instance{Name: "us-east", Location: "us-east1"}).Do()
			return err
		}, http.StatusConflict},
		{"environment attached twice", func() error {
			_, err := api.Organizations.Instances.Attachments.Create(org+"/instances/us-east", &apigee.GoogleCloudApigeeV1InstanceAttachment{Environment: "test"}).Do()
			return err
		}, http.StatusConflict},
		{"unknown environment", func() error {
			_, err := api.Organizations.Instances.Attachments.Create(org+"/instances/us-east", &apigee.GoogleCloudApigeeV1InstanceAttachment{Environment: "nope"}).Do()
			return err
		}, http.StatusNotFound},
		{"unknown instance", func() error {
			_, err := api.Organizations.Instances.Get(org + "/instances/nope").Do()
			return err
		}, http.StatusNotFound},
		{"unknown attachment", func() error {
			_, err := api.Organizations.Instances.Attachments.Delete(org + "/instances/us-east/attachments/nope").Do()
			return err
		}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) { requireAPIError(t, tc.call(), tc.code) })
	}

	_, err = api.Organizations.Instances.Attachments.Delete(org + "/instances/us-east/attachments/" + id).Do()
	require.NoError(t, err)
	atts, err = api.Organizations.Instances.Attachments.List(org + "/instances/us-east").Do()
	require.NoError(t, err)
	require.Empty(t, atts.Attachments)
	_, err = api.Organizations.Instances.Delete(org + "/instances/eu-west").Do()
	require.NoError(t, err)
	list, err = api.Organizations.Instances.List(org).Do()
	require.NoError(t, err)
	require.Len(t, list.Instances, 1)

}

//go:build integration

package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// An environment attached only to instance east is not served by west,
// though west's processes are configured with it (as a hybrid overrides
// file lists envs): west's message processor holds the contract and
// answers ApplicationNotFound, and the deployment is READY on east alone.
// Attaching the environment to west makes west serve it, and detaching it
// from east stops east, with no restart.
func TestEnvironmentServedOnlyByAttachedInstances(t *testing.T) {
	t.Parallel()
	be := backend(t)
	const host = "instances.e2e.example.com"
	c := h.StartCluster(t, harness.Options{})
	svc := orgAdminClient(t, c)
	attachHost(t, svc, c, "regional", host)
	makeRegionInstance(t, svc, c, "east", "local-east")
	op, err := svc.Organizations.Instances.Create("organizations/"+c.Org,
		&apigee.GoogleCloudApigeeV1Instance{Name: "west", Location: "local-west"}).Do()
	require.NoError(t, err)
	require.True(t, op.Done)

	east := startRegion(t, c, "east", h.CassandraArgs())
	west := startRegion(t, c, "west", h.CassandraArgs())
	rev := importProxy(t, svc, c, "regional", bundletest.Zip(t, bundletest.Proxy("regional", "/regional", be.URL)))
	deployAndWait(t, svc, c, "regional", rev)

	got := send(t, east.TrafficURL(), "GET", host, "/regional/x", nil, "")
	require.Equal(t, http.StatusOK, got.status, got.body)
	got = send(t, west.TrafficURL(), "GET", host, "/regional/x", nil, "")
	require.Equal(t, http.StatusNotFound, got.status, got.body)
	require.Equal(t, "messaging.adaptors.http.flow.ApplicationNotFound", faultCode(t, got.body))
	require.Contains(t, west.Runtime.Log(), "environment not attached to this instance")
	// The watchers publish the group's routes on east only.
	require.Eventually(t, func() bool { return publishesGroup(t, east, "regional") }, time.Minute, 100*time.Millisecond)
	require.False(t, publishesGroup(t, west, "regional"), "west's watcher publishes no route to an environment it does not run")

	d, err := svc.Organizations.Environments.Apis.Revisions.GetDeployments(revisionPath(c, "regional", rev)).Do()
	require.NoError(t, err)
	require.Equal(t, "READY", d.State)
	require.Equal(t, []string{"east"}, deploymentInstances(d), "only the attached instance runs it")

	// Attach the environment to west: a new contract version, which west's
	// message processor serves.
	op, err = svc.Organizations.Instances.Attachments.Create("organizations/"+c.Org+"/instances/west",
		&apigee.GoogleCloudApigeeV1InstanceAttachment{Environment: c.Env}).Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	requireServes(t, west, host, http.StatusOK)
	require.Eventually(t, func() bool { return publishesGroup(t, west, "regional") }, time.Minute, 100*time.Millisecond)
	require.Eventually(t, func() bool {
		d, err := svc.Organizations.Environments.Apis.Revisions.GetDeployments(revisionPath(c, "regional", rev)).Do()
		return err == nil && d.State == "READY" && len(deploymentInstances(d)) == 2
	}, time.Minute, 100*time.Millisecond, "both attached instances report the deployment")

	// Detach it from east: east stops serving it.
	list, err := svc.Organizations.Instances.Attachments.List("organizations/" + c.Org + "/instances/east").Do()
	require.NoError(t, err)
	require.Len(t, list.Attachments, 1)
	_, err = svc.Organizations.Instances.Attachments.Delete("organizations/" + c.Org + "/instances/east/attachments/" + list.Attachments[0].Name).Do()
	require.NoError(t, err)
	requireServes(t, east, host, http.StatusNotFound)
	requireServes(t, west, host, http.StatusOK)
}

// requireServes waits until the region's message processor answers
// /regional/x on host with status.
func requireServes(tb testing.TB, r *region, host string, status int) {
	tb.Helper()
	require.Eventually(tb, func() bool {
		return send(tb, r.TrafficURL(), "GET", host, "/regional/x", nil, "").status == status
	}, time.Minute, 100*time.Millisecond, "%s: /regional/x never answered %d", r.Instance, status)
}

// deploymentInstances names the instances a deployment status lists.
func deploymentInstances(d *apigee.GoogleCloudApigeeV1Deployment) []string {
	var out []string
	for _, in := range d.Instances {
		out = append(out, in.Instance)
	}
	return out
}

// publishesGroup reports whether the region's watcher publishes an
// ApigeeRoute for the environment group.
func publishesGroup(tb testing.TB, r *region, group string) bool {
	tb.Helper()
	resp, err := http.Get(r.Watcher.URL("main") + "/v1/watcher/routes")
	require.NoError(tb, err)
	defer resp.Body.Close()
	var routes struct {
		Items []struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		} `json:"items"`
	}
	require.NoError(tb, json.NewDecoder(resp.Body).Decode(&routes))
	for _, it := range routes.Items {
		if it.Metadata.Labels["envgroup"] == group {
			return true
		}
	}
	return false
}

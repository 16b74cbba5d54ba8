//go:build integration

package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// createInstance makes a runtime instance and attaches the cluster's
// environment to it, through Google's Go client.
func createInstance(tb testing.TB, svc *apigee.Service, c *harness.Cluster, name string) {
	tb.Helper()
	op, err := svc.Organizations.Instances.Create("organizations/"+c.Org,
		&apigee.GoogleCloudApigeeV1Instance{Name: name, Location: "local-" + name}).Do()
	require.NoError(tb, err)
	require.True(tb, op.Done)
	op, err = svc.Organizations.Instances.Attachments.Create("organizations/"+c.Org+"/instances/"+name,
		&apigee.GoogleCloudApigeeV1InstanceAttachment{Environment: c.Env}).Do()
	require.NoError(tb, err)
	require.True(tb, op.Done)
}

type watcherStatus struct {
	Instance string `json:"instance"`
	Leader   bool   `json:"leader"`
	Holder   string `json:"holder"`
}

func leaderOf(tb testing.TB, w *harness.Process) watcherStatus {
	var st watcherStatus
	getJSON(tb, w.URL("main")+"/v1/watcher/status", &st)
	return st
}

// A deployment is READY only when every instance the environment is
// attached to has loaded it: with one of two attached instances silent it
// stays PROGRESSING though the other reports it READY.
func TestDeploymentReadyOnlyOnEveryAttachedInstance(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	createInstance(t, svc, c, "region-a")
	createInstance(t, svc, c, "region-b")
	a := c.StartWatcher(t, "--instanceID", "region-a", "--lease.term", "2s")
	a.WaitReady(t, time.Minute)

	be := backend(t)
	rev := importProxy(t, svc, c, "attached", proxyZip(t, "attached", "/attached", be.URL))
	_, err := svc.Organizations.Environments.Apis.Revisions.Deploy(revisionPath(c, "attached", rev)).Do()
	require.NoError(t, err)
	var d *apigee.GoogleCloudApigeeV1Deployment
	require.Eventually(t, func() bool {
		d, err = svc.Organizations.Environments.Apis.Revisions.GetDeployments(revisionPath(c, "attached", rev)).Do()
		return err == nil && slices.ContainsFunc(d.Instances, func(i *apigee.GoogleCloudApigeeV1InstanceDeploymentStatus) bool {
			return i.Instance == "region-a"
		})
	}, 30*time.Second, 20*time.Millisecond, "region-a never reported the deployment")
	require.Equal(t, "PROGRESSING", d.State, "region-b is attached and has not reported")
	require.Len(t, d.Instances, 1, "the cluster's own watcher reports as an instance the environment is not attached to: it does not count")

	b := c.StartWatcher(t, "--instanceID", "region-b", "--lease.term", "2s")
	b.WaitReady(t, time.Minute)
	d = waitDeploymentState(t, svc, c, "attached", rev, "READY")
	require.Len(t, d.Instances, 2)
}

// One watcher per instance reports: a second one waits, and takes over
// when the first dies without releasing its lease (or at once when it
// stops cleanly and releases it).
func TestWatcherLeaseFailover(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	createInstance(t, svc, c, "failover")
	args := []string{"--instanceID", "failover", "--lease.term", "2s", "--lease.retryPeriod", "200ms"}
	first := c.StartWatcher(t, append(args, "--lease.holder", "first")...)
	first.WaitReady(t, time.Minute)
	require.Eventually(t, func() bool { return leaderOf(t, first).Leader }, 20*time.Second, 50*time.Millisecond)
	second := c.StartWatcher(t, append(args, "--lease.holder", "second")...)
	second.WaitReady(t, time.Minute)
	require.Eventually(t, func() bool { return leaderOf(t, second).Holder == "first" }, 20*time.Second, 50*time.Millisecond)
	require.False(t, leaderOf(t, second).Leader, "one active watcher per instance")

	first.Kill(t)
	require.Eventually(t, func() bool { return leaderOf(t, second).Leader }, 20*time.Second, 50*time.Millisecond,
		"the waiting watcher never took over")

	// Only "failover" decides the environment's deployments now: a deploy
	// turns READY through the second watcher's reports.
	be := backend(t)
	rev := importProxy(t, svc, c, "failover", proxyZip(t, "failover", "/failover", be.URL))
	deployAndWait(t, svc, c, "failover", rev)

	require.Equal(t, 1.0, metric(t, second, "watcher_pods_ready", `component="runtime"`))
	require.Equal(t, 1.0, metric(t, second, "watcher_pods", `component="runtime"`))
	require.Equal(t, 1.0, metric(t, second, "watcher_leader"))

	// A clean stop releases the lease: a third watcher takes it at once.
	third := c.StartWatcher(t, append(args, "--lease.holder", "third", "--lease.term", "1m")...)
	third.WaitReady(t, time.Minute)
	second.Stop(t)
	require.Contains(t, second.Log(), "released the watcher lease")
	require.Eventually(t, func() bool { return leaderOf(t, third).Leader }, 10*time.Second, 50*time.Millisecond,
		"a released lease is taken without waiting out its term")
}

// The deployed ingress configuration (Google's Go client) lists each
// group's hostnames and base paths; the watcher publishes them as
// ApigeeRoutes, and a base path deployed in two environments of a group
// is routed to the first, the second listed as another target.
func TestDeployedIngressConfigAndRoutes(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	const host = "ingress.e2e.example.com"
	attachHost(t, svc, c, "ingress", host)
	be := backend(t)
	rev := importProxy(t, svc, c, "routed", proxyZip(t, "routed", "/routed", be.URL))
	deployAndWait(t, svc, c, "routed", rev)

	ic, err := svc.Organizations.GetDeployedIngressConfig("organizations/" + c.Org + "/deployedIngressConfig").View("FULL").Do()
	require.NoError(t, err)
	require.Equal(t, "organizations/"+c.Org+"/deployedIngressConfig", ic.Name)
	var group *apigee.GoogleCloudApigeeV1EnvironmentGroupConfig
	for _, g := range ic.EnvironmentGroups {
		if g.Name == "organizations/"+c.Org+"/envgroups/ingress" {
			group = g
		}
	}
	require.NotNil(t, group, "groups: %+v", ic.EnvironmentGroups)
	require.Equal(t, []string{host}, group.Hostnames)
	require.Len(t, group.RoutingRules, 1)
	rule := group.RoutingRules[0]
	require.Equal(t, "/routed", rule.Basepath)
	require.Equal(t, "organizations/"+c.Org+"/environments/"+c.Env, rule.Environment)
	require.Equal(t, "organizations/"+c.Org+"/apis/routed/revisions/"+rev, rule.Receiver)

	basic, err := svc.Organizations.Envgroups.GetDeployedIngressConfig("organizations/" + c.Org + "/envgroups/ingress/deployedIngressConfig").Do()
	require.NoError(t, err)
	require.Empty(t, basic.RoutingRules[0].Receiver, "the BASIC view leaves out the receiver")

	_, err = svc.Organizations.GetDeployedIngressConfig("organizations/" + c.Org + "/deployedIngressConfig").View("EVERYTHING").Do()
	require.ErrorContains(t, err, "view")

	// The same base path in a second environment of the group.
	op, err := svc.Organizations.Environments.Create("organizations/"+c.Org, &apigee.GoogleCloudApigeeV1Environment{Name: "second"}).Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	op, err = svc.Organizations.Envgroups.Attachments.Create("organizations/"+c.Org+"/envgroups/ingress",
		&apigee.GoogleCloudApigeeV1EnvironmentGroupAttachment{Environment: "second"}).Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	_, err = svc.Organizations.Environments.Apis.Revisions.Deploy("organizations/" + c.Org + "/environments/second/apis/routed/revisions/" + rev).Do()
	require.NoError(t, err)
	ic, err = svc.Organizations.GetDeployedIngressConfig("organizations/" + c.Org + "/deployedIngressConfig").Do()
	require.NoError(t, err)
	for _, g := range ic.EnvironmentGroups {
		if strings.HasSuffix(g.Name, "/ingress") {
			require.Len(t, g.RoutingRules, 1)
			require.Equal(t, []string{"organizations/" + c.Org + "/environments/second"}, g.RoutingRules[0].OtherTargets)
		}
	}

	var routes struct {
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Hostnames []string `json:"hostnames"`
				Rules     []struct {
					Basepath     string   `json:"basepath"`
					Environment  string   `json:"environment"`
					OtherTargets []string `json:"otherTargets"`
				} `json:"rules"`
			} `json:"spec"`
		} `json:"items"`
	}
	require.Eventually(t, func() bool {
		getJSON(t, c.Watcher.URL("main")+"/v1/watcher/routes", &routes)
		for _, r := range routes.Items {
			if r.Metadata.Name == c.Org+"-ingress" && len(r.Spec.Rules) == 1 && len(r.Spec.Rules[0].OtherTargets) == 1 {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "the watcher never published the group's route: %+v", routes)
	for _, r := range routes.Items {
		if r.Metadata.Name == c.Org+"-ingress" {
			require.Equal(t, "ApigeeRoute", r.Kind)
			require.Equal(t, []string{host}, r.Spec.Hostnames)
			require.Equal(t, "/routed", r.Spec.Rules[0].Basepath)
			require.Equal(t, c.Env, r.Spec.Rules[0].Environment)
		}
	}
}

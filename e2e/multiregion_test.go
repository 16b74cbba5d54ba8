//go:build integration

package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
)

// Two instances (regions) of one org over one two-datacenter Cassandra:
// region-1 runs on datacenter dc1 (the harness's node), region-2 on dc2
// (HYBRID_CASSANDRA_DC2), each with its own synchronizer, message processor
// and watcher; MART (org-wide) writes through dc1. A deploy is served by
// both regions, the contract is downloaded from the control plane once
// (the other synchronizer finds it in Cassandra), an API key made through
// MART in dc1 is honoured by region-2's message processor, and every
// keyspace of the org is replicated to both datacenters.
func TestMultiRegionTwoInstancesOverTwoDatacenters(t *testing.T) {
	host2, port2 := cassandratest.DC2(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	both := map[string]int{"dc1": 1, "dc2": 1}

	// The bookkeeping keyspace goes to both datacenters before the org's
	// schema is recorded in it, so region-2 sees the org's schema as
	// applied. (What `hybridctl schema apply --replication dc1:1,dc2:1`
	// does, without waiting for the schema job's lease, which the other
	// tests' orgs keep busy; pkg/schema's tests cover Apply.)
	_, err := cassandra.AlterReplication(ctx, h.Session(), schema.SystemKeyspace, both)
	require.NoError(t, err)

	// Region 1: the harness's cluster (control plane, MART, Connect,
	// synchronizer, message processor) on dc1.
	c := h.StartCluster(t, harness.Options{All: true,
		SynchronizerArgs: []string{"--instanceID", "region-1"},
		RuntimeArgs:      []string{"--runtimeData.keyTTL", "1s"}})
	// The org's keyspaces to both datacenters, before any runtime data is
	// written (data written earlier would reach dc2 only by a rebuild).
	kss, err := schema.OrgKeyspaces(c.Org)
	require.NoError(t, err)
	for _, ks := range kss {
		_, err := cassandra.AlterReplication(ctx, h.Session(), ks, both)
		require.NoError(t, err)
	}

	svc := orgAdminClient(t, c)
	makeRegionInstance(t, svc, c, "region-1", "local-dc1")
	makeRegionInstance(t, svc, c, "region-2", "local-dc2")
	// Region 1's watcher reports as its instance.
	c.Watcher.Stop(t)
	w1 := c.StartWatcher(t, "--instanceID", "region-1")
	w1.WaitReady(t, 90*time.Second)
	r1 := &region{Instance: "region-1", Synchronizer: c.Synchronizer, Runtime: c.Runtime, Watcher: w1}
	r2 := startRegion(t, c, "region-2", dcCassandraArgs(host2, port2, "dc2"))

	// (d) Every keyspace of the org, and the bookkeeping one, has a replica
	// in each datacenter, as node 2 itself reports.
	s2 := dcSession(t, host2, port2, "dc2")
	for _, ks := range append(kss, schema.SystemKeyspace) {
		rf, found, err := cassandra.KeyspaceReplication(ctx, s2, ks)
		require.NoError(t, err)
		require.True(t, found, ks)
		require.True(t, strings.HasSuffix(rf["class"], "NetworkTopologyStrategy"), "%s: %v", ks, rf)
		require.Equal(t, "1", rf["dc1"], "%s: %v", ks, rf)
		require.Equal(t, "1", rf["dc2"], "%s: %v", ks, rf)
	}

	// Runtime data through MART (Connect → MART → dc1): a product, a
	// developer and an app with a key.
	org := "organizations/" + c.Org
	const host = "regions.e2e.example.com"
	attachHost(t, svc, c, "regions-group", host)
	_, err = svc.Organizations.Apiproducts.Create(org, &apigee.GoogleCloudApigeeV1ApiProduct{
		Name: "everywhere", DisplayName: "Everywhere", ApprovalType: "auto", Environments: []string{c.Env},
		ApiResources: []string{"/**"}, Proxies: []string{"regional"},
	}).Do()
	require.NoError(t, err)
	_, err = svc.Organizations.Developers.Create(org, &apigee.GoogleCloudApigeeV1Developer{
		Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", UserName: "ada",
	}).Do()
	require.NoError(t, err)
	app, err := svc.Organizations.Developers.Apps.Create(org+"/developers/ada@example.com", &apigee.GoogleCloudApigeeV1DeveloperApp{
		Name: "ada-app", ApiProducts: []string{"everywhere"},
	}).Do()
	require.NoError(t, err)
	key := app.Credentials[0].ConsumerKey

	// Both synchronizers settle on the environment's current contract: the
	// one that carries the group's hostname (attaching the group made a new
	// contract version, which may still be on its way when this starts).
	var settled string
	require.Eventually(t, func() bool {
		ct1, ct2 := servedContract(t, c, r1.Synchronizer), servedContract(t, c, r2.Synchronizer)
		settled = ct1.Version
		return slices.Contains(ct1.Hostnames, host) && ct1.Version == ct2.Version
	}, time.Minute, 50*time.Millisecond, "the two synchronizers never served the same contract with %s", host)
	d1 := metric(t, r1.Synchronizer, "synchronizer_contract_downloads_total")
	d2 := metric(t, r2.Synchronizer, "synchronizer_contract_downloads_total")

	// (b) Both synchronizers long-poll, so both see the deploy's contract
	// version at the same moment: the first to claim it (a cross-region
	// lightweight transaction) downloads it, the other reads it from
	// Cassandra.
	be := backend(t)
	files := withSteps(bundletest.Proxy("regional", "/regional", be.URL), [2]string{"VA-Key", ""})
	files["apiproxy/policies/VA-Key.xml"] = `<VerifyAPIKey name="VA-Key"><APIKey ref="request.header.x-apikey"/></VerifyAPIKey>`
	rev := importProxy(t, svc, c, "regional", bundletest.Zip(t, files))
	_, err = svc.Organizations.Environments.Apis.Revisions.Deploy(revisionPath(c, "regional", rev)).Override(true).Do()
	require.NoError(t, err)
	var version string
	require.Eventually(t, func() bool {
		ct := servedContract(t, c, r1.Synchronizer)
		version = ct.Version
		return deploysProxy(ct, "regional")
	}, time.Minute, 20*time.Millisecond, "region-1's synchronizer never served the deploy's contract")
	require.NotEqual(t, settled, version)

	// (a) The deploy is served by both regions' message processors.
	withKey := http.Header{"X-Apikey": {key}}
	for _, r := range []*region{r1, r2} {
		var last reply
		require.Eventually(t, func() bool {
			last = send(t, r.TrafficURL(), "GET", host, "/regional/x", withKey, "")
			return last.status == 200
		}, time.Minute, 50*time.Millisecond, "%s never served the deploy (last: %d %s)", r.Instance, last.status, last.body)
	}
	require.Eventually(t, func() bool { return servedContract(t, c, r2.Synchronizer).Version == version },
		30*time.Second, 20*time.Millisecond, "region-2's synchronizer never served version %s", version)

	// (b) Downloaded once across the regions; the other found it in Cassandra.
	got1 := metric(t, r1.Synchronizer, "synchronizer_contract_downloads_total") - d1
	got2 := metric(t, r2.Synchronizer, "synchronizer_contract_downloads_total") - d2
	require.Equal(t, 1.0, got1+got2, "the new version is downloaded once (region-1: %v, region-2: %v)", got1, got2)
	other := r2.Synchronizer
	if got2 == 1 {
		other = r1.Synchronizer
	}
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(other.Log(), "\n") {
			if strings.Contains(line, "contract already in store, not downloading") && strings.Contains(line, version) {
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "the synchronizer that did not download does not log that it found version %s in the store", version)

	// (c) The key MART wrote through dc1 is checked by region 2's message
	// processor, which reads dc2: a wrong key is refused there, the right
	// one let through (above), so the key came from dc2's replica.
	bad := send(t, r2.TrafficURL(), "GET", host, "/regional/x", http.Header{"X-Apikey": {"no-such-key"}}, "")
	require.Equal(t, 401, bad.status, bad.body)
	require.Equal(t, "oauth.v2.InvalidApiKey", faultCode(t, bad.body))
	var consumerKey string
	require.NoError(t, s2.Query(`SELECT consumer_key FROM `+cassandra.Keyspace("kms", c.Org)+`.credentials WHERE consumer_key = ?`, key).
		Consistency(gocql.LocalOne).ScanContext(ctx, &consumerKey),
		"the key is on dc2's node")
	require.Equal(t, key, consumerKey)
}

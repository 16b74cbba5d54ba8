//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// region is one instance's own processes: a synchronizer, a message
// processor and a watcher, over one datacenter of the shared Cassandra.
type region struct {
	Instance     string
	Synchronizer *harness.Process
	Runtime      *harness.Process
	Watcher      *harness.Process
}

// dcCassandraArgs point a service at one datacenter's node, preferring
// that datacenter (local DC) for every query.
func dcCassandraArgs(host string, port int, dc string) []string {
	args := []string{"--cassandra.hosts", host, "--cassandra.port", strconv.Itoa(port), "--cassandra.localDC", dc}
	if h.CassandraCredentials != "" {
		args = append(args, "--cassandra.credentialsFile", h.CassandraCredentials)
	}
	return args
}

// makeRegionInstance creates a runtime instance (a region) with the
// cluster's environment attached, through Google's Go client.
func makeRegionInstance(tb testing.TB, svc *apigee.Service, c *harness.Cluster, name, location string) {
	tb.Helper()
	op, err := svc.Organizations.Instances.Create("organizations/"+c.Org,
		&apigee.GoogleCloudApigeeV1Instance{Name: name, Location: location}).Do()
	require.NoError(tb, err)
	require.True(tb, op.Done, "instance creation finishes at once")
	op, err = svc.Organizations.Instances.Attachments.Create("organizations/"+c.Org+"/instances/"+name,
		&apigee.GoogleCloudApigeeV1InstanceAttachment{Environment: c.Env}).Do()
	require.NoError(tb, err)
	require.True(tb, op.Done)
}

// startRegion starts an instance's synchronizer, message processor and
// watcher against the cluster's control plane, with Cassandra at
// cassandraArgs (another datacenter's node), and waits until they are
// ready. syncArgs are extra synchronizer flags.
func startRegion(tb testing.TB, c *harness.Cluster, instance string, cassandraArgs []string, syncArgs ...string) *region {
	tb.Helper()
	r := &region{Instance: instance}
	org := []string{"--org", c.Org, "--environments", c.Env}
	args := append(append([]string{}, org...),
		"--instanceID", instance,
		"--listen", "127.0.0.1:0", "--runtimeListen", "127.0.0.1:0",
		"--runtimeTLS.certFile", c.PKI.SynchronizerCert(), "--runtimeTLS.keyFile", c.PKI.SynchronizerKey(),
		"--runtimeTLS.clientCAFile", c.PKI.CA(),
		"--controlPlane.url", c.ControlPlane.URL("main"),
		"--controlPlane.serviceAccountPath", c.KeyFile("apigee-synchronizer"))
	args = append(append(args, cassandraArgs...), syncArgs...)
	r.Synchronizer = h.Start(tb, "synchronizer", args...)
	r.Synchronizer.WaitReady(tb, 90*time.Second)

	args = append(append([]string{}, org...),
		"--instanceID", instance,
		"--podName", "runtime-"+instance,
		"--listen", "127.0.0.1:0", "--trafficListen", "127.0.0.1:0",
		"--analytics.enabled=false",
		"--synchronizer", "https://"+r.Synchronizer.Addr("runtime"),
		"--synchronizerTLS.caFile", c.PKI.CA(), "--synchronizerTLS.certFile", c.PKI.RuntimeCert(),
		"--synchronizerTLS.keyFile", c.PKI.RuntimeKey(),
		"--contractEncryptionKeyPath", c.ContractKeyPath(),
		"--encryptionKeysPath", h.EncryptionKeysPath(tb, c.Org),
		"--controlPlane.url", c.ControlPlane.URL("main"),
		"--controlPlane.serviceAccountPath", c.KeyFile("apigee-runtime"),
		"--runtimeData.keyTTL", "1s")
	r.Runtime = h.Start(tb, "runtime", append(args, cassandraArgs...)...)
	r.Runtime.WaitReady(tb, 90*time.Second)

	args = append(append([]string{}, org...),
		"--instanceID", instance,
		"--listen", "127.0.0.1:0",
		"--runtimes", r.Runtime.URL("main"),
		"--controlPlane.url", c.ControlPlane.URL("main"),
		"--controlPlane.serviceAccountPath", c.KeyFile("apigee-watcher"),
		"--interval", "100ms")
	r.Watcher = h.Start(tb, "watcher", append(args, cassandraArgs...)...)
	r.Watcher.WaitReady(tb, 90*time.Second)
	return r
}

// TrafficURL is the region's message processor traffic endpoint.
func (r *region) TrafficURL() string { return r.Runtime.URL("traffic") }

// servedContract is the contract a synchronizer serves for the cluster's
// environment (zero when it serves none yet).
func servedContract(tb testing.TB, c *harness.Cluster, sync *harness.Process) contract.Contract {
	tb.Helper()
	url := "https://" + sync.Addr("runtime") + "/v1/runtime/organizations/" + c.Org + "/environments/" + c.Env + "/contract"
	resp, err := c.SynchronizerClient(tb).Get(url)
	if err != nil {
		return contract.Contract{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var ct contract.Contract
	if resp.StatusCode != 200 || json.Unmarshal(body, &ct) != nil {
		return contract.Contract{}
	}
	return ct
}

// deploysProxy reports whether a contract deploys the named proxy.
func deploysProxy(ct contract.Contract, name string) bool {
	for _, d := range ct.APIProxies {
		if d.Name == name {
			return true
		}
	}
	return false
}

// dcSession opens a session to one datacenter's node, preferring it.
func dcSession(tb testing.TB, host string, port int, dc string) *gocql.Session {
	tb.Helper()
	cfg := cassandra.DefaultConfig()
	cfg.Hosts, cfg.Port, cfg.LocalDC, cfg.CredentialsFile = []string{host}, port, dc, h.CassandraCredentials
	cfg.StartupWait = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := cassandra.Connect(ctx, cfg)
	require.NoError(tb, err, "connect to datacenter %s at %s:%d", dc, host, port)
	tb.Cleanup(s.Close)
	return s
}

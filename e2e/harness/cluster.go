package harness

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

// Cluster is one control plane plus one region's runtime plane, serving one
// organization and environment.
type Cluster struct {
	h        *Harness
	Org, Env string
	StateDir string // control plane state (its CA is in StateDir/tls/ca.pem)
	// PKI is the runtime plane's CA and certificates (hybrid's apigee-ca):
	// the synchronizer's server certificate and the message processor's
	// client certificate for their mutual TLS.
	PKI tlsca.RuntimePKI

	ControlPlane *Process
	Synchronizer *Process
	Runtime      *Process
	Watcher      *Process
	MART         *Process // only with Options.All
	UDCA         *Process
	ConnectAgent *Process
	// UDCADataDir is UDCA's buffer folder (kept across StartUDCA calls).
	UDCADataDir string
	udcaArgs    []string
	syncArgs    []string
}

// Options choose what a cluster runs.
type Options struct {
	// All also starts MART, UDCA and the Connect agent.
	All bool
	// RuntimeArgs are extra flags for the message processor.
	RuntimeArgs []string
	// Analytics starts UDCA (All does too) before the message processor,
	// which then streams its analytics records to it; without it the
	// message processor sends none.
	Analytics bool
	// UDCAArgs are extra flags for UDCA (short file ages and retry
	// intervals, the upload policy).
	UDCAArgs []string
	// ControlPlaneArgs are extra flags for the control plane.
	ControlPlaneArgs []string
	// SynchronizerArgs are extra flags for every synchronizer the cluster
	// starts (short poll and retry intervals for outage tests).
	SynchronizerArgs []string
}

const readyTimeout = 90 * time.Second

// StartCluster starts the services in dependency order, each on port 0,
// waiting for each to be ready before starting what depends on it.
func (h *Harness) StartCluster(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	c := &Cluster{h: h, Org: h.NewOrg(tb), Env: "test", StateDir: tb.TempDir(), syncArgs: opts.SynchronizerArgs}
	pki, err := tlsca.EnsureRuntimePKI(tb.TempDir(), nil, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	c.PKI = pki
	seed := filepath.Join(tb.TempDir(), "controlplane.yaml")
	// Apigee Connect is on, as for new hybrid installations since 1.3.0.
	yaml := fmt.Sprintf("orgs:\n  - name: %s\n    projectId: %s\n    environments: [%s]\n"+
		"    properties:\n      features.hybrid.enabled: \"true\"\n      features.mart.connect.enabled: \"true\"\n", c.Org, c.Org, c.Env)
	if err := os.WriteFile(seed, []byte(yaml), 0o644); err != nil {
		tb.Fatal(err)
	}
	cpArgs := []string{"--config", seed, "--stateDir", c.StateDir,
		"--listen", "127.0.0.1:0", "--https.listen", "127.0.0.1:0", "--grpc.listen", "127.0.0.1:0",
	}
	if opts.All {
		// MART needs only Cassandra; starting it first lets the control plane
		// know its address for the Connect-off (hostAlias) path.
		c.MART = h.Start(tb, "mart", append([]string{"--org", c.Org, "--listen", "127.0.0.1:0",
			"--encryptionKeysPath", h.EncryptionKeysPath(tb, c.Org)}, h.CassandraArgs()...)...)
		cpArgs = append(cpArgs, "--mart.hostAlias", c.MART.URL("main"))
	}
	c.ControlPlane = h.Start(tb, "controlplane", append(cpArgs, opts.ControlPlaneArgs...)...)
	c.ControlPlane.WaitReady(tb, readyTimeout)

	c.Synchronizer = c.StartSynchronizer(tb, "127.0.0.1:0")
	c.Synchronizer.WaitReady(tb, readyTimeout)
	if opts.All || opts.Analytics {
		c.UDCADataDir, c.udcaArgs = tb.TempDir(), opts.UDCAArgs
		c.UDCA = c.StartUDCA(tb)
		c.UDCA.WaitReady(tb, readyTimeout)
	}
	c.Runtime = c.StartRuntime(tb, opts.RuntimeArgs...)
	c.Runtime.WaitReady(tb, readyTimeout)
	c.Watcher = c.StartWatcher(tb)
	c.Watcher.WaitReady(tb, readyTimeout)
	if opts.All {
		c.ConnectAgent = c.StartConnectAgent(tb, c.KeyFile("apigee-mart"))
		for _, p := range []*Process{c.MART, c.ConnectAgent} {
			p.WaitReady(tb, readyTimeout)
		}
	}
	return c
}

// StartWatcher starts a watcher of the cluster's message processor (the
// cluster's instance unless extra names another with --instanceID),
// reporting with the apigee-watcher key file; it holds its instance's
// lease in Cassandra. It does not wait for readiness.
func (c *Cluster) StartWatcher(tb testing.TB, extra ...string) *Process {
	tb.Helper()
	args := c.orgArgs("--listen", "127.0.0.1:0",
		"--runtimes", c.Runtime.URL("main"),
		"--controlPlane.url", c.ControlPlane.URL("main"),
		"--controlPlane.serviceAccountPath", c.KeyFile("apigee-watcher"),
		"--interval", "100ms", "--ingressInterval", "200ms")
	args = append(args, c.h.CassandraArgs()...)
	return c.h.Start(tb, "watcher", append(args, extra...)...)
}

// StartUDCA starts UDCA over the cluster's buffer folder, authenticating
// with the apigee-udca key file; a restart (after c.UDCA.Stop) keeps the
// previous one's addresses, so the message processor reconnects to it.
// It does not wait for readiness.
func (c *Cluster) StartUDCA(tb testing.TB, extra ...string) *Process {
	tb.Helper()
	main, grpc := "127.0.0.1:0", "127.0.0.1:0"
	if c.UDCA != nil {
		main, grpc = c.UDCA.Addr("main"), c.UDCA.Addr("grpc")
	}
	args := append([]string{"--org", c.Org, "--listen", main, "--grpcListen", grpc, "--dataDir", c.UDCADataDir,
		"--controlPlane.url", c.ControlPlane.URL("main"), "--controlPlane.serviceAccountPath", c.KeyFile("apigee-udca")},
		c.udcaArgs...)
	return c.h.Start(tb, "udca", append(args, extra...)...)
}

// StartTelemetry starts the telemetry forwarder: its metrics role scrapes
// the cluster's message processor and writes to Cloud Monitoring as
// apigee-metrics, its logging role tails the log files given (each
// process's LogPath, or a test's own file) and writes to Cloud Logging as
// apigee-logger, both at the cluster's control plane. Short intervals
// keep tests fast. It does not wait for readiness.
func (c *Cluster) StartTelemetry(tb testing.TB, logFiles []string, extra ...string) *Process {
	tb.Helper()
	args := []string{"--org", c.Org, "--listen", "127.0.0.1:0", "--instanceID", "e2e-instance",
		"--controlPlane.url", c.ControlPlane.URL("main"),
		"--metrics.serviceAccountPath", c.KeyFile("apigee-metrics"),
		"--metrics.targets", c.Runtime.URL("main"), "--metrics.interval", "200ms",
		"--logging.serviceAccountPath", c.KeyFile("apigee-logger"), "--logging.interval", "100ms",
		"--logging.positionsFile", filepath.Join(tb.TempDir(), "positions.json")}
	if len(logFiles) > 0 {
		args = append(args, "--logging.paths", strings.Join(logFiles, ","))
	}
	return c.h.Start(tb, "telemetry", append(args, extra...)...)
}

func (c *Cluster) orgArgs(extra ...string) []string {
	return append([]string{"--org", c.Org, "--environments", c.Env}, extra...)
}

// StartSynchronizer starts a synchronizer on addr (port 0 for a new one, or a
// previous one's address to replace it in place, its contract endpoint
// then keeping its address too). It does not wait for readiness: a
// synchronizer cut off from the control plane is live but reports its
// control-plane errors on readiness.
func (c *Cluster) StartSynchronizer(tb testing.TB, addr string) *Process {
	tb.Helper()
	runtimeAddr := "127.0.0.1:0"
	if c.Synchronizer != nil && c.Synchronizer.Addr("main") == addr {
		runtimeAddr = c.Synchronizer.Addr("runtime")
	}
	p := c.h.Start(tb, "synchronizer", append(c.orgArgs(
		"--listen", addr,
		"--runtimeListen", runtimeAddr,
		"--runtimeTLS.certFile", c.PKI.SynchronizerCert(),
		"--runtimeTLS.keyFile", c.PKI.SynchronizerKey(),
		"--runtimeTLS.clientCAFile", c.PKI.CA(),
		"--controlPlane.url", c.ControlPlane.URL("main"),
		"--controlPlane.serviceAccountPath", c.KeyFile("apigee-synchronizer")), append(c.h.CassandraArgs(), c.syncArgs...)...)...)
	p.WaitLive(tb, readyTimeout)
	return p
}

// KeyFile is the key file the control plane's emulated IAM wrote for one of
// the org project's seeded service accounts (apigee-synchronizer,
// apigee-watcher, apigee-udca, apigee-mart, apigee-runtime, apigee-metrics,
// apigee-logger, apigee-org-admin).
func (c *Cluster) KeyFile(account string) string {
	return filepath.Join(c.StateDir, "service-accounts", c.Org+"-"+account+".json")
}

// StartConnectAgent starts an Apigee Connect agent for the org's project,
// authenticating with keyFile, carrying requests to the cluster's MART.
func (c *Cluster) StartConnectAgent(tb testing.TB, keyFile string, extra ...string) *Process {
	tb.Helper()
	return c.h.Start(tb, "connect-agent", c.connectAgentArgs(keyFile, extra...)...)
}

func (c *Cluster) connectAgentArgs(keyFile string, extra ...string) []string {
	return append([]string{"--listen", "127.0.0.1:0", "--targetServer", c.MART.URL("main"),
		"--serverAddr", c.ControlPlane.Addr("grpc"), "--project", "projects/" + c.Org,
		"--clusterName", "e2e-cluster", "--clusterRegion", "local", "--serviceAccountPath", keyFile}, extra...)
}

// ConnectAgentArgs are the flags StartConnectAgent uses (for StartNoWait).
func (c *Cluster) ConnectAgentArgs(keyFile string, extra ...string) []string {
	return c.connectAgentArgs(keyFile, extra...)
}

// StartRuntime starts a message processor fed by the cluster's synchronizer,
// over the cluster's Cassandra; extra flags are appended. It streams
// analytics records to the cluster's UDCA, or sends none without one.
func (c *Cluster) StartRuntime(tb testing.TB, extra ...string) *Process {
	tb.Helper()
	analytics := []string{"--analytics.enabled=false"}
	if c.UDCA != nil {
		analytics = []string{"--analytics.udca", c.UDCA.Addr("grpc")}
	}
	extra = append(analytics, extra...)
	return c.h.Start(tb, "runtime", c.orgArgs(append([]string{
		"--listen", "127.0.0.1:0",
		"--trafficListen", "127.0.0.1:0",
		"--synchronizer", c.SynchronizerURL(),
		"--synchronizerTLS.caFile", c.PKI.CA(),
		"--synchronizerTLS.certFile", c.PKI.RuntimeCert(),
		"--synchronizerTLS.keyFile", c.PKI.RuntimeKey(),
		"--contractEncryptionKeyPath", c.ContractKeyPath(),
		"--encryptionKeysPath", c.h.EncryptionKeysPath(tb, c.Org),
		// Google tokens for <Authentication>, minted as apigee-runtime.
		"--controlPlane.url", c.ControlPlane.URL("main"),
		"--controlPlane.serviceAccountPath", c.KeyFile("apigee-runtime")}, append(c.h.CassandraArgs(), extra...)...)...)...)
}

// APIURL is the control plane's Apigee API base (http).
func (c *Cluster) APIURL() string { return c.ControlPlane.URL("main") }

// HTTPSURL is the control plane's Apigee API base over TLS.
func (c *Cluster) HTTPSURL() string { return "https://" + c.ControlPlane.Addr("https") }

// TrafficURL is the message processor's traffic endpoint.
func (c *Cluster) TrafficURL() string { return c.Runtime.URL("traffic") }

// SynchronizerURL is the synchronizer's contract endpoint base (mutual TLS).
func (c *Cluster) SynchronizerURL() string { return "https://" + c.Synchronizer.Addr("runtime") }

// SynchronizerContractURL is where a message processor polls the
// environment's contract.
func (c *Cluster) SynchronizerContractURL() string {
	return c.SynchronizerURL() + "/v1/runtime/organizations/" + c.Org + "/environments/" + c.Env + "/contract"
}

// SynchronizerClient is an HTTP client with the message processor's
// identity: the runtime client certificate, trusting the runtime CA.
func (c *Cluster) SynchronizerClient(tb testing.TB) *http.Client {
	tb.Helper()
	conf, err := tlsca.MutualTLSClient(c.PKI.CA(), c.PKI.RuntimeCert(), c.PKI.RuntimeKey())
	if err != nil {
		tb.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: conf}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// ContractKeyPath is the org's contract encryption key file the control
// plane wrote; the message processor opens keystore keys with it.
func (c *Cluster) ContractKeyPath() string {
	return filepath.Join(c.StateDir, "contract-keys", c.Org+".key")
}

// CACertPath is the control plane's generated CA certificate.
func (c *Cluster) CACertPath() string { return filepath.Join(c.StateDir, "tls", "ca.pem") }

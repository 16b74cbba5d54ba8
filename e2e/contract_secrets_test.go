//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/seal"
	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

// A keystore's private key travels sealed under the org's contract
// encryption key from the control plane, through the synchronizer and
// Cassandra, to the message processor, which alone opens it: no stored
// contract, and no contract on the wire, holds a private key in clear, and
// the message processor still does mutual TLS with it. A message processor
// with another key fails that deployment, naming keystore and alias.
func TestKeystoreKeysSealedInContracts(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	const host = "sealed.e2e.example.com"
	attachHost(t, svc, c, "sealed-group", host)
	env := "organizations/" + c.Org + "/environments/" + c.Env
	pki := newTLSPKI(t)
	mutual := tlsBackend(t, pki, true)

	for _, ks := range []string{"ts1", "ks1"} {
		_, err := svc.Organizations.Environments.Keystores.Create(env, &apigee.GoogleCloudApigeeV1Keystore{Name: ks}).Do()
		require.NoError(t, err)
	}
	_, err := uploadAlias(t, svc, env+"/keystores/ts1", "ca", map[string][]byte{"certFile": pki.ca.certPEM})
	require.NoError(t, err)
	_, err = uploadAlias(t, svc, env+"/keystores/ks1", "client", map[string][]byte{"keyFile": pki.client.keyPEM, "certFile": pki.client.certPEM})
	require.NoError(t, err)
	rev := importProxy(t, svc, c, "mtls", tlsProxy(t, "mtls", mutual.URL,
		`<ClientAuthEnabled>true</ClientAuthEnabled><KeyStore>ks1</KeyStore><KeyAlias>client</KeyAlias><TrustStore>ts1</TrustStore>`))
	deployAndWait(t, svc, c, "mtls", rev)
	r := eventuallyStatus(t, c, host, "/mtls/items", 200)
	require.Equal(t, "e2e-client", decode(t, r.body)["client"], "the MP opened the sealed key and presented the client certificate")

	// The org's key file is private to its owner.
	fi, err := os.Stat(c.ContractKeyPath())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// Cassandra: every stored contract body of the environment.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := h.Session().Query("SELECT version, body FROM "+cassandra.Keyspace("rtc", c.Org)+".contracts WHERE environment = ?", c.Env).
		WithContext(ctx).Iter()
	var version string
	var body []byte
	sealedSeen := 0
	for iter.Scan(&version, &body) {
		require.NotContains(t, string(body), "PRIVATE KEY", "contract %s stored in Cassandra holds a private key in clear", version)
		stored, err := contract.Unmarshal(body)
		require.NoError(t, err)
		for _, ks := range stored.Keystores {
			for _, a := range ks.Aliases {
				require.Empty(t, a.KeyPEM)
				if len(a.KeyPEMSealed) > 0 {
					sealedSeen++
				}
			}
		}
	}
	require.NoError(t, iter.Close())
	require.Positive(t, sealedSeen, "the stored contracts carry the key sealed")

	// On the wire: control plane → synchronizer, and synchronizer → MP.
	status, cpBody := adminCallURL(t, c.APIURL()+"/v1/"+env+"/contract")
	require.Equal(t, 200, status, cpBody)
	require.NotContains(t, cpBody, "PRIVATE KEY")
	require.Contains(t, cpBody, "keyPemSealed")
	syncBody := synchronizerContract(t, c)
	require.NotContains(t, syncBody, "PRIVATE KEY")
	require.Contains(t, syncBody, "keyPemSealed")

	// A message processor holding another org's key cannot open it: the
	// deployment that needs it fails with a message naming keystore and alias.
	wrong, err := seal.NewKey()
	require.NoError(t, err)
	wrongPath := filepath.Join(t.TempDir(), "wrong.key")
	require.NoError(t, os.WriteFile(wrongPath, []byte(contract.EncodeKey(wrong)), 0o600))
	c.Runtime.Stop(t)
	c.Runtime = c.StartRuntime(t, "--contractEncryptionKeyPath", wrongPath)
	c.Runtime.WaitReady(t, time.Minute)
	var st struct {
		Environments map[string]struct {
			Deployments []struct {
				APIProxy string `json:"apiProxy"`
				State    string `json:"state"`
				Errors   []struct {
					Message string `json:"message"`
				} `json:"errors"`
			} `json:"deployments"`
		} `json:"environments"`
	}
	getJSON(t, c.Runtime.URL("main")+"/v1/runtime/status", &st)
	deps := st.Environments[c.Env].Deployments
	require.Len(t, deps, 1, "%+v", st)
	require.Equal(t, "ERROR", deps[0].State)
	require.NotEmpty(t, deps[0].Errors)
	require.Contains(t, deps[0].Errors[0].Message, `KeyStore "ks1" alias "client": cannot open its private key`)
}

// synchronizerContract fetches the environment's contract from the
// synchronizer as a message processor does.
func synchronizerContract(tb testing.TB, c *harness.Cluster) string {
	tb.Helper()
	client := c.SynchronizerClient(tb)
	resp, err := client.Get(c.SynchronizerContractURL())
	require.NoError(tb, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	require.Equal(tb, http.StatusOK, resp.StatusCode, string(data))
	var probe map[string]any
	require.NoError(tb, json.Unmarshal(data, &probe))
	return string(data)
}

// The synchronizer hands contracts only to message processors: its
// contract endpoint is on a listener of its own that requires a client
// certificate from the runtime plane's CA for the runtime identity. No
// certificate, a certificate from another CA, another identity of the same
// CA, or plain HTTP get nothing; the probes stay plain HTTP on the main port.
func TestDeployContractsOnlyReachAuthenticatedRuntimes(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	url := c.SynchronizerContractURL()

	body := synchronizerContract(t, c)
	require.Contains(t, body, `"organization":"`+c.Org+`"`)

	refused := func(name string, client *http.Client, u string) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			return // the TLS handshake refused the client
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		require.GreaterOrEqual(t, resp.StatusCode, 400, "%s: %s", name, data)
		require.NotContains(t, string(data), `"organization"`, name)
	}
	trustOnly, err := tlsca.MutualTLSClient(c.PKI.CA(), c.PKI.RuntimeCert(), c.PKI.RuntimeKey())
	require.NoError(t, err)
	trustOnly.Certificates = nil
	refused("no client certificate", &http.Client{Transport: &http.Transport{TLSClientConfig: trustOnly}}, url)

	other, err := tlsca.EnsureRuntimePKI(t.TempDir(), nil, time.Now())
	require.NoError(t, err)
	foreign, err := tlsca.MutualTLSClient(c.PKI.CA(), other.RuntimeCert(), other.RuntimeKey())
	require.NoError(t, err)
	refused("a runtime certificate from another CA", &http.Client{Transport: &http.Transport{TLSClientConfig: foreign}}, url)

	_, _, err = tlsca.EnsureLeaf(c.PKI.Dir, tlsca.Leaf{File: "watcher", CommonName: "apigee-watcher", Client: true}, time.Now())
	require.NoError(t, err)
	watcher, err := tlsca.MutualTLSClient(c.PKI.CA(), filepath.Join(c.PKI.Dir, "watcher.pem"), filepath.Join(c.PKI.Dir, "watcher-key.pem"))
	require.NoError(t, err)
	refused("another identity of the runtime CA", &http.Client{Transport: &http.Transport{TLSClientConfig: watcher}}, url)

	refused("plain HTTP to the contract listener", http.DefaultClient, "http://"+c.Synchronizer.Addr("runtime")+"/v1/runtime/organizations/"+c.Org+"/environments/"+c.Env+"/contract")
	resp, err := http.Get(c.Synchronizer.URL("main") + "/v1/runtime/organizations/" + c.Org + "/environments/" + c.Env + "/contract")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the main listener has no contract route")
	resp, err = http.Get(c.Synchronizer.URL("main") + "/v1/probes/ready")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "probes stay plain HTTP")
}

package mp

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

// synchronizerClient is the HTTP client of the contract poller. Over https
// it presents the message processor's client certificate (the runtime
// identity, apigee-runtime, issued by the runtime plane's CA) and trusts
// only that CA for the synchronizer: the synchronizer hands contracts to
// no one else. The certificate is local, so a restarted message processor
// still gets its contract while the control plane is unreachable.
func synchronizerClient(cfg *Config) (*http.Client, error) {
	u, err := url.Parse(cfg.Synchronizer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("synchronizer: %q is not an http(s) URL", cfg.Synchronizer)
	}
	if u.Scheme == "http" {
		return &http.Client{}, nil // only a synchronizer without mutual TLS (tests, fakes) answers this
	}
	t := cfg.SynchronizerTLS
	conf, err := tlsca.MutualTLSClient(t.CAFile, t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("synchronizerTLS: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = conf
	return &http.Client{Transport: tr}, nil
}

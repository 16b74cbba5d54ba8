package engine

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// targetConn is how a target endpoint reaches its backend: a transport
// (shared, or the target's own when it has TLS or timeout settings), the
// response codes that count as success, and an optional load balancer.
type targetConn struct {
	rt        http.RoundTripper
	ioTimeout time.Duration
	// success lists the status codes that are not errors; nil means
	// Apigee's default, 1xx, 2xx and 3xx.
	success *codeSet
	lb      *loadBalancer
	// scheme is "https" for load-balanced targets with SSLInfo enabled.
	scheme string
	// auth puts a Google token on each request (<Authentication>).
	auth *googleAuth
}

// simple reports whether the pass-through path can serve the target.
func (c *targetConn) simple() bool { return c.lb == nil && c.auth == nil }

func (c *targetConn) isSuccess(code int) bool {
	if c.success == nil {
		return code < 400
	}
	return c.success.has(code)
}

// codeSet is a parsed success.codes property ("1xx,2xx,3xx,400").
type codeSet struct {
	classes [10]bool
	codes   map[int]bool
}

func parseCodes(s string) (*codeSet, error) {
	cs := &codeSet{codes: map[int]bool{}}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		if part == "" {
			continue
		}
		if len(part) == 3 && strings.HasSuffix(part, "xx") && part[0] >= '1' && part[0] <= '5' {
			cs.classes[part[0]-'0'] = true
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 100 || n > 599 {
			return nil, fmt.Errorf("success.codes: %q is neither a status code nor a class like 2xx", part)
		}
		cs.codes[n] = true
	}
	return cs, nil
}

func (cs *codeSet) has(code int) bool {
	if code >= 100 && code < 1000 && cs.classes[code/100] {
		return true
	}
	return cs.codes[code]
}

func newTransport(opts Options) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          opts.MaxIdleConnsPerHost * 4,
		MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: opts.IOTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass bodies through as the backend sent them
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
		ForceAttemptHTTP2:     false,
	}
}

// defaultConn uses the engine's shared transport (rt nil).
func (ec *envCompiler) defaultConn() *targetConn {
	return &targetConn{ioTimeout: ec.opts.IOTimeout}
}

// roundTripper returns rt, or the engine's shared transport when rt is
// nil, with io.timeout.millis applied as an inactivity deadline.
func (e *Engine) roundTripper(rt http.RoundTripper, ioTimeout time.Duration) http.RoundTripper {
	if rt == nil {
		rt = e.transport
	}
	return &timeoutRT{rt: rt, d: ioTimeout}
}

// targetConn builds the connection of an <HTTPTargetConnection> with a URL.
func (ec *envCompiler) targetConn(htc *bundle.HTTPTargetConnection, b *bundle.Bundle) (*targetConn, error) {
	c := ec.defaultConn()
	opts := ec.opts
	custom := false
	for name, v := range htc.Properties {
		switch name {
		case "connect.timeout.millis":
			ms, err := strconv.Atoi(v)
			if err != nil || ms <= 0 {
				return nil, fmt.Errorf("Properties/Property %s: %q is not a positive number of milliseconds", name, v)
			}
			opts.ConnectTimeout, custom = time.Duration(ms)*time.Millisecond, true
		case "io.timeout.millis":
			ms, err := strconv.Atoi(v)
			if err != nil || ms <= 0 {
				return nil, fmt.Errorf("Properties/Property %s: %q is not a positive number of milliseconds", name, v)
			}
			opts.IOTimeout, custom = time.Duration(ms)*time.Millisecond, true
			c.ioTimeout = opts.IOTimeout
		case "success.codes":
			cs, err := parseCodes(v)
			if err != nil {
				return nil, fmt.Errorf("Properties/Property %s", err)
			}
			c.success = cs
		case "keepalive.timeout.millis":
			ms, err := strconv.Atoi(v)
			if err != nil || ms < 0 {
				return nil, fmt.Errorf("Properties/Property %s: %q is not a number of milliseconds", name, v)
			}
		case "request.streaming.enabled", "response.streaming.enabled", "request.retain.headers.enabled",
			"response.retain.headers.enabled", "retain.queryparams.enabled", "compression.algorithm",
			"supports.http10", "supports.http11", "use.proxy", "use.proxy.tunneling", "enable.method.override",
			"target.copy.pathsuffix", "target.copy.queryparams":
			// Streaming is how this runtime always moves payloads nobody
			// reads; the others need no special handling here.
		default:
			return nil, fmt.Errorf("Properties/Property %s: unknown target connection property", name)
		}
	}
	var tlsConf *tls.Config
	if htc.SSLInfo != nil && htc.SSLInfo.Enabled {
		var err error
		if tlsConf, err = ec.tlsConfig(sslFromBundle(htc.SSLInfo)); err != nil {
			return nil, fmt.Errorf("SSLInfo: %w", err)
		}
		custom = true
	}
	if custom {
		tr := newTransport(opts)
		tr.TLSClientConfig = tlsConf
		c.rt = tr
	}
	return c, nil
}

func sslFromBundle(s *bundle.SSLInfo) *contract.SSLInfo {
	out := &contract.SSLInfo{
		Enabled: s.Enabled, ClientAuthEnabled: s.ClientAuthEnabled, Keystore: s.KeyStore, KeyAlias: s.KeyAlias,
		Truststore: s.TrustStore, IgnoreValidationErrors: s.IgnoreValidationErrors, Protocols: s.Protocols, Ciphers: s.Ciphers, Enforce: s.Enforce,
	}
	if s.CommonName != nil {
		out.CommonName = &contract.CommonName{Value: s.CommonName.Value, WildcardMatch: s.CommonName.WildcardMatch}
	}
	return out
}

// tlsConfig turns SSLInfo into a TLS client configuration: the
// truststore's certificates as roots, the keystore alias as client
// certificate, the minimum protocol and the expected common name.
func (ec *envCompiler) tlsConfig(s *contract.SSLInfo) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if ts := refName(s.Truststore); ts != "" {
		ks, ok := ec.keystores[ts]
		if !ok {
			return nil, fmt.Errorf("TrustStore %q is not a keystore of environment %s", s.Truststore, ec.env.Name)
		}
		pool := x509.NewCertPool()
		for _, a := range ks.Aliases {
			if !pool.AppendCertsFromPEM([]byte(a.CertPEM)) {
				return nil, fmt.Errorf("TrustStore %q alias %q holds no PEM certificate", ts, a.Name)
			}
		}
		conf.RootCAs = pool
	}
	if s.ClientAuthEnabled {
		name := refName(s.Keystore)
		ks, ok := ec.keystores[name]
		if !ok {
			return nil, fmt.Errorf("KeyStore %q is not a keystore of environment %s", s.Keystore, ec.env.Name)
		}
		var found bool
		for _, a := range ks.Aliases {
			if a.Name == refName(s.KeyAlias) || s.KeyAlias == "" {
				if err := ec.keyErrs[keyID(name, a.Name)]; err != nil {
					return nil, err
				}
				cert, err := tls.X509KeyPair([]byte(a.CertPEM), []byte(a.KeyPEM))
				if err != nil {
					return nil, fmt.Errorf("KeyStore %q alias %q: %w", name, a.Name, err)
				}
				conf.Certificates, found = []tls.Certificate{cert}, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("KeyStore %q has no alias %q", name, s.KeyAlias)
		}
	}
	for _, p := range s.Protocols {
		switch p {
		case "TLSv1.3":
			conf.MinVersion = tls.VersionTLS13
		case "TLSv1.2", "TLSv1.1", "TLSv1":
		default:
			return nil, fmt.Errorf("Protocols: unknown protocol %q (use TLSv1.2 or TLSv1.3)", p)
		}
	}
	if len(s.Ciphers) > 0 {
		ids, err := cipherSuites(s.Ciphers)
		if err != nil {
			return nil, err
		}
		conf.CipherSuites = ids
	}
	// Enforce is Apigee's strict mode: certificate errors always fail
	// the call, whatever IgnoreValidationErrors says.
	if s.IgnoreValidationErrors && !s.Enforce {
		conf.InsecureSkipVerify = true
	} else if s.CommonName != nil && s.CommonName.Value != "" {
		want, wildcard := s.CommonName.Value, s.CommonName.WildcardMatch
		roots := conf.RootCAs
		// The certificate must chain to the trust store and carry the
		// expected common name (not the dialled host name).
		conf.InsecureSkipVerify = true
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no server certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			leaf := cs.PeerCertificates[0]
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
				return err
			}
			if !matchCN(leaf.Subject.CommonName, want, wildcard) {
				return fmt.Errorf("certificate common name %q does not match %q", leaf.Subject.CommonName, want)
			}
			return nil
		}
	}
	return conf, nil
}

// cipherSuites maps SSLInfo <Ciphers> names (the IANA names, which are
// Java's and Go's) to cipher suite ids. TLS 1.3 suites are accepted but
// not restricted: Go negotiates TLS 1.3 suites itself.
func cipherSuites(names []string) ([]uint16, error) {
	byName := map[string]uint16{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		byName[cs.Name] = cs.ID
	}
	var ids []uint16
	for _, n := range names {
		n = strings.TrimSpace(n)
		id, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("Ciphers: unknown cipher suite %q (use IANA names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// checkTargetElements refuses the elements of a TargetEndpoint's
// connection that the bundle model does not know or that would be
// ignored where they stand, naming the first one (the runtime never
// deploys what it would silently not do).
func checkTargetElements(te *bundle.TargetEndpoint) (element, reason string) {
	unknown := func(where string, els []bundle.UnknownElement) (string, string) {
		n := els[0].XMLName.Local
		return where + n, fmt.Sprintf("element <%s> is not supported by this runtime here", n)
	}
	if len(te.Unknown) > 0 {
		return unknown("", te.Unknown)
	}
	if ltc := te.LocalTargetConnection; ltc != nil && len(ltc.Unknown) > 0 {
		return unknown("LocalTargetConnection/", ltc.Unknown)
	}
	htc := te.HTTPTargetConnection
	if htc == nil {
		return "", ""
	}
	switch {
	case len(htc.Unknown) > 0:
		return unknown("HTTPTargetConnection/", htc.Unknown)
	case htc.SSLInfo != nil && len(htc.SSLInfo.Unknown) > 0:
		return unknown("HTTPTargetConnection/SSLInfo/", htc.SSLInfo.Unknown)
	case htc.LoadBalancer == nil && htc.Path != "":
		return "HTTPTargetConnection/Path", "<Path> is only used with a <LoadBalancer>; put the path in the <URL>"
	case htc.LoadBalancer == nil && htc.HealthMonitor != nil:
		return "HTTPTargetConnection/HealthMonitor", "<HealthMonitor> probes the target servers of a <LoadBalancer>; this connection has none"
	case htc.HealthMonitor != nil && len(htc.HealthMonitor.Unknown) > 0:
		return unknown("HTTPTargetConnection/HealthMonitor/", htc.HealthMonitor.Unknown)
	}
	if lb := htc.LoadBalancer; lb != nil {
		if len(lb.Unknown) > 0 {
			return unknown("HTTPTargetConnection/LoadBalancer/", lb.Unknown)
		}
		for _, s := range lb.Servers {
			if len(s.Unknown) > 0 {
				return unknown("HTTPTargetConnection/LoadBalancer/Server/", s.Unknown)
			}
		}
	}
	return "", ""
}

func matchCN(got, want string, wildcard bool) bool {
	if strings.EqualFold(got, want) {
		return true
	}
	if wildcard && strings.HasPrefix(want, "*.") {
		if i := strings.IndexByte(got, '.'); i > 0 {
			return strings.EqualFold(got[i:], want[1:])
		}
	}
	return false
}

func refName(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "ref://") }

// serverSet is the environment's target servers.
type serverSet struct {
	byName map[string]contract.TargetServer
}

func newServerSet(list []contract.TargetServer) *serverSet {
	s := &serverSet{byName: map[string]contract.TargetServer{}}
	for _, ts := range list {
		s.byName[ts.Name] = ts
	}
	return s
}

// loadBalancer spreads requests over target servers (see lb.go).
type lbServer struct {
	name     string
	base     *url.URL
	weight   int
	fallback bool
	rt       http.RoundTripper
	failures atomic.Int32
	active   atomic.Int32
	down     atomic.Bool
}

type loadBalancer struct {
	algorithm   string
	primary     []*lbServer
	fallback    []*lbServer
	maxFailures int32
	retry       bool
	unhealthy   map[int]bool
	next        atomic.Uint64
	monitor     *healthMonitor
	closeOnce   sync.Once
}

// errNoActiveTargets is returned when every server is down or disabled.
var errNoActiveTargets = errors.New("no active target servers")

// pick chooses a server, skipping those already tried.
func (lb *loadBalancer) pick(tried map[*lbServer]bool) *lbServer {
	if s := lb.pickFrom(lb.primary, tried); s != nil {
		return s
	}
	return lb.pickFrom(lb.fallback, tried)
}

func (lb *loadBalancer) pickFrom(servers []*lbServer, tried map[*lbServer]bool) *lbServer {
	var live []*lbServer
	total := 0
	for _, s := range servers {
		if !s.down.Load() && !tried[s] {
			live = append(live, s)
			total += s.weight
		}
	}
	if len(live) == 0 {
		return nil
	}
	switch lb.algorithm {
	case "LeastConnections":
		best := live[0]
		for _, s := range live[1:] {
			if s.active.Load() < best.active.Load() {
				best = s
			}
		}
		return best
	case "Weighted":
		n := int(lb.next.Add(1)-1) % total
		for _, s := range live {
			if n < s.weight {
				return s
			}
			n -= s.weight
		}
		return live[0]
	default: // RoundRobin
		return live[int(lb.next.Add(1)-1)%len(live)]
	}
}

// failed records a failure; MaxFailures consecutive failures take the
// server out of rotation until the health monitor sees it healthy again.
func (lb *loadBalancer) failed(s *lbServer) {
	n := s.failures.Add(1)
	if lb.maxFailures > 0 && n >= lb.maxFailures {
		s.down.Store(true)
	}
}

func (lb *loadBalancer) succeeded(s *lbServer) { s.failures.Store(0) }

func (lb *loadBalancer) close() {
	lb.closeOnce.Do(func() {
		if lb.monitor != nil {
			lb.monitor.stop()
		}
	})
}

func (ec *envCompiler) loadBalancedConn(htc *bundle.HTTPTargetConnection, b *bundle.Bundle) (*targetConn, error) {
	c, err := ec.targetConn(&bundle.HTTPTargetConnection{Properties: htc.Properties, SSLInfo: htc.SSLInfo}, b)
	if err != nil {
		return nil, err
	}
	cfg := htc.LoadBalancer
	lb := &loadBalancer{algorithm: cfg.Algorithm, maxFailures: int32(cfg.MaxFailures), retry: cfg.RetryEnabled, unhealthy: map[int]bool{}}
	switch lb.algorithm {
	case "RoundRobin", "Weighted", "LeastConnections":
	default:
		return nil, fmt.Errorf("Algorithm %q is not RoundRobin, Weighted or LeastConnections", cfg.Algorithm)
	}
	if cfg.ServerUnhealthyResponse != nil {
		for _, code := range cfg.ServerUnhealthyResponse.ResponseCodes {
			lb.unhealthy[code] = true
		}
	}
	tlsOn := htc.SSLInfo != nil && htc.SSLInfo.Enabled
	for _, s := range cfg.Servers {
		ts, ok := ec.env.servers.byName[s.Name]
		if !ok {
			return nil, fmt.Errorf("Server %q is not a target server of environment %s", s.Name, ec.env.Name)
		}
		if !ts.IsEnabled || !s.IsEnabled {
			continue
		}
		if s.Weight < 1 {
			return nil, fmt.Errorf("Server %q: Weight must be at least 1", s.Name)
		}
		scheme, rt := "http", c.rt
		switch {
		case tlsOn:
			scheme = "https"
		case ts.SSLInfo != nil && ts.SSLInfo.Enabled:
			scheme = "https"
			conf, err := ec.tlsConfig(ts.SSLInfo)
			if err != nil {
				return nil, fmt.Errorf("target server %s sSLInfo: %w", ts.Name, err)
			}
			tr := newTransport(ec.opts)
			tr.TLSClientConfig = conf
			rt = tr
		}
		srv := &lbServer{name: ts.Name, base: &url.URL{Scheme: scheme, Host: net.JoinHostPort(ts.Host, strconv.Itoa(ts.Port))}, weight: s.Weight, fallback: s.IsFallback, rt: rt}
		if s.IsFallback {
			lb.fallback = append(lb.fallback, srv)
		} else {
			lb.primary = append(lb.primary, srv)
		}
	}
	if len(lb.primary)+len(lb.fallback) == 0 {
		return nil, fmt.Errorf("no enabled target server")
	}
	if hm := htc.HealthMonitor; hm != nil && hm.IsEnabled {
		if lb.monitor, err = newHealthMonitor(hm, lb, ec.opts); err != nil {
			return nil, fmt.Errorf("HealthMonitor: %w", err)
		}
	}
	c.lb = lb
	return c, nil
}

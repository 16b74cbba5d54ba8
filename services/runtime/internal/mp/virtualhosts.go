package mp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/hybrid-emulator/hybrid/pkg/secretfile"
	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// TrafficTLSConfig serves API traffic over TLS, as hybrid's ingress does
// for its virtual hosts: each environment group has its own server
// certificate (overrides virtualhosts[].sslCertPath/sslKeyPath), picked by
// the name the client asks for (SNI).
type TrafficTLSConfig struct {
	Listen string `yaml:"listen" usage:"address for API traffic over TLS (hybrid's virtual hosts on 443); empty: none. The certificates are trafficTLS.virtualHosts in the YAML file"`
	// VirtualHosts are YAML-only (a list of records): name is the
	// environment group, the files its certificate chain and key (PEM).
	VirtualHosts []VirtualHostTLS `yaml:"virtualHosts"`
}

// VirtualHostTLS is one environment group's server certificate.
type VirtualHostTLS struct {
	Name        string `yaml:"name"`
	SSLCertPath string `yaml:"sslCertPath"`
	SSLKeyPath  string `yaml:"sslKeyPath"`
}

// virtualHost is a loaded certificate and the group it serves.
type virtualHost struct {
	group string
	cert  *tls.Certificate
}

// loadVirtualHosts reads every virtual host's certificate and key; an
// error names the virtual host and the file. Keys are secrets: a key file
// others can read is refused.
func loadVirtualHosts(vhs []VirtualHostTLS) ([]virtualHost, error) {
	if len(vhs) == 0 {
		return nil, errors.New("trafficTLS: listen is set but virtualHosts lists no certificate")
	}
	out := make([]virtualHost, 0, len(vhs))
	seen := map[string]bool{}
	for i, vh := range vhs {
		where := fmt.Sprintf("trafficTLS.virtualHosts[%d] (%s)", i, vh.Name)
		switch {
		case vh.Name == "":
			return nil, fmt.Errorf("trafficTLS.virtualHosts[%d]: name (the environment group) is required", i)
		case seen[vh.Name]:
			return nil, fmt.Errorf("%s: a second certificate for the same environment group", where)
		case vh.SSLCertPath == "" || vh.SSLKeyPath == "":
			return nil, fmt.Errorf("%s: sslCertPath and sslKeyPath are both required", where)
		}
		seen[vh.Name] = true
		certPEM, err := os.ReadFile(vh.SSLCertPath)
		if err != nil {
			return nil, fmt.Errorf("%s: sslCertPath: %w", where, err)
		}
		keyPEM, err := secretfile.Read(vh.SSLKeyPath)
		if err != nil {
			return nil, fmt.Errorf("%s: sslKeyPath: %w", where, err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%s: %s and %s: %w", where, vh.SSLCertPath, vh.SSLKeyPath, err)
		}
		if cert.Leaf == nil {
			if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", where, vh.SSLCertPath, err)
			}
		}
		out = append(out, virtualHost{group: vh.Name, cert: &cert})
	}
	return out, nil
}

// serverTLS picks a virtual host's certificate by SNI: the first whose
// names cover the requested one. A name no certificate covers fails the
// handshake, as hybrid's ingress has no route for it; a client that sends
// no name gets the first virtual host's.
func serverTLS(vhs []virtualHost) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// HTTP/1.1 only, like the plain traffic listener (the framing
		// guard reads HTTP/1 heads).
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" {
				return vhs[0].cert, nil
			}
			for _, vh := range vhs {
				if vh.cert.Leaf.VerifyHostname(hello.ServerName) == nil {
					return vh.cert, nil
				}
			}
			return nil, fmt.Errorf("no virtual host has a certificate for %q", hello.ServerName)
		},
	}
}

// listenTrafficTLS binds the TLS traffic listener: TLS outside, the same
// framing guard and handler inside, so calls over TLS behave as plain
// ones except that the engine sees the TLS connection (client.scheme
// https).
func listenTrafficTLS(svc *service.Service, cfg TrafficTLSConfig, h http.Handler) (net.Addr, error) {
	vhs, err := loadVirtualHosts(cfg.VirtualHosts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("%s: listen traffic over TLS on %s: %w", svc.Name(), cfg.Listen, err)
	}
	gln, gh := guardTraffic(tls.NewListener(ln, serverTLS(vhs)), withTLSState(h))
	return svc.AddListener("traffic-tls", gln, gh, trafficServer, keepTLSConn), nil
}

type tlsConnKey struct{}

// keepTLSConn remembers each connection's *tls.Conn: net/http fills
// Request.TLS only for a *tls.Conn it accepts itself, and the framing
// guard wraps it.
func keepTLSConn(srv *http.Server) {
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if fc, ok := c.(*framingConn); ok {
			if tc, ok := fc.Conn.(*tls.Conn); ok {
				return context.WithValue(ctx, tlsConnKey{}, tc)
			}
		}
		return ctx
	}
}

// withTLSState sets Request.TLS from the connection keepTLSConn kept (the
// handshake is over by the time a request has been read).
func withTLSState(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tc, ok := r.Context().Value(tlsConnKey{}).(*tls.Conn); ok && r.TLS == nil {
			st := tc.ConnectionState()
			r.TLS = &st
		}
		h.ServeHTTP(w, r)
	})
}

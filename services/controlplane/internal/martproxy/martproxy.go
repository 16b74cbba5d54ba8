// Package martproxy serves the MART paths of the Apigee API (developers,
// apps, API products, key value maps) by forwarding them to the org's MART:
// over an Apigee Connect tether of the org's project when the org property
// features.mart.connect.enabled is "true" (the default since hybrid 1.3.0,
// and then ONLY that way), otherwise to mart.hostAlias directly with the
// MART shared secret. MART's status and body come back unchanged.
package martproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/connect"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// ConnectProperty is the org property that routes MART over Apigee Connect.
const ConnectProperty = "features.mart.connect.enabled"

// SecretHeader carries the MART shared secret on direct calls (the agent
// adds it on its side of a tether).
const SecretHeader = "X-Apigee-MART-Secret"

// DefaultMaxBody bounds a request body forwarded to MART.
const DefaultMaxBody = 16 << 20

// Tether sends a request through Apigee Connect (connect.Service).
type Tether interface {
	Do(ctx context.Context, project string, endpoint pb.TetherEndpoint, req *connect.Request) (*connect.Response, error)
}

// Options configure the proxy.
type Options struct {
	Store  *state.Store
	Tether Tether
	// HostAlias is MART's base URL for orgs with Connect off ("" : none).
	HostAlias string
	// SharedSecret is sent to MART as SecretHeader on direct calls.
	SharedSecret string
	// Timeout bounds one MART call either way (default 60s).
	Timeout time.Duration
	// MaxBodyBytes bounds request bodies (default DefaultMaxBody).
	MaxBodyBytes int64
	// Client makes direct calls (default: a plain client).
	Client *http.Client
	Log    *zap.Logger
}

// Proxy is the http.Handler for the MART paths.
type Proxy struct {
	opts Options
	base *url.URL // nil without HostAlias
}

// New builds the proxy.
func New(opts Options) (*Proxy, error) {
	if opts.Store == nil || opts.Tether == nil {
		return nil, errors.New("martproxy: Store and Tether are required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBody
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	p := &Proxy{opts: opts}
	if opts.HostAlias != "" {
		u, err := url.Parse(opts.HostAlias)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("martproxy: mart.hostAlias %q must be a base URL like http://127.0.0.1:8845", opts.HostAlias)
		}
		p.base = u
	}
	return p, nil
}

// Request headers that stay on this side: the caller's credentials are for
// the control plane, not MART; hop-by-hop headers belong to one connection.
var dropRequest = map[string]bool{
	"Authorization": true, "Cookie": true, "Proxy-Authorization": true, SecretHeader: true,
	"Host": true, "Content-Length": true, "Accept-Encoding": true,
}

var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// ServeHTTP forwards one MART call.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := p.serve(w, r); err != nil {
		apierr.Write(w, err)
	}
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) error {
	org := r.PathValue("org")
	if org == "" {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/v1/organizations/"); ok {
			org, _, _ = strings.Cut(rest, "/")
		}
	}
	var project string
	var viaConnect bool
	err := p.opts.Store.View(func(d *state.Data) error {
		o := d.Orgs[org]
		if o == nil {
			return apierr.NotFound("Organization %s not found.", org)
		}
		project = o.ProjectID
		for _, prop := range o.Properties {
			if prop.Name == ConnectProperty {
				viaConnect = strings.EqualFold(strings.TrimSpace(prop.Value), "true")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierr.TooLarge("Request body is larger than %d bytes.", mbe.Limit)
		}
		return apierr.InvalidArgument("Cannot read request body: %v", err)
	}
	header := make(http.Header, len(r.Header))
	for k, v := range r.Header {
		if !dropRequest[k] && !hopByHop[k] {
			header[k] = v
		}
	}
	path := r.URL.RequestURI()
	log := p.opts.Log.With(zap.String("org", org), zap.String("method", r.Method), zap.String("path", r.URL.Path))

	var status int
	var respHeader http.Header
	var respBody []byte
	if viaConnect {
		if project == "" {
			project = org
		}
		resp, err := p.opts.Tether.Do(r.Context(), project, pb.TetherEndpoint_APIGEE_MART, &connect.Request{
			Method: r.Method, Path: path, Header: header, Body: body,
			Host: p.martHost(), Timeout: p.opts.Timeout,
			TraceID: r.Header.Get("X-Cloud-Trace-Context"),
		})
		if err != nil {
			if errors.Is(err, connect.ErrNoAgent) {
				return &apierr.Error{Code: http.StatusServiceUnavailable, Status: "UNAVAILABLE", Message: fmt.Sprintf(
					"no Apigee Connect agent is connected for project %s; MART is reachable only through Apigee Connect while %s is true",
					project, ConnectProperty)}
			}
			log.Warn("MART call over Apigee Connect failed", zap.Error(err))
			return err
		}
		status, respHeader, respBody = resp.StatusCode, resp.Header, resp.Body
		log.Debug("MART call over Apigee Connect", zap.Int("status", status), zap.String("tether", resp.StreamID))
	} else {
		if p.base == nil {
			return &apierr.Error{Code: http.StatusServiceUnavailable, Status: "UNAVAILABLE", Message: fmt.Sprintf(
				"organization %s has %s off and the control plane has no mart.hostAlias configured, so MART is unreachable",
				org, ConnectProperty)}
		}
		status, respHeader, respBody, err = p.direct(r.Context(), r.Method, path, header, body)
		if err != nil {
			log.Warn("MART call to mart.hostAlias failed", zap.Error(err))
			return err
		}
		log.Debug("MART call to mart.hostAlias", zap.Int("status", status))
	}
	for k, v := range respHeader {
		if !hopByHop[k] && k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(respBody)
	return nil
}

// martHost names MART in Url.host of tethered requests.
func (p *Proxy) martHost() string {
	if p.base != nil {
		return p.base.Host
	}
	return "apigee-mart"
}

// direct calls MART at mart.hostAlias.
func (p *Proxy) direct(ctx context.Context, method, path string, header http.Header, body []byte) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	target := strings.TrimSuffix(p.base.String(), "/") + path
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, apierr.Internal("build MART request: %v", err)
	}
	req.Header = header.Clone()
	if p.opts.SharedSecret != "" {
		req.Header.Set(SecretHeader, p.opts.SharedSecret)
	}
	resp, err := p.opts.Client.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var data []byte
		data, err = io.ReadAll(resp.Body)
		if err == nil {
			return resp.StatusCode, resp.Header, data, nil
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return 0, nil, nil, &apierr.Error{Code: http.StatusGatewayTimeout, Status: "DEADLINE_EXCEEDED",
			Message: fmt.Sprintf("MART at %s did not answer within %s.", p.base.Host, p.opts.Timeout)}
	}
	return 0, nil, nil, &apierr.Error{Code: http.StatusServiceUnavailable, Status: "UNAVAILABLE",
		Message: fmt.Sprintf("MART at %s is unreachable: %v", p.base.Host, err)}
}

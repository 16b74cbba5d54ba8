// Package cpclient is how runtime-plane services talk to the control
// plane's runtime endpoints (contracts for synchronizers, status reports for
// the watcher). Management calls from users go through the public Apigee
// API instead; these are the internal paths hybrid's own pods use.
package cpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
)

// Config is the `controlPlane` block of a runtime service's configuration.
type Config struct {
	URL   string `yaml:"url" usage:"control plane base URL"`
	Token string `yaml:"token" secret:"true" usage:"static bearer token (used when no serviceAccountPath is set)"`
	// ServiceAccountPath is the service account key file hybrid pods
	// authenticate with; tokens are minted at its token_uri and refreshed.
	ServiceAccountPath string        `yaml:"serviceAccountPath" usage:"service account key file (JSON) to authenticate with"`
	Timeout            time.Duration `yaml:"timeout" usage:"timeout of one control plane call (long-polls add their wait)"`
}

// DefaultConfig points at the local mock control plane.
func DefaultConfig() Config {
	return Config{URL: "http://127.0.0.1:8080", Token: "hybrid-admin-token", Timeout: 10 * time.Second}
}

// Error is a non-2xx answer from the control plane.
type Error struct {
	Op     string
	Status int
	Body   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("control plane %s: HTTP %d: %s", e.Op, e.Status, strings.TrimSpace(e.Body))
}

// Client calls the control plane.
type Client struct {
	cfg  Config
	http *http.Client
}

// New returns a client that sends the configured static token.
func New(cfg Config) *Client {
	return &Client{cfg: cfg, http: &http.Client{}}
}

// Dial returns a client authenticating as configured: with the service
// account key file when one is set (tokens from its token_uri, as
// Google's auth libraries do), else with the static token. ctx bounds the
// token source's lifetime.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.ServiceAccountPath == "" {
		return New(cfg), nil
	}
	ts, err := gcpauth.TokenSourceFromFile(ctx, cfg.ServiceAccountPath, gcpauth.CloudPlatformScope)
	if err != nil {
		return nil, fmt.Errorf("control plane credentials: %w", err)
	}
	cfg.Token = ""
	return &Client{cfg: cfg, http: gcpauth.HTTPClient(tokenErrors{ts}, nil)}, nil
}

// TokenError is a failure to get an access token for a call (the token
// endpoint refused the key or could not be reached), as opposed to the
// call itself failing: UDCA counts these against TOKEN_GENERATOR.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// IsTokenError reports whether err is a TokenError.
func IsTokenError(err error) bool {
	var te *TokenError
	return errors.As(err, &te)
}

// tokenErrors marks the token source's failures as TokenErrors; the
// message is unchanged.
type tokenErrors struct{ ts oauth2.TokenSource }

func (t tokenErrors) Token() (*oauth2.Token, error) {
	tok, err := t.ts.Token()
	if err != nil {
		return nil, &TokenError{Err: err}
	}
	return tok, nil
}

func envPath(org, env string) string {
	return "/v1/organizations/" + url.PathEscape(org) + "/environments/" + url.PathEscape(env)
}

// ContractVersion long-polls for the environment's current contract version:
// it returns as soon as the version differs from waitFrom, or after wait.
func (c *Client) ContractVersion(ctx context.Context, org, env, waitFrom string, wait time.Duration) (string, error) {
	q := url.Values{}
	if waitFrom != "" && wait > 0 {
		q.Set("waitForChangeFrom", waitFrom)
		q.Set("timeout", wait.String())
	}
	var out struct {
		Version string `json:"version"`
	}
	if err := c.do(ctx, http.MethodGet, envPath(org, env)+"/contract/version", q, nil, wait, &out); err != nil {
		return "", err
	}
	if !contract.ValidVersion(out.Version) {
		return "", fmt.Errorf("control plane returned an invalid contract version %q", out.Version)
	}
	return out.Version, nil
}

// Contract downloads the environment's current contract.
func (c *Client) Contract(ctx context.Context, org, env string) (*contract.Contract, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, envPath(org, env)+"/contract", nil, nil, 0, &raw); err != nil {
		return nil, err
	}
	return contract.Unmarshal(raw)
}

// RuntimeStatus is what the watcher reports for one environment.
type RuntimeStatus struct {
	Instance        string             `json:"instance"`
	ContractVersion string             `json:"contractVersion"`
	Pods            []PodStatus        `json:"pods,omitempty"`
	Deployments     []DeploymentStatus `json:"deployments"`
}

// PodStatus names one message processor that reported.
type PodStatus struct {
	PodName    string `json:"podName"`
	AppVersion string `json:"appVersion,omitempty"`
}

// DeploymentStatus is one proxy or shared flow revision as the runtime sees it.
type DeploymentStatus struct {
	APIProxy string        `json:"apiProxy"`
	Kind     string        `json:"kind"` // "apiproxy" or "sharedflow"
	Revision string        `json:"revision"`
	State    string        `json:"state"` // READY or ERROR
	Errors   []StatusError `json:"errors,omitempty"`
}

// StatusError explains an ERROR state.
type StatusError struct {
	Message string `json:"message"`
}

// DataLocation is where UDCA uploads one buffer file: a signed URL of the
// control plane's storage (PUT, no credentials needed) that expires.
type DataLocation struct {
	URL string `json:"url"`
	// Destination names the object the URL writes (gs://bucket/object).
	Destination string `json:"destination"`
	// Expiry is when the URL stops working (RFC 3339).
	Expiry string `json:"expiry"`
}

// DataLocation asks for a signed URL to upload a file of dataset (api,
// trace, event) as relativePath (the file's name), as hybrid's UDCA does:
// GET …/environments/{env}/datalocation?repo=edge&dataset=…&relative_file_path=….
func (c *Client) DataLocation(ctx context.Context, org, env, dataset, relativePath string) (DataLocation, error) {
	q := url.Values{"repo": {"edge"}, "dataset": {dataset}, "relative_file_path": {relativePath}}
	var out DataLocation
	err := c.do(ctx, http.MethodGet, envPath(org, env)+"/datalocation", q, nil, 0, &out)
	return out, err
}

// ReportRuntimeStatus posts the watcher's view of one environment.
func (c *Client) ReportRuntimeStatus(ctx context.Context, org, env string, st RuntimeStatus) error {
	return c.do(ctx, http.MethodPost, envPath(org, env)+"/runtimeStatus", nil, st, 0, nil)
}

// IngressConfig is the org's deployed ingress configuration
// (organizations.getDeployedIngressConfig), what a watcher turns into routes.
type IngressConfig struct {
	Name               string           `json:"name"`
	RevisionCreateTime string           `json:"revisionCreateTime,omitempty"`
	RevisionID         int64            `json:"revisionId,string,omitempty"`
	UID                string           `json:"uid,omitempty"`
	EnvironmentGroups  []EnvGroupConfig `json:"environmentGroups"`
}

// EnvGroupConfig is one environment group's hostnames and routing rules.
type EnvGroupConfig struct {
	Name         string        `json:"name"` // organizations/{org}/envgroups/{group}
	Hostnames    []string      `json:"hostnames"`
	RoutingRules []RoutingRule `json:"routingRules"`
	RevisionID   int64         `json:"revisionId,string,omitempty"`
	UID          string        `json:"uid,omitempty"`
}

// RoutingRule routes a base path of a group to an environment.
type RoutingRule struct {
	Basepath     string   `json:"basepath"`
	Environment  string   `json:"environment"` // organizations/{org}/environments/{env}
	OtherTargets []string `json:"otherTargets,omitempty"`
	Receiver     string   `json:"receiver,omitempty"`
}

// DeployedIngressConfig reads the org's deployed ingress configuration in
// its FULL view.
func (c *Client) DeployedIngressConfig(ctx context.Context, org string) (*IngressConfig, error) {
	var out IngressConfig
	err := c.do(ctx, http.MethodGet, "/v1/organizations/"+url.PathEscape(org)+"/deployedIngressConfig", url.Values{"view": {"FULL"}}, nil, 0, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// InstanceEnvironments maps each runtime instance of org to the
// environments attached to it (organizations.instances.attachments); an
// org without instances gives an empty map.
func (c *Client) InstanceEnvironments(ctx context.Context, org string) (map[string][]string, error) {
	base := "/v1/organizations/" + url.PathEscape(org) + "/instances"
	var list struct {
		Instances []struct {
			Name string `json:"name"`
		} `json:"instances"`
	}
	if err := c.do(ctx, http.MethodGet, base, nil, nil, 0, &list); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, in := range list.Instances {
		var atts struct {
			Attachments []struct {
				Environment string `json:"environment"`
			} `json:"attachments"`
		}
		if err := c.do(ctx, http.MethodGet, base+"/"+url.PathEscape(in.Name)+"/attachments", nil, nil, 0, &atts); err != nil {
			return nil, err
		}
		envs := []string{}
		for _, a := range atts.Attachments {
			envs = append(envs, a.Environment)
		}
		out[in.Name] = envs
	}
	return out, nil
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, in any, extra time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout+extra)
	defer cancel()
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	u := strings.TrimSuffix(c.cfg.URL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("control plane %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("control plane %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &Error{Op: method + " " + path, Status: resp.StatusCode, Body: string(data)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("control plane %s %s: decode: %w", method, path, err)
	}
	return nil
}

// IsUnreachable reports whether err means the control plane could not be
// reached at all (as opposed to answering with an error).
func IsUnreachable(err error) bool {
	var e *Error
	return err != nil && !errors.As(err, &e)
}

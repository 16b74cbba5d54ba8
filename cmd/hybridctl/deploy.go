package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/lint"
)

// apiClient is the little of the Apigee API deploy, undeploy and token
// need, with the admin token from the environment (a secret never goes on
// the command line).
type apiClient struct {
	base, org, token string
	http             *http.Client
}

func (c *apiClient) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/v1/organizations/"+url.PathEscape(c.org)+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var ge struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &ge) == nil && ge.Error.Message != "" {
			return fmt.Errorf("%s %s: %d: %s", method, path, resp.StatusCode, ge.Error.Message)
		}
		return fmt.Errorf("%s %s: %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func apiFlags(fs *flag.FlagSet) (base, org, env *string) {
	base = fs.String("url", envOr("HYBRID_CONTROLPLANE_URL", "http://127.0.0.1:8080"), "control plane base URL (env HYBRID_CONTROLPLANE_URL)")
	org = fs.String("org", envOr("HYBRID_ORG", "hybrid"), "organization (env HYBRID_ORG)")
	env = fs.String("env", envOr("HYBRID_ENV", "test"), "environment (env HYBRID_ENV)")
	return base, org, env
}

// bundleZip returns the zip of a bundle given as a zip file or as a folder
// holding apiproxy/ or sharedflowbundle/ (or being one), with its kind and
// the name its root XML file gives it.
func bundleZip(path string) (data []byte, sharedFlow bool, name string, err error) {
	data, kind, name, err := bundle.FromPath(path)
	return data, kind == bundle.KindSharedFlow, name, err
}

type deployResult struct {
	Name      string   `json:"name"`
	Revision  string   `json:"revision"`
	Env       string   `json:"environment"`
	State     string   `json:"state"`
	BasePaths []string `json:"basePaths,omitempty"`
	URLs      []string `json:"urls,omitempty"`
	Errors    []string `json:"errors,omitempty"`
	// LintWarnings are what the import's lint found (docs/LINT.md).
	LintWarnings []lint.Finding `json:"lintWarnings,omitempty"`
}

// runDeploy imports a bundle as a new revision, deploys it (override=true,
// as apigeecli does) and waits until the deployment is READY.
func runDeploy(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	base, org, env := apiFlags(fs)
	name := fs.String("name", "", "API proxy or shared flow name (default: the bundle's <name>.xml)")
	traffic := fs.String("traffic", envOr("HYBRID_TRAFFIC_URL", "http://127.0.0.1:8998"), "the message processor's traffic URL, for the printed URLs")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for READY")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: hybridctl deploy [--name N] [--env E] DIR|ZIP")
	}
	data, shared, bundleName, err := bundleZip(fs.Arg(0))
	if err != nil {
		return err
	}
	if *name == "" {
		*name = bundleName
	}
	collection := "apis"
	if shared {
		collection = "sharedflows"
	}
	c := &apiClient{base: strings.TrimSuffix(*base, "/"), org: *org, token: envOr("HYBRID_ADMIN_TOKEN", "hybrid-admin-token"), http: &http.Client{Timeout: time.Minute}}
	var rev struct {
		Revision     string         `json:"revision"`
		Basepaths    []string       `json:"basepaths"`
		LintWarnings []lint.Finding `json:"lintWarnings"`
	}
	if err := c.do(ctx, http.MethodPost, "/"+collection+"?action=import&name="+url.QueryEscape(*name), "application/octet-stream", bytes.NewReader(data), &rev); err != nil {
		return err
	}
	depPath := "/environments/" + url.PathEscape(*env) + "/" + collection + "/" + url.PathEscape(*name) + "/revisions/" + rev.Revision + "/deployments"
	if err := c.do(ctx, http.MethodPost, depPath+"?override=true", "", nil, nil); err != nil {
		return err
	}
	res := deployResult{Name: *name, Revision: rev.Revision, Env: *env, BasePaths: rev.Basepaths, LintWarnings: rev.LintWarnings}
	deadline := time.Now().Add(*wait)
	for {
		var d struct {
			State  string `json:"state"`
			Errors []struct {
				Message string `json:"message"`
			} `json:"errors"`
		}
		if err := c.do(ctx, http.MethodGet, depPath, "", nil, &d); err != nil {
			return err
		}
		res.State = d.State
		for _, e := range d.Errors {
			res.Errors = append(res.Errors, e.Message)
		}
		if d.State == "READY" || d.State == "ERROR" || time.Now().After(deadline) {
			break
		}
		res.Errors = nil
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !shared && res.State == "READY" {
		for _, bp := range rev.Basepaths {
			res.URLs = append(res.URLs, strings.TrimSuffix(*traffic, "/")+bp)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s revision %s in %s: %s\n", res.Name, res.Revision, res.Env, res.State)
		for _, e := range res.Errors {
			fmt.Fprintf(stdout, "  error: %s\n", e)
		}
		for _, w := range res.LintWarnings {
			fmt.Fprintf(stdout, "  lint %s %s: %s\n", w.Rule, w.File, w.Message)
		}
		for _, u := range res.URLs {
			fmt.Fprintln(stdout, u)
		}
	}
	if res.State != "READY" {
		return fmt.Errorf("deployment of %s revision %s is %s", res.Name, res.Revision, orDefault(res.State, "not reported"))
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// runUndeploy undeploys every deployed revision of an API proxy (or shared
// flow with --sharedflow) from the environment.
func runUndeploy(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("undeploy", flag.ContinueOnError)
	base, org, env := apiFlags(fs)
	shared := fs.Bool("sharedflow", false, "NAME is a shared flow")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: hybridctl undeploy [--env E] [--sharedflow] NAME")
	}
	name := fs.Arg(0)
	collection := "apis"
	if *shared {
		collection = "sharedflows"
	}
	c := &apiClient{base: strings.TrimSuffix(*base, "/"), org: *org, token: envOr("HYBRID_ADMIN_TOKEN", "hybrid-admin-token"), http: &http.Client{Timeout: time.Minute}}
	envPath := "/environments/" + url.PathEscape(*env) + "/" + collection + "/" + url.PathEscape(name)
	var deps struct {
		Deployments []struct {
			Revision string `json:"revision"`
		} `json:"deployments"`
	}
	if err := c.do(ctx, http.MethodGet, envPath+"/deployments", "", nil, &deps); err != nil {
		return err
	}
	if len(deps.Deployments) == 0 {
		return fmt.Errorf("%s is not deployed in %s", name, *env)
	}
	for _, d := range deps.Deployments {
		if err := c.do(ctx, http.MethodDelete, envPath+"/revisions/"+d.Revision+"/deployments", "", nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s revision %s undeployed from %s\n", name, d.Revision, *env)
	}
	return nil
}

// runToken prints the bearer token the other commands use, for curl:
// curl -H "Authorization: Bearer $(hybridctl token)" ….
func runToken(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, envOr("HYBRID_ADMIN_TOKEN", "hybrid-admin-token"))
	return nil
}

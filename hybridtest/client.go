package hybridtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/option"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
)

// DeployTimeout bounds how long Deploy waits for a deployment to be READY.
const DeployTimeout = 2 * time.Minute

// Apigee is Google's Go client for the stack's Apigee API, with full
// access (the admin token).
func (s *Stack) Apigee(tb testing.TB) *apigee.Service {
	tb.Helper()
	svc, err := apigee.NewService(context.Background(), option.WithEndpoint(s.APIURL+"/"),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: s.Token})))
	if err != nil {
		tb.Fatalf("hybridtest: apigee client: %v", err)
	}
	return svc
}

// Deploy imports the bundle at path (a folder holding apiproxy/ or
// sharedflowbundle/, that folder itself, or a zip) as a new revision,
// deploys it to the stack's environment and waits until it is READY, that
// is served by the message processor. It returns the revision.
func (s *Stack) Deploy(tb testing.TB, path string) string {
	tb.Helper()
	data, kind, name, err := bundle.FromPath(path)
	if err != nil {
		tb.Fatalf("hybridtest: deploy %s: %v", path, err)
	}
	svc := s.Apigee(tb)
	body := &apigee.GoogleApiHttpBody{ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString(data)}
	org, envPath := "organizations/"+s.Org, "organizations/"+s.Org+"/environments/"+s.Env
	var rev, revPath string
	switch kind {
	case bundle.KindSharedFlow:
		r, err := svc.Organizations.Sharedflows.Create(org, body).Action("import").Name(name).Do()
		if err != nil {
			tb.Fatalf("hybridtest: import shared flow %s: %v", name, err)
		}
		rev, revPath = r.Revision, envPath+"/sharedflows/"+name+"/revisions/"+r.Revision
		if _, err := svc.Organizations.Environments.Sharedflows.Revisions.Deploy(revPath).Override(true).Do(); err != nil {
			tb.Fatalf("hybridtest: deploy shared flow %s revision %s: %v", name, rev, err)
		}
	default:
		r, err := svc.Organizations.Apis.Create(org, body).Action("import").Name(name).Do()
		if err != nil {
			tb.Fatalf("hybridtest: import proxy %s: %v", name, err)
		}
		rev, revPath = r.Revision, envPath+"/apis/"+name+"/revisions/"+r.Revision
		if _, err := svc.Organizations.Environments.Apis.Revisions.Deploy(revPath).Override(true).Do(); err != nil {
			tb.Fatalf("hybridtest: deploy proxy %s revision %s: %v", name, rev, err)
		}
	}
	deadline := time.Now().Add(DeployTimeout)
	var last string
	for time.Now().Before(deadline) {
		var d *apigee.GoogleCloudApigeeV1Deployment
		var err error
		if kind == bundle.KindSharedFlow {
			d, err = svc.Organizations.Environments.Sharedflows.Revisions.GetDeployments(revPath).Do()
		} else {
			d, err = svc.Organizations.Environments.Apis.Revisions.GetDeployments(revPath).Do()
		}
		switch {
		case err != nil:
			last = err.Error()
		case d.State == "READY":
			return rev
		case d.State == "ERROR":
			var why []string
			for _, e := range d.Errors {
				why = append(why, e.Message)
			}
			tb.Fatalf("hybridtest: %s revision %s failed to deploy: %s", name, rev, strings.Join(why, "; "))
		default:
			last = d.State
		}
		time.Sleep(50 * time.Millisecond) // polling the deployment, as apigeecli --wait does
	}
	tb.Fatalf("hybridtest: %s revision %s not READY within %s (last: %s)", name, rev, DeployTimeout, last)
	return ""
}

// Do sends req to the message processor: to TrafficURL, with the
// environment group's host name as Host unless req sets its own.
func (s *Stack) Do(tb testing.TB, req *http.Request) *http.Response {
	tb.Helper()
	u := *req.URL
	target := strings.TrimPrefix(s.TrafficURL, "http://")
	if req.Host == "" {
		req.Host = s.Hostname
	}
	u.Scheme, u.Host = "http", target
	req.URL = &u
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("hybridtest: %s %s: %v", req.Method, req.URL.Path, err)
	}
	return resp
}

// Get calls path on the message processor and returns the status and body.
func (s *Stack) Get(tb testing.TB, path string) (status int, body string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.Hostname+path, nil)
	if err != nil {
		tb.Fatalf("hybridtest: GET %s: %v", path, err)
	}
	resp := s.Do(tb, req)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("hybridtest: GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// String names the stack for logs.
func (s *Stack) String() string {
	return fmt.Sprintf("hybridtest stack org %s env %s: API %s, traffic %s", s.Org, s.Env, s.APIURL, s.TrafficURL)
}

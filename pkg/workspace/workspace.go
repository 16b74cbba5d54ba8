// Package workspace reads an Apigee workspace — the folder layout Cloud
// Code and the Apigee Emulator use (src/main/apigee/{apiproxies,sharedflows,
// environments}/…, plus test bundles of products.json, developers.json,
// developerapps.json and maps.json) — into a Plan, and applies a Plan to
// an Apigee API through plain HTTP requests (see Applier).
//
// Parsing checks everything before anything is sent, and every problem
// names its file and the field inside it ("environments/test/
// targetservers.json: [2].port: want a number from 1 to 65535, got "x"").
package workspace

import (
	"fmt"
	"strings"
)

// Plan is what a workspace asks for.
type Plan struct {
	// Proxies and SharedFlows are the bundles under apiproxies/ and
	// sharedflows/, sorted by name.
	Proxies     []Bundle
	SharedFlows []Bundle
	// Envs are the folders under environments/, sorted by name.
	Envs []EnvConfig
	// TestData is the union of the workspace's test bundles.
	TestData TestData
	// Ignored are the files of environment folders this emulator does not
	// apply (debugmask.json, keystores.json, …), for a notice.
	Ignored []string
}

// Bundle is one API proxy or shared flow, zipped as the import API takes it.
type Bundle struct {
	Name       string
	SharedFlow bool
	// Source is the bundle's folder (or zip entry prefix), for messages.
	Source string
	// Zip holds apiproxy/… or sharedflowbundle/….
	Zip []byte
	// Hash identifies the bundle's content (see ContentHash): equal
	// hashes mean an import would make an identical revision.
	Hash string
}

// EnvConfig is one environments/<env>/ folder.
type EnvConfig struct {
	Name   string
	Source string
	// HasDeployments is false when the folder has no deployments.json.
	HasDeployments bool
	Proxies        []Deployment
	SharedFlows    []Deployment
	FlowHooks      []FlowHook
	TargetServers  []TargetServer
	// KVMs come from kvms.json (the Maven config plugin's file; the
	// emulator itself takes maps only through its test data).
	KVMs []KVM
}

// Deployment names a bundle to deploy.
type Deployment struct {
	Name           string
	ServiceAccount string
}

// FlowHook attaches a shared flow to a flow hook point.
type FlowHook struct {
	Point           string
	SharedFlow      string
	Description     string
	ContinueOnError bool
}

// FlowHookPoints are Apigee's four flow hook points.
var FlowHookPoints = []string{"PreProxyFlowHook", "PreTargetFlowHook", "PostTargetFlowHook", "PostProxyFlowHook"}

// TargetServer is an Apigee TargetServer resource.
type TargetServer struct {
	Name        string
	Description string
	Host        string
	Port        int
	IsEnabled   bool
	Protocol    string
	// SSLInfo is passed through as written (sSLInfo in the API).
	SSLInfo map[string]any
}

// KVM is a key value map and the entries it must hold.
type KVM struct {
	Name string
	// Scope is "organization", "environment" or "apiproxy".
	Scope string
	// Env is the environment of an environment-scoped map; empty means
	// the environment the plan is applied to.
	Env string
	// API is the proxy of an apiproxy-scoped map.
	API       string
	Encrypted bool
	Entries   []Entry
	Source    string
}

// Entry is one key value map entry.
type Entry struct{ Name, Value string }

// TestData is the Apigee Emulator's test bundle: products.json,
// developers.json, developerapps.json and maps.json.
type TestData struct {
	Products   []Object
	Developers []Object
	Apps       []App
	Maps       []KVM
	// Sources are the files read, for messages.
	Sources []string
}

// Empty reports whether there is no test data.
func (t TestData) Empty() bool {
	return len(t.Products)+len(t.Developers)+len(t.Apps)+len(t.Maps) == 0
}

// Object is an API resource given as JSON (a product or a developer):
// Key is its identifier (a product's name, a developer's email), Body the
// object as written, sent to the API as is.
type Object struct {
	Key    string
	Body   map[string]any
	Source string
}

// App is a developer app with the credentials it must have.
type App struct {
	Developer string
	Name      string
	// Body is the app as written, without developerEmail and credentials.
	Body map[string]any
	// Credentials are keys the app must hold, with known values (so a test
	// can call with them). Without any the API generates one.
	Credentials []Credential
	Source      string
}

// Credential is a consumer key pair and the products it is approved for.
type Credential struct {
	ConsumerKey    string
	ConsumerSecret string
	APIProducts    []string
}

// FieldError is a problem in one field of one file.
type FieldError struct {
	// File is relative to the workspace root, slash-separated.
	File string
	// Field is a JSON path inside the file ("[2].port"), empty for the
	// whole file.
	Field   string
	Problem string
}

func (e *FieldError) Error() string {
	switch {
	case e.File == "":
		return e.Problem
	case e.Field == "":
		return e.File + ": " + e.Problem
	}
	return e.File + ": " + e.Field + ": " + e.Problem
}

// Errors is every problem a parse found.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

type errList struct{ list Errors }

func (l *errList) add(file, field, format string, args ...any) {
	l.list = append(l.list, &FieldError{File: file, Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (l *errList) err() error {
	if len(l.list) == 0 {
		return nil
	}
	return l.list
}

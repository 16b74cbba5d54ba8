package oasvalidation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"gopkg.in/yaml.v3"
)

// spec is a compiled OpenAPI document: the document, a router over its
// paths and the methods it declares.
type spec struct {
	doc    *openapi3.T
	router routers.Router
	// methods are the HTTP methods any path declares, to tell "method not
	// allowed" from "no such path".
	methods []string
}

// compileSpec loads an OpenAPI 3.0 or 3.1 document (YAML or JSON) and
// builds its router. name is the resource file name ("spec.yaml"); a
// relative $ref to another file is read through resolve as oas://<file>,
// so a spec split over several oas resources loads, while a $ref to
// anything else (http, file system) is refused.
func compileSpec(ctx context.Context, name string, data []byte, resolve func(url string) ([]byte, bool)) (s *spec, err error) {
	// The document is user input compiled inside the message processor:
	// a loader bug it triggers must fail this deployment, not the process.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("the OpenAPI loader failed on this document: %v", r)
		}
	}()
	if err := checkVersion(data); err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "/") || resolve == nil {
			return nil, fmt.Errorf("$ref %q: only references to other oas resources (relative file names) are supported", u.String())
		}
		ref := "oas://" + path.Clean(u.Path)
		data, ok := resolve(ref)
		if !ok {
			return nil, fmt.Errorf("$ref %q: resource %s does not exist", u.String(), ref)
		}
		return data, nil
	}
	doc, err := loader.LoadFromDataWithPath(data, &url.URL{Path: name})
	if err != nil {
		return nil, fmt.Errorf("cannot load the OpenAPI document: %w", err)
	}
	// Examples are documentation: Apigee does not refuse a spec whose
	// examples disagree with its schemas, so neither does this runtime.
	if err := doc.Validate(ctx, openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	// Apigee validates the path after the proxy's base path and ignores the
	// spec's servers (their base paths included), so routing uses none.
	doc.Servers = nil
	if doc.Paths != nil {
		for _, item := range doc.Paths.Map() {
			item.Servers = nil
		}
	}
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("cannot route the OpenAPI document's paths: %w", err)
	}
	s = &spec{doc: doc, router: router}
	seen := map[string]bool{}
	if doc.Paths != nil {
		for _, item := range doc.Paths.Map() {
			for m := range item.Operations() {
				if !seen[m] {
					seen[m] = true
					s.methods = append(s.methods, m)
				}
			}
		}
	}
	sort.Strings(s.methods)
	return s, nil
}

// checkVersion refuses, before the loader sees it, a document that is not
// OpenAPI 3.0 or 3.1: Swagger 2.0, a later version or no OpenAPI at all.
func checkVersion(data []byte) error {
	var head struct {
		OpenAPI any `yaml:"openapi" json:"openapi"`
		Swagger any `yaml:"swagger" json:"swagger"`
	}
	var err error
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		err = json.Unmarshal(trimmed, &head)
	} else {
		err = yaml.Unmarshal(data, &head)
	}
	if err != nil {
		return fmt.Errorf("not a JSON or YAML document: %w", err)
	}
	v, _ := head.OpenAPI.(string)
	switch {
	case head.Swagger != nil && head.OpenAPI == nil:
		return errors.New("a Swagger (OpenAPI 2.0) document is not supported: OASValidation needs OpenAPI 3.0 or 3.1")
	case head.OpenAPI == nil:
		return errors.New("not an OpenAPI document: it has no openapi field")
	case v == "":
		return fmt.Errorf("not an OpenAPI document: the openapi field must be a version string, not %v", head.OpenAPI)
	case strings.HasPrefix(v, "3.0.") || strings.HasPrefix(v, "3.1.") || v == "3.0" || v == "3.1":
		return nil
	default:
		return fmt.Errorf("OpenAPI version %q is not supported: OASValidation needs OpenAPI 3.0 or 3.1", v)
	}
}

// route finds the operation for a method and path; when there is none,
// reason is what Apigee says: no path matches, or the path does not
// allow the method.
func (s *spec) route(r *http.Request) (route *routers.Route, params map[string]string, reason string) {
	route, params, err := s.router.FindRoute(r)
	if err == nil {
		return route, params, ""
	}
	for _, m := range s.methods {
		if m == r.Method {
			continue
		}
		other := r.Clone(r.Context())
		other.Method = m
		if _, _, err := s.router.FindRoute(other); err == nil {
			return nil, nil, fmt.Sprintf("%s operation not allowed on path '%s'.", r.Method, r.URL.Path)
		}
	}
	return nil, nil, fmt.Sprintf("No API path found that matches request '%s'.", r.URL.Path)
}

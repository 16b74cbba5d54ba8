package lint

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
)

// maxMissingPolicies bounds how many missing policies Zip stands in for
// before it gives up and returns Parse's error.
const maxMissingPolicies = 200

// stubPrefix names the stand-in policy files Zip adds (Parse ignores names
// starting with ".", so the stubs get a name nobody would choose instead).
const stubPrefix = "zz-hybrid-lint-missing-"

// missingStepRE matches the problem bundle.Parse reports for a step naming
// a policy the bundle lacks (parse.go, checkStep).
var missingStepRE = regexp.MustCompile(`step references policy ("(?:[^"\\]|\\.)*"), which is not in`)

// Zip parses a bundle zip and lints it, for offline use. Unlike an import,
// steps naming policies the bundle does not have are findings (BN010), not
// errors: Zip stands in an empty policy for each and parses again, so that
// the other rules still run. Any other problem Parse finds is returned as
// the error (a *bundle.ValidationError).
func Zip(data []byte, kind bundle.Kind, opts Options) ([]Finding, error) {
	stubs := map[string]bool{}
	for {
		// Resources the bundle lacks may be the environment's, as at
		// import (the deployment decides), so they are not errors here.
		b, err := bundle.ParseWithOptions(data, kind, bundle.Options{ResourceExists: func(string) bool { return true }})
		if err == nil {
			return lintWithStubs(b, opts, stubs), nil
		}
		var ve *bundle.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, bundle.ErrMissingReference) || len(stubs) >= maxMissingPolicies {
			return nil, err
		}
		m := missingStepRE.FindStringSubmatch(ve.Problem)
		if m == nil {
			return nil, err
		}
		name, uerr := strconv.Unquote(m[1])
		if uerr != nil || stubs[name] {
			return nil, err
		}
		stubs[name] = true
		data, err = withStub(data, kind, len(stubs), name)
		if err != nil {
			return nil, fmt.Errorf("lint: standing in for missing policy %q: %w", name, err)
		}
	}
}

// lintWithStubs reports every step naming a stand-in policy (BN010), then
// removes the stand-ins and lints the rest.
func lintWithStubs(b *bundle.Bundle, opts Options, stubs map[string]bool) []Finding {
	l := &linter{b: b, opts: opts}
	l.eachStep(func(file, where string, s bundle.Step) {
		if stubs[s.Name] {
			l.add(RuleMissingPolicy, file, "%s: step names policy %q, which is not in %s/policies/ (Apigee refuses the bundle at import)", where, s.Name, b.Kind.Root())
		}
	})
	for name := range stubs {
		delete(b.Policies, name)
	}
	out := append(Bundle(b, opts), l.out...)
	sortFindings(out)
	return out
}

// withStub returns the zip with one more policy file, named name.
func withStub(data []byte, kind bundle.Kind, n int, name string) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			return nil, err
		}
	}
	w, err := zw.Create(fmt.Sprintf("%s/policies/%s%d.xml", kind.Root(), stubPrefix, n))
	if err != nil {
		return nil, err
	}
	var attr bytes.Buffer
	if err := xml.EscapeText(&attr, []byte(name)); err != nil { // quotes too
		return nil, err
	}
	if _, err := fmt.Fprintf(w, `<MissingPolicy name="%s"/>`, attr.String()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

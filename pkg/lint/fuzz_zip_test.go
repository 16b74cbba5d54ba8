package lint

import (
	"path/filepath"
	"testing"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
)

// FuzzZip lints whatever bundle zip hybridctl lint may be given: it never
// panics, and every finding names a rule, a file and what is wrong.
func FuzzZip(f *testing.F) {
	for _, dir := range []string{"clean", "conditions", "mixed", "policies", "sharedflow", "targetservers"} {
		data, _, _, err := bundle.FromPath(filepath.Join("testdata", dir))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []bundle.Kind{bundle.KindProxy, bundle.KindSharedFlow} {
			findings, err := Zip(data, kind, Options{TargetServerExists: func(string) bool { return false }})
			if err != nil {
				continue
			}
			for _, fd := range findings {
				if fd.Rule == "" || fd.File == "" || fd.Message == "" || fd.Severity != SeverityWarning {
					t.Fatalf("incomplete finding %+v", fd)
				}
			}
		}
	})
}

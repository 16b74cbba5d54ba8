//go:build oracle

package jsonpath

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/golden"
)

// The oracle: every case of the golden table run through Jayway JsonPath
// itself (tools/jayway-oracle/JaywayOracle.java), the library Apigee
// evaluates JSONPath with, and compared with testdata/jayway_golden.json;
// with -update, Jayway's results become the golden file. Run it with
// `make oracle` (scripts/oracle-jayway.sh resolves json-path and its
// dependencies from Maven Central and sets JAYWAY_CP), or by hand:
//
//	JAYWAY_CP=json-path.jar:json-smart.jar:... go test -tags oracle -run TestOracleJayway ./services/runtime/internal/jsonpath
//
// TestJaywayGolden then holds this package to the same file.

func TestOracleJayway(t *testing.T) {
	cp := os.Getenv("JAYWAY_CP")
	if cp == "" {
		t.Fatal("JAYWAY_CP (the class path of com.jayway.jsonpath:json-path) is not set: run `make oracle` (scripts/oracle-jayway.sh)")
	}
	java := "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java = filepath.Join(home, "bin", "java")
	}
	src, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "tools", "jayway-oracle", "JaywayOracle.java"))
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(java, "-cp", cp, src, docsDir, casesFile)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "the Jayway oracle failed: %s", stderr.String())

	cases := readCases(t)
	var entries []goldenEntry
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r struct {
			Doc      string  `json:"doc"`
			Path     string  `json:"path"`
			Definite *bool   `json:"definite"`
			Value    *string `json:"value"`
			Error    string  `json:"error"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "oracle output line %q", sc.Text())
		e := goldenEntry{Doc: r.Doc, Path: r.Path, Definite: r.Definite, Error: r.Error}
		if r.Value != nil {
			e.Value = json.RawMessage(*r.Value)
		}
		entries = append(entries, e)
	}
	require.NoError(t, sc.Err())
	require.Len(t, entries, len(cases), "one oracle result per case")
	for i, c := range cases {
		require.Equal(t, c, goldenCase{entries[i].Doc, entries[i].Path}, "oracle result %d is for another case", i)
	}
	if !golden.Update() {
		want := readGolden(t)
		for _, e := range entries {
			w := want[goldenCase{e.Doc, e.Path}]
			if a, b := entryLine(t, w), entryLine(t, e); a != b {
				t.Errorf("%s %q: the golden file is not what Jayway gives:\n  golden: %s\n  Jayway: %s", e.Doc, e.Path, a, b)
			}
		}
	}
	golden.Check(t, goldenFile, renderGolden(t, entries))
}

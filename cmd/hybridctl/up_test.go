package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUpRefusesBadFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--regions", "3"}, "--regions must be 1 or 2, not 3"},
		{[]string{"--seed", file}, "not a folder"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		err := runUp(context.Background(), tt.args, &bytes.Buffer{})
		require.ErrorContains(t, err, tt.want)
	}
}

// up and down run the repository's scripts with the flags as their
// environment (a stand-in root whose scripts print what they were given).
func TestUpAndDownRunTheScripts(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "scripts"), 0o755))
	for _, s := range []string{"up.sh", "down.sh"} {
		require.NoError(t, os.WriteFile(filepath.Join(root, "scripts", s),
			[]byte("#!/bin/sh\necho "+s+" regions=$HYBRID_REGIONS seed=$HYBRID_SEED\n"), 0o755))
	}
	seed := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, runUp(context.Background(), []string{"--root", root, "--regions", "2", "--seed", seed}, &out))
	require.Equal(t, "up.sh regions=2 seed="+seed+"\n", out.String())
	out.Reset()
	require.NoError(t, runDown(context.Background(), []string{"--root", root}, &out))
	require.Contains(t, out.String(), "down.sh")
}

func TestColourOnlyOnATerminal(t *testing.T) {
	require.False(t, useColour(&bytes.Buffer{}), "a buffer is not a terminal")
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer f.Close()
	require.False(t, useColour(f), "a file is not a terminal")
	require.Equal(t, "x", paint(false, red, "x"))
	require.Equal(t, "\x1b[31mx\x1b[0m", paint(true, red, "x"))
}

// scripts/cassandra.sh's progress: the bar and how far a start has got by
// its system.log, with the script's own functions in a real bash.
func TestCassandraProgressBar(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	sysLog := filepath.Join(t.TempDir(), "system.log")
	require.NoError(t, os.WriteFile(sysLog, []byte(
		"INFO  [main] YamlConfigurationLoader - Configuration location: file:/x/cassandra.yaml\n"+
			"INFO  [SSTableBatchOpen:1] CacheService - Initializing key cache with capacity of 51 MiBs.\n"+
			"INFO  [main] ColumnFamilyStore - Initializing system_schema.keyspaces\n"), 0o600))
	prog := `PREFIX=cassandra:
source <(sed -n '/^progress_on()/,/^bar_end()/p;/^start_milestones=/,/^}/p' "$1")
SYSTEM_LOG="$2"
start_progress 1
bar 35 70 "downloading"; echo
bar 99 70 "over"; echo
CASSANDRA_PROGRESS=true progress_on </dev/null >/dev/null && echo tty || echo "no tty"
`
	out, err := exec.Command("bash", "-c", prog, "test", filepath.Join(root, "scripts", "cassandra.sh"), sysLog).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "3\n"+
		"\rcassandra: [############------------]  50% downloading\x1b[K\n"+
		"\rcassandra: [########################] 100% over\x1b[K\n"+
		"no tty\n", string(out), "three milestones reached; a bar never passes 100%; no bar into a pipe")
}

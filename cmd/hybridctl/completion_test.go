package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The bash script, sourced in a real bash, completes commands, their
// words and files.
func TestCompletionInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	require.NoError(t, err, "bash is needed to check the completion script")
	var script bytes.Buffer
	require.NoError(t, runCompletion(context.Background(), []string{"bash"}, &script))
	dir := t.TempDir()
	path := filepath.Join(dir, "hybridctl.bash")
	require.NoError(t, os.WriteFile(path, script.Bytes(), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bundle.zip"), nil, 0o600))

	tests := []struct {
		words []string
		want  []string
	}{
		{[]string{"hybridctl", "de"}, []string{"deploy"}},
		{[]string{"hybridctl", "lo"}, []string{"logs"}},
		{[]string{"hybridctl", "logs", "run"}, []string{"runtime"}},
		{[]string{"hybridctl", "outage", "st"}, []string{"start", "status", "stop"}},
		{[]string{"hybridctl", "deploy", "bun"}, []string{"bundle.zip"}},
		{[]string{"hybridctl", "completion", ""}, []string{"bash", "zsh"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.words, " "), func(t *testing.T) {
			prog := "source " + path + "\nCOMP_WORDS=(" + quoteWords(tt.words) + ")\nCOMP_CWORD=" +
				itoa(len(tt.words)-1) + "\n_hybridctl\nprintf '%s\\n' \"${COMPREPLY[@]}\" | sort\n"
			cmd := exec.Command(bash, "--noprofile", "--norc", "-c", prog)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
			require.Equal(t, tt.want, strings.Fields(string(out)))
		})
	}

	var zsh bytes.Buffer
	require.NoError(t, runCompletion(context.Background(), []string{"zsh"}, &zsh))
	require.Contains(t, zsh.String(), "bashcompinit")
	require.Error(t, runCompletion(context.Background(), []string{"fish"}, &bytes.Buffer{}))
}

func quoteWords(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = "'" + w + "'"
	}
	return strings.Join(q, " ")
}

func itoa(n int) string { return strconv.Itoa(n) }

//go:build integration

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// No Docker engine runs here, so the Dockerfile is checked as text for what
// the images promise — a static build, a non-root distroless final stage,
// OCI labels from the build, the service named for the healthcheck — and the
// healthcheck command itself is run with the real hybridctl.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(h.Root, "Dockerfile"))
	require.NoError(t, err)
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(text, -1)
	require.Len(t, froms, 2, "a build stage and a runtime stage")
	require.Contains(t, froms[1][1], "distroless/static")
	require.True(t, strings.HasSuffix(froms[1][1], ":nonroot"), froms[1][1])
	final := text[strings.LastIndex(text, "\nFROM "):]
	require.Contains(t, text, "CGO_ENABLED=0 go build", "static binaries")
	require.Regexp(t, `(?m)^USER nonroot`, final)
	require.Regexp(t, `(?m)^ENV HYBRID_SERVICE=\$\{SERVICE\}`, final)
	for _, label := range []string{"title", "description", "version", "revision", "created", "source"} {
		require.Contains(t, final, "org.opencontainers.image."+label+"=", "OCI label %s", label)
	}
	hc := regexp.MustCompile(`(?m)^HEALTHCHECK .*CMD \["/usr/local/bin/hybridctl", "status"\]`).FindString(final)
	require.NotEmpty(t, hc, "the healthcheck runs hybridctl status")

	// The healthcheck checks only the image's own service: with nothing
	// listening it reports that one service not ready and exits 1.
	cmd := exec.Command(filepath.Join(h.BinDir, "hybridctl"), "status")
	cmd.Env = append(os.Environ(), "HYBRID_SERVICE=watcher")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	require.True(t, errors.As(err, &exitErr), "%s", out)
	require.Equal(t, 1, exitErr.ExitCode(), "%s", out)
	require.Contains(t, string(out), "watcher")
	for _, other := range []string{"controlplane", "synchronizer", "mart", "udca", "connect-agent"} {
		require.NotContains(t, string(out), other, "only the image's own service is checked")
	}
}

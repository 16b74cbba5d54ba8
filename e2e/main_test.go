//go:build integration

package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// h is shared by every test in the package: building the binaries and
// reaching Cassandra happen once.
var h *harness.Harness

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	var cleanup func()
	var err error
	h, cleanup, err = harness.Setup(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A layout file (make up REGIONS=2) lists every process of every
// instance; status probes them all (http readiness, tcp for Cassandra) in a
// table with an INSTANCE column and fails when one is not ready.
func TestStatusReadsTheLayoutOfEveryInstance(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ready.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	goneAddr := gone.Addr().String()
	gone.Close()

	layout := filepath.Join(t.TempDir(), "layout")
	text := "# test\n" +
		"- controlplane " + ready.URL + "\n" +
		"- cassandra-dc2 tcp://" + ln.Addr().String() + "\n" +
		"region-1 synchronizer " + ready.URL + "\n" +
		"region-2 synchronizer-2 " + ready.URL + "\n"
	if err := os.WriteFile(layout, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runStatus(context.Background(), []string{"--layout", layout}, &out); err != nil {
		t.Fatalf("all ready: %v\n%s", err, out.String())
	}
	for _, want := range []string{"INSTANCE", "region-1", "region-2", "synchronizer-2", "cassandra-dc2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// --instance keeps one instance's processes and the org-wide ones.
	out.Reset()
	if err := runStatus(context.Background(), []string{"--layout", layout, "--instance", "region-2"}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "region-1") || !strings.Contains(out.String(), "controlplane") {
		t.Errorf("--instance region-2:\n%s", out.String())
	}

	// One instance's process down: exit code 1 (errNotReady).
	text += "region-2 watcher-2 http://" + goneAddr + "\n"
	if err := os.WriteFile(layout, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = runStatus(context.Background(), []string{"--layout", layout}, &out)
	if !errors.Is(err, errNotReady) || !strings.Contains(out.String(), "unreachable") {
		t.Fatalf("err = %v, want errNotReady\n%s", err, out.String())
	}

	// Without a layout the table is the single-instance one it always was.
	t.Setenv("HYBRID_RUN_DIR", t.TempDir())
	out.Reset()
	_ = runStatus(context.Background(), []string{"--endpoints", "controlplane=" + ready.URL, "--only", "controlplane"}, &out)
	if strings.Contains(out.String(), "INSTANCE") || !strings.HasPrefix(out.String(), "SERVICE") {
		t.Errorf("no layout:\n%s", out.String())
	}
}

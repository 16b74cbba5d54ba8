package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func writeLog(tb testing.TB, dir, name, text string) string {
	tb.Helper()
	p := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(tb, err)
	_, err = f.WriteString(text)
	require.NoError(tb, err)
	require.NoError(tb, f.Close())
	return p
}

func TestLogsTail(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "runtime", "r1\nr2\nr3\n")
	writeLog(t, dir, "mart", "m1\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
		err  string
	}{
		{"all services, last 2 lines", []string{"--tail", "2"}, "mart    | m1\nruntime | r2\nruntime | r3\n", ""},
		{"one service, everything", []string{"--tail", "-1", "runtime"}, "runtime | r1\nruntime | r2\nruntime | r3\n", ""},
		{"nothing", []string{"--tail", "0"}, "", ""},
		{"unknown service", []string{"watcher"}, "", `no log for service "watcher"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runLogs(context.Background(), append([]string{"--dir", dir}, tc.args...), &out)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.ErrorContains(t, err, "have: mart, runtime")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, out.String())
		})
	}
	err := runLogs(context.Background(), []string{"--dir", t.TempDir()}, &bytes.Buffer{})
	require.ErrorContains(t, err, "no logs in")
}

// syncBuffer is a bytes.Buffer safe to read while runLogs writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsFollow: new complete lines are printed as they are written; a
// partial line waits for its newline; a truncated file starts over.
func TestLogsFollow(t *testing.T) {
	dir := t.TempDir()
	p := writeLog(t, dir, "udca", "old\n")
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runLogs(ctx, []string{"--dir", dir, "--tail", "1", "-f", "--poll", "5ms"}, out) }()
	// The tail is printed once the starting offsets are taken.
	require.Eventually(t, func() bool { return out.String() == "udca | old\n" }, 5*time.Second, 5*time.Millisecond)

	writeLog(t, dir, "udca", "new 1\nhal")
	require.Eventually(t, func() bool { return out.String() == "udca | old\nudca | new 1\n" }, 5*time.Second, 5*time.Millisecond)
	writeLog(t, dir, "udca", "f\n")
	require.Eventually(t, func() bool { return strings.HasSuffix(out.String(), "udca | half\n") }, 5*time.Second, 5*time.Millisecond, out.String())
	require.NoError(t, os.WriteFile(p, []byte("fresh\n"), 0o600))
	require.Eventually(t, func() bool { return strings.HasSuffix(out.String(), "udca | fresh\n") }, 5*time.Second, 5*time.Millisecond, out.String())
	require.Equal(t, 1, strings.Count(out.String(), "old"), "a truncated file is not printed twice")

	cancel()
	require.NoError(t, <-done)
}

func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"", 3, ""},
		{"a\n", -1, "a"},
	} {
		require.Equal(t, tc.want, string(lastLines([]byte(tc.in), tc.n)), "%q %d", tc.in, tc.n)
	}
}

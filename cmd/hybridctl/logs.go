package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// logsDir is where scripts/up.sh writes each process's log:
// $HYBRID_RUN_DIR/logs, else .run/logs.
func logsDir() string {
	if run := os.Getenv("HYBRID_RUN_DIR"); run != "" {
		return filepath.Join(run, "logs")
	}
	return filepath.Join(".run", "logs")
}

// runLogs prints the local stack's logs, each line prefixed with its
// service, like `docker compose logs`: the last --tail lines of each, then,
// with --follow, new lines as they are written.
func runLogs(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	dir := fs.String("dir", logsDir(), "directory of the services' log files (make up writes $HYBRID_RUN_DIR/logs)")
	tail := fs.Int("tail", 20, "lines to print from the end of each log first (0: none, -1: all)")
	follow := fs.Bool("follow", false, "keep printing new lines until interrupted")
	fs.BoolVar(follow, "f", false, "short for --follow")
	every := fs.Duration("poll", 200*time.Millisecond, "how often --follow looks for new lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	paths, err := logFiles(*dir, fs.Args())
	if err != nil {
		return err
	}
	width := 0
	for _, p := range paths {
		width = max(width, len(serviceOf(p)))
	}
	offsets := make([]int64, len(paths))
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		offsets[i] = int64(len(data))
		if *tail != 0 {
			writeLines(stdout, serviceOf(p), width, lastLines(data, *tail))
		}
	}
	if !*follow {
		return nil
	}
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for i, p := range paths {
			data, next, err := readFrom(p, offsets[i])
			if err != nil {
				continue // rotated or removed by make clean: try again later
			}
			offsets[i] = next
			writeLines(stdout, serviceOf(p), width, data)
		}
	}
}

// logFiles are the log files of the named services (all when none), in
// name order; an unknown service is an error listing the known ones.
func logFiles(dir string, services []string) ([]string, error) {
	all, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	slices.Sort(all)
	if len(all) == 0 {
		return nil, fmt.Errorf("no logs in %s (is the stack up? make up writes them there)", dir)
	}
	if len(services) == 0 {
		return all, nil
	}
	known := make([]string, len(all))
	for i, p := range all {
		known[i] = serviceOf(p)
	}
	var out []string
	for _, s := range services {
		i := slices.Index(known, s)
		if i < 0 {
			return nil, fmt.Errorf("no log for service %q in %s (have: %s)", s, dir, strings.Join(known, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

func serviceOf(path string) string { return strings.TrimSuffix(filepath.Base(path), ".log") }

// lastLines is the last n complete lines of data (all when n < 0).
func lastLines(data []byte, n int) []byte {
	data = bytes.TrimRight(data, "\n")
	if n < 0 || len(data) == 0 {
		return data
	}
	i := len(data)
	for range n {
		j := bytes.LastIndexByte(data[:i], '\n')
		if j < 0 {
			return data
		}
		i = j
	}
	return data[i+1:]
}

// readFrom returns the complete lines of path after offset and the offset
// past them; a file shorter than offset was truncated and is read from
// its start.
func readFrom(path string, offset int64) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, offset, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, offset, err
	}
	if fi.Size() < offset {
		offset = 0
	}
	data := make([]byte, fi.Size()-offset)
	n, err := f.ReadAt(data, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, offset, err
	}
	data = data[:n]
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return nil, offset, nil // a partial line: wait for its end
	}
	return data[:end], offset + int64(end) + 1, nil
}

func writeLines(w io.Writer, service string, width int, data []byte) {
	if len(data) == 0 {
		return
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		fmt.Fprintf(w, "%-*s | %s\n", width, service, line)
	}
}

package udca

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
)

// prepare makes the folders and puts back what a previous run left
// behind: a file cut short in staging/ returns to the queue; a file still
// open (UDCA died while writing) is salvaged — the records before the
// damage go into a ready file, the original is moved to corrupt/ — and
// anything in a dataset folder that is not a readable buffer file is
// moved to corrupt/ too. Every move is logged; nothing here is fatal.
func prepare(dir string, log *zap.Logger) error {
	for _, ds := range analyticsfile.Datasets {
		for _, sub := range []string{"", dirOpen, dirStaging, dirFailed, dirCorrupt} {
			if err := os.MkdirAll(filepath.Join(dir, ds, sub), 0o700); err != nil {
				return fmt.Errorf("udca: data dir: %w", err)
			}
		}
	}
	for _, ds := range analyticsfile.Datasets {
		base := filepath.Join(dir, ds)
		for _, name := range files(filepath.Join(base, dirStaging)) {
			from, to := filepath.Join(base, dirStaging, name), filepath.Join(base, name)
			log.Info(fmt.Sprintf("Reverting file %q to original name %q", from, to))
			if err := os.Rename(from, to); err != nil {
				return fmt.Errorf("udca: revert %s: %w", from, err)
			}
		}
		for _, name := range files(filepath.Join(base, dirOpen)) {
			salvage(base, name, log)
		}
		for _, name := range files(base) {
			path := filepath.Join(base, name)
			if n, err := analyticsfile.ParseName(name); err != nil || n.Dataset != ds {
				moveAside(base, name, fmt.Errorf("not a buffer file name"), log)
				continue
			}
			if err := check(path); err != nil {
				moveAside(base, name, err, log)
			}
		}
	}
	return nil
}

// files lists the regular files of a folder.
func files(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out
}

// check reads a whole buffer file.
func check(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = analyticsfile.Read(f, func([]byte) error { return nil })
	return err
}

func moveAside(base, name string, why error, log *zap.Logger) {
	from, to := filepath.Join(base, name), filepath.Join(base, dirCorrupt, name)
	log.Warn(fmt.Sprintf("Moving corrupt file %q aside to %q: %v", from, to, why))
	if err := os.Rename(from, to); err != nil {
		log.Error("cannot move corrupt file", zap.String("file", from), zap.Error(err))
	}
}

// salvage recovers a file UDCA was writing when it stopped: a complete
// one is queued as it is; a damaged one gives its readable records to a
// new ready file of the same name and goes to corrupt/.
func salvage(base, name string, log *zap.Logger) {
	path := filepath.Join(base, dirOpen, name)
	if _, err := analyticsfile.ParseName(name); err != nil {
		log.Warn(fmt.Sprintf("Moving corrupt file %q aside to %q: %v", path, filepath.Join(base, dirCorrupt, name), err))
		_ = os.Rename(path, filepath.Join(base, dirCorrupt, name))
		return
	}
	err := check(path)
	if err == nil {
		log.Info(fmt.Sprintf("Queueing file %q left open by an earlier run", strings.TrimSuffix(name, analyticsfile.Ext)))
		if rerr := os.Rename(path, filepath.Join(base, name)); rerr != nil {
			log.Error("cannot queue file", zap.String("file", path), zap.Error(rerr))
		}
		return
	}
	n, werr := copyGood(path, filepath.Join(base, name))
	if werr != nil {
		log.Error("cannot salvage file", zap.String("file", path), zap.Error(werr))
	}
	to := filepath.Join(base, dirCorrupt, name)
	log.Warn(fmt.Sprintf("Moving corrupt file %q aside to %q after salvaging %d records: %v", path, to, n, err))
	if rerr := os.Rename(path, to); rerr != nil {
		log.Error("cannot move corrupt file", zap.String("file", path), zap.Error(rerr))
	}
}

// copyGood writes the readable records of src into a new buffer file dst
// (none written when there are none).
func copyGood(src, dst string) (int, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	var lines [][]byte
	_, rerr := analyticsfile.Read(in, func(rec []byte) error {
		lines = append(lines, append([]byte(nil), rec...))
		return nil
	})
	if rerr != nil && !errors.Is(rerr, analyticsfile.ErrCorrupt) {
		return 0, rerr
	}
	if len(lines) == 0 {
		return 0, nil
	}
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(out)
	zw := gzip.NewWriter(bw)
	for _, l := range lines {
		_, _ = zw.Write(l)
		_, _ = zw.Write([]byte{'\n'})
	}
	err = zw.Close()
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	return len(lines), nil
}

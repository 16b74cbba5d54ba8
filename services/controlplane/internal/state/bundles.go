package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
)

func (s *Store) bundlePath(org string, k Kind, name string, rev int) string {
	coll := "apis"
	if k == KindSharedFlow {
		coll = "sharedflows"
	}
	return filepath.Join(s.dir, "bundles", org, coll, name, strconv.Itoa(rev)+".zip")
}

// WriteBundle stores a revision's zip within tx; the file goes away again
// if the mutation fails.
func (tx *Tx) WriteBundle(org string, k Kind, name string, rev int, zip []byte) error {
	p := tx.s.bundlePath(org, k, name, rev)
	if err := atomicfile.Write(p, zip, 0o600); err != nil {
		return fmt.Errorf("store bundle: %w", err)
	}
	tx.OnRollback(func() { _ = os.Remove(p) })
	return nil
}

// RemoveBundle deletes a revision's zip once the mutation is committed.
func (tx *Tx) RemoveBundle(org string, k Kind, name string, rev int) {
	p := tx.s.bundlePath(org, k, name, rev)
	tx.OnCommit(func() {
		_ = os.Remove(p)
		_ = os.Remove(filepath.Dir(p)) // only succeeds once the API has no revisions left
	})
}

// RemoveOrgBundles deletes every bundle zip of org (the org is being
// deleted). The folder is moved aside at once, so an org re-created right
// after the commit starts empty, and removed once the mutation is
// committed; a failed mutation moves it back.
func (tx *Tx) RemoveOrgBundles(org string) error {
	dir := filepath.Join(tx.s.dir, "bundles", org)
	aside, err := os.MkdirTemp(filepath.Join(tx.s.dir, "bundles"), ".deleted-")
	if err != nil {
		return fmt.Errorf("remove bundles: %w", err)
	}
	moved := filepath.Join(aside, "org")
	if err := os.Rename(dir, moved); err != nil {
		_ = os.Remove(aside)
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("remove bundles: %w", err)
	}
	tx.OnRollback(func() { _ = os.Rename(moved, dir); _ = os.Remove(aside) })
	tx.OnCommit(func() { _ = os.RemoveAll(aside) })
	return nil
}

// ReadBundle returns a revision's zip.
func (s *Store) ReadBundle(org string, k Kind, name string, rev int) ([]byte, error) {
	data, err := os.ReadFile(s.bundlePath(org, k, name, rev))
	if err != nil {
		return nil, fmt.Errorf("read bundle %s revision %d: %w", name, rev, err)
	}
	return data, nil
}

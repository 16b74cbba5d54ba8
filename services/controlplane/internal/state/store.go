// Package state is the mock control plane's own embedded store, kept apart
// from the runtime plane's Cassandra: the whole model lives in memory, every
// successful mutation is written atomically to a JSON snapshot under the
// state directory, and bundle zips are kept beside it as files. A restart
// with the same directory picks everything up again.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// ErrNotFound is returned by WaitContractChange for an unknown environment.
var ErrNotFound = errors.New("not found")

const snapshotFile = "state.json"

// Store is the concurrency-safe, persistent control-plane state.
type Store struct {
	dir string
	now func() time.Time

	mu    sync.RWMutex
	data  *Data
	saved []byte // the last snapshot written; restored when a mutation fails

	wmu      sync.Mutex
	watchers map[string]chan struct{} // org/env → closed on the next contract change
	waiting  atomic.Int64
}

// Waiting is the number of long-polls currently waiting for a change.
func (s *Store) Waiting() int64 { return s.waiting.Load() }

// Open loads the snapshot in dir, or starts empty when there is none.
// now may be nil (time.Now).
func Open(dir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(filepath.Join(dir, "bundles"), 0o755); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	s := &Store{dir: dir, now: now, watchers: map[string]chan struct{}{}}
	raw, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.data = newData()
		if s.saved, err = json.Marshal(s.data); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("read state: %w", err)
	default:
		d, err := decode(raw)
		if err != nil {
			return nil, fmt.Errorf("state file %s: %w", filepath.Join(dir, snapshotFile), err)
		}
		s.data, s.saved = d, raw
	}
	return s, nil
}

func decode(raw []byte) (*Data, error) {
	d := newData()
	if err := json.Unmarshal(raw, d); err != nil {
		return nil, err
	}
	if d.Orgs == nil {
		d.Orgs = map[string]*Org{}
	}
	for _, o := range d.Orgs {
		o.fill()
	}
	return d, nil
}

// Dir is the state directory.
func (s *Store) Dir() string { return s.dir }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// View runs fn with a read lock. fn must not modify d nor keep references
// into it after returning.
func (s *Store) View(fn func(d *Data) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(s.data)
}

// Tx is one mutation in progress.
type Tx struct {
	*Data
	// Now is the mutation's timestamp; all changes of one Tx share it.
	Now       time.Time
	s         *Store
	touched   map[string]bool
	rollbacks []func()
	commits   []func()
	changed   bool
}

// Millis is Now in Unix milliseconds, the unit of every timestamp in the model.
func (tx *Tx) Millis() int64 { return tx.Now.UnixMilli() }

// Touch gives org/env a new contract version and wakes its long-pollers
// once the mutation has been committed.
func (tx *Tx) Touch(org *Org, env string) {
	e := org.Environments[env]
	if e == nil {
		return
	}
	e.ContractVersion = contract.NextVersion(tx.Now, e.ContractVersion)
	tx.touched[org.Name+"/"+env] = true
}

// Wake wakes the long-pollers of org/env after commit without a new
// version (e.g. the environment was deleted).
func (tx *Tx) Wake(org, env string) { tx.touched[org+"/"+env] = true }

// OnRollback registers f to undo a side effect (e.g. a bundle file written)
// should the mutation fail.
func (tx *Tx) OnRollback(f func()) { tx.rollbacks = append(tx.rollbacks, f) }

// OnCommit registers f to run after the mutation has been persisted (e.g.
// removing a deleted revision's bundle file).
func (tx *Tx) OnCommit(f func()) { tx.commits = append(tx.commits, f) }

// Unchanged tells Update that fn changed nothing worth persisting.
func (tx *Tx) Unchanged() { tx.changed = false }

// Update runs fn under the write lock and persists the result. If fn fails
// or the snapshot cannot be written, every change fn made is undone, so a
// failed request never leaves partial state behind.
func (s *Store) Update(fn func(tx *Tx) error) error {
	s.mu.Lock()
	tx := &Tx{Data: s.data, Now: s.now(), s: s, touched: map[string]bool{}, changed: true}
	err := fn(tx)
	if err == nil && tx.changed {
		err = s.persist()
	}
	if err != nil {
		s.restore()
		s.mu.Unlock()
		for i := len(tx.rollbacks) - 1; i >= 0; i-- {
			tx.rollbacks[i]()
		}
		return err
	}
	s.mu.Unlock()
	for _, f := range tx.commits {
		f()
	}
	for key := range tx.touched {
		s.wake(key)
	}
	return nil
}

func (s *Store) restore() {
	d, err := decode(s.saved)
	if err != nil { // cannot happen: saved was produced by json.Marshal
		panic(fmt.Sprintf("state: restore snapshot: %v", err))
	}
	s.data = d
}

func (s *Store) persist() error {
	raw, err := json.Marshal(s.data)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(s.dir, snapshotFile), raw, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	s.saved = raw
	return nil
}

func (s *Store) wake(key string) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if ch, ok := s.watchers[key]; ok {
		close(ch)
		delete(s.watchers, key)
	}
}

// ContractVersion returns org/env's current contract version.
func (s *Store) ContractVersion(org, env string) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.data.Orgs[org]
	if o == nil || o.Environments[env] == nil {
		return "", ErrNotFound
	}
	return o.Environments[env].ContractVersion, nil
}

// WaitContractChange returns org/env's contract version as soon as it is
// different from from, or the unchanged version when ctx ends first.
func (s *Store) WaitContractChange(ctx context.Context, org, env, from string) (string, error) {
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	for {
		// Register before reading the version so no change slips between.
		key := org + "/" + env
		s.wmu.Lock()
		ch, ok := s.watchers[key]
		if !ok {
			ch = make(chan struct{})
			s.watchers[key] = ch
		}
		s.wmu.Unlock()

		v, err := s.ContractVersion(org, env)
		if err != nil || v != from {
			return v, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return v, nil
		}
	}
}

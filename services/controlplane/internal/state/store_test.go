package state_test

import (
	"context"
	"errors"
	"go.uber.org/goleak"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openStore(tb testing.TB, dir string) *state.Store {
	tb.Helper()
	s, err := state.Open(dir, nil)
	require.NoError(tb, err)
	return s
}

func addOrgEnv(tb testing.TB, s *state.Store) {
	tb.Helper()
	require.NoError(tb, s.Update(func(tx *state.Tx) error {
		o := state.NewOrg("o", "o", tx.Millis())
		o.Environments["e"] = &state.Environment{Name: "e"}
		tx.Orgs["o"] = o
		tx.Touch(o, "e")
		return nil
	}))
}

func TestUpdatePersistsAndReloads(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	addOrgEnv(t, s)
	require.NoError(t, s.Update(func(tx *state.Tx) error {
		return tx.WriteBundle("o", state.KindProxy, "p", 1, []byte("zip"))
	}))
	v, err := s.ContractVersion("o", "e")
	require.NoError(t, err)

	s2 := openStore(t, dir)
	v2, err := s2.ContractVersion("o", "e")
	require.NoError(t, err)
	require.Equal(t, v, v2)
	zip, err := s2.ReadBundle("o", state.KindProxy, "p", 1)
	require.NoError(t, err)
	require.Equal(t, []byte("zip"), zip)
}

func TestFailedUpdateLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	addOrgEnv(t, s)
	before, err := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	v, _ := s.ContractVersion("o", "e")

	boom := errors.New("boom")
	err = s.Update(func(tx *state.Tx) error {
		o := tx.Orgs["o"]
		o.DisplayName = "changed"
		tx.Touch(o, "e")
		if err := tx.WriteBundle("o", state.KindProxy, "p", 1, []byte("zip")); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.NoError(t, s.View(func(d *state.Data) error {
		require.Empty(t, d.Orgs["o"].DisplayName)
		return nil
	}))
	v2, _ := s.ContractVersion("o", "e")
	require.Equal(t, v, v2)
	_, err = s.ReadBundle("o", state.KindProxy, "p", 1)
	require.Error(t, err, "the bundle written by the failed mutation is gone")
	after, err := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestWaitContractChange(t *testing.T) {
	s := openStore(t, t.TempDir())
	addOrgEnv(t, s)
	v, err := s.ContractVersion("o", "e")
	require.NoError(t, err)

	t.Run("different already", func(t *testing.T) {
		got, err := s.WaitContractChange(context.Background(), "o", "e", "old")
		require.NoError(t, err)
		require.Equal(t, v, got)
	})
	t.Run("timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		got, err := s.WaitContractChange(ctx, "o", "e", v)
		require.NoError(t, err)
		require.Equal(t, v, got)
	})
	t.Run("change", func(t *testing.T) {
		got := make(chan string, 1)
		go func() {
			nv, _ := s.WaitContractChange(context.Background(), "o", "e", v)
			got <- nv
		}()
		require.NoError(t, s.Update(func(tx *state.Tx) error {
			tx.Touch(tx.Orgs["o"], "e")
			return nil
		}))
		select {
		case nv := <-got:
			require.Greater(t, nv, v)
		case <-time.After(10 * time.Second):
			t.Fatal("no wake-up")
		}
	})
	t.Run("unknown env", func(t *testing.T) {
		_, err := s.WaitContractChange(context.Background(), "o", "nope", "x")
		require.ErrorIs(t, err, state.ErrNotFound)
	})
}

func TestOpenRejectsCorruptSnapshot(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "state.json"), []byte("{not json"), 0o600))
	_, err := state.Open(dir, nil)
	require.ErrorContains(t, err, "state.json")
}

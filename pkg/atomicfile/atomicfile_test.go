package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
)

// entries lists the names in dir, so a test can tell a stray temp file.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteCreatesFileAndDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "state.json")
	require.NoError(t, atomicfile.Write(path, []byte(`{"v":1}`), 0o600))

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, `{"v":1}`, string(got))
	require.Equal(t, []string{"state.json"}, entries(t, filepath.Dir(path)))
}

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, os.WriteFile(path, []byte("old content, longer than the new"), 0o600))
	require.NoError(t, atomicfile.Write(path, []byte("new"), 0o600))

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "new", string(got))
	require.Equal(t, []string{"state.json"}, entries(t, dir))
}

func TestWriteHonoursPerm(t *testing.T) {
	dir := t.TempDir()
	for _, perm := range []os.FileMode{0o600, 0o644, 0o640} {
		path := filepath.Join(dir, perm.String())
		require.NoError(t, atomicfile.Write(path, []byte("x"), perm))
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, perm, fi.Mode().Perm(), "perm %v", perm)
	}
	// Replacing gives the new file the requested perm, not the old one's.
	path := filepath.Join(dir, "replaced")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	require.NoError(t, atomicfile.Write(path, []byte("new"), 0o600))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestWriteFailureLeavesNoTempFileAndKeepsOld(t *testing.T) {
	dir := t.TempDir()
	// The target is a non-empty directory: the rename over it fails after
	// the temp file has been written.
	path := filepath.Join(dir, "target")
	require.NoError(t, os.MkdirAll(filepath.Join(path, "child"), 0o755))

	err := atomicfile.Write(path, []byte("data"), 0o600)
	require.Error(t, err)
	require.Equal(t, []string{"target"}, entries(t, dir), "temp file left behind")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.True(t, fi.IsDir(), "old entry replaced")
}

func TestWriteFailsWhenDirectoryCannotBeMade(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	// A path below a regular file: MkdirAll fails, nothing is written.
	require.Error(t, atomicfile.Write(filepath.Join(file, "sub", "state.json"), []byte("d"), 0o600))
	require.Equal(t, []string{"file"}, entries(t, dir))
}

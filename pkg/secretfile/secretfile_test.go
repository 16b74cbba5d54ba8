package secretfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    os.FileMode
		tooOpen bool
	}{
		{"owner only", 0o600, false},
		{"owner read only", 0o400, false},
		{"group readable", 0o640, true},
		{"world readable", 0o644, true},
		{"group writable", 0o620, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret")
			require.NoError(t, os.WriteFile(path, []byte("s3cret\n"), 0o600))
			require.NoError(t, os.Chmod(path, tc.mode))
			got, err := Read(path)
			if tc.tooOpen {
				require.ErrorIs(t, err, ErrTooOpen)
				require.ErrorContains(t, err, "chmod 600")
				return
			}
			require.NoError(t, err)
			require.Equal(t, "s3cret\n", string(got))
		})
	}
}

func TestReadMissing(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "absent"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// Package secretfile reads files that hold secrets (passwords, keys) and
// refuses any that users other than the owner could read: a secret another
// local user can read is not a secret.
package secretfile

import (
	"errors"
	"fmt"
	"os"
)

// ErrTooOpen is returned for a secret file readable by group or others.
var ErrTooOpen = errors.New("secret file is readable by group or others")

// Read returns the contents of path, which must not be readable, writable
// or executable by group or others.
func Read(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s (mode %04o): %w; chmod 600 it", path, st.Mode().Perm(), ErrTooOpen)
	}
	return os.ReadFile(path)
}

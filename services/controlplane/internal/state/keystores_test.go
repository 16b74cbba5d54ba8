package state

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Keystores hold private keys: the snapshot that carries them must be
// readable by the control plane's user only, and survive a restart.
func TestKeystoresPersistPrivately(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, s.Update(func(tx *Tx) error {
		o := NewOrg("o", "o", tx.Millis())
		o.Environments["e"] = &Environment{Name: "e",
			Keystores: map[string]*Keystore{
				"ks": {Name: "ks", Aliases: map[string]*Alias{
					"b": {Name: "b", Type: AliasKeyCert, CertPEM: "cert-b", KeyPEM: "secret-key"},
					"a": {Name: "a", Type: AliasCert, CertPEM: "cert-a"},
				}},
				"ts": {Name: "ts"},
			},
			References: map[string]*Reference{
				"r2": {Name: "r2", ResourceType: "KeyStore", Refers: "ks"},
				"r1": {Name: "r1", ResourceType: "TrustStore", Refers: "ts"},
				"r0": {Name: "r0", ResourceType: "KeyStore", Refers: "ks"},
			},
		}
		tx.Orgs["o"] = o
		return nil
	}))
	fi, err := os.Stat(filepath.Join(dir, snapshotFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, err := Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, again.View(func(d *Data) error {
		e := d.Orgs["o"].Environments["e"]
		require.Equal(t, []string{"ks", "ts"}, e.KeystoreNames())
		require.Equal(t, []string{"a", "b"}, e.Keystores["ks"].AliasNames())
		require.Equal(t, "secret-key", e.Keystores["ks"].Aliases["b"].KeyPEM)
		require.Equal(t, []string{"r0", "r1", "r2"}, e.ReferenceNames())
		require.Equal(t, []string{"r0", "r2"}, e.ReferencesTo("ks"))
		require.Empty(t, e.ReferencesTo("nope"))
		return nil
	}))
}

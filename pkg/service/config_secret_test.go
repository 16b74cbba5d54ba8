package service

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

type secretConfig struct {
	Auth struct {
		SharedSecret string `yaml:"sharedSecret" secret:"true" usage:"secret"`
	} `yaml:"auth"`
	Org string `yaml:"org"`
}

// TestSecretsNeverOnTheCommandLine: a secret given as a flag is refused
// (ps shows flags to every local user); the environment, a 0600 file named
// by <ENV>_FILE and the YAML file work; a group-readable file is refused.
func TestSecretsNeverOnTheCommandLine(t *testing.T) {
	var cfg secretConfig
	err := LoadConfig("t", "T", []string{"--auth.sharedSecret", "s3cret"}, &cfg)
	require.ErrorIs(t, err, ErrSecretFlag)
	require.ErrorContains(t, err, "$T_AUTH_SHAREDSECRET")
	require.NotContains(t, err.Error(), "s3cret", "the error does not echo the secret")

	require.NoError(t, LoadConfig("t", "T", []string{"--org", "o"}, &cfg), "other flags still work")

	t.Run("environment", func(t *testing.T) {
		t.Setenv("T_AUTH_SHAREDSECRET", "from-env")
		var cfg secretConfig
		require.NoError(t, LoadConfig("t", "T", nil, &cfg))
		require.Equal(t, "from-env", cfg.Auth.SharedSecret)
	})
	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secret")
		require.NoError(t, os.WriteFile(path, []byte("from-file\n"), 0o600))
		t.Setenv("T_AUTH_SHAREDSECRET_FILE", path)
		t.Setenv("T_AUTH_SHAREDSECRET", "ignored: the file wins")
		var cfg secretConfig
		require.NoError(t, LoadConfig("t", "T", nil, &cfg))
		require.Equal(t, "from-file", cfg.Auth.SharedSecret, "trailing newline trimmed")
	})
	t.Run("readable file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secret")
		require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
		t.Setenv("T_AUTH_SHAREDSECRET_FILE", path)
		var cfg secretConfig
		require.ErrorContains(t, LoadConfig("t", "T", nil, &cfg), "readable by group or others")
	})
	t.Run("yaml", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cfg.yaml")
		require.NoError(t, os.WriteFile(path, []byte("auth:\n  sharedSecret: from-yaml\n"), 0o600))
		var cfg secretConfig
		require.NoError(t, LoadConfig("t", "T", []string{"--config", path}, &cfg))
		require.Equal(t, "from-yaml", cfg.Auth.SharedSecret)
	})
}

package seal_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/seal"
)

func TestSealOpenRoundTrip(t *testing.T) {
	key, err := seal.NewKey()
	require.NoError(t, err)
	s, err := seal.New(key)
	require.NoError(t, err)

	for _, tc := range []struct {
		name      string
		plaintext []byte
	}{
		{"empty", []byte{}},
		{"short", []byte("s3cr3t")},
		{"binary", bytes.Repeat([]byte{0, 0xff}, 1000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := s.Seal(tc.plaintext, []byte("aad"))
			require.NoError(t, err)
			b, err := s.Seal(tc.plaintext, []byte("aad"))
			require.NoError(t, err)
			require.NotEqual(t, a, b, "fresh nonce per seal")
			if len(tc.plaintext) > 0 {
				require.False(t, bytes.Contains(a, tc.plaintext), "ciphertext must not carry the plaintext")
			}
			got, err := s.Open(a, []byte("aad"))
			require.NoError(t, err)
			require.Equal(t, tc.plaintext, got)
		})
	}
}

func TestOpenRejects(t *testing.T) {
	key, err := seal.NewKey()
	require.NoError(t, err)
	s, err := seal.New(key)
	require.NoError(t, err)
	other, err := seal.NewKey()
	require.NoError(t, err)
	s2, err := seal.New(other)
	require.NoError(t, err)
	sealed, err := s.Seal([]byte("value"), []byte("map/entry"))
	require.NoError(t, err)

	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-1] ^= 1
	badVersion := append([]byte(nil), sealed...)
	badVersion[0] = 0x02

	for _, tc := range []struct {
		name   string
		s      *seal.Sealer
		sealed []byte
		aad    string
	}{
		{"wrong aad (value moved to another row)", s, sealed, "map/other"},
		{"wrong key", s2, sealed, "map/entry"},
		{"tampered", s, flipped, "map/entry"},
		{"unknown version", s, badVersion, "map/entry"},
		{"truncated", s, sealed[:10], "map/entry"},
		{"nil", s, nil, "map/entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.s.Open(tc.sealed, []byte(tc.aad))
			require.ErrorIs(t, err, seal.ErrOpen)
		})
	}
}

func TestNewRejectsShortKeys(t *testing.T) {
	_, err := seal.New(make([]byte, 16))
	require.Error(t, err)
}

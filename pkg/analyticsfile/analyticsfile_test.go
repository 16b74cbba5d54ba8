package analyticsfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func gz(tb testing.TB, s string) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(tb, err)
	require.NoError(tb, w.Close())
	return b.Bytes()
}

func TestName(t *testing.T) {
	n := Name{Time: time.UnixMilli(1715471290207), Dataset: "api", Org: "my-org", Env: "te.st", ID: "65fef1f5-baa7-47f7-966e-f4cb5b0c86f1"}
	require.Equal(t, "1715471290207.api.my-org.te.st.65fef1f5-baa7-47f7-966e-f4cb5b0c86f1.gz", n.String())
	require.Equal(t, "1715471290207.api.my-org.te.st.65fef1f5-baa7-47f7-966e-f4cb5b0c86f1", n.Base())
	got, err := ParseName(n.String())
	require.NoError(t, err)
	require.True(t, got.Time.Equal(n.Time))
	got.Time = n.Time
	require.Equal(t, n, got)

	for _, bad := range []string{
		"", "x.gz", "1715471290207.api.org.env.65fef1f5-baa7-47f7-966e-f4cb5b0c86f1",
		"1715471290207.nope.org.env.65fef1f5-baa7-47f7-966e-f4cb5b0c86f1.gz",
		"-1.api.org.env.65fef1f5-baa7-47f7-966e-f4cb5b0c86f1.gz",
		"01.api.org.env.65fef1f5-baa7-47f7-966e-f4cb5b0c86f1.gz",
		"1.api.Org.env.65fef1f5-baa7-47f7-966e-f4cb5b0c86f1.gz",
		"1.api.org.env.not-a-uuid.gz",
		"1.api.org.env/x.65fef1f5-baa7-47f7-966e-f4cb5b0c86f1.gz",
		"1.api.org...65fef1f5-baa7-47f7-966e-f4cb5b0c86f1.gz",
	} {
		_, err := ParseName(bad)
		require.Error(t, err, bad)
	}
}

func TestRead(t *testing.T) {
	good := gz(t, "{\"a\":1}\n\n{\"b\":\"x\"}\n")
	tests := []struct {
		name    string
		data    []byte
		want    []string
		corrupt bool
	}{
		{"empty file", nil, nil, false},
		{"records", good, []string{`{"a":1}`, `{"b":"x"}`}, false},
		{"truncated keeps what came before", good[:len(good)-6], []string{`{"a":1}`, `{"b":"x"}`}, true},
		{"not gzip", []byte("{\"a\":1}\n"), nil, true},
		{"not an object", gz(t, "{\"a\":1}\n[1]\n"), []string{`{"a":1}`}, true},
		{"not JSON", gz(t, "{\"a\":1}\n{oops\n"), []string{`{"a":1}`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			n, err := Read(bytes.NewReader(tt.data), func(rec []byte) error {
				got = append(got, string(rec))
				return nil
			})
			require.Equal(t, tt.want, got)
			require.Equal(t, len(tt.want), n)
			if tt.corrupt {
				require.ErrorIs(t, err, ErrCorrupt)
			} else {
				require.NoError(t, err)
			}
		})
	}
	stop := errors.New("stop")
	_, err := Read(bytes.NewReader(good), func([]byte) error { return stop })
	require.ErrorIs(t, err, stop)
}

// FuzzRead: any bytes at all give records that are JSON objects or an
// error, never a panic.
func FuzzRead(f *testing.F) {
	f.Add(gz(f, "{\"a\":1}\n{\"b\":2}\n"))
	f.Add(gz(f, "{\"a\":1}\n")[:10])
	f.Add([]byte{})
	f.Add([]byte("\x1f\x8b\x08\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Read(bytes.NewReader(data), func(rec []byte) error {
			if len(rec) == 0 || rec[0] != '{' {
				t.Fatalf("record %q is not an object", rec)
			}
			return nil
		})
	})
}

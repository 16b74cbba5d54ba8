package gcpapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLex(t *testing.T) {
	syn := Syntax{
		WordStart: func(c byte) bool { return c >= 'a' && c <= 'z' || c == '.' },
		WordPart:  func(c byte) bool { return c >= 'a' && c <= 'z' || c == '.' || c == '-' },
		Operator: func(s string, pos int) (int, error) {
			switch {
			case strings.HasPrefix(s, ">="):
				return 2, nil
			case strings.IndexByte("=()", s[0]) >= 0:
				return 1, nil
			}
			return 0, errors.New("unsupported " + string(s[0]))
		},
	}
	for _, tc := range []struct {
		name  string
		in    string
		want  []Token
		err   string
		isErr error
	}{
		{"empty", "", nil, "", nil},
		{"white space only", " \t\r\n", nil, "", nil},
		{"comparison", `a.b = "x"`, []Token{{Word, "a.b", 0}, {Op, "=", 4}, {String, "x", 6}}, "", nil},
		{"no spaces, two-byte operator", `a>='x'`, []Token{{Word, "a", 0}, {Op, ">=", 1}, {String, "x", 3}}, "", nil},
		{"word part not a word start", `a-b -c`, nil, "unsupported -", nil},
		{"word part inside", `a-b`, []Token{{Word, "a-b", 0}}, "", nil},
		{"parentheses", `f("x")`, []Token{{Word, "f", 0}, {Op, "(", 1}, {String, "x", 2}, {Op, ")", 5}}, "", nil},
		{"escaped double quote", `"say \"hi\""`, []Token{{String, `say "hi"`, 0}}, "", nil},
		{"other quote inside", `"it's" 'a "b"'`, []Token{{String, "it's", 0}, {String, `a "b"`, 7}}, "", nil},
		{"escaped single quote", `'it\'s'`, []Token{{String, "it's", 0}}, "", nil},
		{"newline and tab escapes", `"a\nb\tc"`, []Token{{String, "a\nb\tc", 0}}, "", nil},
		{"escaped backslash", `"a\\b"`, []Token{{String, `a\b`, 0}}, "", nil},
		{"other escape is the byte", `"\x\%"`, []Token{{String, "x%", 0}}, "", nil},
		{"empty string", `""`, []Token{{String, "", 0}}, "", nil},
		{"unterminated", `a = "x`, nil, "bad string at offset 4: unterminated string", ErrUnterminated},
		{"trailing backslash", `"x\`, nil, "bad string at offset 0: unterminated string", ErrUnterminated},
		{"escaped closing quote", `'x\'`, nil, "bad string at offset 0: unterminated string", ErrUnterminated},
		{"operator error as is", `a ! b`, nil, "unsupported !", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := syn.Lex(tc.in)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				if tc.isErr != nil {
					require.ErrorIs(t, err, tc.isErr)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// A Syntax whose Operator claims no bytes, or more than there are, is an
// error rather than an endless loop or a panic.
func TestLexBadOperatorLength(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
	}{
		{"zero", 0},
		{"past the end", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			syn := Syntax{
				WordStart: func(byte) bool { return false },
				Operator:  func(string, int) (int, error) { return tc.n, nil },
			}
			_, err := syn.Lex("=")
			require.ErrorContains(t, err, "operator of length")
		})
	}
}

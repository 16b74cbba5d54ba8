package mp

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
)

// counting is an Observer that notes the calls it saw, under its name.
type counting struct {
	name string
	seen *[]string
}

func (c counting) ObserveTransaction(*engine.Transaction) { *c.seen = append(*c.seen, c.name) }

func TestFanOut(t *testing.T) {
	tests := []struct {
		name  string
		list  func(seen *[]string) []engine.Observer
		isNil bool
		want  []string
	}{
		{"none: the engine skips observing", func(*[]string) []engine.Observer { return []engine.Observer{nil, nil} }, true, nil},
		{"one is used as is", func(s *[]string) []engine.Observer { return []engine.Observer{counting{"metrics", s}, nil} }, false, []string{"metrics"}},
		{"several see every call in order", func(s *[]string) []engine.Observer {
			return []engine.Observer{counting{"metrics", s}, counting{"analytics", s}}
		}, false, []string{"metrics", "analytics"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []string
			obs := fanOut(tt.list(&seen)...)
			if tt.isNil {
				require.Nil(t, obs)
				return
			}
			obs.ObserveTransaction(&engine.Transaction{})
			require.Equal(t, tt.want, seen)
		})
	}
}

package outagereport

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMetrics(t *testing.T) {
	m, err := ParseMetrics(strings.NewReader("# HELP x y\n# TYPE x counter\nx{a=\"1\"} 2\nx{a=\"2\"} 3\ny 1.5\nbad line\n"))
	require.NoError(t, err)
	require.Equal(t, MetricSamples{`x{a="1"}`: 2, `x{a="2"}`: 3, "x": 5, "y": 1.5}, m)
}

package javascript

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

// A pooled runtime must not carry one request's globals into the next:
// each execution starts from a fresh scope, as in Apigee.
func TestGlobalsDoNotLeakBetweenRequests(t *testing.T) {
	const script = `
var counter = (counter || 0) + 1;
leaked = (typeof leaked === 'undefined') ? 'fresh' : 'stale';
function helper() { return 'ok'; }
print = function() {}; // replacing a built-in must not stick either
context.setVariable('js.counter', String(counter));
context.setVariable('js.leaked', leaked);
context.setVariable('js.helper', helper());`
	p, err := Compile(&flow.CompileContext{
		Bundle: &bundle.Bundle{Resources: map[string][]byte{"jsc://s.js": []byte(script)}},
		Policy: &bundle.Policy{Type: "Javascript", Name: "JS-1", XML: []byte(`<Javascript name="JS-1"><ResourceURL>jsc://s.js</ResourceURL></Javascript>`)},
	})
	require.NoError(t, err)
	for i := range 3 {
		mc := flow.New(&flow.Proxy{Name: "p"}, message.NewRequest(), "127.0.0.1:1", nil)
		require.NoError(t, p.Execute(context.Background(), mc), "run %d", i)
		for name, want := range map[string]string{"js.counter": "1", "js.leaked": "fresh", "js.helper": "ok"} {
			got, ok := mc.Lookup(name)
			require.True(t, ok, name)
			require.Equal(t, want, got, "run %d: %s", i, name)
		}
	}
	// The pool hands the same runtime back (one goroutine), and its
	// object model survived the resets.
	v := p.(*policy).pool.Get().(*vm)
	defer p.(*policy).pool.Put(v)
	require.True(t, v.rt.GlobalObject().Get("print").SameAs(v.baseline["print"]))
}

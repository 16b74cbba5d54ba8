//go:build integration

package kvm

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestReadCache proves the read cache: a value changed behind the MP's
// back (MART) is seen after <ExpiryTimeInSecs>, a Put through the policy at
// once.
func TestReadCache(t *testing.T) {
	session := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, session)
	clk := &clock{now: time.Now()}
	keys, err := store.GenerateEncryptionKeys()
	require.NoError(t, err)
	data := rtdata.New(session, org, rtdata.Options{Now: clk.Now, Keys: keys})
	ctx := context.Background()
	mart := store.NewKVM(session, keys)
	scope := store.EnvScope("test")
	_, err = mart.CreateMap(ctx, org, scope, "m", false)
	require.NoError(t, err)
	_, err = mart.CreateEntry(ctx, org, scope, "m", "k", "v1")
	require.NoError(t, err)

	compile := func(name, xml string) flow.Policy {
		p, err := Compile(&flow.CompileContext{Bundle: &bundle.Bundle{Name: "p"}, Org: org, Env: "test", Data: data,
			Policy: &bundle.Policy{Type: "KeyValueMapOperations", Name: name, XML: []byte(xml)}})
		require.NoError(t, err)
		return p
	}
	get := compile("Get", `<KeyValueMapOperations name="Get" mapIdentifier="m"><ExpiryTimeInSecs>60</ExpiryTimeInSecs><Get assignTo="private.v"><Key><Parameter>k</Parameter></Key></Get></KeyValueMapOperations>`)
	put := compile("Put", `<KeyValueMapOperations name="Put" mapIdentifier="m"><Put override="true"><Key><Parameter>k</Parameter></Key><Value>v3</Value></Put></KeyValueMapOperations>`)
	read := func() any {
		r, _ := http.NewRequest(http.MethodGet, "http://api.test/", nil)
		mc := flow.New(&flow.Proxy{Name: "p"}, message.FromRequest(r), "127.0.0.1:1", nil)
		require.NoError(t, get.Execute(ctx, mc))
		return mc.Get("private.v")
	}
	require.Equal(t, "v1", read())
	require.NoError(t, mart.PutEntry(ctx, org, scope, "m", "k", "v2"))
	require.Equal(t, "v1", read(), "served from the cache within ExpiryTimeInSecs")
	clk.Advance(59 * time.Second)
	require.Equal(t, "v1", read())
	clk.Advance(2 * time.Second)
	require.Equal(t, "v2", read(), "re-read after ExpiryTimeInSecs")

	r, _ := http.NewRequest(http.MethodGet, "http://api.test/", nil)
	require.NoError(t, put.Execute(ctx, flow.New(&flow.Proxy{Name: "p"}, message.FromRequest(r), "127.0.0.1:1", nil)))
	require.Equal(t, "v3", read(), "a Put through the policy clears this MP's cache")
	e, err := mart.GetEntry(ctx, org, scope, "m", "k")
	require.NoError(t, err)
	require.Equal(t, "v3", e.Value, "MART sees what the policy wrote")
}

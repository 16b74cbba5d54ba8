package engine

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// recorder keeps what the Observer is told (copies: a Transaction is only
// valid during the call).
type txRecorder struct {
	mu  sync.Mutex
	txs []Transaction
	dc  []any
}

func (r *txRecorder) ObserveTransaction(t *Transaction) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *t
	var stat any
	if t.MC != nil {
		stat = t.MC.Get("statistics.tier")
	}
	c.MC, c.Request = nil, nil
	r.txs = append(r.txs, c)
	r.dc = append(r.dc, stat)
}

func TestObserverSeesEveryCall(t *testing.T) {
	be := echoBackend(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	stats := bundletest.Proxy("stats", "/stats", be.URL)
	stats["apiproxy/proxies/default.xml"] = strings.Replace(stats["apiproxy/proxies/default.xml"],
		"<Request/>", "<Request><Step><Name>SC</Name></Step></Request>", 1)
	stats["apiproxy/policies/SC.xml"] = `<StatisticsCollector name="SC"><Statistics>` +
		`<Statistic name="tier" ref="request.header.tier" type="string">none</Statistic></Statistics></StatisticsCollector>`
	c := &contract.Contract{Organization: "org", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"h"},
		APIProxies: []contract.Deployment{
			deployment(t, "plain", "1", bundletest.Proxy("plain", "/plain", be.URL)),
			deployment(t, "dead", "2", bundletest.Proxy("dead", "/dead", deadURL)),
			deployment(t, "stats", "3", stats),
		}}
	rec := &txRecorder{}
	opts := DefaultOptions()
	opts.Observer = rec
	e := New(zaptest.NewLogger(t), opts)
	e.SetEnvironment(Compile(c, nil))
	defer e.Close()

	tests := []struct {
		name, path string
		body       string
		check      func(t *testing.T, tx Transaction, stat any)
	}{
		{"pass-through", "/plain/a?x=1", "", func(t *testing.T, tx Transaction, _ any) {
			require.Equal(t, "plain", tx.Proxy.Name)
			require.Equal(t, "/a", tx.PathSuffix)
			require.Equal(t, 200, tx.StatusCode)
			require.Equal(t, 200, tx.TargetStatus)
			require.Equal(t, be.URL+"/a", tx.TargetURL)
			require.Nil(t, tx.Fault)
			require.Positive(t, tx.ResponseSize)
			ordered(t, tx)
		}},
		{"pass-through, target down", "/dead", "", func(t *testing.T, tx Transaction, _ any) {
			require.Equal(t, 503, tx.StatusCode)
			require.True(t, tx.TargetFault)
			require.Equal(t, CodeServiceUnavailable, tx.Fault.Code)
		}},
		{"full path with a payload and a statistic", "/stats/b", "hello", func(t *testing.T, tx Transaction, stat any) {
			require.Equal(t, "stats", tx.Proxy.Name)
			require.Equal(t, "3", tx.Proxy.Revision)
			require.Equal(t, 200, tx.StatusCode)
			require.Equal(t, int64(5), tx.RequestSize)
			require.Equal(t, "gold", stat)
			require.False(t, tx.TargetReceivedStart.IsZero())
			ordered(t, tx)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req *http.Request
			if tt.body != "" {
				req = httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			} else {
				req = httptest.NewRequest(http.MethodGet, tt.path, nil)
			}
			req.Host = "h"
			req.Header.Set("tier", "gold")
			e.ServeHTTP(httptest.NewRecorder(), req)
			require.Len(t, rec.txs, i+1)
			tt.check(t, rec.txs[i], rec.dc[i])
		})
	}
	// A request no proxy serves is not an API call of any proxy.
	req := httptest.NewRequest(http.MethodGet, "/nothing", nil)
	req.Host = "h"
	e.ServeHTTP(httptest.NewRecorder(), req)
	require.Len(t, rec.txs, len(tests))
}

// ordered checks the eight timestamps are set and in Apigee's order.
func ordered(t *testing.T, tx Transaction) {
	t.Helper()
	seq := []struct {
		name string
		v    int64
	}{
		{"client_received_start", tx.ClientReceivedStart.UnixNano()}, {"client_received_end", tx.ClientReceivedEnd.UnixNano()},
		{"target_sent_start", tx.TargetSentStart.UnixNano()}, {"target_sent_end", tx.TargetSentEnd.UnixNano()},
		{"target_received_start", tx.TargetReceivedStart.UnixNano()}, {"target_received_end", tx.TargetReceivedEnd.UnixNano()},
		{"client_sent_start", tx.ClientSentStart.UnixNano()}, {"client_sent_end", tx.ClientSentEnd.UnixNano()},
	}
	for i, s := range seq {
		require.Positive(t, s.v, s.name)
		prev := i - 1
		switch s.name {
		case "target_sent_start":
			continue // a request payload streams to the target as it arrives
		case "client_sent_start":
			prev = 4 // a streamed response goes out while the target still sends
		}
		if i > 0 {
			require.GreaterOrEqual(t, s.v, seq[prev].v, "%s before %s", s.name, seq[prev].name)
		}
	}
	require.GreaterOrEqual(t, tx.ClientSentEnd.UnixNano(), tx.TargetReceivedEnd.UnixNano())
}

package xslt

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// bigOrders is a SOAP response with n orders.
func bigOrders(n int) []byte {
	var b strings.Builder
	b.WriteString(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:example:orders"><soap:Body><o:GetOrdersResponse>`)
	for i := range n {
		fmt.Fprintf(&b, `<o:Order id="N-%d" status="%s"><o:Customer type="retail">Customer "%d"</o:Customer><o:Total currency="EUR">%d.5</o:Total><o:Line sku="p-%d" qty="2">Pen</o:Line></o:Order>`, i, []string{"open", "shipped"}[i%2], i, i, i)
	}
	b.WriteString(`</o:GetOrdersResponse></soap:Body></soap:Envelope>`)
	return []byte(b.String())
}

func BenchmarkTransform(b *testing.B) {
	for _, name := range []string{"identity", "strip-namespaces", "reshape-json", "rename-filter"} {
		for _, n := range []int{10, 1000} {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				s := compileFile(b, name)
				in := bigOrders(n)
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Transform(context.Background(), in, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestLargeTextOutputIsLinear: a text output built from thousands of small
// pieces (the JSON-building pattern) must not copy the whole text on each
// append. Measured by memory, not time: four times the orders may allocate
// about four times the bytes; a quadratic builder would allocate sixteen.
func TestLargeTextOutputIsLinear(t *testing.T) {
	s := compileFile(t, "reshape-json")
	allocated := func(n int) uint64 {
		in := bigOrders(n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, err := s.Transform(context.Background(), in, nil)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(res.Output), `"shipped":true}]}`) || strings.Count(string(res.Output), `"id":`) != n {
			t.Fatalf("unexpected output tail: %q", res.Output[len(res.Output)-80:])
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := allocated(2500), allocated(10000)
	growth := float64(large) / float64(small)
	t.Logf("bytes allocated: %d for 2 500 orders, %d for 10 000 (×%.1f)", small, large, growth)
	if growth > 8 {
		t.Fatalf("allocation grows ×%.1f for ×4 the input: output building is not linear", growth)
	}
}

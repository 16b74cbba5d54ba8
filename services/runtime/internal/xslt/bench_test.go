package xslt

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
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
// append; 20 000 orders finish well within the deadline.
func TestLargeTextOutputIsLinear(t *testing.T) {
	s := compileFile(t, "reshape-json")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := s.Transform(ctx, bigOrders(20000), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(res.Output), `"shipped":true}]}`) || strings.Count(string(res.Output), `"id":`) != 20000 {
		t.Fatalf("unexpected output tail: %q", res.Output[len(res.Output)-80:])
	}
}

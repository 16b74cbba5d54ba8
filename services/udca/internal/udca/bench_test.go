package udca

import (
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
)

// BenchmarkIntake is UDCA's sustained rate into buffer files: batches of
// 500 typical records encoded as JSON, gzip'd and written, files rolled
// at the default size (make bench reports records/s).
func BenchmarkIntake(b *testing.B) {
	dir := b.TempDir()
	if err := prepare(dir, zap.NewNop()); err != nil {
		b.Fatal(err)
	}
	ws := newWriters(dir, DefaultConfig().Files, time.Now, func() {})
	batch := &analyticsv1.Batch{}
	for i := range 500 {
		batch.Api = append(batch.Api, &analyticsv1.ApiRecord{Organization: "org", Environment: "test", Apiproxy: "hello",
			ApiproxyRevision: "1", Proxy: "default", ProxyBasepath: "/hello", RequestUri: "/hello/x?id=" + strconv.Itoa(i),
			RequestPath: "/hello/x", RequestVerb: "GET", ClientIp: "127.0.0.1", Useragent: "wrk", ResponseStatusCode: 200,
			Target: "default", TargetUrl: "http://127.0.0.1:9000/x", TargetHost: "127.0.0.1", TargetResponseCode: 200,
			ClientReceivedStartTimestamp: 1715752630190, ClientReceivedEndTimestamp: 1715752630190,
			TargetSentStartTimestamp: 1715752630191, TargetSentEndTimestamp: 1715752630191,
			TargetReceivedStartTimestamp: 1715752630193, TargetReceivedEndTimestamp: 1715752630193,
			ClientSentStartTimestamp: 1715752630193, ClientSentEndTimestamp: 1715752630194,
			ResponseSize: 120, GatewayFlowId: "rrt-0123456789abcdef-" + strconv.Itoa(i), MessageProcessor: "apigee-runtime-1"})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e, _, _ := encode(batch)
		if err := ws.write(e); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := ws.close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*len(batch.Api))/b.Elapsed().Seconds(), "records/s")
}

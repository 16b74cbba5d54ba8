//go:build integration

package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// BenchmarkRuntimeDataChain is the in-process profile target for the
// runtime-data path: VerifyAPIKey (cached key) + a distributed Quota
// counted asynchronously + AssignMessage, over the real Cassandra.
//
//	HYBRID_CASSANDRA=127.0.0.1:9042 go test -tags integration -run '^$' \
//	  -bench RuntimeDataChain -cpuprofile cpu.out ./internal/engine/
func BenchmarkRuntimeDataChain(b *testing.B) {
	session := cassandratest.Session(b)
	org := cassandratest.NewOrg(b, session)
	keys, err := store.GenerateEncryptionKeys()
	if err != nil {
		b.Fatal(err)
	}
	data := rtdata.New(session, org, rtdata.Options{Keys: keys})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kms := data.KMS()
	_, err = kms.CreateProduct(ctx, org, store.APIProduct{Name: "bench", ApprovalType: store.ApprovalAuto, APIResources: []string{"/**"}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := kms.CreateDeveloper(ctx, org, store.Developer{Email: "b@example.com", FirstName: "B", LastName: "B", UserName: "b"}); err != nil {
		b.Fatal(err)
	}
	if _, err := kms.CreateApp(ctx, org, "b@example.com", store.NewApp{Name: "app"}); err != nil {
		b.Fatal(err)
	}
	if _, err := kms.AddCredential(ctx, org, "b@example.com", "app", store.NewCredential{ConsumerKey: "bench-key", APIProducts: []string{"bench"}}); err != nil {
		b.Fatal(err)
	}

	files := bundletest.Proxy("p", "/p", benchBackend(b).URL)
	files["apiproxy/policies/VA.xml"] = `<VerifyAPIKey name="VA"><APIKey ref="request.header.x-apikey"/></VerifyAPIKey>`
	files["apiproxy/policies/Q.xml"] = `<Quota name="Q"><Allow count="1000000000"/><Interval>1</Interval><TimeUnit>hour</TimeUnit>
  <Identifier ref="client_id"/><Distributed>true</Distributed><Synchronous>false</Synchronous></Quota>`
	files["apiproxy/policies/AM.xml"] = `<AssignMessage name="AM"><Set><Headers><Header name="X-App">{developer.app.name}</Header></Headers></Set></AssignMessage>`
	files["apiproxy/proxies/default.xml"] = strings.Replace(files["apiproxy/proxies/default.xml"], "<Request/>",
		`<Request><Step><Name>VA</Name></Step><Step><Name>Q</Name></Step><Step><Name>AM</Name></Step></Request>`, 1)
	e := New(zap.NewNop(), DefaultOptions())
	b.Cleanup(e.Close)
	e.SetRuntimeData(data)
	env := e.Compile(&contract.Contract{Organization: org, Environment: "test", Version: "20261122.100000.000",
		Hostnames: []string{"h"}, APIProxies: []contract.Deployment{{Name: "p", Revision: "1", Bundle: bundletest.Zip(b, files)}}}, nil)
	if env.Status[0].State != "READY" {
		b.Fatal(env.Status[0].Errors)
	}
	e.SetEnvironment(env)

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/p/items", nil)
		req.Host = "h"
		req.Header.Set("X-Apikey", "bench-key")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(fmt.Sprintf("status %d: %s", rec.Code, rec.Body.String()))
		}
	}
}

// Package analytics turns the engine's finished transactions into Apigee
// analytics records and streams them to UDCA without ever holding up an
// API call: the engine's Observer builds a record and drops it into a
// bounded buffer (counting what does not fit), and a background streamer
// sends batches over gRPC, resending what UDCA did not acknowledge when a
// stream breaks.
package analytics

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
)

// Build makes the analytics record of a finished call. mp names this
// message processor (message_processor).
func Build(tx *engine.Transaction, mp string) *analyticsv1.ApiRecord {
	r, p := tx.Request, tx.Proxy
	rec := &analyticsv1.ApiRecord{
		Organization:       p.Org,
		Environment:        p.Env,
		Apiproxy:           p.Name,
		ApiproxyRevision:   p.Revision,
		Proxy:              p.Endpoint,
		ProxyBasepath:      p.BasePath,
		ProxyPathsuffix:    tx.PathSuffix,
		RequestUri:         r.URL.RequestURI(),
		RequestPath:        r.URL.Path,
		RequestVerb:        r.Method,
		ClientIp:           hostOf(r.RemoteAddr),
		Useragent:          r.UserAgent(),
		ResponseStatusCode: int32(tx.StatusCode),
		Target:             tx.TargetName,
		TargetUrl:          tx.TargetURL,
		TargetResponseCode: int32(tx.TargetStatus),
		RequestSize:        max(tx.RequestSize, 0),
		ResponseSize:       max(tx.ResponseSize, 0),
		MessageProcessor:   mp,

		ClientReceivedStartTimestamp: millis(tx.ClientReceivedStart),
		ClientReceivedEndTimestamp:   millis(tx.ClientReceivedEnd),
		TargetSentStartTimestamp:     millis(tx.TargetSentStart),
		TargetSentEndTimestamp:       millis(tx.TargetSentEnd),
		TargetReceivedStartTimestamp: millis(tx.TargetReceivedStart),
		TargetReceivedEndTimestamp:   millis(tx.TargetReceivedEnd),
		ClientSentStartTimestamp:     millis(tx.ClientSentStart),
		ClientSentEndTimestamp:       millis(tx.ClientSentEnd),
	}
	rec.TargetHost = urlHost(tx.TargetURL)
	if f := tx.Fault; f != nil {
		rec.IsError = true
		rec.XApigeeFaultCode = f.Code
		rec.XApigeeFaultFlow = tx.FaultState.String()
		rec.XApigeeFaultPolicy = f.Policy
		switch {
		case tx.TargetFault:
			rec.IsTargetError, rec.XApigeeFaultSource = true, "target"
		case f.Policy != "":
			rec.IsPolicyError, rec.XApigeeFaultSource = true, "policy"
		default:
			rec.XApigeeFaultSource = "proxy"
		}
	}
	if mc := tx.MC; mc != nil {
		// The variables VerifyAPIKey and OAuthV2 set for analytics.
		str := func(name string) string { s, _ := mc.GetString(name); return s }
		rec.ClientId = str("client_id")
		rec.DeveloperEmail = str("developer.email")
		rec.DeveloperApp = str("developer.app.name")
		rec.ApiProduct = str("apiproduct.name")
		rec.Developer = str("developer.id")
		rec.GatewayFlowId = mc.MessageID // set when a policy read messageid
		for name, v := range mc.Vars() {
			if stat, ok := strings.CutPrefix(name, "statistics."); ok {
				if d := dimension(v); d != nil {
					if rec.CustomDimensions == nil {
						rec.CustomDimensions = map[string]*analyticsv1.Dimension{}
					}
					rec.CustomDimensions["dc_"+stat] = d
				}
			}
		}
	}
	if rec.GatewayFlowId == "" {
		rec.GatewayFlowId = nextID()
	}
	return rec
}

// dimension is a StatisticsCollector value with its type (the policy
// stores strings, int64s, float64s and bools).
func dimension(v any) *analyticsv1.Dimension {
	switch x := v.(type) {
	case string:
		return &analyticsv1.Dimension{Value: &analyticsv1.Dimension_StringValue{StringValue: x}}
	case int64:
		return &analyticsv1.Dimension{Value: &analyticsv1.Dimension_IntValue{IntValue: x}}
	case int:
		return &analyticsv1.Dimension{Value: &analyticsv1.Dimension_IntValue{IntValue: int64(x)}}
	case float64:
		return &analyticsv1.Dimension{Value: &analyticsv1.Dimension_DoubleValue{DoubleValue: x}}
	case bool:
		return &analyticsv1.Dimension{Value: &analyticsv1.Dimension_BoolValue{BoolValue: x}}
	}
	return nil
}

// urlHost is the host of an absolute URL without parsing the rest (a
// record is built on every call).
func urlHost(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		return h
	}
	return strings.Trim(rest, "[]")
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// Message ids for calls that did not make one (messageid is made lazily,
// when a policy reads it): a random per-process prefix and a counter, in
// the shape of hybrid's "rrt-…" ids, unique without a UUID per call.
var (
	idPrefix = func() string {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		return "rrt-" + hex.EncodeToString(b) + "-"
	}()
	idSeq atomic.Uint64
)

func nextID() string { return idPrefix + strconv.FormatUint(idSeq.Add(1), 10) }

// Package analytics turns the engine's finished transactions into Apigee
// analytics records and streams them to UDCA without ever holding up an
// API call: the engine's Observer writes the call's record, in its wire
// encoding, into the batch being filled, within a bound on the records
// held (counting what does not fit), and a background streamer sends the
// batches over gRPC, resending what UDCA did not acknowledge when a
// stream breaks.
package analytics

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

// Build makes the analytics record of a finished call. mp names this
// message processor (message_processor). The emitter does not use it: it
// writes the same record straight into its batch (capture and
// appendRecord); Build decodes that encoding, so it shows what UDCA gets.
func Build(tx *engine.Transaction, mp string) *analyticsv1.ApiRecord {
	var rec analyticsv1.ApiRecord
	var x extra
	capture(&rec, &x, tx, mp)
	out := &analyticsv1.ApiRecord{}
	if err := proto.Unmarshal(appendRecord(nil, &rec, &x), out); err != nil {
		panic("analytics: record encoding: " + err.Error())
	}
	return out
}

// capture fills rec (kept on the caller's stack) and x from a finished
// call: field by field, with no string built on the way (see extra).
func capture(rec *analyticsv1.ApiRecord, x *extra, tx *engine.Transaction, mp string) {
	r, p := tx.Request, tx.Proxy
	rec.Organization = p.Org
	rec.Environment = p.Env
	rec.Apiproxy = p.Name
	rec.ApiproxyRevision = p.Revision
	rec.Proxy = p.Endpoint
	rec.ProxyBasepath = p.BasePath
	rec.ProxyPathsuffix = tx.PathSuffix
	rec.RequestUri, x.uriQuery, x.hasQuery = requestURI(r.URL)
	rec.RequestPath = r.URL.Path
	rec.RequestVerb = r.Method
	rec.ClientIp = hostOf(r.RemoteAddr)
	if ua := r.Header["User-Agent"]; len(ua) > 0 { // r.UserAgent() without canonicalizing the key
		rec.Useragent = ua[0]
	}
	rec.ResponseStatusCode = int32(tx.StatusCode)
	rec.Target = tx.TargetName
	rec.TargetUrl = tx.TargetURL
	rec.TargetHost = urlHost(tx.TargetURL)
	rec.TargetResponseCode = int32(tx.TargetStatus)
	rec.RequestSize = max(tx.RequestSize, 0)
	rec.ResponseSize = max(tx.ResponseSize, 0)
	rec.MessageProcessor = mp
	rec.ClientReceivedStartTimestamp = millis(tx.ClientReceivedStart)
	rec.ClientReceivedEndTimestamp = millis(tx.ClientReceivedEnd)
	rec.TargetSentStartTimestamp = millis(tx.TargetSentStart)
	rec.TargetSentEndTimestamp = millis(tx.TargetSentEnd)
	rec.TargetReceivedStartTimestamp = millis(tx.TargetReceivedStart)
	rec.TargetReceivedEndTimestamp = millis(tx.TargetReceivedEnd)
	rec.ClientSentStartTimestamp = millis(tx.ClientSentStart)
	rec.ClientSentEndTimestamp = millis(tx.ClientSentEnd)
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
		// The variables VerifyAPIKey and OAuthV2 set for analytics: plain
		// flow variables (none is a built-in), read from the map.
		vars := mc.Vars()
		str := func(name string) string { return message.ToString(vars[name]) }
		rec.ClientId = str("client_id")
		rec.DeveloperEmail = str("developer.email")
		rec.DeveloperApp = str("developer.app.name")
		rec.ApiProduct = str("apiproduct.name")
		rec.Developer = str("developer.id")
		rec.GatewayFlowId = mc.MessageID // set when a policy read messageid
		for name, v := range vars {
			if stat, ok := strings.CutPrefix(name, "statistics."); ok && isDimension(v) {
				x.addDim(dim{name: stat, value: v})
			}
		}
	}
	if rec.GatewayFlowId == "" {
		x.id = idSeq.Add(1)
	}
}

// isDimension says whether v is a StatisticsCollector value the record
// carries (the policy stores strings, int64s, float64s and bools).
func isDimension(v any) bool {
	switch v.(type) {
	case string, int64, int, float64, bool:
		return true
	}
	return false
}

// requestURI is u.RequestURI() as the path part and the query (after a
// '?' when hasQuery), so that no string is built for it.
func requestURI(u *url.URL) (path, query string, hasQuery bool) {
	path = u.Opaque
	if path == "" {
		if path = u.EscapedPath(); path == "" {
			path = "/"
		}
	} else if strings.HasPrefix(path, "//") {
		path = u.Scheme + ":" + path
	}
	return path, u.RawQuery, u.ForceQuery || u.RawQuery != ""
}

// urlHost is the host of an absolute URL without parsing the rest (a
// record is built on every call): what net.SplitHostPort leaves of the
// authority, or the authority without brackets when it has no port.
func urlHost(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c == '/' || c == '?' || c == '#' {
			rest = rest[:i]
			break
		}
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return hostOf(rest)
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// hostOf is net.SplitHostPort's host, or addr without brackets when it
// has no port ("[::1]" and "h" as well as "[::1]:80" and "h:80").
func hostOf(addr string) string {
	if strings.HasPrefix(addr, "[") {
		if i := strings.IndexByte(addr, ']'); i >= 0 && (i == len(addr)-1 || addr[i+1] == ':') {
			return addr[1:i]
		}
		return strings.Trim(addr, "[]")
	}
	if i := strings.IndexByte(addr, ':'); i >= 0 && i == strings.LastIndexByte(addr, ':') {
		return addr[:i]
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

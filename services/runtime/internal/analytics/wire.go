package analytics

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
)

// The record stream's wire format, written by hand: a record goes
// straight from the finished call into the batch being filled, in
// proto's binary encoding (records.proto), with no ApiRecord on the heap,
// no reflection and no intermediate strings. TestWireMatchesProto checks
// every field of records.proto against proto.Unmarshal, so a field added
// there without its line here fails the tests.

// Field numbers of Batch (records.proto).
const (
	batchSeq = 1
	batchAPI = 2
	batchRaw = 3
)

// extra carries what capture keeps apart from the ApiRecord so that the
// encoder writes it without building strings: the query of request_uri,
// the message id's counter when the call made none, and the
// StatisticsCollector dimensions as the flow variables hold them.
type extra struct {
	// uriQuery, when hasQuery, follows rec.RequestUri after a '?'.
	uriQuery string
	hasQuery bool
	// id, when rec.GatewayFlowId is empty, makes idPrefix + id the
	// record's gateway_flow_id.
	id uint64
	// dims holds the first dimensions (in place, so that an extra on
	// the stack stays there), more the rest.
	dims  [4]dim
	ndims int
	more  []dim
}

func (x *extra) addDim(d dim) {
	if x.ndims < len(x.dims) {
		x.dims[x.ndims] = d
		x.ndims++
		return
	}
	x.more = append(x.more, d)
}

// dim is a custom dimension: "dc_" + name, with a string, int64, int,
// float64 or bool value.
type dim struct {
	name  string
	value any
}

// appendEntry appends rec as one element of a Batch's repeated field num
// (tag, length, message), the length written in place once known.
func appendEntry(b []byte, num protowire.Number, rec *analyticsv1.ApiRecord, x *extra) []byte {
	b = appendTag(b, num, protowire.BytesType)
	start := len(b)
	b = append(b, 0, 0) // a record is 128 B to 16 KiB: its length takes two bytes
	b = appendRecord(b, rec, x)
	return putLength(b, start, 2)
}

// putLength writes the length of b[start+room:] as a varint at b[start],
// moving the message when it needs other than the room left for it.
func putLength(b []byte, start, room int) []byte {
	n := len(b) - start - room
	k := protowire.SizeVarint(uint64(n))
	switch {
	case k < room:
		copy(b[start+k:], b[start+room:])
		b = b[:len(b)-(room-k)]
	case k > room:
		b = append(b, make([]byte, k-room)...)
		copy(b[start+k:], b[start+room:len(b)-(k-room)])
	}
	appendVarint(b[:start], uint64(n))
	return b
}

// appendRecord appends rec's fields (and x's) in proto's encoding.
func appendRecord(b []byte, r *analyticsv1.ApiRecord, x *extra) []byte {
	b = appendString(b, 1, r.Organization)
	b = appendString(b, 2, r.Environment)
	b = appendString(b, 3, r.Apiproxy)
	b = appendString(b, 4, r.ApiproxyRevision)
	b = appendString(b, 5, r.Proxy)
	b = appendString(b, 6, r.ProxyBasepath)
	b = appendString(b, 7, r.ProxyPathsuffix)
	if x.hasQuery {
		b = appendJoined(b, 8, r.RequestUri, "?", x.uriQuery)
	} else {
		b = appendString(b, 8, r.RequestUri)
	}
	b = appendString(b, 9, r.RequestPath)
	b = appendString(b, 10, r.RequestVerb)
	b = appendString(b, 11, r.ClientIp)
	b = appendString(b, 12, r.Useragent)
	b = appendInt(b, 13, int64(r.ResponseStatusCode))
	b = appendString(b, 14, r.Target)
	b = appendString(b, 15, r.TargetUrl)
	b = appendString(b, 16, r.TargetHost)
	b = appendInt(b, 17, int64(r.TargetResponseCode))
	b = appendString(b, 18, r.DeveloperEmail)
	b = appendString(b, 19, r.DeveloperApp)
	b = appendString(b, 20, r.ApiProduct)
	b = appendString(b, 21, r.ClientId)
	b = appendString(b, 22, r.Developer)
	b = appendInt(b, 23, r.ClientReceivedStartTimestamp)
	b = appendInt(b, 24, r.ClientReceivedEndTimestamp)
	b = appendInt(b, 25, r.TargetSentStartTimestamp)
	b = appendInt(b, 26, r.TargetSentEndTimestamp)
	b = appendInt(b, 27, r.TargetReceivedStartTimestamp)
	b = appendInt(b, 28, r.TargetReceivedEndTimestamp)
	b = appendInt(b, 29, r.ClientSentStartTimestamp)
	b = appendInt(b, 30, r.ClientSentEndTimestamp)
	b = appendBool(b, 31, r.IsError)
	b = appendBool(b, 32, r.IsPolicyError)
	b = appendBool(b, 33, r.IsTargetError)
	b = appendString(b, 34, r.XApigeeFaultCode)
	b = appendString(b, 35, r.XApigeeFaultFlow)
	b = appendString(b, 36, r.XApigeeFaultPolicy)
	b = appendString(b, 37, r.XApigeeFaultSource)
	b = appendInt(b, 38, r.RequestSize)
	b = appendInt(b, 39, r.ResponseSize)
	if r.GatewayFlowId == "" && x.id != 0 {
		b = appendTag(b, 40, protowire.BytesType)
		b = appendVarint(b, uint64(len(idPrefix)+digits(x.id)))
		b = strconv.AppendUint(append(b, idPrefix...), x.id, 10)
	} else {
		b = appendString(b, 40, r.GatewayFlowId)
	}
	b = appendString(b, 41, r.MessageProcessor)
	for k, d := range r.CustomDimensions {
		b = appendDimension(b, "", k, dimensionValue(d))
	}
	for _, d := range x.dims[:x.ndims] {
		b = appendDimension(b, "dc_", d.name, d.value)
	}
	for _, d := range x.more {
		b = appendDimension(b, "dc_", d.name, d.value)
	}
	return b
}

// appendDimension appends one entry of custom_dimensions (field 50, a
// map<string, Dimension>): key prefix+name, the value as its Dimension.
func appendDimension(b []byte, prefix, name string, v any) []byte {
	b = appendTag(b, 50, protowire.BytesType)
	start := len(b)
	b = append(b, 0)
	b = appendJoined(b, 1, prefix, "", name)
	b = appendTag(b, 2, protowire.BytesType)
	vstart := len(b)
	b = append(b, 0)
	switch x := v.(type) {
	case string: // a oneof member is written even at its zero value
		b = appendJoined(b, 1, x, "", "")
	case int64:
		b = appendVarint(appendTag(b, 2, protowire.VarintType), uint64(x))
	case int:
		b = appendVarint(appendTag(b, 2, protowire.VarintType), uint64(int64(x)))
	case float64:
		b = protowire.AppendFixed64(appendTag(b, 3, protowire.Fixed64Type), math.Float64bits(x))
	case bool:
		b = appendVarint(appendTag(b, 4, protowire.VarintType), protowire.EncodeBool(x))
	}
	b = putLength(b, vstart, 1)
	return putLength(b, start, 1)
}

// dimensionValue is the Go value of a Dimension (nil when unset).
func dimensionValue(d *analyticsv1.Dimension) any {
	switch v := d.GetValue().(type) {
	case *analyticsv1.Dimension_StringValue:
		return v.StringValue
	case *analyticsv1.Dimension_IntValue:
		return v.IntValue
	case *analyticsv1.Dimension_DoubleValue:
		return v.DoubleValue
	case *analyticsv1.Dimension_BoolValue:
		return v.BoolValue
	}
	return nil
}

// appendString appends a string field unless empty. proto3 strings must
// be UTF-8 (UDCA's decoder refuses a batch with one that is not), and a
// client's header bytes end up here: invalid bytes become U+FFFD.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b = appendTag(b, num, protowire.BytesType)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendJoined appends the string field s1 + sep + s2, even when empty
// (request_uri is the path, '?' and the query; a dimension's key is "dc_"
// and its name) without concatenating them.
func appendJoined(b []byte, num protowire.Number, s1, sep, s2 string) []byte {
	if !utf8.ValidString(s1) || !utf8.ValidString(s2) {
		s := strings.ToValidUTF8(s1+sep+s2, "\uFFFD")
		s1, sep, s2 = s, "", ""
	}
	b = appendTag(b, num, protowire.BytesType)
	b = appendVarint(b, uint64(len(s1)+len(sep)+len(s2)))
	return append(append(append(b, s1...), sep...), s2...)
}

func appendInt(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	return appendVarint(appendTag(b, num, protowire.VarintType), uint64(v))
}

func appendBool(b []byte, num protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	return append(appendTag(b, num, protowire.VarintType), 1)
}

// appendTag and appendVarint are protowire's, with the one- and two-byte
// cases (every tag and nearly every length here) inlined.
func appendTag(b []byte, num protowire.Number, typ protowire.Type) []byte {
	return appendVarint(b, uint64(num)<<3|uint64(typ))
}

func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<7:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, byte(v)|0x80, byte(v>>7))
	}
	return protowire.AppendVarint(b, v)
}

// digits is the length of v in decimal.
func digits(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

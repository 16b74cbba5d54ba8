package analytics

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
)

// TestWireMatchesProto sets every field of records.proto and checks that
// the hand-written encoding decodes to the same record: a field added to
// the proto without its line in appendRecord fails here.
func TestWireMatchesProto(t *testing.T) {
	rec := &analyticsv1.ApiRecord{}
	m := rec.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		n := int64(fd.Number())
		switch {
		case fd.IsMap():
			continue
		case fd.Kind() == protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString("v"+string(fd.Name())))
		case fd.Kind() == protoreflect.BoolKind:
			m.Set(fd, protoreflect.ValueOfBool(true))
		case fd.Kind() == protoreflect.Int32Kind:
			m.Set(fd, protoreflect.ValueOfInt32(int32(-n))) // negative: ten bytes on the wire
		case fd.Kind() == protoreflect.Int64Kind:
			m.Set(fd, protoreflect.ValueOfInt64(1_715_752_630_190+n))
		default:
			t.Fatalf("field %s: kind %v has no case here nor in appendRecord", fd.Name(), fd.Kind())
		}
	}
	rec.CustomDimensions = map[string]*analyticsv1.Dimension{
		"dc_s":  {Value: &analyticsv1.Dimension_StringValue{StringValue: "eu"}},
		"dc_e":  {Value: &analyticsv1.Dimension_StringValue{}},
		"dc_i":  {Value: &analyticsv1.Dimension_IntValue{IntValue: -7}},
		"dc_z":  {Value: &analyticsv1.Dimension_IntValue{}},
		"dc_d":  {Value: &analyticsv1.Dimension_DoubleValue{DoubleValue: 2.5}},
		"dc_b":  {Value: &analyticsv1.Dimension_BoolValue{BoolValue: true}},
		"dc_bf": {Value: &analyticsv1.Dimension_BoolValue{}},
	}
	got := &analyticsv1.ApiRecord{}
	require.NoError(t, proto.Unmarshal(appendRecord(nil, rec, &extra{}), got))
	require.True(t, proto.Equal(rec, got), "want %v\ngot  %v", rec, got)
	// An empty record is an empty message.
	require.Empty(t, appendRecord(nil, &analyticsv1.ApiRecord{}, &extra{}))
}

func TestWireExtra(t *testing.T) {
	x := &extra{uriQuery: "a=1&b", hasQuery: true, id: 42}
	for i, v := range []any{"eu", int64(-3), 7, 1.5, false, "", []string{"not a dimension"}} {
		if isDimension(v) {
			x.addDim(dim{name: string(rune('a' + i)), value: v})
		}
	}
	require.Equal(t, 6, x.ndims+len(x.more), "four in place, the rest beside")
	rec := &analyticsv1.ApiRecord{RequestUri: "/p/x", Useragent: "bad\xffbytes", MessageProcessor: "mp"}
	got := &analyticsv1.ApiRecord{}
	require.NoError(t, proto.Unmarshal(appendRecord(nil, rec, x), got))
	require.Equal(t, "/p/x?a=1&b", got.RequestUri)
	require.Equal(t, "bad\uFFFDbytes", got.Useragent, "proto3 strings must be UTF-8, or UDCA refuses the whole batch")
	require.Equal(t, idPrefix+"42", got.GatewayFlowId)
	require.Len(t, got.CustomDimensions, 6)
	require.Equal(t, "eu", got.CustomDimensions["dc_a"].GetStringValue())
	require.Equal(t, int64(-3), got.CustomDimensions["dc_b"].GetIntValue())
	require.Equal(t, int64(7), got.CustomDimensions["dc_c"].GetIntValue())
	require.Equal(t, 1.5, got.CustomDimensions["dc_d"].GetDoubleValue())
	require.NotNil(t, got.CustomDimensions["dc_e"].GetValue(), "false is set, not absent")
	require.NotNil(t, got.CustomDimensions["dc_f"].GetValue(), `"" is set, not absent`)
	// An empty query with ForceQuery keeps its '?'.
	require.NoError(t, proto.Unmarshal(appendRecord(nil, &analyticsv1.ApiRecord{RequestUri: "/p"}, &extra{hasQuery: true}), got))
	require.Equal(t, "/p?", got.RequestUri)
}

// TestBatchEncoding covers the lengths written in place: records under
// 128 bytes, over 16 KiB and between, and raw records, in one Batch.
func TestBatchEncoding(t *testing.T) {
	recs := []*analyticsv1.ApiRecord{{Organization: "o"}, {Useragent: strings.Repeat("u", 20000)}, {Useragent: strings.Repeat("u", 300)},
		{Useragent: strings.Repeat("u", 16370)}}
	var b []byte
	for _, r := range recs {
		b = appendEntry(b, batchAPI, r, &extra{})
	}
	raw, err := proto.Marshal(&analyticsv1.RawRecord{Dataset: "trace", Json: []byte(`{}`)})
	require.NoError(t, err)
	b = appendVarint(appendTag(b, batchRaw, 2), uint64(len(raw)))
	b = append(b, raw...)
	b = appendVarint(appendTag(b, batchSeq, 0), 300)
	var got analyticsv1.Batch
	require.NoError(t, proto.Unmarshal(b, &got))
	require.Equal(t, uint64(300), got.Seq)
	require.Len(t, got.Api, len(recs))
	for i, r := range recs {
		require.True(t, proto.Equal(r, got.Api[i]), i)
	}
	require.Len(t, got.Raw, 1)
	require.Equal(t, "trace", got.Raw[0].Dataset)
}

package quota

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

func compileCtx(tb testing.TB, org, typ, name, xml string, others map[string]string) *flow.CompileContext {
	tb.Helper()
	b := &bundle.Bundle{Name: "p", Policies: map[string]*bundle.Policy{}}
	for n, t := range others {
		b.Policies[n] = &bundle.Policy{Type: t, Name: n, XML: []byte("<" + t + ` name="` + n + `"/>`)}
	}
	p := &bundle.Policy{Type: typ, Name: name, XML: []byte(xml)}
	b.Policies[name] = p
	return &flow.CompileContext{Bundle: b, Policy: p, Org: org, Env: "test"}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct{ name, xml, element, reason string }{
		{"no allow", `<Quota name="Q"><Interval>1</Interval><TimeUnit>minute</TimeUnit></Quota>`, "Quota/Allow", "is required"},
		{"bad count", `<Quota name="Q"><Allow count="x"/><Interval>1</Interval><TimeUnit>minute</TimeUnit></Quota>`, "Quota/Allow", "invalid allow count"},
		{"no interval", `<Quota name="Q"><Allow count="1"/><TimeUnit>minute</TimeUnit></Quota>`, "Quota/Interval", "is required"},
		{"bad interval", `<Quota name="Q"><Allow count="1"/><Interval>0</Interval><TimeUnit>minute</TimeUnit></Quota>`, "Quota/Interval", "Invalid quota interval 0 in quota policy Q."},
		{"no unit", `<Quota name="Q"><Allow count="1"/><Interval>1</Interval></Quota>`, "Quota/TimeUnit", "is required"},
		{"bad unit", `<Quota name="Q"><Allow count="1"/><Interval>1</Interval><TimeUnit>second</TimeUnit></Quota>`, "Quota/TimeUnit", "Invalid quota time unit second in quota policy Q."},
		{"bad type", `<Quota name="Q" type="x"><Allow count="1"/><Interval>1</Interval><TimeUnit>minute</TimeUnit></Quota>`, "Quota", "invalid quota type"},
		{"calendar without start", `<Quota name="Q" type="calendar"><Allow count="1"/><Interval>1</Interval><TimeUnit>minute</TimeUnit></Quota>`, "Quota/StartTime", "requires <StartTime>"},
		{"bad start", `<Quota name="Q" type="calendar"><Allow count="1"/><Interval>1</Interval><TimeUnit>minute</TimeUnit><StartTime>yesterday</StartTime></Quota>`, "Quota/StartTime", "invalid start time"},
		{"flexi with start", `<Quota name="Q" type="flexi"><Allow count="1"/><Interval>1</Interval><TimeUnit>minute</TimeUnit><StartTime>2026-1-1 00:00:00</StartTime></Quota>`, "Quota/StartTime", "only supported"},
		{"count and enforce only", `<Quota name="Q"><Allow count="1"/><Interval>1</Interval><TimeUnit>minute</TimeUnit><CountOnly>true</CountOnly><EnforceOnly>true</EnforceOnly></Quota>`, "Quota", "cannot both"},
		{"short sync", `<Quota name="Q"><Allow count="1"/><Interval>1</Interval><TimeUnit>minute</TimeUnit><Distributed>true</Distributed><AsynchronousConfiguration><SyncIntervalInSeconds>5</SyncIntervalInSeconds></AsynchronousConfiguration></Quota>`, "Quota/AsynchronousConfiguration/SyncIntervalInSeconds", "at least 10"},
		{"bad distributed", `<Quota name="Q"><Allow count="1"/><Interval>1</Interval><TimeUnit>minute</TimeUnit><Distributed>yes</Distributed></Quota>`, "Quota/Distributed", "true or false"},
		{"unknown step", `<Quota name="Q"><UseQuotaConfigInAPIProduct stepName="VAK"/></Quota>`, "Quota/UseQuotaConfigInAPIProduct", "not a policy"},
		{"class without ref", `<Quota name="Q"><Allow><Class><Allow class="a" count="1"/></Class></Allow><Interval>1</Interval><TimeUnit>minute</TimeUnit></Quota>`, "Quota/Allow/Class", "ref is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(compileCtx(t, "o", "Quota", "Q", tc.xml, nil))
			var ip *flow.InvalidPolicyError
			require.True(t, errors.As(err, &ip), "%v", err)
			require.Equal(t, tc.element, ip.Element)
			require.Contains(t, ip.Reason, tc.reason)
		})
	}
	// Distributed quotas need the runtime data store.
	_, err := Compile(compileCtx(t, "o", "Quota", "Q", `<Quota name="Q"><Allow count="1"/><Interval>1</Interval><TimeUnit>minute</TimeUnit><Distributed>true</Distributed></Quota>`, nil))
	require.ErrorContains(t, err, "needs the runtime data store")
	// The product step must be VerifyAPIKey or OAuthV2.
	_, err = Compile(compileCtx(t, "o", "Quota", "Q", `<Quota name="Q"><UseQuotaConfigInAPIProduct stepName="AM"/></Quota>`, map[string]string{"AM": "AssignMessage"}))
	require.ErrorContains(t, err, "not VerifyAPIKey or OAuthV2")
	_, err = Compile(compileCtx(t, "o", "Quota", "Q", `<Quota name="Q"><UseQuotaConfigInAPIProduct stepName="VAK"/></Quota>`, map[string]string{"VAK": "VerifyAPIKey"}))
	require.NoError(t, err)
}

func TestResetCompileErrors(t *testing.T) {
	for _, tc := range []struct{ name, xml, element string }{
		{"no quota", `<ResetQuota name="R"/>`, "ResetQuota/Quota"},
		{"no name", `<ResetQuota name="R"><Quota><Identifier name="_default"><Allow>1</Allow></Identifier></Quota></ResetQuota>`, "ResetQuota/Quota"},
		{"no identifier", `<ResetQuota name="R"><Quota name="Q"/></ResetQuota>`, "ResetQuota/Quota/Identifier"},
		{"no allow", `<ResetQuota name="R"><Quota name="Q"><Identifier name="_default"/></Quota></ResetQuota>`, "ResetQuota/Quota/Identifier/Allow"},
		{"bad allow", `<ResetQuota name="R"><Quota name="Q"><Identifier name="_default"><Allow>x</Allow></Identifier></Quota></ResetQuota>`, "ResetQuota/Quota/Identifier/Allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompileReset(compileCtx(t, "o", "ResetQuota", "R", tc.xml, nil))
			var ip *flow.InvalidPolicyError
			require.True(t, errors.As(err, &ip), "%v", err)
			require.Equal(t, tc.element, ip.Element)
		})
	}
}

// Without runtime data a local quota counts in memory with the wall clock.
func TestLocalQuotaAndReset(t *testing.T) {
	org := t.Name()
	qxml := `<Quota name="Q"><Allow count="2"/><Interval>1</Interval><TimeUnit>day</TimeUnit></Quota>`
	q, err := Compile(compileCtx(t, org, "Quota", "Q", qxml, nil))
	require.NoError(t, err)
	cc := compileCtx(t, org, "ResetQuota", "R", `<ResetQuota name="R"><Quota name="Q"><Identifier name="_default"><Allow>1</Allow></Identifier></Quota></ResetQuota>`, nil)
	cc.Bundle.Policies["Q"] = &bundle.Policy{Type: "Quota", Name: "Q", XML: []byte(qxml)}
	r, err := CompileReset(cc)
	require.NoError(t, err)
	run := func(p flow.Policy) (*flow.MessageContext, error) {
		mc := flow.New(&flow.Proxy{Name: "p"}, message.NewRequest(), "127.0.0.1:1", nil)
		return mc, p.Execute(context.Background(), mc)
	}
	mc, err := run(q)
	require.NoError(t, err)
	require.EqualValues(t, 1, mc.Get("ratelimit.Q.used.count"))
	require.EqualValues(t, 1, mc.Get("ratelimit.Q.available.count"))
	_, err = run(q)
	require.NoError(t, err)
	mc, err = run(q)
	var f *flow.Fault
	require.True(t, errors.As(err, &f))
	require.Equal(t, CodeViolation, f.Code)
	require.Equal(t, 429, f.Status)
	require.Equal(t, "Rate limit quota violation. Quota limit  exceeded. Identifier : _default", f.Message)
	require.EqualValues(t, 1, mc.Get("ratelimit.Q.exceed.count"))
	_, err = run(r)
	require.NoError(t, err)
	mc, err = run(q)
	require.NoError(t, err)
	require.EqualValues(t, 2, mc.Get("ratelimit.Q.used.count"))
}

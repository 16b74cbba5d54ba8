package apigee

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

func TestDeploymentState(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const intro = "20260101.115900.000"
	report := func(version, st string, age time.Duration) *state.InstanceReport {
		r := &state.InstanceReport{ContractVersion: version, ReportedAt: now.Add(-age).UnixMilli(),
			Pods: []state.PodReport{{PodName: "p"}}}
		if st != "" {
			r.Deployments = []state.ReportedStatus{{Kind: state.KindProxy, Name: "hello", Revision: "1", State: st, Errors: []string{"e"}}}
		}
		return r
	}
	tests := []struct {
		name      string
		instances map[string]*state.InstanceReport
		want      string
		pods      int
		attached  []string // instances environment e is attached to
	}{
		{"no reports", nil, StateProgressing, 0, nil},
		{"ready", map[string]*state.InstanceReport{"a": report(intro, StateReady, 0)}, StateReady, 1, nil},
		{"ready on a later contract", map[string]*state.InstanceReport{"a": report("20260101.120000.000", StateReady, 0)}, StateReady, 1, nil},
		{"ready on an older contract", map[string]*state.InstanceReport{"a": report("20260101.115000.000", StateReady, 0)}, StateProgressing, 0, nil},
		{"error", map[string]*state.InstanceReport{"a": report(intro, StateError, 0)}, StateError, 1, nil},
		{"not mentioned", map[string]*state.InstanceReport{"a": report(intro, "", 0)}, StateProgressing, 0, nil},
		{"one of two ready", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "b": report("20260101.115000.000", StateReady, 0)}, StateProgressing, 1, nil},
		{"both ready", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "b": report(intro, StateReady, time.Minute)}, StateReady, 2, nil},
		{"silent instance ignored", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "b": report("20260101.115000.000", StateReady, InstanceTTL+time.Second)}, StateReady, 1, nil},
		{"error wins", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "b": report(intro, StateError, 0)}, StateError, 2, nil},
		{"attached instance silent", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0)}, StateProgressing, 1, []string{"a", "b"}},
		{"attached instance stale", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "b": report(intro, StateReady, InstanceTTL+time.Second)}, StateProgressing, 1, []string{"a", "b"}},
		{"every attached instance ready", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "b": report(intro, StateReady, 0)}, StateReady, 2, []string{"a", "b"}},
		{"unattached instance does not decide", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "c": report("20260101.115000.000", StateReady, 0)}, StateReady, 1, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := state.NewOrg("o", "o", 0)
			o.Environments["e"] = &state.Environment{Name: "e", ContractVersion: intro, Instances: tt.instances}
			o.Environments["other"] = &state.Environment{Name: "other"}
			o.Instances = map[string]*state.Instance{"z": {Name: "z", Attachments: []*state.Attachment{{ID: "z1", Environment: "other"}}}}
			for _, n := range tt.attached {
				o.Instances[n] = &state.Instance{Name: n, Attachments: []*state.Attachment{{ID: n + "1", Environment: "e"}}}
			}
			o.APIs["hello"] = &state.API{Name: "hello", Kind: state.KindProxy, Revisions: map[int]*state.Revision{1: {Revision: 1, BasePaths: []string{"/h"}}}}
			d := &state.Deployment{Environment: "e", Kind: state.KindProxy, Name: "hello", Revision: 1, ContractVersion: intro}
			v := deploymentViewOf(o, d, now)
			require.Equal(t, tt.want, v.State)
			require.Len(t, v.Pods, tt.pods)
			if tt.want == StateError {
				require.Equal(t, "e", v.Errors[0].Message)
			}
		})
	}
}

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
	}{
		{"no reports", nil, StateProgressing, 0},
		{"ready", map[string]*state.InstanceReport{"a": report(intro, StateReady, 0)}, StateReady, 1},
		{"ready on a later contract", map[string]*state.InstanceReport{"a": report("20260101.120000.000", StateReady, 0)}, StateReady, 1},
		{"ready on an older contract", map[string]*state.InstanceReport{"a": report("20260101.115000.000", StateReady, 0)}, StateProgressing, 0},
		{"error", map[string]*state.InstanceReport{"a": report(intro, StateError, 0)}, StateError, 1},
		{"not mentioned", map[string]*state.InstanceReport{"a": report(intro, "", 0)}, StateProgressing, 0},
		{"one of two ready", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "b": report("20260101.115000.000", StateReady, 0)}, StateProgressing, 1},
		{"both ready", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "b": report(intro, StateReady, time.Minute)}, StateReady, 2},
		{"silent instance ignored", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "b": report("20260101.115000.000", StateReady, InstanceTTL+time.Second)}, StateReady, 1},
		{"error wins", map[string]*state.InstanceReport{
			"a": report(intro, StateReady, 0), "b": report(intro, StateError, 0)}, StateError, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := state.NewOrg("o", "o", 0)
			o.Environments["e"] = &state.Environment{Name: "e", ContractVersion: intro, Instances: tt.instances}
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

package watcher

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
)

// runtimeStatus is a message processor's GET /v1/runtime/status.
type runtimeStatus struct {
	Environments map[string]cpclient.RuntimeStatus `json:"environments"`
}

// mergeStatus folds the message processors' views of one environment into
// the instance's report. A revision is READY only when every pod that runs
// the environment has it READY, ERROR when any pod failed to load it, and
// PROGRESSING while some pods have it and others do not yet; the oldest
// contract among the pods is the instance's.
func mergeStatus(instance, env string, pods []*runtimeStatus) (cpclient.RuntimeStatus, bool) {
	type key struct{ kind, name, rev string }
	type agg struct {
		ready, failed int
		errors        []string
	}
	out := cpclient.RuntimeStatus{Instance: instance, Deployments: []cpclient.DeploymentStatus{}}
	byKey := map[key]*agg{}
	var order []key
	n := 0
	for _, p := range pods {
		st, ok := p.Environments[env]
		if !ok {
			continue
		}
		n++
		if out.ContractVersion == "" || st.ContractVersion < out.ContractVersion {
			out.ContractVersion = st.ContractVersion
		}
		out.Pods = append(out.Pods, st.Pods...)
		for _, d := range st.Deployments {
			k := key{d.Kind, d.APIProxy, d.Revision}
			a := byKey[k]
			if a == nil {
				a = &agg{}
				byKey[k] = a
				order = append(order, k)
			}
			switch d.State {
			case "READY":
				a.ready++
			case "ERROR":
				a.failed++
				for _, e := range d.Errors {
					a.errors = append(a.errors, e.Message)
				}
			}
		}
	}
	if n == 0 {
		return out, false
	}
	for _, k := range order {
		a := byKey[k]
		d := cpclient.DeploymentStatus{APIProxy: k.name, Kind: k.kind, Revision: k.rev, State: "PROGRESSING"}
		switch {
		case a.failed > 0:
			d.State = "ERROR"
			for _, m := range dedupe(a.errors) {
				d.Errors = append(d.Errors, cpclient.StatusError{Message: m})
			}
		case a.ready == n:
			d.State = "READY"
		}
		out.Deployments = append(out.Deployments, d)
	}
	sort.Slice(out.Pods, func(i, j int) bool { return out.Pods[i].PodName < out.Pods[j].PodName })
	return out, true
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// report sends each environment's merged status to the control plane,
// skipping unchanged ones until resendEvery (the control plane counts an
// instance as silent after a few minutes).
func (w *watcher) report(ctx context.Context, pods []*runtimeStatus) {
	for _, env := range w.cfg.Environments {
		st, ok := mergeStatus(w.cfg.InstanceID, env, pods)
		if !ok {
			continue
		}
		prev, sent := w.sent[env]
		if sent && reflect.DeepEqual(prev.status, st) && w.now().Sub(prev.at) < w.cfg.ResendEvery {
			continue
		}
		if err := w.cp.ReportRuntimeStatus(ctx, w.cfg.Org, env, st); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("could not report deployment status", zap.String("env", env), zap.Error(err))
			}
			continue
		}
		w.sent[env] = sentReport{status: st, at: w.now()}
		w.lastOK.Store(w.now())
	}
}

func (w *watcher) fetchStatus(ctx context.Context, base string) (*runtimeStatus, error) {
	var st runtimeStatus
	if err := w.getJSON(ctx, strings.TrimSuffix(base, "/")+"/v1/runtime/status", &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (w *watcher) getJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

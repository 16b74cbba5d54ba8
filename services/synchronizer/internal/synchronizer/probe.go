package synchronizer

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"sync"
	"time"
)

// probeLogEvery bounds how often a failing probe is logged again while it
// stays failing (the first failure is always logged).
const probeLogEvery = 10 * time.Second

// probeLine is hybrid's ProbeAPI log line, field for field as the seed
// (hybrid-off-the-grid) shows it, so log searches written against a real
// synchronizer find it here too. zap's encoder cannot say "SEVERE", hence
// a line of its own.
type probeLine struct {
	Level         string            `json:"level"`
	Thread        string            `json:"thread"`
	MDC           map[string]string `json:"mdc"`
	ClassName     string            `json:"className"`
	Method        string            `json:"method"`
	Severity      string            `json:"severity"`
	Message       string            `json:"message"`
	FormattedDate string            `json:"formattedDate"`
	Logger        string            `json:"logger"`
}

// probeLog writes the SEVERE probe line when the ControlPlaneErrorMonitor
// fails.
type probeLog struct {
	mu      sync.Mutex
	out     io.Writer
	failing bool
	last    time.Time
}

// Probe is the ControlPlaneErrorMonitor readiness check: Healthy, plus
// the seed's SEVERE "probe failed with details ProbeStatusResponse{…}"
// line when it fails — what an operator sees before the orchestrator
// restarts the pod (CrashLoopBackOff under Kubernetes).
func (s *Syncer) Probe(context.Context) error {
	err := s.Healthy()
	s.probeLog.record(err, time.Now())
	return err
}

func (p *probeLog) record(err error, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.failing = false
		return
	}
	if p.failing && now.Sub(p.last) < probeLogEvery {
		return
	}
	p.failing, p.last = true, now
	out := p.out
	if out == nil {
		out = os.Stderr
	}
	b, _ := json.Marshal(probeLine{
		Level: "SEVERE", Thread: "NIOThread@1", MDC: map[string]string{},
		ClassName: "com.apigee.probe.ProbeAPI", Method: "getResponse", Severity: "SEVERE",
		Message:       "probe failed with details ProbeStatusResponse{isProbeSuccessful=false, failureMessages=[" + err.Error() + ".]}",
		FormattedDate: now.UTC().Format("2006-01-02T15:04:05.000Z"),
		Logger:        "ProbeAPI",
	})
	_, _ = out.Write(append(b, '\n'))
}

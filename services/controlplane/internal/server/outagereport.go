package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/outagereport"
)

// OutageReportPath serves the outage report: each runtime component's
// observed state beside the seed's impact table, as hybridctl outage
// report prints it, for the web console. Like the outage switch it is
// never faulted: it is how an outage is watched.
const OutageReportPath = "/v1/emulator/outage/report"

// OutageReportConfig names the runtime components the report reads.
type OutageReportConfig struct {
	Endpoints []string `yaml:"endpoints" usage:"name=url of each runtime component the outage report reads (synchronizer, runtime, udca, mart, connect-agent, watcher, telemetry); empty: no report"`
	// Stale is how old a watcher report may be before the report calls it
	// stale.
	Stale time.Duration `yaml:"stale" usage:"a watcher report older than this is stale in the outage report"`
}

// outageReportHandler answers GET OutageReportPath for callers who may
// manage outages; 404 when no endpoints are configured.
func (s *Server) outageReportHandler(cfg OutageReportConfig) http.Handler {
	urls := map[string]string{}
	for _, e := range cfg.Endpoints {
		if name, url, ok := strings.Cut(e, "="); ok && name != "" && url != "" {
			urls[strings.TrimSpace(name)] = strings.TrimSuffix(strings.TrimSpace(url), "/")
		}
	}
	stale := cfg.Stale
	if stale <= 0 {
		stale = time.Minute
	}
	reader := &outagereport.HTTPReader{Client: &http.Client{Timeout: 3 * time.Second}, URLs: urls,
		OutageStatus: func(context.Context) (outagereport.OutageStatus, error) {
			return s.Faults.Status(), nil // the switch is in this process
		}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorizeFaults(r); err != nil {
			apierr.Write(w, err)
			return
		}
		if len(urls) == 0 {
			apierr.Write(w, apierr.New(http.StatusNotFound, "NOT_FOUND",
				"no outage report here: the control plane was started without outageReport.endpoints (make up sets them); hybridctl outage report reads the components itself"))
			return
		}
		rep := outagereport.Build(r.Context(), reader, time.Now(), stale)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(rep)
	})
}

package agent

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests     *prometheus.CounterVec
	latency      prometheus.Histogram
	streamOpens  prometheus.Counter
	streamErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, a *Agent) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_agent_requests_total",
			Help: "Requests carried to the target server, by its status code (\"error\" when it could not be reached).",
		}, []string{"code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "connect_agent_request_duration_seconds",
			Help:    "Time from receiving a request on a tether to having the target's answer.",
			Buckets: prometheus.DefBuckets,
		}),
		streamOpens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connect_agent_stream_opens_total",
			Help: "Tether streams the server accepted.",
		}),
		streamErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connect_agent_stream_errors_total",
			Help: "Tether streams that failed to open or broke.",
		}),
	}
	open := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "connect_agent_open_streams",
		Help: "Tether streams open now.",
	}, func() float64 { return float64(a.OpenStreams()) })
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.streamOpens, m.streamErrors, open} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

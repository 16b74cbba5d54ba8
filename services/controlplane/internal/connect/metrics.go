package connect

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	streams       prometheus.Gauge
	requests      *prometheus.CounterVec
	latency       prometheus.Histogram
	retries       prometheus.Counter
	openNewStream prometheus.Counter
}

func newMetrics(*Service) metrics {
	return metrics{
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "controlplane_connect_streams",
			Help: "Apigee Connect tether streams open, draining ones included.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "controlplane_connect_requests_total",
			Help: "Requests sent through Apigee Connect tethers, by the target's status code (or error kind).",
		}, []string{"code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "controlplane_connect_request_duration_seconds",
			Help:    "Round trip of requests sent through Apigee Connect tethers.",
			Buckets: prometheus.DefBuckets,
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "controlplane_connect_retries_total",
			Help: "Requests sent again on another tether after their stream ended.",
		}),
		openNewStream: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "controlplane_connect_open_new_stream_total",
			Help: "OPEN_NEW_STREAM actions sent to agents.",
		}),
	}
}

func (m metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.streams, m.requests, m.latency, m.retries, m.openNewStream} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

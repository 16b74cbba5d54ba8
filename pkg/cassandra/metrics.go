package cassandra

import (
	"context"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Option adjusts the cluster configuration of a session.
type Option func(*gocql.ClusterConfig)

// WithQueryObserver observes every query the session sends.
func WithQueryObserver(o gocql.QueryObserver) Option {
	return func(c *gocql.ClusterConfig) { c.QueryObserver = o }
}

// QueryMetrics counts the queries a session sends to Cassandra by kind —
// read (SELECT), write (INSERT, UPDATE, DELETE) and lwt (a write with IF,
// which costs a Paxos round) — as cassandra_queries_total{kind}. `make
// bench` divides it by requests served to report Cassandra work per request.
type QueryMetrics struct {
	queries *prometheus.CounterVec
}

// NewQueryMetrics registers the counter on reg.
func NewQueryMetrics(reg prometheus.Registerer) *QueryMetrics {
	m := &QueryMetrics{queries: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cassandra_queries_total",
		Help: "Queries sent to Cassandra by kind (read, write, lwt), retries included.",
	}, []string{"kind"})}
	reg.MustRegister(m.queries)
	return m
}

// ObserveQuery implements gocql.QueryObserver.
func (m *QueryMetrics) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	m.queries.WithLabelValues(QueryKind(q.Statement)).Inc()
}

// QueryKind classifies a CQL statement as read, write or lwt.
func QueryKind(stmt string) string {
	s := strings.TrimSpace(stmt)
	verb, _, _ := strings.Cut(s, " ")
	switch strings.ToUpper(verb) {
	case "SELECT":
		return "read"
	case "INSERT", "UPDATE", "DELETE":
		u := strings.ToUpper(s)
		if strings.Contains(u, " IF ") || strings.HasSuffix(u, " IF NOT EXISTS") || strings.HasSuffix(u, " IF EXISTS") {
			return "lwt"
		}
		return "write"
	}
	return "other"
}

package telemetry

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	monitoring "google.golang.org/api/monitoring/v3"
)

// collector is the metrics role: every interval it scrapes the message
// processors, turns the customer-facing families into one point per
// series and queues them; the queue drains to Cloud Monitoring oldest
// first. While Cloud Monitoring is unreachable the queue holds up to
// queueSize scrapes (the oldest go first beyond it, counted), so a
// recovered control plane gets the outage's points, in order, and charts
// have no gap. Traffic never waits on any of this: the message processors
// only expose counters.
type collector struct {
	cfg     MetricsConfig
	project string
	labels  resourceLabels
	scraper *scraper
	writer  metricWriter
	log     *zap.Logger
	m       *selfMetrics
	now     func() time.Time

	cum    *cumulative
	health health

	mu    sync.Mutex
	queue [][]*monitoring.TimeSeries // each: what is left of one scrape
}

// run scrapes and sends every interval until ctx ends, then tries once
// more to send what is queued.
func (c *collector) run(ctx context.Context) error {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.finalFlush()
			return nil
		case <-t.C:
		}
		c.collect(ctx)
		c.flush(ctx)
	}
}

func (c *collector) finalFlush() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.flush(ctx)
	if n := c.queuedPoints(); n > 0 {
		c.log.Warn("stopping with metric points not sent", zap.Int("points", n))
	}
}

// collect scrapes every target and queues the scrape's points.
func (c *collector) collect(ctx context.Context) {
	samples, err := c.scraper.scrape(ctx)
	if err != nil && ctx.Err() == nil {
		c.m.scrapeErrors.Inc()
		c.log.Debug("scrape failed", zap.Error(err))
	}
	series := c.cum.timeSeries(c.labels, samples, c.now())
	if len(series) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue = append(c.queue, series)
	for len(c.queue) > c.cfg.QueueSize {
		c.m.pointsDropped.WithLabelValues("queue_full").Add(float64(len(c.queue[0])))
		c.queue = c.queue[1:]
	}
	c.m.queuedScrapes.Set(float64(len(c.queue)))
}

// flush sends queued scrapes in order, at most maxSeriesPerCreate series
// per call, until the queue is empty or a call fails. A call refused for
// its content is dropped (it would block the rest for ever); any other
// failure leaves the queue as it is for the next interval.
func (c *collector) flush(ctx context.Context) {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.m.queuedScrapes.Set(0)
			c.mu.Unlock()
			return
		}
		head := c.queue[0]
		c.mu.Unlock()
		chunk := head[:min(len(head), maxSeriesPerCreate)]
		err := c.writer.CreateTimeSeries(ctx, c.project, chunk)
		if err != nil && !permanent(err) {
			if ctx.Err() == nil {
				c.m.upstreamErrors.WithLabelValues("monitoring").Inc()
				logUpstream(c.log, &c.health, "Cloud Monitoring", err, zap.Int("queuedScrapes", c.queuedScrapes()))
			}
			return
		}
		if err != nil {
			c.m.pointsDropped.WithLabelValues("rejected").Add(float64(len(chunk)))
			c.log.Error("Cloud Monitoring refused metric points; dropping them", zap.Error(err), zap.Int("points", len(chunk)))
		} else {
			c.m.pointsSent.Add(float64(len(chunk)))
			logUpstream(c.log, &c.health, "Cloud Monitoring", nil, zap.Int("queuedScrapes", c.queuedScrapes()))
		}
		c.mu.Lock()
		if rest := head[len(chunk):]; len(rest) > 0 {
			c.queue[0] = rest
		} else {
			c.queue = c.queue[1:]
		}
		c.m.queuedScrapes.Set(float64(len(c.queue)))
		c.mu.Unlock()
	}
}

func (c *collector) queuedScrapes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

func (c *collector) queuedPoints() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, q := range c.queue {
		n += len(q)
	}
	return n
}

// MetricsStatus is the metrics role in the status endpoint.
type MetricsStatus struct {
	Upstream      HealthView `json:"upstream"`
	QueuedScrapes int        `json:"queuedScrapes"`
	QueuedPoints  int        `json:"queuedPoints"`
}

func (c *collector) status() MetricsStatus {
	return MetricsStatus{Upstream: c.health.view(), QueuedScrapes: c.queuedScrapes(), QueuedPoints: c.queuedPoints()}
}

package udca

import (
	"errors"
	"io"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
)

// collector is the record intake: message processors stream batches,
// each is written to the buffer files and then acknowledged, so a sender
// resends only what UDCA never took.
type collector struct {
	analyticsv1.UnimplementedCollectorServer
	w *writers
	m *metrics
	// stopping closes when UDCA shuts down: streams end (cleanly, so the
	// sender reconnects to the next UDCA) after the batch in hand.
	stopping <-chan struct{}
	log      *zap.Logger
}

type received struct {
	b   *analyticsv1.Batch
	err error
}

func (c *collector) Stream(stream analyticsv1.Collector_StreamServer) error {
	in := make(chan received)
	go func() {
		for {
			b, err := stream.Recv()
			select {
			case in <- received{b, err}:
			case <-stream.Context().Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		var r received
		select {
		case <-c.stopping:
			return nil
		case r = <-in:
		}
		if errors.Is(r.err, io.EOF) {
			return nil
		}
		if r.err != nil {
			return r.err
		}
		e, counts, dropped := encode(r.b)
		if dropped > 0 {
			c.m.dropped.Add(float64(dropped))
		}
		if err := c.w.write(e); err != nil {
			if errors.Is(err, errClosed) {
				return status.Error(codes.Unavailable, err.Error())
			}
			c.log.Error("cannot buffer records", zap.Error(err))
			return status.Error(codes.Internal, "cannot buffer records")
		}
		for ds, n := range counts {
			c.m.received.WithLabelValues(ds).Add(float64(n))
		}
		if err := stream.Send(&analyticsv1.Ack{Seq: r.b.GetSeq()}); err != nil {
			return err
		}
	}
}

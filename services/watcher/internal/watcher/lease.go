package watcher

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// leaseStore is the slice of pkg/store's Leases the watcher uses.
type leaseStore interface {
	Acquire(ctx context.Context, name, holder string, term time.Duration) (held bool, current string, err error)
	Release(ctx context.Context, name, holder string) error
}

func (w *watcher) leaseName() string { return "watcher/" + w.cfg.InstanceID }

// holdLease tries for the instance's lease every retry period (at most a
// third of its term, so a holder renews well before it runs out) and
// renews it while held. A holder that cannot renew steps down when its
// term has run out (another watcher may hold the lease by then); on stop
// it releases the lease so a waiting watcher takes over at once.
func (w *watcher) holdLease(ctx context.Context) error {
	t := time.NewTicker(min(w.cfg.Lease.RetryPeriod, w.cfg.Lease.Term/3))
	defer t.Stop()
	var renewed time.Time
	for {
		w.tryLease(ctx, &renewed)
		select {
		case <-ctx.Done():
			if w.leader.Load() {
				w.setLeader(false, "")
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := w.leases.Release(rctx, w.leaseName(), w.cfg.Lease.Holder); err != nil {
					w.log.Warn("could not release the watcher lease; it expires with its term", zap.Error(err))
				} else {
					w.log.Info("released the watcher lease", zap.String("lease", w.leaseName()))
				}
			}
			return nil
		case <-t.C:
		}
	}
}

func (w *watcher) tryLease(ctx context.Context, renewed *time.Time) {
	held, holder, err := w.leases.Acquire(ctx, w.leaseName(), w.cfg.Lease.Holder, w.cfg.Lease.Term)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		w.log.Warn("could not renew the watcher lease", zap.Error(err))
		if w.leader.Load() && w.now().Sub(*renewed) >= w.cfg.Lease.Term {
			w.setLeader(false, "")
		}
		return
	}
	if held {
		*renewed = w.now()
	}
	w.setLeader(held, holder)
}

func (w *watcher) setLeader(held bool, holder string) {
	w.holder.Store(holder)
	if w.leader.Swap(held) == held {
		return
	}
	if held {
		w.metrics.leader.Set(1)
		w.log.Info("acquired the watcher lease; reporting for the instance", zap.String("lease", w.leaseName()), zap.String("holder", holder))
		w.terms.Add(1) // the status loop reports everything afresh
		return
	}
	w.metrics.leader.Set(0)
	w.log.Info("not the watcher lease holder; waiting", zap.String("lease", w.leaseName()), zap.String("holder", holder))
}

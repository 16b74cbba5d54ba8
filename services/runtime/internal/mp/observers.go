package mp

import "github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"

// observers hands each finished call to several observers in turn (the
// engine has one Observer hook; metrics and analytics both hang off it).
// Each observer is itself non-blocking, so the fan-out adds only calls.
type observers []engine.Observer

func (obs observers) ObserveTransaction(tx *engine.Transaction) {
	for _, o := range obs {
		o.ObserveTransaction(tx)
	}
}

// fanOut combines the non-nil observers: nil for none (the engine then
// skips its bookkeeping), the observer itself for one.
func fanOut(list ...engine.Observer) engine.Observer {
	var out observers
	for _, o := range list {
		if o != nil {
			out = append(out, o)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

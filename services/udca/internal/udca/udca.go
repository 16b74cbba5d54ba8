// Package udca is the Universal Data Collection Agent: message processors
// stream analytics records to it over gRPC (collector.go); it writes them
// into gzip'd newline-delimited JSON buffer files per dataset,
// organization and environment, rolled by size and age (writer.go); and
// it uploads each file to a signed URL it asks the control plane for,
// with hybrid's retry rules (uploader.go). Files survive a restart
// (recover.go), and on SIGTERM it tries to upload what it has.
package udca

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
)

// Run starts UDCA and blocks until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	svc, err := service.New("udca", cfg.Common)
	if err != nil {
		return err
	}
	if err := Attach(svc, cfg); err != nil {
		svc.Close()
		return err
	}
	return svc.Run(ctx)
}

// Attach builds UDCA on svc: the record intake listener is bound now;
// the buffer folders are recovered and the control plane credentials
// loaded in the start phase; intake, rolling and uploads run as one
// worker, so that on shutdown they stop in order: intake first, then the
// open files are rolled, then one last upload pass.
func Attach(svc *service.Service, cfg *Config) error {
	log := svc.Logger().With(zap.String("org", cfg.Org))
	if cfg.Upload.MaxRetries < 0 || cfg.Upload.RetryInterval <= 0 || cfg.Upload.Timeout <= 0 || cfg.Files.MaxAge <= 0 {
		return errors.New("udca: upload.maxRetries must be >= 0; upload.retryInterval, upload.timeout and files.maxAge > 0")
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("udca: data dir: %w", err)
	}
	m, err := newMetrics(svc.Registry(), dir)
	if err != nil {
		return err
	}
	ln, err := svc.ListenOther("grpc", cfg.GRPCListen)
	if err != nil {
		return err
	}
	wake := make(chan struct{}, 1)
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	ws := newWriters(dir, cfg.Files, time.Now, notify)
	up := &uploader{dir: dir, cfg: cfg.Upload, http: &http.Client{}, now: time.Now, log: log, m: m}
	stopping := make(chan struct{})
	srv := grpc.NewServer()
	analyticsv1.RegisterCollectorServer(srv, &collector{w: ws, m: m, stopping: stopping, log: log})

	svc.Init("BufferFiles", func(context.Context) error {
		if err := prepare(dir, log); err != nil {
			return err
		}
		return up.loadState()
	})
	svc.Init("ControlPlaneCredentials", func(ctx context.Context) error {
		// The token source lives as long as the service, not this step.
		cp, err := cpclient.Dial(context.WithoutCancel(ctx), cfg.ControlPlane)
		if err != nil {
			return err
		}
		up.cp = cp
		return nil
	})
	svc.ReadyWhen("DataDir", func(context.Context) error {
		f, err := os.CreateTemp(dir, ".probe")
		if err != nil {
			return fmt.Errorf("data dir not writable: %w", err)
		}
		f.Close()
		return os.Remove(f.Name())
	})
	svc.Go("records", func(ctx context.Context) error {
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		loop(ctx, ws, up, wake, log)
		// Shutdown: streams end after their batch in hand (senders keep
		// the rest for the next UDCA), the open files are rolled, and
		// what is queued gets one upload attempt within the shutdown
		// timeout (the service's bound on workers).
		close(stopping)
		srv.GracefulStop()
		<-served
		if err := ws.close(); err != nil {
			log.Error("cannot close buffer files", zap.Error(err))
		}
		final, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout*3/4)
		defer cancel()
		up.pass(final, true)
		return nil
	})
	return nil
}

// loop rolls files as they age and uploads what is due until ctx ends:
// woken by a rolled file, a roll coming due or a retry coming due.
func loop(ctx context.Context, ws *writers, up *uploader, wake <-chan struct{}, log *zap.Logger) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
		nextRoll, err := ws.rollExpired(false)
		if err != nil {
			log.Error("cannot roll buffer file", zap.Error(err))
		}
		nextRetry := up.pass(ctx, false)
		next := earliest(nextRoll, nextRetry)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		d := time.Second // the open files' ages are checked at least this often
		if !next.IsZero() {
			d = min(d, max(time.Until(next), time.Millisecond))
		}
		timer.Reset(d)
	}
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

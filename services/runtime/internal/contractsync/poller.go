// Package contractsync keeps the message processor's environments current by
// long-polling its synchronizer.
package contractsync

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/backoff"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// Poller fetches one environment's contract whenever its version changes.
type Poller struct {
	BaseURL string // synchronizer
	Org     string
	Env     string
	Wait    time.Duration // long-poll wait
	Client  *http.Client
	Log     *zap.Logger
	// Apply installs a new contract; called from the polling goroutine.
	Apply func(*contract.Contract)
	// RetryMaxInterval caps the wait between failed polls (from
	// firstRetry, doubling, equal jitter); 0 means DefaultRetryMaxInterval.
	// The synchronizer may be restarting during a control plane outage:
	// a short cap picks it up as soon as it is back.
	RetryMaxInterval time.Duration
	// Jitter spreads retries of many message processors (nil:
	// math/rand/v2); tests fix it.
	Jitter backoff.Rand
}

// DefaultRetryMaxInterval is the retry cap when none is configured.
const DefaultRetryMaxInterval = 2 * time.Second

// firstRetry is the ceiling of the first wait after a failed poll.
const firstRetry = 200 * time.Millisecond

// Run polls until ctx ends. Failures are logged and retried with backoff;
// the runtime keeps serving the last contract it loaded meanwhile.
func (p *Poller) Run(ctx context.Context) error {
	log := p.Log.With(zap.String("org", p.Org), zap.String("env", p.Env), zap.String("action", "RUNTIME-SYNC"))
	have := ""
	maxWait := p.RetryMaxInterval
	if maxWait <= 0 {
		maxWait = DefaultRetryMaxInterval
	}
	retry := backoff.New(backoff.Policy{Initial: min(firstRetry, maxWait), Max: maxWait, Rand: p.Jitter})
	for ctx.Err() == nil {
		c, err := p.fetch(ctx, have)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			wait := retry.Next()
			log.Error("Failed to get version. Cause: "+err.Error(), zap.Duration("retryIn", wait))
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			continue
		}
		retry.Reset()
		if c == nil {
			continue // not modified within the wait
		}
		if c.Organization != p.Org || c.Environment != p.Env {
			log.Error("synchronizer sent a contract for another environment", zap.String("got", c.Organization+"/"+c.Environment))
			continue
		}
		have = c.Version
		p.Apply(c)
		log.Info("loaded contract", zap.String("version", c.Version), zap.Int("apiProxies", len(c.APIProxies)))
	}
	return nil
}

func (p *Poller) fetch(ctx context.Context, have string) (*contract.Contract, error) {
	q := url.Values{"timeout": {p.Wait.String()}}
	if have != "" {
		q.Set("waitForChangeFrom", have)
	}
	u := fmt.Sprintf("%s/v1/runtime/organizations/%s/environments/%s/contract?%s",
		strings.TrimSuffix(p.BaseURL, "/"), url.PathEscape(p.Org), url.PathEscape(p.Env), q.Encode())
	ctx, cancel := context.WithTimeout(ctx, p.Wait+10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return contract.Unmarshal(body)
	case http.StatusNotModified:
		return nil, nil
	default:
		return nil, fmt.Errorf("synchronizer answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
}

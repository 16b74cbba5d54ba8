package rtdata

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// Quota counters.
//
// A counter is identified by a CounterKey (environment, API proxy, policy
// name or <SharedName>, identifier) and holds one row per window start (a
// rolling window keeps one row per slice of the window). How a count is
// kept depends on the QuotaMode:
//
//   - QuotaLocal: in this MP's memory only (Quota without <Distributed>);
//     every MP counts on its own.
//   - QuotaSync: in Cassandra (kms_<org>.quota_counters), every increment a
//     lightweight transaction (compare-and-set on the previous value).
//     Operations on one counter are serialized inside this MP, so Paxos
//     contention is only between MPs, and all MPs enforce one exact count.
//   - QuotaAsync: this MP counts locally and, once the view it has is older
//     than the sync interval (measured with the store's clock, checked on
//     the next request: no background goroutine) or it has counted the sync
//     message count since the last sync, adds its pending delta to
//     the shared row (compare-and-set) and reads back what the other MPs
//     added. Between syncs each MP only sees its own traffic, so the
//     cluster can let through up to (MPs-1)·(traffic per interval) more
//     than the limit: approximate, as Apigee documents for asynchronous
//     distributed quotas. A delta still pending when its window has ended
//     is dropped (the window no longer matters).

// QuotaMode is how a quota counter is kept.
type QuotaMode int

// Quota modes.
const (
	QuotaLocal QuotaMode = iota
	QuotaSync
	QuotaAsync
)

// CounterKey identifies a quota counter.
type CounterKey struct {
	Env, Proxy string
	// Policy is the Quota policy's name or its <SharedName>.
	Policy string
	// Identifier is the value of the policy's <Identifier> ("_default"
	// without one); with <Class>, ClassIdentifier(identifier, class).
	Identifier string
}

// ClassIdentifier is the counter identifier of one class of a Quota with
// <Allow><Class>: every class counts apart.
func ClassIdentifier(identifier, class string) string {
	return identifier + "\x00class=" + class
}

// QuotaOp is one request's quota check.
type QuotaOp struct {
	Key  CounterKey
	Mode QuotaMode
	// Slice is the start (epoch ms) of the row this request counts in.
	Slice int64
	// Since, when below Slice, makes the rows starting in [Since, Slice)
	// count too (rolling windows).
	Since int64
	// Expires is when the row stops mattering (its TTL).
	Expires time.Time
	// Weight is added on success; Limit is the allowed count.
	Weight, Limit int64
	// Count adds Weight when the request is allowed (false: EnforceOnly);
	// Enforce rejects a request that would go over Limit (false:
	// CountOnly).
	Count, Enforce bool
	// SyncInterval is the QuotaAsync sync interval; SyncCount, when
	// positive, also syncs once this MP has counted that much since the
	// last sync.
	SyncInterval time.Duration
	SyncCount    int64
}

// QuotaResult is the outcome of a QuotaOp.
type QuotaResult struct {
	// Used is the count after the request (not counting a rejected one).
	Used    int64
	Allowed bool
}

// QuotaStore keeps an organization's quota counters. It is safe for
// concurrent use.
type QuotaStore struct {
	org     string
	session *gocql.Session
	now     func() time.Time

	mu       sync.Mutex
	counters map[CounterKey]*counter
	ops      int
}

type counter struct {
	mu   sync.Mutex
	rows map[int64]*quotaRow
	// anchor is a flexi window's start (ms), 0 when none.
	anchor int64
	// synced is when an async counter last synced with Cassandra.
	synced time.Time
	// known means rows mirror Cassandra (sync mode guesses).
	known bool
}

type quotaRow struct {
	count   int64 // local count, or the last value seen in Cassandra
	delta   int64 // async: added here, not yet in Cassandra
	expires time.Time
}

// Quotas returns the organization's quota counter store.
func (s *Store) Quotas() *QuotaStore { return s.quotas }

// NewQuotaStore returns a quota store over a Cassandra session (nil: local
// counting only) with the given clock.
func NewQuotaStore(session *gocql.Session, org string, now func() time.Time) *QuotaStore {
	if now == nil {
		now = time.Now
	}
	return &QuotaStore{org: org, session: session, now: now, counters: map[CounterKey]*counter{}}
}

// Now is the store's clock.
func (q *QuotaStore) Now() time.Time { return q.now() }

func (q *QuotaStore) counter(k CounterKey) *counter {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ops++
	if q.ops%4096 == 0 {
		q.sweepLocked()
	}
	c := q.counters[k]
	if c == nil {
		c = &counter{rows: map[int64]*quotaRow{}}
		q.counters[k] = c
	}
	return c
}

// sweepLocked drops counters whose rows have all expired.
func (q *QuotaStore) sweepLocked() {
	now := q.now()
	for k, c := range q.counters {
		if !c.mu.TryLock() {
			continue
		}
		c.gc(now)
		if len(c.rows) == 0 {
			delete(q.counters, k)
		}
		c.mu.Unlock()
	}
}

func (c *counter) pending() int64 {
	var n int64
	for _, r := range c.rows {
		n += r.delta
	}
	return n
}

func (c *counter) gc(now time.Time) {
	for s, r := range c.rows {
		if !r.expires.IsZero() && now.After(r.expires) && r.delta == 0 {
			delete(c.rows, s)
		}
	}
}

func (q *QuotaStore) needSession(mode QuotaMode) error {
	if mode != QuotaLocal && q.session == nil {
		return errors.New("rtdata: distributed quota needs Cassandra")
	}
	return nil
}

// Apply checks and counts one request.
func (q *QuotaStore) Apply(ctx context.Context, op QuotaOp) (QuotaResult, error) {
	if err := q.needSession(op.Mode); err != nil {
		return QuotaResult{}, err
	}
	if op.Since > op.Slice || op.Since == 0 {
		op.Since = op.Slice
	}
	c := q.counter(op.Key)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := q.now()
	c.gc(now)
	switch op.Mode {
	case QuotaSync:
		return q.applySync(ctx, c, op)
	case QuotaAsync:
		if !c.known || now.Sub(c.synced) >= op.SyncInterval || op.SyncCount > 0 && c.pending() >= op.SyncCount {
			if err := q.syncAsync(ctx, c, op.Key, op.Since, op.Slice, op.Expires); err != nil {
				return QuotaResult{}, err
			}
			c.synced, c.known = now, true
		}
	}
	// Local and async: decide on this MP's view.
	var total int64
	for s, r := range c.rows {
		if s >= op.Since && s <= op.Slice {
			total += r.count + r.delta
		}
	}
	res, add := decide(op, total)
	if add {
		r := c.rows[op.Slice]
		if r == nil {
			r = &quotaRow{}
			c.rows[op.Slice] = r
		}
		r.expires = op.Expires
		if op.Mode == QuotaAsync {
			r.delta += op.Weight
		} else {
			r.count += op.Weight
		}
	}
	return res, nil
}

// decide applies the quota rule to the current total; add reports whether
// the weight is to be counted.
func decide(op QuotaOp, total int64) (res QuotaResult, add bool) {
	if op.Enforce && total+op.Weight > op.Limit {
		return QuotaResult{Used: total}, false
	}
	if !op.Count {
		return QuotaResult{Used: total, Allowed: true}, false
	}
	return QuotaResult{Used: total + op.Weight, Allowed: true}, true
}

const quotaTable = store.QuotaCountersTable

func (q *QuotaStore) table() string { return cassandra.Keyspace("kms", q.org) + "." + quotaTable }

func ttlSeconds(expires, now time.Time) int {
	ttl := int(expires.Sub(now)/time.Second) + 60
	if ttl < 60 {
		ttl = 60
	}
	return ttl
}

// readRow reads one row with serial consistency (sees committed
// compare-and-sets).
func (q *QuotaStore) readRow(ctx context.Context, k CounterKey, slice int64) (count int64, exists bool, err error) {
	err = q.session.Query(`SELECT count FROM `+q.table()+` WHERE env = ? AND proxy = ? AND policy = ? AND identifier = ? AND window_start = ?`,
		k.Env, k.Proxy, k.Policy, k.Identifier, slice).Consistency(gocql.LocalSerial).ScanContext(ctx, &count)
	if errors.Is(err, gocql.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("rtdata: read quota counter: %w", err)
	}
	return count, true, nil
}

// readPast sums the rows starting in [since, slice).
func (q *QuotaStore) readRange(ctx context.Context, k CounterKey, since, slice int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	iter := q.session.Query(`SELECT window_start, count FROM `+q.table()+` WHERE env = ? AND proxy = ? AND policy = ? AND identifier = ? AND window_start >= ? AND window_start <= ?`,
		k.Env, k.Proxy, k.Policy, k.Identifier, since, slice).Consistency(gocql.LocalSerial).IterContext(ctx)
	var start int64
	var count *int64
	for iter.Scan(&start, &count) {
		if count != nil {
			out[start] = *count
		}
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("rtdata: read quota counters: %w", err)
	}
	return out, nil
}

// cas sets a row from old (exists: the row is there) to val.
func (q *QuotaStore) cas(ctx context.Context, k CounterKey, slice int64, old int64, exists bool, val int64, expires time.Time) (bool, error) {
	ttl := ttlSeconds(expires, q.now())
	var qry *gocql.Query
	if exists {
		qry = q.session.Query(`UPDATE `+q.table()+` USING TTL ? SET count = ? WHERE env = ? AND proxy = ? AND policy = ? AND identifier = ? AND window_start = ? IF count = ?`,
			ttl, val, k.Env, k.Proxy, k.Policy, k.Identifier, slice, old)
	} else {
		qry = q.session.Query(`INSERT INTO `+q.table()+` (env, proxy, policy, identifier, window_start, count) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?`,
			k.Env, k.Proxy, k.Policy, k.Identifier, slice, val, ttl)
	}
	applied, err := qry.SerialConsistency(gocql.LocalSerial).MapScanCASContext(ctx, map[string]any{})
	if err != nil {
		return false, fmt.Errorf("rtdata: update quota counter: %w", err)
	}
	return applied, nil
}

// addShared adds delta to a row in Cassandra (floored at 0 when floor is
// set) and returns the new value.
func (q *QuotaStore) addShared(ctx context.Context, k CounterKey, slice, delta int64, expires time.Time) (int64, error) {
	for {
		cur, exists, err := q.readRow(ctx, k, slice)
		if err != nil {
			return 0, err
		}
		val := cur + delta
		if val < 0 {
			val = 0
		}
		if val == cur && exists {
			return cur, nil
		}
		ok, err := q.cas(ctx, k, slice, cur, exists, val, expires)
		if err != nil {
			return 0, err
		}
		if ok {
			return val, nil
		}
	}
}

func (q *QuotaStore) applySync(ctx context.Context, c *counter, op QuotaOp) (QuotaResult, error) {
	var past int64
	if op.Since < op.Slice {
		rows, err := q.readRange(ctx, op.Key, op.Since, op.Slice-1)
		if err != nil {
			return QuotaResult{}, err
		}
		for _, v := range rows {
			past += v
		}
	}
	// Start from the last value this MP saw; a stale guess costs one
	// failed compare-and-set.
	cur, exists, fresh := int64(0), false, false
	if r := c.rows[op.Slice]; r != nil && c.known {
		cur, exists = r.count, true
	} else {
		var err error
		if cur, exists, err = q.readRow(ctx, op.Key, op.Slice); err != nil {
			return QuotaResult{}, err
		}
		fresh = true
	}
	remember := func(v int64) {
		c.rows[op.Slice] = &quotaRow{count: v, expires: op.Expires}
		c.known = true
	}
	for {
		res, add := decide(op, past+cur)
		if !fresh && (!res.Allowed || !add) {
			// Never reject (or report) on a guess.
			var err error
			if cur, exists, err = q.readRow(ctx, op.Key, op.Slice); err != nil {
				return QuotaResult{}, err
			}
			fresh = true
			continue
		}
		if !add {
			remember(cur)
			return res, nil
		}
		ok, err := q.cas(ctx, op.Key, op.Slice, cur, exists, cur+op.Weight, op.Expires)
		if err != nil {
			c.known = false
			return QuotaResult{}, err
		}
		if ok {
			remember(cur + op.Weight)
			return res, nil
		}
		if cur, exists, err = q.readRow(ctx, op.Key, op.Slice); err != nil {
			return QuotaResult{}, err
		}
		fresh = true
	}
}

// syncAsync pushes this MP's pending deltas to Cassandra and reads back the
// shared counts of the rows in [since, slice].
func (q *QuotaStore) syncAsync(ctx context.Context, c *counter, k CounterKey, since, slice int64, expires time.Time) error {
	for s, r := range c.rows {
		if r.delta == 0 {
			continue
		}
		exp := r.expires
		if exp.IsZero() {
			exp = expires
		}
		v, err := q.addShared(ctx, k, s, r.delta, exp)
		if err != nil {
			return err
		}
		r.count, r.delta = v, 0
	}
	rows, err := q.readRange(ctx, k, since, slice)
	if err != nil {
		return err
	}
	for s, v := range rows {
		r := c.rows[s]
		if r == nil {
			r = &quotaRow{expires: expires}
			c.rows[s] = r
		}
		r.count = v
	}
	for s, r := range c.rows {
		if _, ok := rows[s]; !ok && s >= since && s <= slice && r.delta == 0 {
			r.count = 0 // reset elsewhere
		}
	}
	return nil
}

// Anchor returns the start (ms) of a flexi counter's current window: the
// first request's time, renewed by the first request after it ends.
func (q *QuotaStore) Anchor(ctx context.Context, mode QuotaMode, k CounterKey, length time.Duration) (int64, error) {
	if err := q.needSession(mode); err != nil {
		return 0, err
	}
	c := q.counter(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := q.now().UnixMilli()
	valid := func(a int64) bool { return a != 0 && a <= now && now < a+length.Milliseconds() }
	if valid(c.anchor) {
		return c.anchor, nil
	}
	if mode == QuotaLocal {
		c.anchor = now
		return now, nil
	}
	tbl := q.table()
	for {
		var cur *int64
		err := q.session.Query(`SELECT anchor FROM `+tbl+` WHERE env = ? AND proxy = ? AND policy = ? AND identifier = ? LIMIT 1`,
			k.Env, k.Proxy, k.Policy, k.Identifier).Consistency(gocql.LocalSerial).ScanContext(ctx, &cur)
		if err != nil && !errors.Is(err, gocql.ErrNotFound) {
			return 0, fmt.Errorf("rtdata: read quota anchor: %w", err)
		}
		if cur != nil && valid(*cur) {
			c.anchor = *cur
			return *cur, nil
		}
		ttl := ttlSeconds(q.now().Add(length), q.now())
		qry := q.session.Query(`UPDATE `+tbl+` USING TTL ? SET anchor = ? WHERE env = ? AND proxy = ? AND policy = ? AND identifier = ? IF anchor = ?`,
			ttl, now, k.Env, k.Proxy, k.Policy, k.Identifier, cur)
		applied, err := qry.SerialConsistency(gocql.LocalSerial).MapScanCASContext(ctx, map[string]any{})
		if err != nil {
			return 0, fmt.Errorf("rtdata: set quota anchor: %w", err)
		}
		if applied {
			c.anchor = now
			return now, nil
		}
	}
}

// Adjust subtracts amount from a counter (ResetQuota), from the newest of
// slices (newest first) to the oldest, never below zero.
func (q *QuotaStore) Adjust(ctx context.Context, mode QuotaMode, k CounterKey, slices []int64, amount int64, expires time.Time) error {
	if err := q.needSession(mode); err != nil {
		return err
	}
	c := q.counter(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range slices {
		if amount <= 0 {
			return nil
		}
		switch mode {
		case QuotaLocal:
			r := c.rows[s]
			if r == nil {
				continue
			}
			d := min(r.count, amount)
			r.count -= d
			amount -= d
		default:
			// Push pending async deltas first, then take from the shared row.
			r := c.rows[s]
			if r != nil && r.delta != 0 {
				if _, err := q.addShared(ctx, k, s, r.delta, expires); err != nil {
					return err
				}
				r.delta = 0
			}
			cur, _, err := q.readRow(ctx, k, s)
			if err != nil {
				return err
			}
			d := min(cur, amount)
			if d == 0 {
				continue
			}
			v, err := q.addShared(ctx, k, s, -d, expires)
			if err != nil {
				return err
			}
			amount -= cur - v
			if r != nil {
				r.count = v
			}
		}
	}
	return nil
}

// Reset clears a counter entirely (every window), here and in Cassandra.
func (q *QuotaStore) Reset(ctx context.Context, k CounterKey) error {
	q.mu.Lock()
	delete(q.counters, k)
	q.mu.Unlock()
	if q.session == nil {
		return nil
	}
	return ResetQuotaCounter(ctx, q.session, q.org, k)
}

// ResetQuotaCounter deletes a distributed quota counter (every window) of
// an organization. Message processors holding an async view see it at
// their next sync; local (non-distributed) counters live in each MP's
// memory and are not reached. MART offers it to the control plane through
// store.KMS.ResetQuotaCounter, which deletes the same rows.
func ResetQuotaCounter(ctx context.Context, session *gocql.Session, org string, k CounterKey) error {
	// Counters are not sealed: no encryption keys needed.
	return store.NewKMS(session, store.EncryptionKeys{}).ResetQuotaCounter(ctx, org, store.QuotaCounter{Env: k.Env, Proxy: k.Proxy, Policy: k.Policy, Identifier: k.Identifier})
}

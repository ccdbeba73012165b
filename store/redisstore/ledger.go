package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// factReads is a FactQuery queued on a pipeline; facts parses the answers.
type factReads struct {
	q       store.FactQuery
	optOuts *redis.SliceCmd
	known   *redis.SliceCmd
	tc      *redis.SliceCmd
	windows []*redis.StringSliceCmd
}

// watchKeys are the keys q reads: a change to any of them invalidates a decision.
func (s *Redis) watchKeys(q store.FactQuery) []string {
	keys := []string{s.kOptOuts(), s.kKnown(), s.kToolContacts()}
	for _, w := range q.Windows {
		keys = append(keys, s.kEvents(w.Key))
	}
	return keys
}

func (s *Redis) queueFacts(ctx context.Context, p redis.Pipeliner, q store.FactQuery) *factReads {
	r := &factReads{q: q}
	if len(q.OptOuts) > 0 {
		var fields []string
		for _, o := range q.OptOuts {
			fields = append(fields, store.OptOutField(o.E164, store.ChannelAll))
			if o.Channel != "" && o.Channel != store.ChannelAll {
				fields = append(fields, store.OptOutField(o.E164, o.Channel))
			}
		}
		r.optOuts = p.HMGet(ctx, s.kOptOuts(), fields...)
	}
	if len(q.Known) > 0 {
		r.known = p.HMGet(ctx, s.kKnown(), q.Known...)
		r.tc = p.HMGet(ctx, s.kToolContacts(), q.Known...)
	}
	for _, w := range q.Windows {
		// Scores are microseconds; the exact nanosecond bound is applied when summing.
		min := "-inf"
		if n := nanos(w.Since); n > 0 {
			min = strconv.FormatInt(n/1000, 10)
		}
		r.windows = append(r.windows, p.ZRangeByScore(ctx, s.kEvents(w.Key), &redis.ZRangeBy{Min: min, Max: "+inf"}))
	}
	return r
}

func (r *factReads) facts() (store.Facts, error) {
	f := store.Facts{OptedOut: make(map[string]bool, len(r.q.OptOuts)), Known: make(map[string]store.KnownFact, len(r.q.Known)), Sums: make([]int, len(r.q.Windows))}
	if r.optOuts != nil {
		vals, err := r.optOuts.Result()
		if err != nil {
			return f, err
		}
		i := 0
		for _, o := range r.q.OptOuts {
			out := vals[i] != nil
			i++
			if o.Channel != "" && o.Channel != store.ChannelAll {
				out = out || vals[i] != nil
				i++
			}
			f.OptedOut[o.E164] = f.OptedOut[o.E164] || out
		}
	}
	if r.known != nil {
		known, err := r.known.Result()
		if err != nil {
			return f, err
		}
		tc, err := r.tc.Result()
		if err != nil {
			return f, err
		}
		for i, n := range r.q.Known {
			var k store.KnownFact
			if v, ok := known[i].(string); ok {
				k.Known = true
				if ns, err := strconv.ParseInt(v, 10, 64); err == nil {
					k.Since = time.Unix(0, ns)
				}
			}
			k.ToolContact = tc[i] != nil
			f.Known[n] = k
		}
	}
	for i, w := range r.windows {
		members, err := w.Result()
		if err != nil {
			return f, err
		}
		since := nanos(r.q.Windows[i].Since)
		for _, m := range members {
			if at, weight, ok := parseMember(m); ok && at >= since {
				f.Sums[i] += weight
			}
		}
	}
	return f, nil
}

// Facts implements store.Store: the reads run in one MULTI/EXEC, a consistent snapshot.
func (s *Redis) Facts(ctx context.Context, q store.FactQuery) (store.Facts, error) {
	if err := s.check(); err != nil {
		return store.Facts{}, fmt.Errorf("store: read facts: %w", err)
	}
	if err := store.CheckQuery(q); err != nil {
		return store.Facts{}, fmt.Errorf("store: read facts: %w", err)
	}
	var r *factReads
	if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		r = s.queueFacts(ctx, p, q)
		return nil
	}); err != nil {
		return store.Facts{}, s.fail("read facts", err)
	}
	f, err := r.facts()
	if err != nil {
		return store.Facts{}, s.fail("read facts", err)
	}
	return f, nil
}

// optimistic runs one WATCH/MULTI transaction on keys, retrying when EXEC finds a
// watched key changed, at most Options.MaxRetries times.
func (s *Redis) optimistic(ctx context.Context, what string, fn func(tx *redis.Tx) error, keys ...string) error {
	for n := 0; ; n++ {
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
		if n+1 >= s.opts.MaxRetries {
			return fmt.Errorf("store: %s: %w: gave up after %d conflicting attempts (too many replicas writing the same keys at once); nothing was changed, retry", what, store.ErrUnavailable, n+1)
		}
		if err := backoff(ctx, n); err != nil {
			return err
		}
	}
}

// decideError carries decide's own error out of the transaction unchanged.
type decideError struct{ err error }

func (e *decideError) Error() string { return e.err.Error() }

// Reserve implements store.Store.
func (s *Redis) Reserve(ctx context.Context, q store.FactQuery, decide func(store.Facts) (store.Entry, error)) (store.Entry, error) {
	if err := s.check(); err != nil {
		return store.Entry{}, fmt.Errorf("store: reserve: %w", err)
	}
	if err := store.CheckQuery(q); err != nil {
		return store.Entry{}, fmt.Errorf("store: reserve: %w", err)
	}
	var out store.Entry
	s.reserveMu.Lock()
	defer s.reserveMu.Unlock()
	err := s.optimistic(ctx, "reserve", func(tx *redis.Tx) error {
		var r *factReads
		if _, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
			r = s.queueFacts(ctx, p, q)
			return nil
		}); err != nil {
			return err
		}
		f, err := r.facts()
		if err != nil {
			return err
		}
		e, err := decide(f)
		if err != nil {
			return &decideError{err}
		}
		now := s.opts.Clock.Now()
		given := e.ID != ""
		if !given {
			e.ID = store.NewEntryID(now)
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		e.CreatedAt = e.CreatedAt.UTC()
		e.Owner, e.State, e.APIID, e.Note, e.SettledAt = s.owner, store.Pending, "", "", time.Time{}
		if err := store.CheckReservation(e); err != nil {
			return &invalidError{err}
		}
		key := s.kEntry(e.ID)
		// A decide-given ID (a rebuild replaying recorded IDs) may exist already; a fresh
		// one holds 32 random bits after the time, so the two round trips are saved.
		if given {
			if err := tx.Watch(ctx, key).Err(); err != nil {
				return err
			}
			n, err := tx.Exists(ctx, key).Result()
			if err != nil {
				return err
			}
			if n > 0 {
				return &invalidError{fmt.Errorf("ledger entry %s already exists", e.ID)}
			}
		}
		se := storedEntry{Entry: e}
		for i, ev := range e.Events {
			se.Refs = append(se.Refs, eventRef{Key: s.kEvents(ev.Key), Member: member(e.ID, i, ev)})
		}
		v, err := jsonString(se)
		if err != nil {
			return &invalidError{err}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i, ev := range e.Events {
				k := se.Refs[i].Key
				p.ZAdd(ctx, k, redis.Z{Score: micros(ev.At), Member: se.Refs[i].Member})
				p.ZRemRangeByScore(ctx, k, "-inf", "("+strconv.FormatFloat(micros(ev.At.Add(-s.opts.EventRetention)), 'f', 0, 64))
				p.PExpire(ctx, k, s.opts.EventRetention+skewMargin)
			}
			for _, n := range e.ToolContacts {
				p.HSetNX(ctx, s.kToolContacts(), n, strconv.FormatInt(nanos(e.CreatedAt), 10))
			}
			p.Set(ctx, key, v, 0)
			p.ZAdd(ctx, s.kLedger(), redis.Z{Score: 0, Member: e.ID})
			p.HSet(ctx, s.kOpen(), e.ID, s.owner)
			if s.account != "" {
				p.SAdd(ctx, s.kAccounts(), s.account)
			}
			return nil
		})
		if err != nil {
			return err
		}
		out = e
		return nil
	}, s.watchKeys(q)...)
	var de *decideError
	if errors.As(err, &de) {
		return store.Entry{}, de.err
	}
	var ie *invalidError
	if errors.As(err, &ie) {
		return store.Entry{}, fmt.Errorf("store: reserve: %w", ie.err)
	}
	if err != nil {
		return store.Entry{}, s.fail("reserve", err)
	}
	return out, nil
}

// invalidError is a refusal of bad input (nothing to do with Redis being reachable).
type invalidError struct{ err error }

func (e *invalidError) Error() string { return e.err.Error() }
func (e *invalidError) Unwrap() error { return e.err }

// Settle implements store.Store.
func (s *Redis) Settle(ctx context.Context, id string, st store.Settlement) (store.Entry, error) {
	if err := s.check(); err != nil {
		return store.Entry{}, fmt.Errorf("store: settle: %w", err)
	}
	if err := store.CheckSettlement(id, st); err != nil {
		return store.Entry{}, err
	}
	at := st.At
	if at.IsZero() {
		at = s.opts.Clock.Now()
	}
	var out store.Entry
	key := s.kEntry(id)
	err := s.optimistic(ctx, "settle", func(tx *redis.Tx) error {
		se, err := s.getEntry(ctx, tx, id)
		if err != nil {
			return err
		}
		next, changed, err := store.ApplySettlement(se.Entry, st, at)
		if err != nil {
			return &invalidError{err}
		}
		out = next
		if !changed {
			return nil
		}
		refs := se.Refs
		if st.State == store.Failed {
			se.Refs = nil
		}
		se.Entry = next
		v, err := jsonString(se)
		if err != nil {
			return &invalidError{err}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if st.State == store.Failed {
				for _, r := range refs {
					p.ZRem(ctx, r.Key, r.Member)
				}
			}
			if st.State == store.Sent {
				for _, n := range next.MarkKnown {
					p.HSetNX(ctx, s.kKnown(), n, strconv.FormatInt(nanos(at), 10))
				}
			}
			// A settled entry is kept for the retention, like its events.
			p.Set(ctx, key, v, s.opts.EventRetention+skewMargin)
			p.HDel(ctx, s.kOpen(), id)
			return nil
		})
		return err
	}, key)
	var ie *invalidError
	if errors.As(err, &ie) {
		return store.Entry{}, fmt.Errorf("store: settle: %w", ie.err)
	}
	if err != nil {
		return store.Entry{}, s.fail("settle", err)
	}
	return out, nil
}

// getEntry reads one entry; ErrNotFound (as an invalidError) when there is none.
func (s *Redis) getEntry(ctx context.Context, c redis.Cmdable, id string) (storedEntry, error) {
	v, err := c.Get(ctx, s.kEntry(id)).Result()
	if errors.Is(err, redis.Nil) {
		return storedEntry{}, &invalidError{fmt.Errorf("%w: %s", store.ErrNotFound, id)}
	}
	if err != nil {
		return storedEntry{}, err
	}
	se, err := decodeEntry(id, v)
	if err != nil {
		return storedEntry{}, &invalidError{err}
	}
	return se, nil
}

// Entry implements store.Store.
func (s *Redis) Entry(ctx context.Context, id string) (store.Entry, error) {
	if err := s.check(); err != nil {
		return store.Entry{}, fmt.Errorf("store: entry: %w", err)
	}
	if err := store.CheckKey("ledger id", id); err != nil {
		return store.Entry{}, fmt.Errorf("store: entry: %w", err)
	}
	se, err := s.getEntry(ctx, s.rdb, id)
	var ie *invalidError
	if errors.As(err, &ie) {
		return store.Entry{}, fmt.Errorf("store: entry: %w", ie.err)
	}
	if err != nil {
		return store.Entry{}, s.fail("read ledger entry", err)
	}
	return se.Entry, nil
}

// Entries implements store.Store. IDs are listed newest first from the ledger index (IDs
// sort by creation time); index members whose entry expired are removed on the way.
func (s *Redis) Entries(ctx context.Context, f store.EntryFilter) ([]store.Entry, error) {
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("store: list ledger entries: %w", err)
	}
	ids, err := s.rdb.ZRevRangeByLex(ctx, s.kLedger(), &redis.ZRangeBy{Min: "-", Max: "+"}).Result()
	if err != nil {
		return nil, s.fail("list ledger entries", err)
	}
	var out []store.Entry
	var gone []any
	const chunk = 256
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		keys := make([]string, len(part))
		for i, id := range part {
			keys[i] = s.kEntry(id)
		}
		vals, err := s.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, s.fail("list ledger entries", err)
		}
		for i, v := range vals {
			str, ok := v.(string)
			if !ok {
				gone = append(gone, part[i])
				continue
			}
			se, err := decodeEntry(part[i], str)
			if err != nil {
				return nil, fmt.Errorf("store: list ledger entries: %w", err)
			}
			if f.Match(se.Entry) {
				out = append(out, se.Entry)
				if f.Limit > 0 && len(out) >= f.Limit {
					return out, s.dropGone(ctx, gone)
				}
			}
		}
	}
	return out, s.dropGone(ctx, gone)
}

// dropGone removes expired entries' IDs from the ledger index. The entries are gone
// already, so a failure here is not worth failing the listing for; it is retried next time.
func (s *Redis) dropGone(ctx context.Context, ids []any) error {
	if len(ids) > 0 {
		_ = s.rdb.ZRem(ctx, s.kLedger(), ids...).Err()
	}
	return nil
}

// RecoverAbandoned implements store.Store: pending entries of this view's account (the
// engine's: the default account) whose owner's heartbeat key has expired (or was deleted
// by Close) become unknown. Walk AccountIDs to recover every account.
func (s *Redis) RecoverAbandoned(ctx context.Context) ([]store.Entry, error) {
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("store: recover abandoned ledger entries: %w", err)
	}
	open, err := s.rdb.HGetAll(ctx, s.kOpen()).Result()
	if err != nil {
		return nil, s.fail("list pending ledger entries", err)
	}
	alive := map[string]bool{s.owner: true}
	var dead []string
	for id, owner := range open {
		ok, seen := alive[owner]
		if !seen {
			n, err := s.rdb.Exists(ctx, s.kOwner(owner)).Result()
			if err != nil {
				return nil, s.fail("check ledger owners", err)
			}
			ok = n > 0
			alive[owner] = ok
		}
		if !ok {
			dead = append(dead, id)
		}
	}
	slices.Sort(dead)
	var out []store.Entry
	now := s.opts.Clock.Now()
	for _, id := range dead {
		key := s.kEntry(id)
		var got *store.Entry
		err := s.optimistic(ctx, "recover abandoned ledger entries", func(tx *redis.Tx) error {
			got = nil
			se, err := s.getEntry(ctx, tx, id)
			var ie *invalidError
			if errors.As(err, &ie) && errors.Is(err, store.ErrNotFound) {
				_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.HDel(ctx, s.kOpen(), id)
					return nil
				})
				return err
			}
			if err != nil {
				return err
			}
			if se.State != store.Pending {
				_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.HDel(ctx, s.kOpen(), id)
					return nil
				})
				return err
			}
			se.Entry, _, _ = store.ApplySettlement(se.Entry, store.Settlement{State: store.Unknown, Note: store.RecoveredNote}, now)
			v, err := jsonString(se)
			if err != nil {
				return &invalidError{err}
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, v, s.opts.EventRetention+skewMargin)
				p.HDel(ctx, s.kOpen(), id)
				return nil
			})
			if err == nil {
				e := se.Entry
				got = &e
			}
			return err
		}, key)
		var ie *invalidError
		if errors.As(err, &ie) {
			return out, fmt.Errorf("store: recover abandoned ledger entries: %w", ie.err)
		}
		if err != nil {
			return out, s.fail("recover abandoned ledger entries", err)
		}
		if got != nil {
			out = append(out, *got)
		}
	}
	return out, nil
}

package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// boltEntry is a ledger entry as stored: the entry and where its events live, so that a
// failed settle can delete exactly them.
type boltEntry struct {
	Entry
	Refs []eventRef `json:"refs,omitempty"`
}

// eventRef locates one event: its (scoped) key's bucket and its key inside it.
type eventRef struct {
	Key string `json:"k"`
	At  []byte `json:"a"` // timeKey(at) + sequence
}

// Facts implements Store.
func (s *Bolt) Facts(ctx context.Context, q FactQuery) (Facts, error) {
	if err := s.checkQuery(q); err != nil {
		return Facts{}, fmt.Errorf("store: read facts: %w", err)
	}
	var f Facts
	err := s.view(ctx, "read facts", func(tx *bolt.Tx) error {
		var err error
		f, err = s.readFacts(tx, q)
		return err
	})
	return f, err
}

// checkQuery rejects malformed keys before a transaction starts (the rules every engine
// shares: CheckQuery).
func (s *Bolt) checkQuery(q FactQuery) error { return CheckQuery(q) }

// readFacts reads q inside tx.
func (s *Bolt) readFacts(tx *bolt.Tx, q FactQuery) (Facts, error) {
	f := Facts{OptedOut: make(map[string]bool, len(q.OptOuts)), Known: make(map[string]KnownFact, len(q.Known)), Sums: make([]int, len(q.Windows))}
	oo := s.b(tx, bucketOptOuts)
	for _, o := range q.OptOuts {
		f.OptedOut[o.E164] = f.OptedOut[o.E164] || optedOut(oo, o.E164, o.Channel)
	}
	known, tc := s.b(tx, bucketKnown), s.b(tx, bucketToolContacts)
	for _, n := range q.Known {
		var k KnownFact
		if v := known.Get([]byte(n)); v != nil {
			k.Known = true
			k.Since, _ = decodeTime(v)
		}
		k.ToolContact = tc.Get([]byte(n)) != nil
		f.Known[n] = k
	}
	events := tx.Bucket(bucketEvents)
	for i, w := range q.Windows {
		f.Sums[i] = sumSince(events.Bucket([]byte(ScopedKey(s.account, w.Key))), w.Since)
	}
	return f, nil
}

// sumSince totals the weights in b at or after since (nil b sums to 0).
func sumSince(b *bolt.Bucket, since time.Time) int {
	if b == nil {
		return 0
	}
	total := 0
	c := b.Cursor()
	for k, v := c.Seek(timeKey(since)); k != nil; k, v = c.Next() {
		if len(v) == 4 {
			total += int(binary.BigEndian.Uint32(v))
		}
	}
	return total
}

// Reserve implements Store.
func (s *Bolt) Reserve(ctx context.Context, q FactQuery, decide func(Facts) (Entry, error)) (Entry, error) {
	if err := s.checkQuery(q); err != nil {
		return Entry{}, fmt.Errorf("store: reserve: %w", err)
	}
	now := s.opts.Clock.Now()
	sweep := s.dueSweep(now)
	var (
		out       Entry
		decideErr error
	)
	err := s.update(ctx, "reserve", func(tx *bolt.Tx) error {
		f, err := s.readFacts(tx, q)
		if err != nil {
			return err
		}
		e, err := decide(f)
		if err != nil {
			decideErr = err
			return err
		}
		if e.ID == "" {
			e.ID = newEntryID(now)
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		e.CreatedAt = e.CreatedAt.UTC()
		e.Owner, e.State, e.APIID, e.Note, e.SettledAt = s.owner, Pending, "", "", time.Time{}
		if err := s.writeReservation(tx, e); err != nil {
			return err
		}
		if sweep {
			if err := s.sweep(tx, now); err != nil {
				return fmt.Errorf("sweep: %w", err)
			}
		}
		out = e
		return nil
	})
	if decideErr != nil {
		return Entry{}, decideErr
	}
	if err != nil {
		return Entry{}, err
	}
	return out, nil
}

// writeReservation validates e and writes it, its events, its index entry and its
// tool-contact marks.
func (s *Bolt) writeReservation(tx *bolt.Tx, e Entry) error {
	if err := checkKey("ledger id", e.ID); err != nil {
		return err
	}
	if e.Kind == "" {
		return errors.New("ledger entry without a kind")
	}
	ledger := s.b(tx, bucketLedger)
	if ledger.Get([]byte(e.ID)) != nil {
		return fmt.Errorf("ledger entry %s already exists", e.ID)
	}
	be := boltEntry{Entry: e}
	events := tx.Bucket(bucketEvents)
	for _, ev := range e.Events {
		if err := checkKey("event key", ev.Key); err != nil {
			return err
		}
		if ev.Weight <= 0 {
			return fmt.Errorf("event %q: weight %d must be positive", ev.Key, ev.Weight)
		}
		key := ScopedKey(s.account, ev.Key)
		b, err := events.CreateBucketIfNotExists([]byte(key))
		if err != nil {
			return fmt.Errorf("event %q: %w", ev.Key, err)
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		k := append(timeKey(ev.At), u64(seq)...)
		v := make([]byte, 4)
		binary.BigEndian.PutUint32(v, uint32(ev.Weight))
		if err := b.Put(k, v); err != nil {
			return fmt.Errorf("event %q: %w", ev.Key, err)
		}
		if err := pruneBefore(b, ev.At.Add(-s.opts.EventRetention)); err != nil {
			return fmt.Errorf("event %q: prune: %w", ev.Key, err)
		}
		be.Refs = append(be.Refs, eventRef{Key: key, At: k})
	}
	for _, n := range e.ToolContacts {
		if err := checkKey("contact", n); err != nil {
			return err
		}
		b := s.b(tx, bucketToolContacts)
		if b.Get([]byte(n)) == nil {
			if err := b.Put([]byte(n), timeKey(e.CreatedAt)); err != nil {
				return err
			}
		}
	}
	if err := s.putEntry(tx, be); err != nil {
		return err
	}
	if e.State == Pending {
		return s.b(tx, bucketLedgerOpen).Put([]byte(e.ID), []byte(e.Owner))
	}
	return nil
}

func (s *Bolt) putEntry(tx *bolt.Tx, be boltEntry) error {
	v, err := json.Marshal(be)
	if err != nil {
		return fmt.Errorf("encode ledger entry %s: %w", be.ID, err)
	}
	return s.b(tx, bucketLedger).Put([]byte(be.ID), v)
}

func (s *Bolt) getEntry(tx *bolt.Tx, id string) (boltEntry, error) {
	v := s.b(tx, bucketLedger).Get([]byte(id))
	if v == nil {
		return boltEntry{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	var be boltEntry
	if err := json.Unmarshal(v, &be); err != nil {
		return boltEntry{}, fmt.Errorf("%w: ledger entry %s does not decode: %v", ErrDamaged, id, err)
	}
	return be, nil
}

// Settle implements Store.
func (s *Bolt) Settle(ctx context.Context, id string, st Settlement) (Entry, error) {
	switch st.State {
	case Sent, Failed, Unknown:
	default:
		return Entry{}, fmt.Errorf("store: settle %s: state %q is not sent, failed or unknown", id, st.State)
	}
	if err := checkKey("ledger id", id); err != nil {
		return Entry{}, fmt.Errorf("store: settle: %w", err)
	}
	at := st.At
	if at.IsZero() {
		at = s.opts.Clock.Now()
	}
	var out Entry
	err := s.update(ctx, "settle", func(tx *bolt.Tx) error {
		be, err := s.getEntry(tx, id)
		if err != nil {
			return err
		}
		next, changed, err := settleEntry(be.Entry, st, at)
		if err != nil {
			return err
		}
		out = next
		if !changed {
			return nil
		}
		if st.State == Failed {
			events := tx.Bucket(bucketEvents)
			for _, r := range be.Refs {
				if b := events.Bucket([]byte(r.Key)); b != nil {
					if err := b.Delete(r.At); err != nil {
						return err
					}
				}
			}
			be.Refs = nil
		}
		if st.State == Sent {
			known := s.b(tx, bucketKnown)
			for _, n := range next.MarkKnown {
				if err := checkKey("recipient", n); err != nil {
					return err
				}
				if known.Get([]byte(n)) == nil {
					if err := known.Put([]byte(n), timeKey(at)); err != nil {
						return err
					}
				}
			}
		}
		be.Entry = next
		if err := s.putEntry(tx, be); err != nil {
			return err
		}
		return s.b(tx, bucketLedgerOpen).Delete([]byte(id))
	})
	if err != nil {
		return Entry{}, err
	}
	return out, nil
}

// settleEntry applies st to e: the engine-independent transition rules every engine
// shares. changed is false for a repeated settle to the same state.
func settleEntry(e Entry, st Settlement, at time.Time) (next Entry, changed bool, err error) {
	switch {
	case e.State == st.State:
		if e.APIID == "" && st.APIID != "" {
			e.APIID = st.APIID
			return e, true, nil
		}
		return e, false, nil
	case e.State == Sent || e.State == Failed:
		return e, false, fmt.Errorf("%w: %s is %s, cannot become %s", ErrConflict, e.ID, e.State, st.State)
	}
	e.State, e.Note, e.SettledAt = st.State, st.Note, at.UTC()
	if st.APIID != "" {
		e.APIID = st.APIID
	}
	return e, true, nil
}

// Entry implements Store.
func (s *Bolt) Entry(ctx context.Context, id string) (Entry, error) {
	if err := checkKey("ledger id", id); err != nil {
		return Entry{}, fmt.Errorf("store: entry: %w", err)
	}
	var out Entry
	err := s.view(ctx, "read ledger entry", func(tx *bolt.Tx) error {
		be, err := s.getEntry(tx, id)
		out = be.Entry
		return err
	})
	return out, err
}

// Entries implements Store.
func (s *Bolt) Entries(ctx context.Context, f EntryFilter) ([]Entry, error) {
	var out []Entry
	err := s.view(ctx, "list ledger entries", func(tx *bolt.Tx) error {
		c := s.b(tx, bucketLedger).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var be boltEntry
			if err := json.Unmarshal(v, &be); err != nil {
				return fmt.Errorf("%w: ledger entry %s does not decode: %v", ErrDamaged, k, err)
			}
			if f.Match(be.Entry) {
				out = append(out, be.Entry)
				if f.Limit > 0 && len(out) >= f.Limit {
					return nil
				}
			}
		}
		return nil
	})
	return out, err
}

// Match reports whether e passes the filter.
func (f EntryFilter) Match(e Entry) bool {
	if len(f.States) > 0 && !slices.Contains(f.States, e.State) {
		return false
	}
	if f.Kind != "" && e.Kind != f.Kind {
		return false
	}
	if f.Recipient != "" && !slices.Contains(e.Recipients, f.Recipient) {
		return false
	}
	return f.Since.IsZero() || !e.CreatedAt.Before(f.Since)
}

// RecoverAbandoned implements Store, for this view's account only (the engine's: the
// default account); walk AccountIDs to recover every account.
func (s *Bolt) RecoverAbandoned(ctx context.Context) ([]Entry, error) {
	byOwner := map[string][]string{}
	err := s.view(ctx, "list pending ledger entries", func(tx *bolt.Tx) error {
		return s.b(tx, bucketLedgerOpen).ForEach(func(k, v []byte) error {
			byOwner[string(v)] = append(byOwner[string(v)], string(k))
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var dead []string
	for owner, ids := range byOwner {
		if owner == s.owner {
			continue
		}
		alive, err := ownerAlive(s.dir, owner)
		if err != nil {
			return nil, err
		}
		if !alive {
			dead = append(dead, ids...)
		}
	}
	if _, err := LiveOwners(s.dir); err != nil { // also clears the lock files of dead owners
		return nil, err
	}
	if len(dead) == 0 {
		return nil, nil
	}
	slices.Sort(dead)
	now := s.opts.Clock.Now()
	var out []Entry
	err = s.update(ctx, "recover abandoned ledger entries", func(tx *bolt.Tx) error {
		out = out[:0]
		for _, id := range dead {
			be, err := s.getEntry(tx, id)
			if errors.Is(err, ErrNotFound) {
				if err := s.b(tx, bucketLedgerOpen).Delete([]byte(id)); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			if be.State != Pending {
				continue
			}
			be.Entry, _, _ = settleEntry(be.Entry, Settlement{State: Unknown, Note: RecoveredNote}, now)
			if err := s.putEntry(tx, be); err != nil {
				return err
			}
			if err := s.b(tx, bucketLedgerOpen).Delete([]byte(id)); err != nil {
				return err
			}
			out = append(out, be.Entry)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecoveredNote is the note of an entry that RecoverAbandoned turned into unknown.
const RecoveredNote = "recovered: the process that reserved it exited before settling; it may have been sent"

// newEntryID returns a ledger ID that sorts by creation time: "led_" + 16 hex digits of
// Unix nanoseconds + 8 random hex digits.
func newEntryID(now time.Time) string {
	return "led_" + hex.EncodeToString(timeKey(now)) + randomHex(4)
}

// sweep prunes every event key to the retention window, deletes the keys left empty, and
// deletes settled ledger entries older than the retention (pending ones are kept until
// they are settled or recovered).
func (s *Bolt) sweep(tx *bolt.Tx, now time.Time) error {
	cutoff := now.Add(-s.opts.EventRetention)
	events := tx.Bucket(bucketEvents)
	var keys [][]byte
	if err := events.ForEach(func(k, v []byte) error {
		if v == nil { // a nested bucket
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		b := events.Bucket(k)
		if err := pruneBefore(b, cutoff); err != nil {
			return err
		}
		if first, _ := b.Cursor().First(); first == nil {
			if err := events.DeleteBucket(k); err != nil {
				return err
			}
		}
	}
	if err := sweepLedger(tx.Bucket(bucketLedger), cutoff); err != nil {
		return err
	}
	// Every account's ledger, not only this view's: an account nobody uses any more is
	// swept too.
	all := tx.Bucket(bucketAccounts)
	if all == nil {
		return nil
	}
	return all.ForEach(func(k, v []byte) error {
		if v != nil {
			return nil
		}
		if ab := all.Bucket(k); ab != nil {
			if l := ab.Bucket(bucketLedger); l != nil {
				return sweepLedger(l, cutoff)
			}
		}
		return nil
	})
}

// sweepLedger deletes the settled entries of ledger created before cutoff.
func sweepLedger(ledger *bolt.Bucket, cutoff time.Time) error {
	var old [][]byte
	c := ledger.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var e Entry
		if json.Unmarshal(v, &e) != nil || e.State == Pending || !e.CreatedAt.Before(cutoff) {
			continue
		}
		old = append(old, append([]byte(nil), k...))
	}
	for _, k := range old {
		if err := ledger.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// pruneBefore deletes entries whose timestamp is before cutoff.
func pruneBefore(b *bolt.Bucket, cutoff time.Time) error {
	ck := timeKey(cutoff)
	c := b.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:min(len(k), 8)], ck) < 0; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// EventKeys counts the event keys kept (for tests and diagnostics).
func (s *Bolt) EventKeys(ctx context.Context) (n int, err error) {
	err = s.view(ctx, "count event keys", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvents).ForEach(func(_, v []byte) error {
			if v == nil {
				n++
			}
			return nil
		})
	})
	return n, err
}

package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AddEvent records that an event with the given weight (1 for one SMS or call,
// the segment count for SMS segments) happened under key at time at. Entries
// older than Options.EventRetention are pruned from the key as a side effect.
func (s *Store) AddEvent(ctx context.Context, key string, at time.Time, weight int) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.AddEvent(key, at, weight) })
}

// SumSince returns the total weight of the events under key that happened at or
// after since (a sliding window ending now). An unknown key sums to 0.
func (s *Store) SumSince(ctx context.Context, key string, since time.Time) (total int, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		total, err = tx.SumSince(key, since)
		return err
	})
	return total, err
}

// AddEvent is Store.AddEvent inside a transaction from Update.
func (t *Tx) AddEvent(key string, at time.Time, weight int) error {
	if err := checkKey("event key", key); err != nil {
		return fmt.Errorf("add event: %w", err)
	}
	if weight <= 0 {
		return fmt.Errorf("add event %q: weight %d must be positive", key, weight)
	}
	b, err := t.tx.Bucket(bucketEvents).CreateBucketIfNotExists([]byte(key))
	if err != nil {
		return fmt.Errorf("add event %q: %w", key, err)
	}
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("add event %q: %w", key, err)
	}
	k := append(timeKey(at), u64(seq)...)
	v := make([]byte, 4)
	binary.BigEndian.PutUint32(v, uint32(weight))
	if err := b.Put(k, v); err != nil {
		return fmt.Errorf("add event %q: %w", key, err)
	}
	if err := pruneBefore(b, at.Add(-t.s.opts.EventRetention)); err != nil {
		return fmt.Errorf("add event %q: prune: %w", key, err)
	}
	if t.s.dueSweep(at) {
		if err := t.sweepEvents(at); err != nil {
			return fmt.Errorf("add event %q: sweep: %w", key, err)
		}
	}
	return nil
}

// sweepEvents prunes every event key to the retention window and deletes the keys left
// empty, so the state file does not grow with keys that are never written again.
func (t *Tx) sweepEvents(now time.Time) error {
	events := t.tx.Bucket(bucketEvents)
	var keys [][]byte
	if err := events.ForEach(func(k, v []byte) error {
		if v == nil { // a nested bucket
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	}); err != nil {
		return err
	}
	cutoff := now.Add(-t.s.opts.EventRetention)
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
	return nil
}

// EventKeys counts the event keys kept (for tests and diagnostics).
func (s *Store) EventKeys(ctx context.Context) (n int, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		return tx.tx.Bucket(bucketEvents).ForEach(func(_, v []byte) error {
			if v == nil {
				n++
			}
			return nil
		})
	})
	return n, err
}

// SumSince is Store.SumSince inside a transaction.
func (t *Tx) SumSince(key string, since time.Time) (int, error) {
	if err := checkKey("event key", key); err != nil {
		return 0, fmt.Errorf("sum events: %w", err)
	}
	b := t.tx.Bucket(bucketEvents).Bucket([]byte(key))
	if b == nil {
		return 0, nil
	}
	total := 0
	c := b.Cursor()
	for k, v := c.Seek(timeKey(since)); k != nil; k, v = c.Next() {
		if len(v) == 4 {
			total += int(binary.BigEndian.Uint32(v))
		}
	}
	return total, nil
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

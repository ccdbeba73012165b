package store

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MarkKnown records that this account has successfully texted or called e164
// (the first time is kept). Known recipients are not "first contact".
func (s *Store) MarkKnown(ctx context.Context, e164 string, at time.Time) error {
	if err := checkKey("recipient", e164); err != nil {
		return fmt.Errorf("store: mark known: %w", err)
	}
	return s.update(ctx, "mark known recipient", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKnown)
		if b.Get([]byte(e164)) != nil {
			return nil
		}
		return b.Put([]byte(e164), timeKey(at))
	})
}

// IsKnown reports whether e164 was marked known, and since when.
func (s *Store) IsKnown(ctx context.Context, e164 string) (bool, time.Time, error) {
	if err := checkKey("recipient", e164); err != nil {
		return false, time.Time{}, fmt.Errorf("store: is known: %w", err)
	}
	var (
		found bool
		since time.Time
	)
	err := s.view(ctx, "look up known recipient", func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketKnown).Get([]byte(e164))
		if v != nil {
			found = true
			since, _ = decodeTime(v)
		}
		return nil
	})
	return found, since, err
}

package store

import (
	"context"
	"fmt"
	"time"
)

// MarkKnown records that this account has successfully texted or called e164
// (the first time is kept). Known recipients are not "first contact".
func (s *Store) MarkKnown(ctx context.Context, e164 string, at time.Time) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.MarkKnown(e164, at) })
}

// IsKnown reports whether e164 was marked known, and since when.
func (s *Store) IsKnown(ctx context.Context, e164 string) (found bool, since time.Time, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		found, since, err = tx.IsKnown(e164)
		return err
	})
	return found, since, err
}

// MarkKnown is Store.MarkKnown inside a transaction from Update.
func (t *Tx) MarkKnown(e164 string, at time.Time) error {
	if err := checkKey("recipient", e164); err != nil {
		return fmt.Errorf("mark known: %w", err)
	}
	b := t.tx.Bucket(bucketKnown)
	if b.Get([]byte(e164)) != nil {
		return nil
	}
	if err := b.Put([]byte(e164), timeKey(at)); err != nil {
		return fmt.Errorf("mark known recipient: %w", err)
	}
	return nil
}

// IsKnown is Store.IsKnown inside a transaction.
func (t *Tx) IsKnown(e164 string) (bool, time.Time, error) {
	if err := checkKey("recipient", e164); err != nil {
		return false, time.Time{}, fmt.Errorf("is known: %w", err)
	}
	v := t.tx.Bucket(bucketKnown).Get([]byte(e164))
	if v == nil {
		return false, time.Time{}, nil
	}
	since, _ := decodeTime(v)
	return true, since, nil
}

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

// MarkToolContact records that a tool (the model, not the operator) wrote a contact with
// the number e164. Such a contact never vouches for the number: a model must not be able to
// add a contact and then text it as if it were known. The mark is permanent.
func (t *Tx) MarkToolContact(e164 string, at time.Time) error {
	if err := checkKey("contact", e164); err != nil {
		return fmt.Errorf("mark tool contact: %w", err)
	}
	b := t.tx.Bucket(bucketToolContacts)
	if b.Get([]byte(e164)) != nil {
		return nil
	}
	if err := b.Put([]byte(e164), timeKey(at)); err != nil {
		return fmt.Errorf("mark tool contact: %w", err)
	}
	return nil
}

// IsToolContact reports whether a tool wrote a contact with the number e164.
func (t *Tx) IsToolContact(e164 string) (bool, error) {
	if err := checkKey("contact", e164); err != nil {
		return false, fmt.Errorf("is tool contact: %w", err)
	}
	return t.tx.Bucket(bucketToolContacts).Get([]byte(e164)) != nil, nil
}

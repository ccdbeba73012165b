package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OptOut is one entry of the suppression list.
type OptOut struct {
	E164   string    `json:"e164"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"` // e.g. "inbound STOP", "operator"
}

// AddOptOut puts e164 (already normalised by the caller) on the suppression
// list. Adding an existing entry keeps the original time and reason.
func (s *Store) AddOptOut(ctx context.Context, e164, reason string, at time.Time) error {
	if err := checkKey("opt-out number", e164); err != nil {
		return fmt.Errorf("store: add opt-out: %w", err)
	}
	v, err := json.Marshal(OptOut{E164: e164, At: at.UTC(), Reason: reason})
	if err != nil {
		return fmt.Errorf("store: add opt-out: %w", err)
	}
	return s.update(ctx, "add opt-out", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOptOuts)
		if b.Get([]byte(e164)) != nil {
			return nil
		}
		return b.Put([]byte(e164), v)
	})
}

// RemoveOptOut takes e164 off the suppression list; it reports whether it was there.
func (s *Store) RemoveOptOut(ctx context.Context, e164 string) (bool, error) {
	if err := checkKey("opt-out number", e164); err != nil {
		return false, fmt.Errorf("store: remove opt-out: %w", err)
	}
	var existed bool
	err := s.update(ctx, "remove opt-out", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOptOuts)
		existed = b.Get([]byte(e164)) != nil
		return b.Delete([]byte(e164))
	})
	return existed, err
}

// IsOptedOut reports whether e164 is on the suppression list.
func (s *Store) IsOptedOut(ctx context.Context, e164 string) (found bool, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		found, err = tx.IsOptedOut(e164)
		return err
	})
	return found, err
}

// IsOptedOut is Store.IsOptedOut inside a transaction.
func (t *Tx) IsOptedOut(e164 string) (bool, error) {
	if err := checkKey("opt-out number", e164); err != nil {
		return false, fmt.Errorf("check opt-out: %w", err)
	}
	return t.tx.Bucket(bucketOptOuts).Get([]byte(e164)) != nil, nil
}

// ListOptOuts returns the suppression list sorted by number.
func (s *Store) ListOptOuts(ctx context.Context) ([]OptOut, error) {
	var out []OptOut
	err := s.view(ctx, "list opt-outs", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOptOuts).ForEach(func(k, v []byte) error {
			var o OptOut
			if err := json.Unmarshal(v, &o); err != nil {
				o = OptOut{E164: string(k), Reason: "unreadable entry"}
			}
			out = append(out, o)
			return nil
		})
	})
	return out, err
}

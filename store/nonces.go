package store

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// UseNonce atomically marks a confirmation-token nonce as used until exp.
// It returns fresh=false if the nonce was already used (a replay). Expired
// nonces are pruned at most once a minute; a token past exp is rejected by
// its own expiry check, so forgetting its nonce then is safe.
func (s *Store) UseNonce(ctx context.Context, nonce string, exp time.Time) (fresh bool, err error) {
	if err := checkKey("nonce", nonce); err != nil {
		return false, fmt.Errorf("store: use nonce: %w", err)
	}
	now := s.opts.Clock.Now()
	prune := s.duePrune(now)
	err = s.update(ctx, "use token nonce", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNonces)
		if prune {
			if err := pruneExpired(b, now); err != nil {
				return err
			}
		}
		if b.Get([]byte(nonce)) != nil {
			return nil
		}
		fresh = true
		return b.Put([]byte(nonce), timeKey(exp))
	})
	return fresh, err
}

// SeenDelivery reports whether a webhook delivery ID (X-Webhook-ID) was seen
// within Options.DeliveryTTL, and records it if not, so that the first call
// for an ID returns false and later calls return true until it expires.
func (s *Store) SeenDelivery(ctx context.Context, id string) (bool, error) {
	if err := checkKey("delivery id", id); err != nil {
		return false, fmt.Errorf("store: seen delivery: %w", err)
	}
	now := s.opts.Clock.Now()
	prune := s.duePrune(now)
	var seen bool
	err := s.update(ctx, "record webhook delivery", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeliveries)
		if prune {
			if err := pruneExpired(b, now); err != nil {
				return err
			}
		}
		if v := b.Get([]byte(id)); v != nil {
			if exp, ok := decodeTime(v); ok && now.Before(exp) {
				seen = true
				return nil
			}
		}
		return b.Put([]byte(id), timeKey(now.Add(s.opts.DeliveryTTL)))
	})
	return seen, err
}

// pruneExpired deletes entries whose stored expiry is not after now.
func pruneExpired(b *bolt.Bucket, now time.Time) error {
	var dead [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if exp, ok := decodeTime(v); !ok || !now.Before(exp) {
			dead = append(dead, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

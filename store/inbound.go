package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Inbound is one stored inbound event (webhook payload), for the inbox.
type Inbound struct {
	Seq     uint64    `json:"seq"`
	Kind    string    `json:"kind"` // e.g. "sms", "call"
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Payload []byte    `json:"payload"`
}

// AppendInbound stores an inbound event. Only the newest Options.MaxInbound
// events are kept.
func (s *Store) AppendInbound(ctx context.Context, kind, id string, payload []byte, at time.Time) error {
	if kind == "" {
		return fmt.Errorf("store: append inbound: empty kind")
	}
	return s.update(ctx, "append inbound event", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInbound)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		v, err := json.Marshal(Inbound{Seq: seq, Kind: kind, ID: id, At: at.UTC(), Payload: payload})
		if err != nil {
			return err
		}
		if err := b.Put(u64(seq), v); err != nil {
			return err
		}
		// Keys are consecutive sequence numbers: drop everything older than the
		// newest MaxInbound without walking the bucket.
		if seq > uint64(s.opts.MaxInbound) {
			cutoff := u64(seq - uint64(s.opts.MaxInbound) + 1)
			c := b.Cursor()
			for k, _ := c.First(); k != nil && string(k) < string(cutoff); k, _ = c.First() {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// RecentInbound returns up to limit of the newest inbound events, oldest first.
func (s *Store) RecentInbound(ctx context.Context, limit int) ([]Inbound, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []Inbound
	err := s.view(ctx, "read inbound events", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketInbound).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var in Inbound
			if err := json.Unmarshal(v, &in); err != nil {
				return fmt.Errorf("decode inbound event %x: %w", k, err)
			}
			out = append(out, in)
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

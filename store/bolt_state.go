package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// optOutKey is the key of e164's opt-out of scope channel. An opt-out of every channel is
// stored under the bare number (the format before scopes existed).
func optOutKey(e164, channel string) []byte {
	if channel == "" || channel == ChannelAll {
		return []byte(e164)
	}
	return []byte(e164 + "|" + channel)
}

// optedOut reports whether e164 is opted out of channel in the opt-outs bucket b.
func optedOut(b *bolt.Bucket, e164, channel string) bool {
	if b.Get(optOutKey(e164, ChannelAll)) != nil {
		return true
	}
	return channel != "" && channel != ChannelAll && b.Get(optOutKey(e164, channel)) != nil
}

// AddOptOut implements Store.
func (s *Bolt) AddOptOut(ctx context.Context, o OptOut) (bool, error) {
	if err := checkKey("opt-out number", o.E164); err != nil {
		return false, fmt.Errorf("store: add opt-out: %w", err)
	}
	if !validChannel(o.Channel) {
		return false, fmt.Errorf("store: add opt-out: channel %q is not all, sms or call", o.Channel)
	}
	o.Channel = o.Scope()
	if o.At.IsZero() {
		o.At = s.opts.Clock.Now()
	}
	o.At = o.At.UTC()
	v, err := json.Marshal(o)
	if err != nil {
		return false, fmt.Errorf("store: add opt-out: %w", err)
	}
	var added bool
	err = s.update(ctx, "add opt-out", func(tx *bolt.Tx) error {
		if o.Source != SourceOperator {
			if v := s.b(tx, bucketOptOutsGone).Get([]byte(o.E164)); v != nil {
				if lifted, ok := decodeTime(v); ok && !o.At.After(lifted) {
					return nil // said before the operator lifted the opt-out
				}
			}
		}
		b := s.b(tx, bucketOptOuts)
		k := optOutKey(o.E164, o.Channel)
		if b.Get(k) != nil {
			return nil
		}
		added = true
		return b.Put(k, v)
	})
	return added, err
}

// RemoveOptOut implements Store.
func (s *Bolt) RemoveOptOut(ctx context.Context, e164, channel string) (bool, error) {
	if err := checkKey("opt-out number", e164); err != nil {
		return false, fmt.Errorf("store: remove opt-out: %w", err)
	}
	if !validChannel(channel) {
		return false, fmt.Errorf("store: remove opt-out: channel %q is not all, sms or call", channel)
	}
	scopes := []string{channel}
	if channel == "" {
		scopes = []string{ChannelAll, ChannelSMS, ChannelCall}
	}
	var removed bool
	now := s.opts.Clock.Now()
	err := s.update(ctx, "remove opt-out", func(tx *bolt.Tx) error {
		if err := s.b(tx, bucketOptOutsGone).Put([]byte(e164), timeKey(now)); err != nil {
			return err
		}
		b := s.b(tx, bucketOptOuts)
		for _, c := range scopes {
			k := optOutKey(e164, c)
			if b.Get(k) != nil {
				removed = true
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return removed, err
}

// IsOptedOut implements Store.
func (s *Bolt) IsOptedOut(ctx context.Context, e164, channel string) (bool, error) {
	if err := checkKey("opt-out number", e164); err != nil {
		return false, fmt.Errorf("store: check opt-out: %w", err)
	}
	if !validChannel(channel) {
		return false, fmt.Errorf("store: check opt-out: channel %q is not all, sms or call", channel)
	}
	var found bool
	err := s.view(ctx, "check opt-out", func(tx *bolt.Tx) error {
		found = optedOut(s.b(tx, bucketOptOuts), e164, channel)
		return nil
	})
	return found, err
}

// ListOptOuts implements Store.
func (s *Bolt) ListOptOuts(ctx context.Context) ([]OptOut, error) {
	var out []OptOut
	err := s.view(ctx, "list opt-outs", func(tx *bolt.Tx) error {
		return s.b(tx, bucketOptOuts).ForEach(func(k, v []byte) error {
			var o OptOut
			if err := json.Unmarshal(v, &o); err != nil {
				num, ch, _ := strings.Cut(string(k), "|")
				o = OptOut{E164: num, Channel: ch, Reason: "unreadable entry"}
			}
			o.Channel = o.Scope()
			out = append(out, o)
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].E164 != out[j].E164 {
			return out[i].E164 < out[j].E164
		}
		return out[i].Channel < out[j].Channel
	})
	return out, err
}

// MarkToolContact implements Store.
func (s *Bolt) MarkToolContact(ctx context.Context, e164 string, at time.Time) error {
	if err := checkKey("contact", e164); err != nil {
		return fmt.Errorf("store: mark tool contact: %w", err)
	}
	return s.update(ctx, "mark tool contact", func(tx *bolt.Tx) error {
		b := s.b(tx, bucketToolContacts)
		if b.Get([]byte(e164)) != nil {
			return nil
		}
		return b.Put([]byte(e164), timeKey(at))
	})
}

// UseNonce implements Store. Expired nonces are pruned at most once a minute; a token past
// exp is rejected by its own expiry check, so forgetting its nonce then is safe.
func (s *Bolt) UseNonce(ctx context.Context, nonce string, exp time.Time) (fresh bool, err error) {
	if err := checkKey("nonce", nonce); err != nil {
		return false, fmt.Errorf("store: use nonce: %w", err)
	}
	now := s.opts.Clock.Now()
	prune := s.duePrune(now)
	err = s.update(ctx, "use token nonce", func(tx *bolt.Tx) error {
		b := s.b(tx, bucketNonces)
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

// SeenDelivery implements Store: the first call for an ID returns false and later calls
// return true until Options.DeliveryTTL has passed.
func (s *Bolt) SeenDelivery(ctx context.Context, id string) (bool, error) {
	if err := checkKey("delivery id", id); err != nil {
		return false, fmt.Errorf("store: seen delivery: %w", err)
	}
	now := s.opts.Clock.Now()
	prune := s.duePrune(now)
	var seen bool
	err := s.update(ctx, "record webhook delivery", func(tx *bolt.Tx) error {
		b := s.b(tx, bucketDeliveries)
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

// AppendInbound implements Store. Only the newest Options.MaxInbound events are kept.
func (s *Bolt) AppendInbound(ctx context.Context, kind, id string, payload []byte, at time.Time) error {
	if kind == "" {
		return fmt.Errorf("store: append inbound: empty kind")
	}
	return s.update(ctx, "append inbound event", func(tx *bolt.Tx) error {
		b := s.b(tx, bucketInbound)
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
		// Keys are consecutive sequence numbers: drop everything older than the newest
		// MaxInbound without walking the bucket.
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

// RecentInbound implements Store.
func (s *Bolt) RecentInbound(ctx context.Context, limit int) ([]Inbound, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []Inbound
	err := s.view(ctx, "read inbound events", func(tx *bolt.Tx) error {
		c := s.b(tx, bucketInbound).Cursor()
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

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Opt-out channels: what a recipient opted out of. A STOP text opts out of everything; a
// spoken "do not call me" opts out of calls only.
const (
	ChannelAll  = "all"
	ChannelSMS  = "sms"
	ChannelCall = "call"
)

// OptOut is one entry of the suppression list.
type OptOut struct {
	E164 string `json:"e164"`
	// Channel is ChannelAll, ChannelSMS or ChannelCall; entries written before channels
	// existed have "" and read as ChannelAll.
	Channel string    `json:"channel,omitempty"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason,omitempty"` // e.g. "inbound STOP", "operator"
}

// Covers reports whether the entry forbids contact on channel (ChannelSMS or ChannelCall;
// ChannelAll asks whether it forbids everything).
func (o OptOut) Covers(channel string) bool {
	c := normChannel(o.Channel)
	return c == ChannelAll || c == channel
}

func normChannel(c string) string {
	if c == "" {
		return ChannelAll
	}
	return c
}

func checkChannel(c string) error {
	switch c {
	case ChannelAll, ChannelSMS, ChannelCall:
		return nil
	}
	return fmt.Errorf("opt-out channel %q: want %q, %q or %q", c, ChannelAll, ChannelSMS, ChannelCall)
}

// merge widens an existing entry by a new channel: sms + call = all.
func mergeChannel(old, add string) string {
	old, add = normChannel(old), normChannel(add)
	if old == add {
		return old
	}
	return ChannelAll
}

// AddOptOut puts e164 (already normalised by the caller) on the suppression
// list for every channel. Adding an existing entry keeps the original time and reason.
func (s *Store) AddOptOut(ctx context.Context, e164, reason string, at time.Time) error {
	_, err := s.AddOptOutOn(ctx, OptOut{E164: e164, Channel: ChannelAll, Reason: reason, At: at}, false)
	return err
}

// AddOptOutOn records an opt-out of o.Channel ("" means all). An existing entry is widened
// (a call opt-out plus an SMS opt-out is an opt-out of all) and otherwise kept as it was.
//
// When evidence is true, o.At is the time the recipient said it (a message or a call turn):
// if the operator lifted an opt-out of this number after that time (RemoveOptOut), the old
// words do not opt the number out again. It reports whether the entry was added or widened.
func (s *Store) AddOptOutOn(ctx context.Context, o OptOut, evidence bool) (bool, error) {
	if err := checkKey("opt-out number", o.E164); err != nil {
		return false, fmt.Errorf("store: add opt-out: %w", err)
	}
	o.Channel = normChannel(o.Channel)
	if err := checkChannel(o.Channel); err != nil {
		return false, fmt.Errorf("store: add opt-out: %w", err)
	}
	o.At = o.At.UTC()
	var changed bool
	err := s.update(ctx, "add opt-out", func(tx *bolt.Tx) error {
		if evidence {
			if v := tx.Bucket(bucketOptOutsGone).Get([]byte(o.E164)); v != nil {
				if lifted, ok := decodeTime(v); ok && !o.At.After(lifted) {
					return nil
				}
			}
		}
		b := tx.Bucket(bucketOptOuts)
		if v := b.Get([]byte(o.E164)); v != nil {
			var old OptOut
			if err := json.Unmarshal(v, &old); err != nil {
				old = OptOut{E164: o.E164} // unreadable: treat as an opt-out of all
			}
			wide := mergeChannel(old.Channel, o.Channel)
			if wide == normChannel(old.Channel) {
				return nil
			}
			old.Channel, old.Reason = wide, old.Reason+"; "+o.Reason
			o = old
		}
		v, err := json.Marshal(o)
		if err != nil {
			return err
		}
		changed = true
		return b.Put([]byte(o.E164), v)
	})
	return changed, err
}

// RemoveOptOut takes e164 off the suppression list (every channel); it reports whether it
// was there. It remembers when, so words said before now do not opt the number out again.
func (s *Store) RemoveOptOut(ctx context.Context, e164 string) (bool, error) {
	if err := checkKey("opt-out number", e164); err != nil {
		return false, fmt.Errorf("store: remove opt-out: %w", err)
	}
	now := s.opts.Clock.Now()
	var existed bool
	err := s.update(ctx, "remove opt-out", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOptOuts)
		existed = b.Get([]byte(e164)) != nil
		if err := tx.Bucket(bucketOptOutsGone).Put([]byte(e164), timeKey(now)); err != nil {
			return err
		}
		return b.Delete([]byte(e164))
	})
	return existed, err
}

// IsOptedOut reports whether e164 is on the suppression list (for any channel).
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

// IsOptedOutOn reports whether e164 opted out of channel (ChannelSMS or ChannelCall): an
// entry for that channel or for all.
func (t *Tx) IsOptedOutOn(e164, channel string) (bool, error) {
	if err := checkKey("opt-out number", e164); err != nil {
		return false, fmt.Errorf("check opt-out: %w", err)
	}
	v := t.tx.Bucket(bucketOptOuts).Get([]byte(e164))
	if v == nil {
		return false, nil
	}
	var o OptOut
	if err := json.Unmarshal(v, &o); err != nil {
		return true, nil // unreadable: fail closed
	}
	return o.Covers(channel), nil
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
			o.Channel = normChannel(o.Channel)
			out = append(out, o)
			return nil
		})
	})
	return out, err
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Helpers shared by engines outside this package (store/redisstore), so that every engine
// applies the same rules: one definition each, used by Bolt too.

// ErrUnavailable: a shared store (Redis) could not be reached or answered with an error.
// Nothing was changed; counted actions must be refused.
var ErrUnavailable = errors.New("the shared state store is unavailable")

// Pinger is implemented by engines that can report whether their backing state is
// reachable now (readiness probes).
type Pinger interface {
	Ping(ctx context.Context) error
}

// InboundWatcher is implemented by engines shared by several replicas: fn gets every
// inbound event another replica appends (so a webhook delivered to one replica wakes
// waits on all), until ctx ends.
type InboundWatcher interface {
	WatchInbound(ctx context.Context, fn func(Inbound)) error
}

// AccountInboundWatcher is implemented by shared engines that serve several accounts:
// fn gets every inbound event another replica appends in any account (account "" is the
// default one), over one subscription, until ctx ends. A server with many callers uses it
// instead of one InboundWatcher per account view.
type AccountInboundWatcher interface {
	WatchAllInbound(ctx context.Context, fn func(account string, in Inbound)) error
}

// ApplySettlement applies st to e with the transition rules every engine shares (see
// Store.Settle): changed is false for a repeated settle to the same state; moving a sent
// or failed entry to another state is ErrConflict.
func ApplySettlement(e Entry, st Settlement, at time.Time) (next Entry, changed bool, err error) {
	return settleEntry(e, st, at)
}

// CheckSettlement rejects a Settlement whose state is not sent, failed or unknown.
func CheckSettlement(id string, st Settlement) error {
	switch st.State {
	case Sent, Failed, Unknown:
	default:
		return fmt.Errorf("store: settle %s: state %q is not sent, failed or unknown", id, st.State)
	}
	return CheckKey("ledger id", id)
}

// NewEntryID returns a ledger ID that sorts by creation time.
func NewEntryID(now time.Time) string { return newEntryID(now) }

// CheckKey rejects empty or oversized keys; kind names the key in the error.
func CheckKey(kind, k string) error { return checkKey(kind, k) }

// ValidChannel reports whether c is an opt-out scope ("" counts as ChannelAll).
func ValidChannel(c string) bool { return validChannel(c) }

// CheckQuery rejects a FactQuery with malformed numbers, channels or keys.
func CheckQuery(q FactQuery) error {
	for _, o := range q.OptOuts {
		if err := checkKey("opt-out number", o.E164); err != nil {
			return err
		}
		if !validChannel(o.Channel) {
			return fmt.Errorf("opt-out channel %q is not all, sms or call", o.Channel)
		}
	}
	for _, k := range q.Known {
		if err := checkKey("recipient", k); err != nil {
			return err
		}
	}
	for _, w := range q.Windows {
		if err := checkKey("event key", w.Key); err != nil {
			return err
		}
	}
	return nil
}

// CheckReservation rejects an entry that decide returned but that no engine may write: no
// kind, a malformed ID, event key or number, or an event weight that is not positive.
func CheckReservation(e Entry) error {
	if err := checkKey("ledger id", e.ID); err != nil {
		return err
	}
	if e.Kind == "" {
		return errors.New("ledger entry without a kind")
	}
	for _, ev := range e.Events {
		if err := checkKey("event key", ev.Key); err != nil {
			return err
		}
		if ev.Weight <= 0 {
			return fmt.Errorf("event %q: weight %d must be positive", ev.Key, ev.Weight)
		}
	}
	for _, n := range e.ToolContacts {
		if err := checkKey("contact", n); err != nil {
			return err
		}
	}
	for _, n := range e.MarkKnown {
		if err := checkKey("recipient", n); err != nil {
			return err
		}
	}
	return nil
}

// OptOutField is the name under which an engine stores e164's opt-out of scope channel:
// the bare number for every channel, "number|channel" otherwise (the bbolt key format).
func OptOutField(e164, channel string) string { return string(optOutKey(e164, channel)) }

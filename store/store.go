// Package store keeps the policy engine's persistent state behind one narrow interface,
// Store: the send ledger (every outbound action reserved before it leaves and settled
// after), the sliding-window events its caps and duplicate checks sum, known recipients,
// the opt-out list, used confirmation-token nonces, inbound webhook events and webhook
// delivery IDs.
//
// Every operation is one atomic step with a read set declared in advance (a FactQuery, an
// entry ID, a number), so that an engine can run it as one transaction: a bbolt file
// shared by the processes on one machine (Bolt, this package), or later Redis (a Lua
// script or WATCH/MULTI per operation) shared by replicas. No operation hands out an open
// transaction.
//
// Accounts. One engine can keep the state of several accounts apart (Accounts.ForAccount
// returns a view of one account). In a view everything belongs to that account alone, except
// event keys beginning with "global/" (GlobalPrefix): every account shares them, so an
// operator's cap across all accounts is exact. The default account "" is the engine itself,
// with the single-account layout of earlier versions.
//
// The engine behaviour every implementation must show is written once, in the storetest
// package; run storetest.Run against a new engine.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store is the persistent policy state. Implementations are safe for concurrent use by
// goroutines and, where the engine is shared (a state file, a Redis), by processes.
//
// Errors: store failures are wrapped with context; ErrInUse (lock timeout), ErrClosed,
// ErrNotFound, ErrConflict, ErrDamaged and ErrMissing can be tested with errors.Is.
type Store interface {
	// Facts reads, in one consistent snapshot, what a preview decision depends on.
	Facts(ctx context.Context, q FactQuery) (Facts, error)

	// Reserve atomically re-reads q's facts, calls decide with them, and, when decide
	// returns an Entry, writes it as pending (owner: this Store), its Events (they count
	// toward caps and duplicates at once) and its ToolContacts marks, all together. decide
	// must be pure and fast: it runs inside the transaction (no I/O, no locks), and an
	// engine with optimistic transactions (Redis WATCH/MULTI) may call it again with the
	// facts re-read after a conflict; only its last answer counts. If decide
	// returns an error nothing is written and that error is returned unchanged (errors.As
	// works on it). Any other error means nothing was reserved. The returned Entry carries
	// the ID, Owner, State and CreatedAt the engine filled in (an ID given by decide is
	// kept: rebuilds replay recorded IDs).
	Reserve(ctx context.Context, q FactQuery, decide func(Facts) (Entry, error)) (Entry, error)

	// Settle moves a pending or unknown entry to sent, failed or unknown. Failed deletes
	// the entry's events (the reservation is released); sent, unknown and pending keep
	// counting. Sent marks the entry's MarkKnown recipients known. Settling to the state
	// an entry already has is a no-op (idempotent); moving a sent or failed entry to
	// another state is ErrConflict; an unknown ID is ErrNotFound.
	Settle(ctx context.Context, id string, s Settlement) (Entry, error)

	// Entry returns one ledger entry (ErrNotFound if there is none).
	Entry(ctx context.Context, id string) (Entry, error)

	// Entries lists ledger entries matching f, newest first.
	Entries(ctx context.Context, f EntryFilter) ([]Entry, error)

	// RecoverAbandoned turns the pending entries whose owner is gone (its process exited
	// or was killed) into unknown, and returns them so that the caller can audit each.
	// Entries of live owners, this Store's included, are left alone.
	RecoverAbandoned(ctx context.Context) ([]Entry, error)

	// AddOptOut puts a number on the suppression list for o.Channel. It reports false
	// when the number already had an opt-out of that scope (the first one is kept), and when
	// o.At (when the person said it) is not after the last time the operator lifted that
	// number's opt-out: old words do not undo the operator's decision (an opt-out with Source
	// "operator" is always added).
	AddOptOut(ctx context.Context, o OptOut) (added bool, err error)
	// RemoveOptOut takes e164's opt-out of scope channel away; channel "" removes every
	// scope. It records when, for AddOptOut, and reports whether anything was removed.
	RemoveOptOut(ctx context.Context, e164, channel string) (removed bool, err error)
	// IsOptedOut reports whether e164 must not be reached on channel (ChannelSMS or
	// ChannelCall): an opt-out of that scope or of ChannelAll exists.
	IsOptedOut(ctx context.Context, e164, channel string) (bool, error)
	// ListOptOuts returns the suppression list sorted by number, then scope.
	ListOptOuts(ctx context.Context) ([]OptOut, error)

	// MarkToolContact records (permanently) that a tool, not the operator, wrote a
	// contact with the number e164, so that the contact never vouches for it.
	MarkToolContact(ctx context.Context, e164 string, at time.Time) error

	// UseNonce atomically marks a confirmation-token nonce used until exp; fresh is false
	// when it was already used (a replay).
	UseNonce(ctx context.Context, nonce string, exp time.Time) (fresh bool, err error)
	// SeenDelivery reports whether a webhook delivery ID was seen within the delivery
	// TTL, and records it if not.
	SeenDelivery(ctx context.Context, id string) (seen bool, err error)
	// AppendInbound stores an inbound event; only the newest are kept.
	AppendInbound(ctx context.Context, kind, id string, payload []byte, at time.Time) error
	// RecentInbound returns up to limit of the newest inbound events, oldest first.
	RecentInbound(ctx context.Context, limit int) ([]Inbound, error)

	// Close releases the Store. Pending entries it still owns become abandoned (another
	// Store's RecoverAbandoned turns them into unknown).
	Close() error
}

// Accounts is implemented by engines (*Bolt, redisstore.*Redis) that keep several accounts'
// state apart on one engine: one state file and its lock, or one Redis client and owner.
type Accounts interface {
	// ForAccount returns a view of the engine for account (an opaque id the caller chooses,
	// such as a keyed hash of the account's API key; CheckAccount says which ids are valid;
	// "" is refused: the default account is the engine itself). In the view EVERYTHING is
	// the account's own: ledger entries and the pending index, opt-outs and the operator's
	// lifts, known recipients, tool contacts, token nonces, webhook delivery ids, inbound
	// events and their sequence, event windows. The exception are event keys beginning
	// with GlobalPrefix: every account (and the default one) shares them, and a Reserve in
	// any view reads them in its facts and writes them in the same atomic step as its own
	// events, so a cap on a global window holds exactly across accounts, processes and
	// replicas.
	//
	// A view reserves under the engine's owner and shares its lock, client and heartbeat.
	// Closing a view releases nothing of the engine (later calls on that view fail with
	// ErrClosed); closing the engine makes every view fail with ErrClosed. A view's
	// RecoverAbandoned recovers the abandoned pending entries of its own account only (the
	// engine's, of the default account): a server recovers every account by walking them
	// with EachAccount (until then they stay pending and keep counting). Views of one account are interchangeable: two calls return stores that
	// see the same state.
	ForAccount(account string) (Store, error)
	// AccountIDs lists the accounts other than the default that have state in this engine
	// (at least every account with a ledger entry, so every account with pending entries),
	// sorted.
	AccountIDs(ctx context.Context) ([]string, error)
}

// EachAccount calls fn with the engine's default account (account "", st itself) and then
// with a view of every account AccountIDs lists (closed after fn), in order: to recover the
// abandoned entries of every account at start, or to count every account's ledger. An st
// that is not Accounts has only the default account. It stops at the first error fn returns
// and returns it.
func EachAccount(ctx context.Context, st Store, fn func(account string, view Store) error) error {
	if err := fn("", st); err != nil {
		return err
	}
	accts, ok := st.(Accounts)
	if !ok {
		return nil
	}
	ids, err := accts.AccountIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		v, err := accts.ForAccount(id)
		if err != nil {
			return err
		}
		err = fn(id, v)
		_ = v.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// MaxAccountLen bounds an account id.
const MaxAccountLen = 64

// ErrBadAccount: an account id is empty, too long, or has a character outside
// [A-Za-z0-9_-].
var ErrBadAccount = errors.New("invalid account id")

// CheckAccount rejects an account id that ForAccount refuses: empty, longer than
// MaxAccountLen, or with a character outside ASCII letters, digits, '_' and '-' (ids are
// parts of keys and bucket names: no separator may appear in one).
func CheckAccount(account string) error {
	if account == "" {
		return fmt.Errorf("%w: empty (the default account is the engine itself, not a view)", ErrBadAccount)
	}
	if len(account) > MaxAccountLen {
		return fmt.Errorf("%w: %d bytes, longer than %d", ErrBadAccount, len(account), MaxAccountLen)
	}
	for i := 0; i < len(account); i++ {
		c := account[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: byte %d is not an ASCII letter, digit, '_' or '-'", ErrBadAccount, i)
		}
	}
	return nil
}

// Errors callers may test for with errors.Is.
var (
	// ErrInUse: the state stayed locked longer than the lock timeout.
	ErrInUse = errors.New("state dir is in use by another agentphone-mcp process")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("store is closed")
	// ErrNotFound: no ledger entry has that ID.
	ErrNotFound = errors.New("no such ledger entry")
	// ErrConflict: the entry is already settled as sent or failed.
	ErrConflict = errors.New("ledger entry already settled")
	// ErrDamaged: the state file is damaged.
	ErrDamaged = errors.New("state file is damaged")
	// ErrMissing: the state file is missing or empty although history says it should exist.
	ErrMissing = errors.New("state file is missing or empty")
)

// Opt-out scopes. A STOP text opts out of everything; a spoken "do not call me" opts out
// of calls.
const (
	ChannelAll  = "all"
	ChannelSMS  = "sms"
	ChannelCall = "call"
)

// State is where a ledger entry stands.
type State string

// Ledger entry states. Pending and unknown count toward caps and duplicates like sent;
// only failed releases the reservation.
const (
	Pending State = "pending" // reserved; the API call is in flight (or its process died)
	Sent    State = "sent"    // the API confirmed it
	Failed  State = "failed"  // definitely not sent: refused before sending, or a definite 4xx
	Unknown State = "unknown" // may have been sent: the answer was lost, or its process died
)

// Counts reports whether an entry in this state counts toward caps and duplicates.
func (s State) Counts() bool { return s != Failed }

// FactQuery declares what a decision reads.
type FactQuery struct {
	// OptOuts are the numbers whose opt-out to read, each for one channel.
	OptOuts []OptOutQuery
	// Known are the numbers whose known-recipient and tool-contact marks to read.
	Known []string
	// Windows are the sliding-window sums to read.
	Windows []Window
}

// OptOutQuery asks whether E164 is opted out of Channel (ChannelSMS or ChannelCall).
type OptOutQuery struct {
	E164    string
	Channel string
}

// Window is the total weight of the events under Key that happened at or after Since.
type Window struct {
	Key   string
	Since time.Time
}

// Facts is what a FactQuery read.
type Facts struct {
	// OptedOut holds, for every number asked, whether it is opted out of the channel asked.
	OptedOut map[string]bool
	// Known holds, for every number asked, its known-recipient and tool-contact marks.
	Known map[string]KnownFact
	// Sums holds the window totals in the order of FactQuery.Windows.
	Sums []int
}

// KnownFact is what the store knows about a number as a recipient.
type KnownFact struct {
	Known       bool      // a send to it settled as sent
	Since       time.Time // when it first became known
	ToolContact bool      // a tool wrote a contact with this number: the contact never vouches
}

// Event is one weighted event under a sliding-window key (one SMS, one call, the segment
// count of an SMS...). Keys beginning with "global/" are operator-wide.
type Event struct {
	Key    string    `json:"key"`
	At     time.Time `json:"at"`
	Weight int       `json:"weight"`
}

// Entry is one ledger entry: an outbound action from reservation to settlement. The JSON
// names are part of the on-disk format.
type Entry struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"` // policy kind: sms, call, buy_number...
	Tool          string    `json:"tool,omitempty"`
	Recipients    []string  `json:"recipients,omitempty"` // E.164; each counted toward its own caps
	BodyHash      string    `json:"body_hash,omitempty"`  // SHA-256 hex of the text sent, if any
	Principal     string    `json:"principal,omitempty"`
	ConfirmMethod string    `json:"confirm_method,omitempty"`
	CampaignID    string    `json:"campaign_id,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	Owner         string    `json:"owner,omitempty"` // the Store (process, replica) that reserved it
	// Events count toward caps and duplicates from the reservation until a failed settle.
	Events []Event `json:"events,omitempty"`
	// MarkKnown are recipients marked known when the entry settles as sent (never before:
	// a failed or unknown send must not vouch for a stranger).
	MarkKnown []string `json:"mark_known,omitempty"`
	// ToolContacts are numbers marked as tool-written contacts at the reservation.
	ToolContacts []string  `json:"tool_contacts,omitempty"`
	State        State     `json:"state"`
	APIID        string    `json:"api_id,omitempty"`
	Note         string    `json:"note,omitempty"` // why it settled so: "api error 422", "recovered: owner exited"...
	SettledAt    time.Time `json:"settled_at,omitzero"`
}

// Settlement is the outcome Settle records.
type Settlement struct {
	State State     // Sent, Failed or Unknown
	APIID string    // the id of what the API created, when known
	Note  string    // a short reason, kept with the entry
	At    time.Time // zero means the engine's clock
}

// EntryFilter selects ledger entries; zero fields match everything.
type EntryFilter struct {
	States    []State
	Kind      string
	Recipient string
	Since     time.Time // CreatedAt at or after
	Limit     int       // 0 means no limit
}

// SourceOperator is the OptOut.Source of an opt-out the operator added (CLI): always added,
// even for a number whose opt-out the operator lifted earlier.
const SourceOperator = "operator"

// OptOut is one entry of the suppression list.
type OptOut struct {
	E164    string    `json:"e164"`
	Channel string    `json:"channel,omitempty"` // ChannelAll (also when empty), ChannelSMS, ChannelCall
	At      time.Time `json:"at"`
	Source  string    `json:"source,omitempty"` // "inbound_sms", "operator", "rebuild"...
	Reason  string    `json:"reason,omitempty"` // e.g. "inbound opt-out keyword"
}

// Scope returns o.Channel, ChannelAll when empty.
func (o OptOut) Scope() string {
	if o.Channel == "" {
		return ChannelAll
	}
	return o.Channel
}

// Inbound is one stored inbound event (webhook payload), for the inbox.
type Inbound struct {
	Seq     uint64    `json:"seq"`
	Kind    string    `json:"kind"` // e.g. "sms", "call"
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Payload []byte    `json:"payload"`
}

// GlobalPrefix marks operator-wide event keys.
const GlobalPrefix = "global/"

// ScopedKey is the key an engine stores an event key under for account: "global/" keys
// are shared by every account; the others get the account's prefix. The default account
// ("") has no prefix, so single-account state files keep their keys as they are.
func ScopedKey(account, key string) string {
	if account == "" || len(key) >= len(GlobalPrefix) && key[:len(GlobalPrefix)] == GlobalPrefix {
		return key
	}
	return "acct/" + account + "/" + key
}

// validChannel reports whether c is an opt-out scope ("" counts as ChannelAll).
func validChannel(c string) bool {
	switch c {
	case "", ChannelAll, ChannelSMS, ChannelCall:
		return true
	}
	return false
}

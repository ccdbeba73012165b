package policy

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/store/filelock"
)

// The send ledger. An action that runs goes through Reserve before its API call and
// Settle after:
//
//	d := Evaluate(a)                       // the preview: allow, confirm or deny
//	[the human confirms d's confirm rules]
//	t := Reserve(a, d, approval)          // same rules, fresh facts, inside one store
//	                                       // transaction: refused, or a pending entry that
//	                                       // already counts; then the audit intent line
//	[the API call]
//	Settle(t, sent | failed | unknown)     // the store entry, then the audit outcome line
//
// Nothing is sent unless Reserve succeeded, so caps and duplicate checks are exact
// across goroutines, processes and (with a shared engine) replicas, and every request
// the API may have received is on the books: pending and unknown count as sent; only
// failed releases the reservation.

// Approval says how the human approved the action that Reserve puts on the books.
type Approval struct {
	// Method is none (nothing to approve: the decision was allow), token, elicitation,
	// otp, or off (confirm mode off approves every confirm rule).
	Method string
	// Rules are the confirm rules the human approved (the preview's); ignored for off.
	Rules []string
	// TokenNonce and TokenExp identify the confirmation token used, for the audit log.
	TokenNonce string
	TokenExp   time.Time
}

// Approve is the Approval for a decision confirmed by method, with the token tok (may be
// empty) that carried the confirmation. With a token, the approved rules are the token's
// own (the ones its preview showed), never the decision's: a confirm rule that appeared
// since the preview is unapproved, and Reserve refuses it. Without one, method off
// approves every rule and any other method approves d's confirm rules (for callers that
// confirmed d itself).
func (e *Engine) Approve(d Decision, method, tok string) Approval {
	ap := Approval{Method: method}
	if method == "" {
		ap.Method = "none"
	}
	if tok == "" {
		if d.Outcome == Confirm && ap.Method != "none" {
			ap.Rules = d.RuleIDs()
		}
		return ap
	}
	// A token approves exactly the rules its preview showed, whatever the decision now says.
	ap.Rules = []string{}
	if rules, ok := e.tokenRules(tok); ok {
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		ap.Rules = rules
		ap.TokenExp = time.Unix(0, int64(binary.BigEndian.Uint64(raw[1:9]))).UTC()
		ap.TokenNonce = hex.EncodeToString(raw[9 : 9+tokenNonceLen])
	}
	return ap
}

// approves reports whether the approval covers the confirm rule id.
func (ap Approval) approves(id string) bool {
	return ap.Method == ConfirmOff || (ap.Method != "none" && slices.Contains(ap.Rules, id))
}

// Ticket is an action on the books: its ledger entry (pending until Settle) and the
// decision Reserve took.
type Ticket struct {
	Entry    store.Entry
	Action   Action
	Decision Decision
	Approval Approval
}

// Refusal is Reserve's answer when the decision taken on fresh facts does not let the
// action run: a deny (a cap reached meanwhile, an opt-out since the preview), or confirm
// rules the human did not approve (a duplicate that appeared since the preview). Nothing
// was written and nothing may be sent.
type Refusal struct {
	Decision Decision
	// Unapproved are the confirm rules that need a new confirmation (empty on a deny).
	Unapproved []RuleHit
}

// Error implements error.
func (r *Refusal) Error() string {
	var parts []string
	hits := r.Decision.Rules
	if r.Decision.Outcome != Deny {
		hits = r.Unapproved
	}
	for _, h := range hits {
		parts = append(parts, h.ID+": "+h.Reason)
	}
	if r.Decision.Outcome == Deny {
		return "refused by policy (" + strings.Join(parts, "; ") + ")"
	}
	return "needs a new confirmation (" + strings.Join(parts, "; ") + ")"
}

// NeedsConfirmation reports a refusal that a new confirmation can lift (no deny).
func (r *Refusal) NeedsConfirmation() bool { return r.Decision.Outcome != Deny }

// BooksError is a failure to put an action on the books or to record its outcome: the
// store or the audit log could not be written (disk full, lock timeout, damaged file).
// From Reserve it means nothing was reserved and nothing may be sent.
type BooksError struct {
	What string // "reserve the send in the ledger", "write the audit intent"...
	Err  error
}

// Error implements error: what failed, why, and what the operator can do.
func (b *BooksError) Error() string { return b.What + ": " + b.Err.Error() + ". " + b.Hint() }

// Unwrap returns the cause.
func (b *BooksError) Unwrap() error { return b.Err }

// Hint says what the operator can do about the failure.
func (b *BooksError) Hint() string {
	switch {
	case errors.Is(b.Err, store.ErrUnavailable):
		return "The shared state store (Redis) is unavailable, so nothing was sent: start Redis or fix AGENTPHONE_REDIS_URL, then retry"
	case errors.Is(b.Err, syscall.ENOSPC), errors.Is(b.Err, syscall.EDQUOT):
		return "The disk holding the state dir and audit log is full: free space, then retry"
	case errors.Is(b.Err, store.ErrInUse), errors.Is(b.Err, filelock.ErrTimeout):
		return "Another agentphone-mcp process held the state or audit lock too long: retry in a moment; if it persists, stop the stuck process"
	case errors.Is(b.Err, store.ErrDamaged):
		return "The state file is damaged: stop every agentphone-mcp using it and run `agentphone-mcp state rebuild`"
	case errors.Is(b.Err, syscall.EROFS), errors.Is(b.Err, syscall.EACCES), errors.Is(b.Err, syscall.EPERM):
		return "The state dir or audit log is not writable: check AGENTPHONE_STATE_DIR, AGENTPHONE_AUDIT_LOG and their permissions"
	case strings.Contains(b.Err.Error(), "torn line"):
		return "Run `agentphone-mcp audit verify`, then `agentphone-mcp audit repair`"
	}
	return "Check AGENTPHONE_STATE_DIR and AGENTPHONE_AUDIT_LOG, and the server's log on stderr"
}

// Reserve decides a again with the same rules as prior (which must come from Evaluate for
// the same action), on facts re-read inside one store transaction, and if the fresh
// decision lets it run under ap, writes a pending ledger entry that counts toward its caps
// and duplicate checks at once, then the audit intent line. Network lookups (own numbers,
// contacts, history) are prior's: the transaction does no I/O but the store's.
//
// Errors: *Refusal (the fresh decision denies, or has confirm rules ap does not approve);
// *BooksError (the store or the audit log could not be written: nothing was reserved);
// anything else (a cancelled context) also means nothing may be sent.
func (e *Engine) Reserve(ctx context.Context, a Action, prior Decision, ap Approval) (*Ticket, error) {
	if ap.Method == "" {
		ap.Method = "none"
	}
	p := prior.prep
	if p == nil || p.a.Kind != a.Kind || p.a.To != a.To || p.a.Body != a.Body || !slices.Equal(p.a.Recipients, a.Recipients) {
		var err error
		if p, err = e.prepare(a); err != nil {
			return nil, fmt.Errorf("policy: reserve %s: %w", a.Tool, err)
		}
	}
	now := e.clock.Now()
	if !p.look.done {
		f, err := e.readFacts(ctx, p.query(e.checksFor(p, now)))
		if err != nil {
			return nil, &BooksError{What: "read the policy state", Err: err}
		}
		if err := e.lookup(ctx, p, f); err != nil {
			return nil, fmt.Errorf("policy: reserve %s: %w", a.Tool, err)
		}
	}
	c := e.checksFor(p, now)
	var fresh Decision
	entry, err := e.store.Reserve(ctx, p.query(c), func(f store.Facts) (store.Entry, error) {
		fresh = e.rules(p, c, f, now)
		switch fresh.Outcome {
		case Deny:
			return store.Entry{}, &Refusal{Decision: fresh}
		case Confirm:
			var missing []RuleHit
			for _, h := range fresh.Rules {
				if !ap.approves(h.ID) {
					missing = append(missing, h)
				}
			}
			if len(missing) > 0 {
				return store.Entry{}, &Refusal{Decision: fresh, Unapproved: missing}
			}
		}
		return e.entryFor(p, fresh, ap, now), nil
	})
	var refused *Refusal
	if errors.As(err, &refused) {
		status := "refused at reservation: " + refused.Error()
		if rerr := e.Record(ctx, a, refused.Decision, Result{ConfirmMethod: ap.Method, APIStatus: status}); rerr != nil {
			e.log.ErrorContext(ctx, "policy: audit of a refused reservation failed", "tool", a.Tool, "err", rerr)
		}
		return nil, refused
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("policy: reserve %s: %w", a.Tool, err)
		}
		return nil, &BooksError{What: "could not put the action on the books (the send ledger)", Err: err}
	}
	t := &Ticket{Entry: entry, Action: a, Decision: fresh, Approval: ap}
	if e.audit != nil {
		line := e.auditEntry(a, fresh, ap.Method)
		line.Decision = string(prior.Outcome)
		if prior.Outcome == "" {
			line.Decision = string(fresh.Outcome)
		}
		ledgerLine(&line, entry)
		line.Phase = audit.PhaseIntent
		line.TokenNonce, line.TokenExp = ap.TokenNonce, ap.TokenExp
		if _, _, aerr := e.audit.Append(line); aerr != nil {
			// No intent on the journal: do not send. Release the reservation; if even that
			// fails the entry stays pending (counted) and is recovered later.
			if _, serr := e.store.Settle(context.WithoutCancel(ctx), entry.ID, store.Settlement{State: store.Failed, Note: "not sent: the audit intent could not be written"}); serr != nil {
				e.log.ErrorContext(ctx, "policy: releasing a reservation whose intent was not audited failed; it stays counted", "ledger", entry.ID, "err", serr)
			}
			return nil, &BooksError{What: "could not write the audit log's intent line", Err: aerr}
		}
	}
	return t, nil
}

// entryFor is the ledger entry of the reservation of p under the decision d.
func (e *Engine) entryFor(p *prepared, d Decision, ap Approval, now time.Time) store.Entry {
	a := p.a
	en := store.Entry{Kind: string(a.Kind), Tool: a.Tool, Principal: a.Principal, ConfirmMethod: ap.Method, CreatedAt: now, CampaignID: a.CampaignID}
	if a.Body != "" {
		en.BodyHash = bodyHash(a.Body)
	}
	if p.group != nil {
		e.groupEntry(&en, p, d, now)
		return en
	}
	first := d.Preview != nil && d.Preview.FirstContact
	switch a.Kind {
	case KindSMS, KindCall:
		en.Recipients = []string{p.n.E164}
		en.MarkKnown = []string{p.n.E164}
	case KindTransfer:
		if p.transfer != nil {
			en.Recipients = []string{p.transfer.E164}
		}
	case KindContactWrite:
		if p.n != nil {
			en.ToolContacts = []string{p.n.E164}
		}
	}
	en.Events = e.eventsFor(p, first, now)
	return en
}

// ledgerLine copies the ledger entry's book-keeping into an audit line: what a rebuild of
// the state needs to replay it.
func ledgerLine(line *audit.Entry, en store.Entry) {
	line.Ledger, line.Kind, line.CreatedAt = en.ID, en.Kind, en.CreatedAt
	line.Recipients, line.MarkKnown, line.ToolContacts = en.Recipients, en.MarkKnown, en.ToolContacts
	line.Events = nil
	for _, ev := range en.Events {
		line.Events = append(line.Events, audit.Event{Key: ev.Key, At: ev.At, Weight: ev.Weight})
	}
}

// Settlement is what happened to a reserved action.
type Settlement struct {
	State     store.State // store.Sent, store.Failed or store.Unknown
	APIID     string      // the id of what the API created, when known
	APIStatus string      // e.g. "queued", "200"
	Err       error       // the API error, if any (audited, scrubbed)
	Note      string      // why it settled so ("reconciled: found in the API"...)
}

// Settle records the outcome of t's action: the audit outcome line, then the ledger entry
// (failed releases its reservation; sent marks its recipient known). Both are attempted; an error means one of them is missing (the entry then stays pending and
// keeps counting, and is recovered as unknown if this process ends first). Settling an
// unknown entry again (a reconciliation) is allowed.
func (e *Engine) Settle(ctx context.Context, t *Ticket, s Settlement) (store.Entry, error) {
	ctx = context.WithoutCancel(ctx) // a cancelled request must still close its books
	var errs []error
	// The journal first, then the index: a process killed between the two leaves the entry
	// pending in the store (recovered as unknown, still counted) with its outcome on the
	// journal, never a settled entry whose outcome the audit log lacks.
	if e.audit != nil {
		line := audit.Entry{
			Tool: t.Action.Tool, Decision: string(t.Decision.Outcome), Rules: t.Decision.RuleIDs(),
			ConfirmMethod: t.Approval.Method, Principal: t.Action.Principal,
			Phase: audit.PhaseOutcome, Ledger: t.Entry.ID, Kind: t.Entry.Kind, Campaign: t.Action.CampaignID,
			Outcome: string(s.State), APIID: s.APIID, APIStatus: s.APIStatus, Note: s.Note,
		}
		if t.Decision.Target != nil {
			line.Target = t.Decision.Target.E164
		}
		if s.Err != nil {
			line.Error = e.scrub(s.Err.Error())
		}
		if _, _, aerr := e.audit.Append(line); aerr != nil {
			errs = append(errs, &BooksError{What: "could not write the audit log's outcome line", Err: aerr})
		}
	}
	entry, err := e.SettleLedger(ctx, t, s)
	if err != nil {
		errs = append(errs, err)
	}
	return entry, errors.Join(errs...)
}

// ErrLedgerNotSettled marks a Settle whose store write failed: the entry stays pending and
// counted. SettleLedger may be retried later (the outcome line is already written).
var ErrLedgerNotSettled = errors.New("the ledger entry is not settled")

// SettleLedger writes only the store part of Settle: for retrying a settlement whose store
// write failed (its audit outcome line was written by Settle).
func (e *Engine) SettleLedger(ctx context.Context, t *Ticket, s Settlement) (store.Entry, error) {
	note := s.Note
	if note == "" && s.Err != nil {
		note = e.scrub(s.Err.Error())
		if r := []rune(note); len(r) > 200 {
			note = string(r[:200]) + "…"
		}
	}
	entry, err := e.store.Settle(context.WithoutCancel(ctx), t.Entry.ID, store.Settlement{State: s.State, APIID: s.APIID, Note: note})
	if err != nil {
		return t.Entry, &BooksError{What: "could not settle the send in the ledger (it stays counted)", Err: errors.Join(ErrLedgerNotSettled, err)}
	}
	t.Entry = entry
	return entry, nil
}

// RecoverAbandoned turns the pending ledger entries of processes that are gone (killed,
// crashed, exited mid-send) into unknown, and writes an audit outcome line for each that
// carries the whole entry (so that a rebuild can replay it even if the intent line is
// missing). They keep counting toward caps and duplicates. Call it at start.
func (e *Engine) RecoverAbandoned(ctx context.Context) ([]store.Entry, error) {
	got, err := e.store.RecoverAbandoned(ctx)
	if err != nil {
		return nil, &BooksError{What: "could not recover abandoned ledger entries", Err: err}
	}
	var errs []error
	for _, en := range got {
		e.log.WarnContext(ctx, "policy: a send left pending by a process that is gone is now unknown (it may have been sent; it stays counted)",
			"ledger", en.ID, "kind", en.Kind, "tool", en.Tool, "recipients", en.Recipients)
		if e.audit == nil {
			continue
		}
		line := audit.Entry{Tool: en.Tool, Decision: "recovered", Principal: en.Principal, ConfirmMethod: en.ConfirmMethod,
			Phase: audit.PhaseOutcome, Outcome: string(store.Unknown), Note: en.Note}
		ledgerLine(&line, en)
		if len(en.Recipients) == 1 {
			line.Target = en.Recipients[0]
		}
		if _, _, aerr := e.audit.Append(line); aerr != nil {
			errs = append(errs, aerr)
		}
	}
	if len(errs) > 0 {
		return got, &BooksError{What: "could not audit recovered ledger entries", Err: errors.Join(errs...)}
	}
	return got, nil
}

// NoteStopped is the note (and audit outcome note) of a send this process still had pending
// when it stopped.
const NoteStopped = "process stopped before the answer"

// SettleStopped turns the entries this process (the store owner owner) still holds pending,
// created at or after since, into unknown as it stops: a send whose answer never came may
// have been sent, so it stays counted, and the audit log gets an outcome line (decision
// "stopped", note NoteStopped) carrying the whole entry, instead of waiting for the next
// start's RecoverAbandoned. The store settles first: an entry that settled meanwhile (its
// call returned) is left alone.
func (e *Engine) SettleStopped(ctx context.Context, owner string, since time.Time) ([]store.Entry, error) {
	ctx = context.WithoutCancel(ctx)
	list, err := e.store.Entries(ctx, store.EntryFilter{States: []store.State{store.Pending}, Since: since})
	if err != nil {
		return nil, &BooksError{What: "could not list the sends still pending at shutdown", Err: err}
	}
	var done []store.Entry
	var errs []error
	for _, en := range list {
		if en.Owner != owner || en.State != store.Pending {
			continue
		}
		got, err := e.store.Settle(ctx, en.ID, store.Settlement{State: store.Unknown, Note: NoteStopped, At: e.clock.Now()})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, got)
		e.log.WarnContext(ctx, "policy: a send in flight when the process stopped is now unknown (it may have been sent; it stays counted)",
			"ledger", got.ID, "kind", got.Kind, "tool", got.Tool)
		if e.audit == nil {
			continue
		}
		line := audit.Entry{Tool: got.Tool, Decision: "stopped", Principal: got.Principal, ConfirmMethod: got.ConfirmMethod,
			Phase: audit.PhaseOutcome, Outcome: string(store.Unknown), Note: NoteStopped}
		ledgerLine(&line, got)
		if len(got.Recipients) == 1 {
			line.Target = got.Recipients[0]
		}
		if _, _, aerr := e.audit.Append(line); aerr != nil {
			errs = append(errs, aerr)
		}
	}
	if len(errs) > 0 {
		return done, &BooksError{What: "could not settle every send pending at shutdown (the rest are recovered as unknown by the next start or another replica)", Err: errors.Join(errs...)}
	}
	return done, nil
}

// Entries lists ledger entries (newest first): reconciliation uses it to skip API objects
// another entry already claimed.
func (e *Engine) Entries(ctx context.Context, f store.EntryFilter) ([]store.Entry, error) {
	return e.store.Entries(ctx, f)
}

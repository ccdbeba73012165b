// Package outbound is the one path every action that reaches a person or spends money
// takes, from a tool today and from a campaign later:
//
//	decide (policy.Evaluate, the preview) -> [confirm] -> reserve (policy.Reserve: the same
//	rules on fresh facts inside one store transaction; a pending ledger entry that counts
//	at once) -> audit intent -> the API call -> classify (apiclient.Classify) -> settle
//	(sent | failed | unknown) -> audit outcome -> for unknown: reconcile (a bounded look in
//	the API) and settle again from what it shows.
//
// An action is counted in exactly one place, Path.Run. Nothing is serialised here beyond
// the store's own short transaction: a send that hangs at the API delays no other send.
package outbound

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// DefaultReconcileWithin bounds the look in the API for an action that may have been sent.
const DefaultReconcileWithin = 5 * time.Second

// reconcileEvery is the pause between two looks.
const reconcileEvery = time.Second

// clockSkew widens the reconciliation window: the API's timestamps and ours may differ.
const clockSkew = 2 * time.Minute

// Path runs outbound actions. The zero value is not usable; set Policy and API.
type Path struct {
	Policy *policy.Engine
	API    *apiclient.Client
	Clock  clockwork.Clock // nil: real time
	Logger *slog.Logger    // nil: discard
	// ReconcileWithin bounds the look in the API for a maybe-sent action (0: default).
	ReconcileWithin time.Duration
}

// Attempt is what the API call reported.
type Attempt struct {
	APIID     string // the id of what it created
	APIStatus string // e.g. "queued"
	Err       error  // the API error (classified with apiclient.Classify)
}

// Request is one action to run.
type Request struct {
	Action   policy.Action
	Decision policy.Decision // the decision the human saw (from policy.Evaluate)
	Approval policy.Approval
	// Do makes the API call. It runs only once the action is on the books.
	Do func(ctx context.Context) Attempt
}

// Result is what happened.
type Result struct {
	// Refused is set when the action could not be put on the books (a *policy.Refusal, a
	// *policy.BooksError, a cancelled context): Do was not called; nothing was sent.
	Refused error
	// Ticket is the reservation (nil when refused).
	Ticket *policy.Ticket
	// Attempt is what Do reported.
	Attempt Attempt
	// Outcome classifies the API call.
	Outcome apiclient.Outcome
	// State is how the ledger entry stands at the end (after reconciliation).
	State store.State
	// Reconciled is the look in the API after a maybe-sent call (nil otherwise).
	Reconciled *Reconciliation
	// BooksErr is set when the settlement or its audit line could not be written: the
	// entry stays counted (pending) and is recovered as unknown if this process ends.
	BooksErr error
}

// Reconciliation is what the look in the API found for a maybe-sent action.
type Reconciliation struct {
	Found  bool
	APIID  string        // the object found
	Status string        // its status
	Looked time.Duration // how long the look took
	Err    error         // the last lookup error, if the API could not be asked
	// Unsupported is set for kinds the API offers no way to look up.
	Unsupported bool
}

// Run puts the action on the books, calls Do, and settles the books from the result.
func (p *Path) Run(ctx context.Context, req Request) Result {
	t, err := p.Policy.Reserve(ctx, req.Action, req.Decision, req.Approval)
	if err != nil {
		return Result{Refused: err}
	}
	att := req.Do(ctx)
	res := Result{Ticket: t, Attempt: att, Outcome: apiclient.Classify(att.Err)}
	note := ""
	if res.Outcome == apiclient.OutcomeSent && att.APIID == "" && createsObject(req.Action.Kind) {
		res.Outcome, note = apiclient.OutcomeMaybeSent, "the API accepted the request but its answer carried no id"
	}
	var s policy.Settlement
	switch res.Outcome {
	case apiclient.OutcomeSent:
		s = policy.Settlement{State: store.Sent, APIID: att.APIID, APIStatus: att.APIStatus}
	case apiclient.OutcomeNotSent:
		s = policy.Settlement{State: store.Failed, APIStatus: att.APIStatus, Err: att.Err}
	default:
		s = policy.Settlement{State: store.Unknown, APIStatus: att.APIStatus, Err: att.Err, Note: note}
	}
	res.State = s.State
	if _, err := p.Policy.Settle(ctx, t, s); err != nil {
		res.BooksErr = err
		p.logger().ErrorContext(ctx, "outbound: the settlement could not be fully recorded; the action stays counted",
			"ledger", t.Entry.ID, "state", s.State, "err", err)
		if errors.Is(err, policy.ErrLedgerNotSettled) && s.State != store.Unknown {
			go p.retrySettle(context.WithoutCancel(ctx), t, s)
		}
	}
	if s.State == store.Unknown {
		rec := p.reconcile(ctx, t)
		res.Reconciled = &rec
		if rec.Found {
			res.State = store.Sent
			if _, err := p.Policy.Settle(ctx, t, policy.Settlement{State: store.Sent, APIID: rec.APIID, APIStatus: rec.Status,
				Note: "reconciled: the API shows it was sent"}); err != nil {
				res.BooksErr = errors.Join(res.BooksErr, err)
				p.logger().ErrorContext(ctx, "outbound: the reconciled settlement could not be recorded", "ledger", t.Entry.ID, "err", err)
			}
		}
	}
	return res
}

// settleRetries bounds the background retries of a settlement the store refused.
const settleRetries = 8

// retrySettle retries, in the background with a growing pause, the store write of a
// settlement that failed (a lock held by a stuck sibling, a full disk that frees up). Until
// it succeeds the entry stays pending and counted; if the process ends first, the next start
// recovers it as unknown.
func (p *Path) retrySettle(ctx context.Context, t *policy.Ticket, s policy.Settlement) {
	clk := p.clock()
	for i := range settleRetries {
		<-clk.After(time.Duration(i+1) * time.Second)
		if _, err := p.Policy.SettleLedger(ctx, t, s); err == nil {
			p.logger().InfoContext(ctx, "outbound: a settlement that had failed is now recorded", "ledger", t.Entry.ID, "state", s.State)
			return
		}
	}
	p.logger().ErrorContext(ctx, "outbound: gave up retrying a settlement; the entry stays pending (counted) until the next start recovers it", "ledger", t.Entry.ID)
}

// createsObject reports kinds whose successful call returns the id of what it created.
func createsObject(k policy.Kind) bool {
	return k == policy.KindSMS || k == policy.KindCall || k == policy.KindBuyNumber
}

func (p *Path) clock() clockwork.Clock {
	if p.Clock == nil {
		return clockwork.NewRealClock()
	}
	return p.Clock
}

func (p *Path) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return p.Logger
}

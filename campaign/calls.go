package campaign

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/outbound"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// callPollEvery is how often a call campaign asks the API how its calls in progress stand.
const callPollEvery = 5 * time.Second

// RetryAfter is the least time between an unanswered call and its one retry.
const RetryAfter = time.Hour

// maxCallLife bounds how long a call is followed: one the API still shows in progress after
// this is recorded with an unknown outcome (and never placed again).
const maxCallLife = 3 * time.Hour

// OutcomeUnknown marks a call whose end the runner could not learn.
const OutcomeUnknown = "unknown"

// RetryWaiting is a queued recipient's Waiting while its no_answer retry is due.
const RetryWaiting = "retry_no_answer"

// callAction is the policy action of recipient rc's call: the one make_call takes (kind
// call, the spoken greeting and topic, the variables that leave), tagged with the campaign.
func callAction(c *Campaign, rc Recipient) policy.Action {
	a := policy.Action{Tool: "campaign", Principal: c.Principal, Kind: policy.KindCall, To: rc.E164, CallMode: policy.CallHosted,
		CampaignID: c.ID, Args: map[string]any{"campaign_id": c.ID, "to": rc.E164, "attempt": rc.Attempts + 1},
		Spoken: []policy.LabeledText{{Label: "greeting", Text: rc.Body}, {Label: "topic", Text: rc.Topic}}}
	for k, v := range rc.Vars {
		a.Texts = append(a.Texts, k, v)
	}
	return a
}

// callOne places recipient i's call through the policy and the outbound path, exactly as
// make_call does (decide, reserve in the ledger, POST /v1/calls, settle); the run then
// follows the call until it ends.
func (r *Runner) callOne(c *Campaign, i int, rc Recipient) {
	a := callAction(c, rc)
	dec, now, ok := r.cleared(c, i, rc, a)
	if !ok {
		return
	}
	res := r.Path.Run(r.ctx, outbound.Request{
		Action: a, Decision: dec, Approval: policy.Approval{Method: c.ApprovalMethod, Rules: rc.Approved},
		Do: func(ctx context.Context) outbound.Attempt {
			made, err := r.Path.API.CreateCall(ctx, apiclient.CreateCallRequest{AgentID: c.AgentID, ToNumber: rc.E164,
				FromNumberID: c.NumberID, InitialGreeting: c.CallGreeting, SystemPrompt: c.CallPrompt, Variables: rc.Vars})
			if err != nil {
				return outbound.Attempt{Err: err}
			}
			return outbound.Attempt{APIID: made.ID, APIStatus: string(made.Status)}
		},
	})
	if res.Refused != nil {
		r.refused(a, i, res.Refused, rc.Approved, now)
		return
	}
	if res.State == store.Failed && lineBusy(res.Attempt.Err) {
		// The account's lines are all taken (calls placed outside the campaign count too):
		// nothing was placed; the recipient waits and the run holds a minute.
		r.hold(c.ID, now.Add(capRetry), "concurrency_limit")
		return
	}
	_ = r.update(c.ID, func(c *Campaign) error {
		p := c.rec(i)
		p.LedgerID, p.APIID, p.SentAt, p.Waiting = res.Ticket.Entry.ID, res.Attempt.APIID, now, ""
		p.Attempts++
		p.EndedAt = time.Time{}
		switch res.State {
		case store.Sent:
			p.State = Calling
			if res.Reconciled != nil && res.Reconciled.Found {
				p.APIID = res.Reconciled.APIID
			}
		case store.Failed:
			p.State, p.Rule, p.Reason, p.Outcome = Failed, "api_error", apiReason(res.Attempt.Err), apiclient.CallOutcomeFailed
		default:
			p.State, p.Reason, p.Outcome = MaybeSent, "AgentPhone's answer was lost; counted as placed and not retried", OutcomeUnknown
		}
		c.LastSendAt = now
		return nil
	}, nil)
}

// lineBusy reports an API refusal for the account's concurrent-call limit (409, or the
// voice provider's disconnection reason in the message).
func lineBusy(err error) bool {
	var ae *apiclient.Error
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Code == "CONCURRENCY_LIMIT_REACHED" || (ae.Status == 409 && strings.Contains(strings.ToLower(ae.Message), "concurren"))
}

// refused acts on a send the outbound path could not put on the books.
func (r *Runner) refused(a policy.Action, i int, err error, approved []string, now time.Time) {
	id := a.CampaignID
	var ref *policy.Refusal
	var be *policy.BooksError
	switch {
	case errors.As(err, &ref):
		if !r.refuse(a, i, ref.Decision, approved, now) {
			r.hold(id, now.Add(policyRetry), "policy_error")
		}
	case errors.As(err, &be):
		_ = r.update(id, func(c *Campaign) error {
			c.Status, c.Note = Paused, "paused: nothing could be put on the books ("+be.Error()+")"
			return nil
		}, nil)
	}
}

// pollCalls asks the API how each call in progress stands; an ended call gets its outcome
// and summary, a spoken "do not call me" is recorded as an opt-out (as make_call does), and
// a no_answer is queued once more an hour later when the plan retries.
func (r *Runner) pollCalls(c *Campaign, calls map[int]Recipient) {
	type ended struct {
		outcome, summary string
		at               time.Time
		optOut           bool // the person asked on the call not to be contacted again
	}
	done := map[int]ended{}
	now := r.Clock.Now()
	for i, rc := range calls {
		if rc.APIID == "" {
			done[i] = ended{outcome: OutcomeUnknown, at: now}
			continue
		}
		call, err := r.Path.API.GetCall(r.ctx, rc.APIID, apiclient.GetCallParams{})
		if err != nil {
			if now.Sub(rc.SentAt) > maxCallLife {
				done[i] = ended{outcome: OutcomeUnknown, at: now}
			}
			r.Logger.Warn("campaign: could not read a call's state; asking again", "campaign", c.ID, "call", rc.APIID, "err", err)
			continue
		}
		if !call.Status.Terminal() {
			if now.Sub(rc.SentAt) > maxCallLife {
				done[i] = ended{outcome: OutcomeUnknown, at: now}
			}
			continue
		}
		e := ended{outcome: apiclient.CallOutcome(call), summary: apiclient.CallSummary(call), at: call.EndedAt.Time}
		if e.at.IsZero() {
			e.at = now
		}
		turns := call.Transcripts
		if tr, err := r.Path.API.GetTranscript(r.ctx, call.ID); err == nil && len(tr.Turns) > 0 {
			turns = tr.Turns
		}
		ch, err := r.Path.Policy.ObserveCall(r.ctx, rc.E164, call.ID, apiclient.CallerTurns(turns), e.at)
		if err != nil {
			r.Logger.Warn("campaign: checking a call for a spoken opt-out failed", "campaign", c.ID, "call", call.ID, "err", err)
		}
		e.optOut = ch != ""
		done[i] = e
	}
	if len(done) == 0 {
		return
	}
	_ = r.update(c.ID, func(c *Campaign) error {
		for i, e := range done {
			p := c.rec(i)
			if p.State != Calling {
				continue
			}
			p.Outcome, p.Summary, p.EndedAt = e.outcome, boundSummary(e.summary), e.at
			p.OptedOut = p.OptedOut || e.optOut
			// A pause keeps the retry (it waits with the run); a cancel drops it.
			if e.outcome == apiclient.CallOutcomeNoAnswer && c.RetryNoAnswer && p.Attempts < 2 && (c.Status == Running || c.Status == Paused) {
				// One retry, not before an hour has passed (and inside the recipient's
				// calling hours: the send re-checks the window and the policy).
				from := e.at
				if now.After(from) {
					from = now // the API's clock may lag ours: an hour by either
				}
				p.State, p.FirstOutcome, p.NotBefore, p.Waiting = Queued, e.outcome, from.Add(RetryAfter), RetryWaiting
				continue
			}
			p.State = Sent
		}
		return nil
	}, nil)
}

// maxSummary bounds a kept call summary (third-party text).
const maxSummary = 600

func boundSummary(s string) string {
	if r := []rune(s); len(r) > maxSummary {
		return string(r[:maxSummary]) + "…"
	}
	return s
}

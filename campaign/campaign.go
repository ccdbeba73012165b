// Package campaign works through a list of recipients with one human approval: a plan
// (who is reached, who is excluded and by which policy rule, rendered samples, cost, when
// it will finish), then a background run at the approved pace in which every send takes
// the outbound path (outbound.Path: decide -> reserve in the send ledger -> API -> settle),
// re-checked against the policy at send time. A campaign's state is a JSON file in the
// state dir; the ledger entries it reserved carry its id, so a run killed mid-send and
// restarted never sends twice.
package campaign

import (
	"time"
)

// Status is where a campaign stands.
type Status string

// Campaign statuses.
const (
	Running   Status = "running"
	Paused    Status = "paused"
	Completed Status = "completed"
	Canceled  Status = "canceled"
)

// Channels a campaign reaches its recipients on.
const (
	ChannelSMS  = "sms"
	ChannelCall = "call"
)

// RecipientState is where one recipient of a campaign stands.
type RecipientState string

// Recipient states. Queued is the only one that may still send.
const (
	Queued    RecipientState = "queued"
	Calling   RecipientState = "calling"    // a call is placed and has not ended (counts toward the concurrency limit)
	Sent      RecipientState = "sent"       // sent; for a call: placed and ended, see Outcome
	Failed    RecipientState = "failed"     // the API refused it (definitely not sent)
	MaybeSent RecipientState = "maybe_sent" // on the books but its outcome is unknown: never sent again
	Skipped   RecipientState = "skipped"    // the policy refused it at send time (opted out meanwhile...)
	Dropped   RecipientState = "canceled"   // the campaign was canceled before it was sent
)

// Recipient is one recipient of the approved plan and how it stands.
type Recipient struct {
	E164 string `json:"e164"`
	// Body is the SMS text, or a call's greeting as spoken (rendered, the AI disclosure first).
	Body string `json:"body"`
	// Topic is a call's rendered topic; Vars the variables the API substitutes in the call's
	// prompt and greeting (as make_call passes them).
	Topic    string            `json:"topic,omitempty"`
	Vars     map[string]string `json:"vars,omitempty"`
	Segments int               `json:"segments"`
	Approved []string          `json:"approved_rules,omitempty"` // confirm rules the plan's approval covers
	State    RecipientState    `json:"state"`
	// NotBefore defers the recipient (its calling window is closed, a cap is full).
	NotBefore time.Time `json:"not_before,omitzero"`
	Waiting   string    `json:"waiting,omitempty"` // quiet_hours | rate_limit while deferred
	Rule      string    `json:"rule,omitempty"`    // why skipped or failed
	Reason    string    `json:"reason,omitempty"`
	LedgerID  string    `json:"ledger_id,omitempty"`
	APIID     string    `json:"api_id,omitempty"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	// Calls only: Attempts counts the calls placed (a no_answer retry is the second);
	// Outcome is how the last one ended (apiclient.CallOutcome), FirstOutcome the first one's
	// when it was retried; Summary the provider's summary (third-party text).
	Attempts     int       `json:"attempts,omitempty"`
	Outcome      string    `json:"outcome,omitempty"`
	FirstOutcome string    `json:"first_outcome,omitempty"`
	Summary      string    `json:"summary,omitempty"`
	EndedAt      time.Time `json:"ended_at,omitzero"`
	// OptedOut: the person asked on the call not to be contacted again (recorded as an
	// opt-out by the policy, as after make_call).
	OptedOut bool `json:"opted_out,omitempty"`
}

// Exclusion is a recipient left out of the plan, with the policy rule that excludes it.
type Exclusion struct {
	PhoneNumber string `json:"phone_number"`
	Rule        string `json:"rule"`
	Reason      string `json:"reason"`
}

// Campaign is the persisted state of one campaign.
type Campaign struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Channel   string `json:"channel"`
	AgentID   string `json:"agent_id,omitempty"`
	NumberID  string `json:"number_id,omitempty"`
	Template  string `json:"template"`
	PerMinute int    `json:"per_minute"`
	// Calls only: the topic and greeting as given (with {{variables}}), the system prompt and
	// greeting the API gets (built as make_call builds them), at most Concurrent calls at once,
	// and whether a no_answer is called once more an hour later.
	Topic         string    `json:"topic,omitempty"`
	Greeting      string    `json:"greeting,omitempty"`
	CallPrompt    string    `json:"call_prompt,omitempty"`
	CallGreeting  string    `json:"call_greeting,omitempty"`
	Concurrent    int       `json:"concurrent,omitempty"`
	RetryNoAnswer bool      `json:"retry_no_answer,omitempty"`
	Principal     string    `json:"principal,omitempty"`
	PlanHash      string    `json:"plan_hash"`
	Status        Status    `json:"status"`
	CreatedAt     time.Time `json:"created_at"`
	// ApprovalMethod is how the plan was approved (token, elicitation, otp, off).
	ApprovalMethod string    `json:"approval_method"`
	LastSendAt     time.Time `json:"last_send_at,omitzero"`
	// HoldUntil delays the whole run (a cap is full); HoldReason says why.
	HoldUntil  time.Time `json:"hold_until,omitzero"`
	HoldReason string    `json:"hold_reason,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Note       string    `json:"note,omitempty"` // why it paused itself, if it did
	// LastPoll is the last look for replies; RepliesUntil the newest reply time seen.
	LastPoll     time.Time   `json:"last_poll,omitzero"`
	RepliesUntil time.Time   `json:"replies_until,omitzero"`
	Replies      []Reply     `json:"replies,omitempty"`
	Recipients   []Recipient `json:"recipients"`
	Excluded     []Exclusion `json:"excluded,omitempty"`
	// JournalSeq is the last journal line this snapshot includes (files.go).
	JournalSeq int64 `json:"journal_seq,omitempty"`

	dirty map[int]struct{} // recipients changed by the update in progress (rec)
}

// rec returns recipient i for a change: the update writes it to the journal.
func (c *Campaign) rec(i int) *Recipient {
	if c.dirty == nil {
		c.dirty = map[int]struct{}{}
	}
	c.dirty[i] = struct{}{}
	return &c.Recipients[i]
}

// Interval is the pause between two sends.
func (c *Campaign) Interval() time.Duration {
	if c.PerMinute <= 0 {
		return time.Minute
	}
	return time.Minute / time.Duration(c.PerMinute)
}

// Counts are a campaign's recipients by state.
type Counts struct {
	Queued    int `json:"queued"`
	Sent      int `json:"sent"`
	Failed    int `json:"failed"`
	MaybeSent int `json:"maybe_sent"`
	Skipped   int `json:"skipped"`
	Canceled  int `json:"canceled"`
	OptOuts   int `json:"opt_outs"` // opted out during the run: skipped, replied STOP, or asked on a call
	Replies   int `json:"replies"`  // recipients who replied
	Deferred  int `json:"deferred"` // queued and waiting for their window or a cap
	// Calls only: calls in progress, retries placed, and ended calls by outcome.
	Calling  int            `json:"calling,omitempty"`
	Retries  int            `json:"retries,omitempty"`
	Outcomes map[string]int `json:"outcomes,omitempty"`
}

// Counts tallies the recipients.
func (c *Campaign) Counts(now time.Time) Counts {
	var n Counts
	replied, stopped := map[string]bool{}, map[string]bool{}
	for _, rp := range c.Replies {
		replied[rp.From] = true
		if rp.OptOut {
			stopped[rp.From] = true
		}
	}
	n.Replies = len(replied)
	n.OptOuts = len(stopped)
	for _, r := range c.Recipients {
		switch r.State {
		case Queued:
			n.Queued++
			if r.NotBefore.After(now) {
				n.Deferred++
			}
		case Calling:
			n.Calling++
		case Sent:
			n.Sent++
		case Failed:
			n.Failed++
		case MaybeSent:
			n.MaybeSent++
		case Skipped:
			n.Skipped++
			if r.Rule == "opted_out" && !stopped[r.E164] {
				n.OptOuts++
			}
		case Dropped:
			n.Canceled++
		}
		if r.Attempts > 1 {
			n.Retries++
		}
		if r.OptedOut {
			n.OptOuts++
		}
		if r.Outcome != "" && r.State != Calling {
			if n.Outcomes == nil {
				n.Outcomes = map[string]int{}
			}
			n.Outcomes[r.Outcome]++
		}
	}
	return n
}

// IsCall reports whether the campaign places calls.
func (c *Campaign) IsCall() bool { return c.Channel == ChannelCall }

// inFlight counts the recipients whose call has not ended.
func (c *Campaign) inFlight() int {
	n := 0
	for _, r := range c.Recipients {
		if r.State == Calling {
			n++
		}
	}
	return n
}

// concurrency is how many calls may be in progress at once (1 for texts).
func (c *Campaign) concurrency() int {
	if c.Concurrent < 1 {
		return 1
	}
	return c.Concurrent
}

// next is the queued recipient to send next (the earliest NotBefore, then list order), or -1.
func (c *Campaign) next() int {
	best := -1
	for i, r := range c.Recipients {
		if r.State != Queued {
			continue
		}
		if best < 0 || r.NotBefore.Before(c.Recipients[best].NotBefore) {
			best = i
		}
	}
	return best
}

// NextSendAt is when the next send is due (zero when none is).
func (c *Campaign) NextSendAt() time.Time {
	if c.Status != Running {
		return time.Time{}
	}
	i := c.next()
	if i < 0 {
		return time.Time{}
	}
	due := c.Recipients[i].NotBefore
	if c.HoldUntil.After(due) {
		due = c.HoldUntil
	}
	if !c.LastSendAt.IsZero() {
		if t := c.LastSendAt.Add(c.Interval()); t.After(due) {
			due = t
		}
	}
	return due
}

// clone deep-copies c for readers.
func (c *Campaign) clone() *Campaign {
	cp := *c
	cp.dirty = nil
	cp.Recipients = append([]Recipient(nil), c.Recipients...) // Vars are never changed in place
	cp.Excluded = append([]Exclusion(nil), c.Excluded...)
	cp.Replies = append([]Reply(nil), c.Replies...)
	return &cp
}

package campaign

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/outbound"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/store/filelock"
)

// lockWait bounds the wait for a campaign's state lock.
const lockWait = 5 * time.Second

// policyRetry is the pause after the policy could not decide (a lookup failed).
const policyRetry = time.Minute

// Runner keeps campaigns and runs them in the background, one goroutine per running
// campaign. Every change to a campaign is a read-modify-write of its file under an
// exclusive file lock, so processes sharing a state dir see each other's pauses and
// cancels; a second lock, held for the run's lifetime, lets one process run a campaign.
type Runner struct {
	// Dir holds the campaign files (AGENTPHONE_STATE_DIR/campaigns).
	Dir string
	// Path is the outbound path every send takes.
	Path *outbound.Path
	// Store is the send ledger (read at a run's start: what did earlier runs reserve?).
	Store  store.Store
	Clock  clockwork.Clock
	Logger *slog.Logger
	// Region is the default region for numbers without a country code.
	Region string
	// OnChange, if set, is called (outside the Runner's locks) after every saved change of
	// a campaign: the server sends notifications/resources/updated with it.
	OnChange func(id string)

	once   sync.Once
	mu     sync.Mutex // guards runs, and serialises this process's updates
	runs   map[string]*run
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	change chan struct{} // closed and replaced on every state change (waiters)
	cache  fileCache     // decoded campaign files
}

// run is one campaign's goroutine.
type run struct {
	wake         chan struct{}
	waitUntil    time.Time // zero while working
	lastCallPoll time.Time // the last look at the calls in progress (this goroutine only)
}

func (r *Runner) init() {
	r.once.Do(func() {
		r.runs = map[string]*run{}
		r.ctx, r.cancel = context.WithCancel(context.Background())
		r.change = make(chan struct{})
		if r.Clock == nil {
			r.Clock = clockwork.NewRealClock()
		}
		if r.Logger == nil {
			r.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
	})
}

func (r *Runner) files() files { return files{dir: r.Dir, cache: &r.cache} }

// notify wakes everyone waiting for a change. r.mu must be held.
func (r *Runner) notify() {
	close(r.change)
	r.change = make(chan struct{})
}

// NewID makes a campaign id.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "cmp_" + hex.EncodeToString(b[:])
}

// Start saves an approved campaign and starts running it.
func (r *Runner) Start(c *Campaign) error {
	r.init()
	c.Status = Running
	if err := r.update(c.ID, func(old *Campaign) error {
		if old != nil {
			return fmt.Errorf("campaign %s already exists", c.ID)
		}
		return nil
	}, c); err != nil {
		return err
	}
	r.launch(c.ID)
	return nil
}

// ResumeAll starts every campaign left running (by this or an earlier process).
func (r *Runner) ResumeAll() error {
	r.init()
	ids, err := r.files().ids()
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, err := r.files().load(id)
		if err != nil {
			r.Logger.Error("campaign: cannot load; left alone", "campaign", id, "err", err)
			continue
		}
		if c.Status == Running || c.inFlight() > 0 {
			r.launch(id) // a paused or canceled campaign's calls in progress are followed to their end
		}
	}
	return nil
}

// Get returns a campaign.
func (r *Runner) Get(id string) (*Campaign, error) { return r.files().load(id) }

// List returns the campaigns, newest first.
func (r *Runner) List() ([]*Campaign, error) {
	ids, err := r.files().ids()
	if err != nil {
		return nil, err
	}
	out := make([]*Campaign, 0, len(ids))
	for _, id := range ids {
		c, err := r.files().load(id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b *Campaign) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// Pause stops sending (a send in flight completes); Resume continues.
func (r *Runner) Pause(id string) (*Campaign, error) {
	return r.steer(id, func(c *Campaign) error {
		if c.Status != Running {
			return fmt.Errorf("campaign %s is %s; only a running campaign can be paused", id, c.Status)
		}
		c.Status, c.Note = Paused, "paused by request"
		return nil
	})
}

// Resume continues a paused campaign.
func (r *Runner) Resume(id string) (*Campaign, error) {
	c, err := r.steer(id, func(c *Campaign) error {
		if c.Status != Paused {
			return fmt.Errorf("campaign %s is %s; only a paused campaign can be resumed", id, c.Status)
		}
		c.Status, c.Note = Running, ""
		return nil
	})
	if err == nil {
		r.launch(id)
	}
	return c, err
}

// Cancel ends a campaign at once: nothing not yet sent is sent (a send already on its way
// completes and is recorded).
func (r *Runner) Cancel(id string) (*Campaign, error) {
	return r.steer(id, func(c *Campaign) error {
		if c.Status == Completed || c.Status == Canceled {
			return fmt.Errorf("campaign %s is already %s", id, c.Status)
		}
		c.Status, c.FinishedAt = Canceled, r.Clock.Now()
		for i := range c.Recipients {
			if c.Recipients[i].State == Queued {
				c.rec(i).State = Dropped
			}
		}
		return nil
	})
}

// steer applies a change and wakes the campaign's goroutine.
func (r *Runner) steer(id string, fn func(*Campaign) error) (*Campaign, error) {
	r.init()
	var out *Campaign
	err := r.update(id, func(c *Campaign) error {
		if c == nil {
			return ErrNotFound
		}
		if err := fn(c); err != nil {
			return err
		}
		out = c.clone()
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if h := r.runs[id]; h != nil {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()
	return out, nil
}

// update is the one read-modify-write of a campaign: under this process's mutex and the
// campaign's exclusive file lock, apply fn to it as it stands (nil if none) and write what
// fn changed (files.mutate: a journal line per changed recipient; fresh, when given, is
// saved for a missing campaign). fn marks the recipients it changes with Campaign.rec.
func (r *Runner) update(id string, fn func(*Campaign) error, fresh *Campaign) error {
	err := r.updateLocked(id, fn, fresh)
	if err == nil && r.OnChange != nil {
		r.OnChange(id)
	}
	return err
}

func (r *Runner) updateLocked(id string, fn func(*Campaign) error, fresh *Campaign) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !validID.MatchString(id) {
		return ErrNotFound
	}
	if err := os.MkdirAll(r.Dir, 0o700); err != nil {
		return fmt.Errorf("campaign: create %s: %w", r.Dir, err)
	}
	f, err := os.OpenFile(filepath.Join(r.Dir, id+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("campaign: lock %s: %w", id, err)
	}
	defer f.Close()
	if err := filelock.Lock(r.ctx, f, true, lockWait); err != nil {
		return fmt.Errorf("campaign: lock %s: %w", id, err)
	}
	defer filelock.Unlock(f)
	if err := r.files().mutate(id, fn, fresh); err != nil {
		return err
	}
	r.notify()
	return nil
}

// launch starts id's goroutine unless one runs in this process.
func (r *Runner) launch(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runs[id] != nil || r.ctx.Err() != nil {
		return
	}
	h := &run{wake: make(chan struct{}, 1)}
	r.runs[id] = h
	r.wg.Add(1)
	go r.loop(id, h)
}

// Close stops every run (sends in flight complete first) and waits for them.
func (r *Runner) Close() {
	r.init()
	r.cancel()
	r.wg.Wait()
}

// WaitIdle blocks until campaign id's goroutine in this process is waiting for a time
// after now, or has ended: everything due at now is done.
func (r *Runner) WaitIdle(ctx context.Context, id string) error {
	r.init()
	for {
		r.mu.Lock()
		h := r.runs[id]
		idle := h == nil || (!h.waitUntil.IsZero() && h.waitUntil.After(r.Clock.Now()))
		ch := r.change
		r.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Changed returns a channel closed at the next change of any campaign in this process.
func (r *Runner) Changed() <-chan struct{} {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.change
}

func (r *Runner) setWait(id string, h *run, until time.Time) {
	r.mu.Lock()
	h.waitUntil = until
	r.notify()
	r.mu.Unlock()
}

// loop runs one campaign until it ends, pauses, or the Runner closes.
func (r *Runner) loop(id string, h *run) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		delete(r.runs, id)
		r.notify()
		r.mu.Unlock()
	}()
	// One process runs a campaign: the run lock is held for the goroutine's life (the
	// kernel releases it if the process dies).
	lock, err := os.OpenFile(filepath.Join(r.Dir, id+".run"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		r.Logger.Error("campaign: cannot open the run lock", "campaign", id, "err", err)
		return
	}
	defer lock.Close()
	if err := filelock.Lock(r.ctx, lock, true, 0); err != nil {
		r.Logger.Info("campaign: another process runs it", "campaign", id)
		return
	}
	defer filelock.Unlock(lock)
	if err := r.reconcile(id); err != nil {
		r.Logger.Error("campaign: cannot read the ledger; not running", "campaign", id, "err", err)
		return
	}
	for r.ctx.Err() == nil {
		st, err := r.look(id)
		if err != nil {
			r.Logger.Error("campaign: cannot load; stopping its run", "campaign", id, "err", err)
			return
		}
		c, calling := st.c, len(st.calls)
		if c.Status != Running && calling == 0 {
			return
		}
		if calling > 0 && !r.Clock.Now().Before(h.lastCallPoll.Add(callPollEvery)) {
			// Calls in progress are followed until they end, also once paused or canceled.
			h.lastCallPoll = r.Clock.Now()
			r.pollCalls(c, st.calls)
			continue
		}
		if c.Status != Running {
			if !r.waitFor(id, h, h.lastCallPoll.Add(callPollEvery)) {
				return
			}
			continue
		}
		if now := r.Clock.Now(); !now.Before(c.LastPoll.Add(pollEvery)) {
			// Texts and calls alike: a recipient's text back (a STOP) is attached to the
			// campaign and opts them out, also while a call's retry waits.
			if err := r.Refresh(r.ctx, id); err != nil {
				r.Logger.Warn("campaign: the look for replies failed; trying again later", "campaign", id, "err", err)
				_ = r.update(id, func(c *Campaign) error { c.LastPoll = now; return nil }, nil)
			}
			continue
		}
		i := st.next
		if i < 0 && calling == 0 {
			_ = r.update(id, func(c *Campaign) error {
				if c.Status == Running && c.next() < 0 && c.inFlight() == 0 {
					c.Status, c.FinishedAt = Completed, r.Clock.Now()
				}
				return nil
			}, nil)
			return
		}
		now := r.Clock.Now()
		var due time.Time
		if i >= 0 && calling < c.concurrency() {
			due = st.due
		}
		if poll := c.LastPoll.Add(pollEvery); poll.Before(due) {
			due = poll // look for replies (and opt-outs) while waiting
		}
		if calling > 0 {
			if poll := h.lastCallPoll.Add(callPollEvery); due.IsZero() || poll.Before(due) {
				due = poll // follow the calls in progress
			}
		}
		if due.After(now) {
			if !r.waitFor(id, h, due) {
				return
			}
			continue
		}
		if c.IsCall() {
			r.callOne(c, i, st.rec)
			continue
		}
		r.sendOne(c, i, st.rec)
	}
}

// step is what one turn of a run needs of its campaign, read without copying the list:
// the campaign's other fields (c has no lists), the next recipient and when it is due, and
// the calls in progress.
type step struct {
	c     *Campaign
	next  int
	rec   Recipient
	due   time.Time
	calls map[int]Recipient
}

// look reads the step of campaign id.
func (r *Runner) look(id string) (step, error) {
	var st step
	err := r.files().peek(id, func(c *Campaign) {
		head := *c
		head.Recipients, head.Excluded, head.Replies, head.dirty = nil, nil, nil, nil
		st.c = &head
		st.next = c.next()
		if st.next >= 0 {
			st.rec, st.due = c.Recipients[st.next], c.NextSendAt()
		}
		for k, rc := range c.Recipients {
			if rc.State == Calling {
				if st.calls == nil {
					st.calls = map[int]Recipient{}
				}
				st.calls[k] = rc
			}
		}
	})
	return st, err
}

// stillDue reports whether recipient i of campaign id may still be sent now: the campaign
// runs, i is queued with attempts made, and (calls) a line is free.
func (r *Runner) stillDue(id string, i, attempts int) bool {
	ok := false
	_ = r.files().peek(id, func(c *Campaign) {
		ok = c.Status == Running && i < len(c.Recipients) && c.Recipients[i].State == Queued &&
			c.Recipients[i].Attempts == attempts && (!c.IsCall() || c.inFlight() < c.concurrency())
	})
	return ok
}

// waitFor sleeps on the clock until due, a wake-up (a steer) or the Runner's close; it
// reports false on close.
func (r *Runner) waitFor(id string, h *run, due time.Time) bool {
	now := r.Clock.Now()
	if !due.After(now) {
		return true
	}
	// The timer first, then the idle mark: whoever sees the run idle and moves a (fake)
	// clock on finds the timer already set.
	t := r.Clock.NewTimer(due.Sub(now))
	r.setWait(id, h, due)
	defer r.setWait(id, h, time.Time{})
	select {
	case <-t.Chan():
	case <-h.wake:
		t.Stop()
	case <-r.ctx.Done():
		t.Stop()
		return false
	}
	return true
}

// reconcile settles, from the ledger, queued recipients an earlier run reserved: a run
// killed between the reservation and saving the campaign file must not send them again. A
// call campaign's entries beyond a recipient's recorded attempts are adopted: the call is
// followed to its end (its id from the ledger, or found in the API), never placed again.
func (r *Runner) reconcile(id string) error {
	c, err := r.files().load(id)
	if err != nil {
		return err
	}
	kind := policy.KindSMS
	if c.IsCall() {
		kind = policy.KindCall
	}
	type found struct {
		e     store.Entry
		count int
	}
	got := map[int]found{}
	for i, rc := range c.Recipients {
		if rc.State != Queued && rc.State != Calling {
			continue
		}
		es, err := r.Store.Entries(r.ctx, store.EntryFilter{Recipient: rc.E164, Kind: string(kind)})
		if err != nil {
			return fmt.Errorf("campaign: read the ledger: %w", err)
		}
		var f found
		for _, e := range es {
			// A failed call placed nothing (a refused line, say): it may be placed again.
			if e.CampaignID == id && !(c.IsCall() && e.State == store.Failed) {
				if f.count == 0 || e.CreatedAt.After(f.e.CreatedAt) {
					f.e = e
				}
				f.count++
			}
		}
		switch {
		case f.count == 0:
		case !c.IsCall() && rc.State == Queued:
			got[i] = f
		case c.IsCall() && f.count > rc.Attempts:
			got[i] = f
		}
	}
	if len(got) == 0 {
		return nil
	}
	claimed := map[string]bool{}
	for _, rc := range c.Recipients {
		if rc.APIID != "" {
			claimed[rc.APIID] = true
		}
	}
	// A call whose outcome the ledger does not know may still have been placed: look for it.
	for i, f := range got {
		if c.IsCall() && f.e.APIID == "" && f.e.State != store.Failed {
			if callID := r.findCall(c.Recipients[i].E164, f.e.CreatedAt, claimed); callID != "" {
				f.e.APIID, f.e.State = callID, store.Sent
				claimed[callID] = true
				got[i] = f
			}
		}
	}
	return r.update(id, func(c *Campaign) error {
		for i, f := range got {
			rc := c.rec(i)
			e := f.e
			if rc.State != Queued && rc.State != Calling {
				continue
			}
			rc.LedgerID, rc.APIID = e.ID, e.APIID
			if c.IsCall() {
				rc.Attempts = f.count
			}
			switch {
			case e.State == store.Sent && c.IsCall():
				rc.State, rc.SentAt, rc.Waiting = Calling, e.CreatedAt, ""
			case e.State == store.Sent:
				rc.State, rc.SentAt = Sent, e.CreatedAt
			case e.State == store.Failed:
				rc.State, rc.Rule, rc.Reason = Failed, "api_error", "not sent (ledger: "+e.Note+")"
			default:
				rc.State, rc.Reason = MaybeSent, "an earlier run reserved it and stopped before its outcome was known; it is not sent again"
			}
		}
		return nil
	}, nil)
}

// findCall looks in the API for an outbound call to e164 placed since the reservation at
// (less the clock skew both sides may have) that no recipient claims; "" when there is none
// or the API cannot say.
func (r *Runner) findCall(e164 string, at time.Time, claimed map[string]bool) string {
	id, _, err := r.Path.FindCall(r.ctx, e164, at.Add(-reconcileSkew), claimed)
	if err != nil {
		r.Logger.Warn("campaign: could not look for a call an earlier run may have placed; it is not placed again", "err", err)
		return ""
	}
	return id
}

// reconcileSkew widens the look for a placed call: the API's clock and ours may differ.
const reconcileSkew = 2 * time.Minute

// cleared takes recipient i's next action a through the checks before it goes out: local
// calling hours (a closed window defers the recipient), the policy at send time (refuse:
// skip, hold or defer), and a last look that the run still wants it (a cancel or pause since
// the loop loaded the campaign, or a call line taken by another process). It reports the
// decision, the time the checks began, and whether a may go out now.
func (r *Runner) cleared(c *Campaign, i int, rc Recipient, a policy.Action) (policy.Decision, time.Time, bool) {
	now := r.Clock.Now()
	n, nerr := phone.Normalize(rc.E164, r.Region)
	if nerr == nil && !r.Path.Policy.InWindow(&n, now) {
		r.deferQuiet(c.ID, i, &n, now)
		return policy.Decision{}, now, false
	}
	dec, err := r.Path.Policy.Evaluate(r.ctx, a)
	if err != nil {
		r.Logger.Warn("campaign: the policy could not decide; retrying later", "campaign", c.ID, "err", err)
		r.hold(c.ID, now.Add(policyRetry), "policy_error")
		return policy.Decision{}, now, false
	}
	if r.refuse(a, i, dec, rc.Approved, now) {
		return policy.Decision{}, now, false
	}
	return dec, now, r.stillDue(c.ID, i, rc.Attempts)
}

// sendOne takes recipient i's send through the policy and the outbound path.
func (r *Runner) sendOne(c *Campaign, i int, rc Recipient) {
	a := policy.Action{Tool: "campaign", Principal: c.Principal, Kind: policy.KindSMS, To: rc.E164, Body: rc.Body,
		CampaignID: c.ID, Args: map[string]any{"campaign_id": c.ID, "to": rc.E164}}
	dec, now, ok := r.cleared(c, i, rc, a)
	if !ok {
		return
	}
	res := r.Path.Run(r.ctx, outbound.Request{
		Action: a, Decision: dec, Approval: policy.Approval{Method: c.ApprovalMethod, Rules: rc.Approved},
		Do: func(ctx context.Context) outbound.Attempt {
			sent, err := r.Path.API.SendMessage(ctx, apiclient.SendMessageRequest{Body: rc.Body, ToNumber: rc.E164, AgentID: c.AgentID, NumberID: c.NumberID})
			if err != nil {
				return outbound.Attempt{Err: err}
			}
			return outbound.Attempt{APIID: sent.ID, APIStatus: sent.Status}
		},
	})
	if res.Refused != nil {
		r.refused(a, i, res.Refused, rc.Approved, now)
		return
	}
	_ = r.update(c.ID, func(c *Campaign) error {
		p := c.rec(i)
		p.LedgerID, p.APIID, p.SentAt, p.Waiting = res.Ticket.Entry.ID, res.Attempt.APIID, now, ""
		switch res.State {
		case store.Sent:
			p.State = Sent
			if res.Reconciled != nil && res.Reconciled.Found {
				p.APIID = res.Reconciled.APIID
			}
		case store.Failed:
			p.State, p.Rule, p.Reason = Failed, "api_error", apiReason(res.Attempt.Err)
		default:
			p.State, p.Reason = MaybeSent, "AgentPhone's answer was lost; counted as sent and not retried"
		}
		c.LastSendAt = now
		return nil
	}, nil)
}

// apiReason is a short, bounded description of an API error (third-party text).
func apiReason(err error) string {
	if err == nil {
		return "refused by AgentPhone"
	}
	s := err.Error()
	if r := []rune(s); len(r) > 160 {
		s = string(r[:160]) + "…"
	}
	return "AgentPhone: " + s
}

// refuse acts on a decision that does not let recipient i be sent now (a, the send's
// action): quiet hours defer it, a cap holds the whole run, anything else skips it (opted
// out meanwhile, a confirm rule the plan's approval did not cover), with an audit line
// carrying the campaign id. It reports false when the decision allows.
func (r *Runner) refuse(a policy.Action, i int, d policy.Decision, approved []string, now time.Time) bool {
	id := a.CampaignID
	var quiet bool
	var capped string // the cap rule that holds the run
	var skip *policy.RuleHit
	switch d.Outcome {
	case policy.Allow:
		return false
	case policy.Deny:
		for k, h := range d.Rules {
			switch h.ID {
			case policy.RuleQuietHours:
				quiet = true
			case policy.RuleGlobalLimit:
				// The operator's cap across all callers holds the whole run until its
				// window opens; it does not skip the recipient.
				capped = h.ID
			case policy.RuleRateLimit:
				// The all-recipient hourly cap (segments or calls) holds the whole run; a
				// cap of this one recipient (texted or called outside the campaign since
				// the plan) skips them, as the plan excludes them: one person's window must
				// not stop the list.
				if r.sharedCapFull(a) {
					capped = h.ID
				} else if skip == nil {
					skip = &d.Rules[k]
				}
			default:
				if skip == nil {
					skip = &d.Rules[k]
				}
			}
		}
	case policy.Confirm:
		for k, h := range d.Rules {
			if !slices.Contains(approved, h.ID) {
				skip = &d.Rules[k]
				break
			}
		}
		if skip == nil {
			return false
		}
	}
	switch {
	case skip != nil:
		reason := skip.Reason
		if d.Outcome == policy.Confirm {
			reason = "needs a confirmation the campaign's approval did not cover: " + reason
		}
		if err := r.Path.Policy.Record(r.ctx, a, d, policy.Result{ConfirmMethod: "campaign", APIStatus: "skipped by the campaign"}); err != nil {
			r.Logger.Error("campaign: recording a skipped recipient failed", "campaign", id, "err", err)
		}
		_ = r.update(id, func(c *Campaign) error {
			p := c.rec(i)
			if p.State == Queued {
				p.State, p.Rule, p.Reason, p.Waiting = Skipped, skip.ID, reason, ""
			}
			return nil
		}, nil)
	case quiet && d.Target != nil:
		r.deferQuiet(id, i, d.Target, now)
	case capped != "":
		r.hold(id, now.Add(capRetry), capped)
	default:
		r.hold(id, now.Add(policyRetry), "policy_error")
	}
	return true
}

// sharedCapFull reports whether a's send would overfill the all-recipient hourly cap (SMS
// segments, or calls) now; true when the cap cannot be read (holding is the safe side).
func (r *Runner) sharedCapFull(a policy.Action) bool {
	budget, weight := r.Path.Policy.SMSSegmentBudget, text.SMS(a.Body).Segments
	if a.Kind == policy.KindCall {
		budget, weight = r.Path.Policy.CallBudget, 1
	}
	max, used, err := budget(r.ctx)
	if err != nil {
		return true
	}
	return max >= 0 && used+weight > max
}

// deferQuiet moves recipient i to its next calling window.
func (r *Runner) deferQuiet(id string, i int, n *phone.Number, now time.Time) {
	at, ok := r.Path.Policy.NextWindow(n, now)
	if !ok {
		at = now.Add(windowRetry)
	}
	_ = r.update(id, func(c *Campaign) error {
		p := c.rec(i)
		if p.State == Queued {
			p.NotBefore, p.Waiting = at, policy.RuleQuietHours
		}
		return nil
	}, nil)
}

// hold delays the whole run until at (a cap is full, the policy could not decide).
func (r *Runner) hold(id string, at time.Time, why string) {
	_ = r.update(id, func(c *Campaign) error {
		c.HoldUntil, c.HoldReason = at, why
		return nil
	}, nil)
}

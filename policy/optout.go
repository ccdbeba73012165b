package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// Opt-out channels, as the store keeps them: a STOP text opts out of everything, a spoken
// "do not call me" of calls.
const (
	OptOutAll  = store.ChannelAll
	OptOutSMS  = store.ChannelSMS
	OptOutCall = store.ChannelCall
)

// Reply is something a person said to the account: an inbound text, or what they said on a
// call (one caller turn). It is third-party text, read only for opt-outs here.
type Reply struct {
	// Channel is store.ChannelSMS for a text or store.ChannelCall for a caller turn.
	Channel string
	Text    string
	// At is when it was said (zero: now). An opt-out the operator lifted later is not
	// re-added by words said before the lift.
	At time.Time
	// Ref names the message or call, for the audit line.
	Ref string
	// Campaign is the campaign whose run read it (a reply to its text), for the audit line.
	Campaign string
}

// RepliesReader reads what a recipient said to the account lately: their latest inbound
// texts and the caller turns of their latest finished calls. The server answers it from the
// account (a bounded, cached read); the engine asks it before every text or call, so an
// opt-out counts whether or not the model read it.
type RepliesReader interface {
	LatestReplies(ctx context.Context, e164 string) ([]Reply, error)
}

// recogniseOptOut is the one place the engine asks whether words revoke consent, and for
// which channel (store.ChannelAll, ChannelSMS or ChannelCall). Texts use text.ClassifyOptOut
// (the FCC's 2024 revocation rule and the carriers' keywords in English, Spanish and French,
// after folding look-alikes, spacing and compatibility forms) and always opt out of every
// channel; caller turns use the spoken do-not-call phrases (text.SpokenOptOut), scoped to what
// the caller asked (calls, or calls and texts). Ambiguous texts are not opt-outs here:
// ObserveInbound flags them.
func recogniseOptOut(r Reply) (channel string, ok bool) {
	if r.Channel == store.ChannelCall {
		scope, ok := text.SpokenOptOut(r.Text)
		if !ok {
			return "", false
		}
		return scope, true // text.Scope* of SpokenOptOut equal the store.Channel* names
	}
	// A text that revokes consent covers calls and texts alike, whatever channel it names
	// ("stop texting me" from someone we also call): the FCC rule lets them revoke by any
	// reasonable means, so err toward their wish. The channel named stays in the audit line.
	if text.ClassifyOptOut(r.Text).Class != text.OptOutRevoked {
		return "", false
	}
	return store.ChannelAll, true
}

// Inbound is one text a third party sent: an SMS reply, or a caller's words in a call.
type Inbound struct {
	From    string    // the sender's number as received
	Text    string    // the message body, or the caller's turn
	Channel string    // store.ChannelSMS (default) or store.ChannelCall
	ID      string    // the message or call id, for the audit line; optional
	At      time.Time // when it was said (zero: now)
	// Campaign is the campaign whose run read it (a reply to the campaign's text): its
	// opt-out's audit line carries the id. Optional.
	Campaign string
}

// Observation is what ObserveInbound found in one inbound text.
type Observation struct {
	// OptOut is the recogniser's verdict on the text (text.ClassifyOptOut).
	OptOut text.OptOut `json:"opt_out"`
	// OptedOut: the sender is on the suppression list now, for Channel.
	OptedOut bool `json:"opted_out"`
	// Channel is the scope recorded (store.ChannelAll, ChannelSMS, ChannelCall) when OptedOut.
	Channel string `json:"channel,omitempty"`
	// Flagged: the text may revoke consent. It was logged and audited for the operator (once a
	// day per sender and text); the caller shows the flag to the model with the text.
	Flagged bool `json:"flagged"`
}

// ObserveInbound checks one inbound text (or caller turn) and records a revocation with its
// channel scope (ObserveReplies). An ambiguous text ("wrong number", "stop" in a sentence) is
// logged at warn level and audited (decision "flag", rule possible_opt_out) for the operator,
// and reported as Flagged. Call it for every inbound text the server reads (webhook, inbox,
// list tools, waits).
func (e *Engine) ObserveInbound(ctx context.Context, in Inbound) (Observation, error) {
	channel := in.Channel
	if channel == "" {
		channel = store.ChannelSMS
	}
	o := Observation{OptOut: text.ClassifyOptOut(in.Text)}
	scope, err := e.ObserveReplies(ctx, in.From, []Reply{{Channel: channel, Text: in.Text, At: in.At, Ref: in.ID, Campaign: in.Campaign}})
	if err != nil {
		return o, err
	}
	if scope != "" {
		o.OptedOut, o.Channel = true, scope
		return o, nil
	}
	if o.OptOut.Class != text.OptOutAmbiguous {
		return o, nil
	}
	n, err := phone.Normalize(in.From, e.region)
	if err != nil {
		return o, fmt.Errorf("policy: possible opt-out from unusable sender number: %w", err)
	}
	if e.operator != "" && n.E164 == e.operator {
		return o, nil
	}
	sum := sha256.Sum256([]byte(text.Fold(in.Text)))
	seen, err := e.store.SeenDelivery(ctx, "optout-flag:"+n.E164+":"+hex.EncodeToString(sum[:12]))
	if err != nil {
		return o, fmt.Errorf("policy: record a possible opt-out: %w", err)
	}
	o.Flagged = true
	if seen {
		return o, nil
	}
	details := map[string]string{"match": e.scrub(o.OptOut.Match), "scope": string(o.OptOut.Scope), "channel": channel}
	if in.ID != "" {
		details["id"] = e.scrub(text.Sanitize(in.ID, 80))
	}
	e.log.WarnContext(ctx, "policy: a reply may be an opt-out; review it", "e164", n.E164, "match", e.scrub(o.OptOut.Match), "channel", channel)
	if e.audit != nil {
		if _, _, err := e.audit.Append(audit.Entry{Tool: "inbound_" + channel, Decision: "flag", Rules: []string{RulePossibleOptOut}, Target: n.E164, Details: details}); err != nil {
			return o, fmt.Errorf("policy: audit a possible opt-out: %w", err)
		}
	}
	return o, nil
}

// ObserveCall checks the caller turns of a call with party (the other side's number) for a
// spoken do-not-call request, and records it with its scope. It returns the channel opted out
// of ("" for none).
func (e *Engine) ObserveCall(ctx context.Context, party, callID string, callerTurns []string, at time.Time) (string, error) {
	rs := make([]Reply, 0, len(callerTurns))
	for _, t := range callerTurns {
		rs = append(rs, Reply{Channel: store.ChannelCall, Text: t, At: at, Ref: callID})
	}
	return e.ObserveReplies(ctx, party, rs)
}

// ObserveReplies checks what from said and records any opt-out found, with the widest scope
// any of the replies asked for. It returns that scope ("" when none was found). Replies from
// the operator's phone are not read.
func (e *Engine) ObserveReplies(ctx context.Context, from string, replies []Reply) (string, error) {
	var (
		scope string
		hit   Reply
	)
	for _, r := range replies {
		ch, ok := recogniseOptOut(r)
		if !ok {
			continue
		}
		switch {
		case scope == "":
			scope, hit = ch, r
		case scope != ch:
			scope, hit = store.ChannelAll, r
		}
		if r.At.After(hit.At) {
			hit.At = r.At
		}
	}
	if scope == "" {
		return "", nil
	}
	n, err := phone.Normalize(from, e.region)
	if err != nil {
		return "", fmt.Errorf("policy: opt-out from unusable sender number: %w", err)
	}
	if e.operator != "" && n.E164 == e.operator {
		return "", nil
	}
	at := hit.At
	if at.IsZero() {
		at = e.clock.Now()
	}
	reason := "inbound opt-out keyword"
	tool := "inbound_sms"
	if hit.Channel == store.ChannelCall {
		reason, tool = "spoken do-not-call request on a call", "call_transcript"
	}
	if hit.Ref != "" {
		reason += " (" + hit.Ref + ")"
	}
	details := map[string]string{"channel": scope}
	if hit.Ref != "" {
		details["ref"] = e.scrub(text.Sanitize(hit.Ref, 80))
	}
	added, err := e.OptOuts().add(ctx, store.OptOut{E164: n.E164, Channel: scope, Reason: reason, At: at, Source: tool}, tool, hit.Campaign, details)
	if err != nil {
		return "", err
	}
	if added {
		e.log.InfoContext(ctx, "policy: recipient opted out", "e164", n.E164, "channel", scope)
	}
	return scope, nil
}

// checkReplies asks the RepliesReader what e164 said lately and records any opt-out, before
// the decision reads the store. A failed read refuses the decision (fail closed): a recipient
// who said STOP where we could have seen it must not get the text because the read failed.
func (e *Engine) checkReplies(ctx context.Context, e164 string) error {
	if e.replies == nil {
		return nil
	}
	rs, err := e.replies.LatestReplies(ctx, e164)
	if err != nil {
		return fmt.Errorf("%w: the latest replies of %s could not be read to check for an opt-out (%v). Nothing was sent; try again in a moment", ErrRepliesUnavailable, e164, err)
	}
	if _, err := e.ObserveReplies(ctx, e164, rs); err != nil {
		return fmt.Errorf("%w: %v", ErrRepliesUnavailable, err)
	}
	return nil
}

// ErrRepliesUnavailable is returned (wrapped) by Evaluate when a recipient's latest replies
// could not be read or their opt-out not recorded: the text or call is refused, not sent blind.
var ErrRepliesUnavailable = errors.New("opt-out check unavailable")

// OptOuts edits the suppression list. The operator CLI (agentphone-mcp optout
// list|add|remove) and the inbound opt-out recogniser use it; no MCP tool may.
// Every change is an audit line, so that `state rebuild` can replay it.
type OptOuts struct {
	store  store.Store
	audit  *audit.Log
	clock  clockwork.Clock
	region string
}

// NewOptOuts returns the suppression-list editor for st, auditing to log (nil: no audit
// line); numbers without a country code are read in defaultRegion ("" means US).
func NewOptOuts(st store.Store, log *audit.Log, defaultRegion string) *OptOuts {
	if defaultRegion == "" {
		defaultRegion = phone.DefaultRegion
	}
	return &OptOuts{store: st, audit: log, clock: clockwork.NewRealClock(), region: defaultRegion}
}

// OptOuts returns the engine's suppression-list editor.
func (e *Engine) OptOuts() *OptOuts {
	return &OptOuts{store: e.store, audit: e.audit, clock: e.clock, region: e.region}
}

// List returns the suppression list.
func (o *OptOuts) List(ctx context.Context) ([]store.OptOut, error) {
	l, err := o.store.ListOptOuts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list opt-outs: %w", err)
	}
	return l, nil
}

// Add normalises raw and puts it on the suppression list for channel (store.ChannelAll,
// ChannelSMS or ChannelCall; "" means all); it returns the E.164.
func (o *OptOuts) Add(ctx context.Context, raw, channel, reason string) (string, error) {
	n, err := phone.Normalize(raw, o.region)
	if err != nil {
		return "", fmt.Errorf("add opt-out: %w", err)
	}
	if reason == "" {
		reason = "added by the operator"
	}
	if channel == "" {
		channel = store.ChannelAll
	}
	_, err = o.add(ctx, store.OptOut{E164: n.E164, Channel: channel, At: o.clock.Now(), Source: store.SourceOperator, Reason: reason}, "optout_cli", "", nil)
	return n.E164, err
}

// add stores the opt-out and, when it is new, audits it (details go on the line). The store
// write comes first: an opt-out must take effect even when the audit log cannot be written
// (the error then says so). It reports whether the opt-out was new.
func (o *OptOuts) add(ctx context.Context, oo store.OptOut, tool, campaign string, details map[string]string) (bool, error) {
	added, err := o.store.AddOptOut(ctx, oo)
	if err != nil {
		return false, fmt.Errorf("policy: record opt-out: %w", err)
	}
	if !added || o.audit == nil {
		return added, nil
	}
	line := audit.Entry{Tool: tool, Decision: audit.DecisionOptOut, Rules: []string{RuleOptedOut}, Target: oo.E164,
		Channel: oo.Scope(), Source: oo.Source, Reason: oo.Reason, CreatedAt: oo.At.UTC(), Details: details, Campaign: campaign}
	if _, _, err := o.audit.Append(line); err != nil {
		return true, fmt.Errorf("policy: the opt-out of %s is in force, but its audit line could not be written (a state rebuild would not know it): %w", oo.E164, err)
	}
	return true, nil
}

// Remove takes raw off the suppression list for channel ("" removes every scope); it
// reports whether it was there. raw may be an exact stored E.164 that no longer
// normalises.
func (o *OptOuts) Remove(ctx context.Context, raw, channel string) (bool, error) {
	key := raw
	if n, err := phone.Normalize(raw, o.region); err == nil {
		key = n.E164
	}
	ok, err := o.store.RemoveOptOut(ctx, key, channel)
	if err != nil {
		return false, fmt.Errorf("remove opt-out: %w", err)
	}
	if ok && o.audit != nil {
		scope := channel
		if scope == "" {
			scope = "every"
		}
		line := audit.Entry{Tool: "optout_cli", Decision: audit.DecisionOptOutRemoved, Target: key, Channel: scope, Source: "operator", CreatedAt: o.clock.Now().UTC()}
		if _, _, err := o.audit.Append(line); err != nil {
			return true, errors.Join(errors.New("the opt-out was removed, but its audit line could not be written (a state rebuild would restore it)"), err)
		}
	}
	return ok, nil
}

// optOutFromLine is the opt-out an audit line records (for rebuilds).
func optOutFromLine(l audit.Entry) store.OptOut {
	at := l.CreatedAt
	if at.IsZero() {
		at = l.TS
	}
	ch := l.Channel
	if ch == "" {
		ch = store.ChannelAll
	}
	src := l.Source
	if src == "" {
		src = l.Tool
	}
	reason := l.Reason
	if reason == "" {
		reason = "inbound opt-out keyword"
	}
	return store.OptOut{E164: l.Target, Channel: ch, At: at.UTC(), Source: src, Reason: reason}
}

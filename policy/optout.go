package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// Inbound is one text a third party sent: an SMS reply, or a caller's words in a call.
type Inbound struct {
	From    string // the sender's number as received
	Text    string // the message body, or the caller's turn
	Channel string // ChannelSMS (default) or ChannelCall
	ID      string // the message or call id, for the audit line; optional
}

// Inbound channels.
const (
	ChannelSMS  = "sms"
	ChannelCall = "call"
)

// Observation is what ObserveInbound found in one inbound text.
type Observation struct {
	// OptOut is the recogniser's verdict (text.ClassifyOptOut).
	OptOut text.OptOut `json:"opt_out"`
	// OptedOut: the sender is on the suppression list now.
	OptedOut bool `json:"opted_out"`
	// Flagged: the text may revoke consent. It was logged and audited for the operator (once a
	// day per sender and text); the caller shows the flag to the model with the text.
	Flagged bool `json:"flagged"`
}

// ObserveInbound checks an inbound text with text.ClassifyOptOut. A revocation puts the
// normalised sender on the suppression list and writes an audit line (decision "opt_out",
// rule opted_out, with the wording and the channel it named). The suppression list is per
// number: a revocation that names one channel ("stop calling me") stops calls and texts alike,
// erring towards the person's wish. An ambiguous text ("wrong number", "stop" in a sentence) is
// logged at warn level and audited (decision "flag", rule possible_opt_out) for the operator,
// and reported as Flagged. Call it for every inbound text the server reads (webhook, inbox,
// list tools, waits) and, for calls, for each caller turn.
func (e *Engine) ObserveInbound(ctx context.Context, in Inbound) (Observation, error) {
	o := Observation{OptOut: text.ClassifyOptOut(in.Text)}
	if o.OptOut.Class == text.OptOutNone {
		return o, nil
	}
	channel := in.Channel
	if channel == "" {
		channel = ChannelSMS
	}
	n, err := phone.Normalize(in.From, e.region)
	if err != nil {
		return o, fmt.Errorf("policy: opt-out from unusable sender number: %w", err)
	}
	details := map[string]string{"match": e.scrub(o.OptOut.Match), "scope": string(o.OptOut.Scope), "channel": channel}
	if in.ID != "" {
		details["id"] = e.scrub(text.Sanitize(in.ID, 80))
	}
	if o.OptOut.Class == text.OptOutAmbiguous {
		sum := sha256.Sum256([]byte(text.Fold(in.Text)))
		seen, err := e.store.SeenDelivery(ctx, "optout-flag:"+n.E164+":"+hex.EncodeToString(sum[:12]))
		if err != nil {
			return o, fmt.Errorf("policy: record a possible opt-out: %w", err)
		}
		o.Flagged = true
		if seen {
			return o, nil
		}
		e.log.WarnContext(ctx, "policy: a reply may be an opt-out; review it", "e164", n.E164, "match", e.scrub(o.OptOut.Match), "channel", channel)
		if e.audit != nil {
			if _, _, err := e.audit.Append(audit.Entry{Tool: "inbound_" + channel, Decision: "flag", Rules: []string{RulePossibleOptOut}, Target: n.E164, Details: details}); err != nil {
				return o, fmt.Errorf("policy: audit a possible opt-out: %w", err)
			}
		}
		return o, nil
	}
	reason := fmt.Sprintf("inbound opt-out (%s, %s): %q", channel, o.OptOut.Scope, e.scrub(o.OptOut.Match))
	if err := e.store.AddOptOut(ctx, n.E164, text.Sanitize(reason, 200), e.clock.Now()); err != nil {
		return o, fmt.Errorf("policy: record opt-out: %w", err)
	}
	o.OptedOut = true
	e.log.InfoContext(ctx, "policy: recipient opted out", "e164", n.E164, "scope", string(o.OptOut.Scope), "channel", channel)
	if e.audit != nil {
		if _, _, err := e.audit.Append(audit.Entry{Tool: "inbound_" + channel, Decision: "opt_out", Rules: []string{RuleOptedOut}, Target: n.E164, Details: details}); err != nil {
			return o, fmt.Errorf("policy: audit opt-out: %w", err)
		}
	}
	return o, nil
}

// OptOuts edits the suppression list. It is for the operator CLI
// (agentphone-mcp optout list|add|remove); no MCP tool may use it.
type OptOuts struct {
	store  *store.Store
	region string
}

// NewOptOuts returns the suppression-list editor for st; numbers without a
// country code are read in defaultRegion ("" means US).
func NewOptOuts(st *store.Store, defaultRegion string) *OptOuts {
	if defaultRegion == "" {
		defaultRegion = phone.DefaultRegion
	}
	return &OptOuts{store: st, region: defaultRegion}
}

// OptOuts returns the engine's suppression-list editor.
func (e *Engine) OptOuts() *OptOuts { return NewOptOuts(e.store, e.region) }

// List returns the suppression list.
func (o *OptOuts) List(ctx context.Context) ([]store.OptOut, error) {
	l, err := o.store.ListOptOuts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list opt-outs: %w", err)
	}
	return l, nil
}

// Add normalises raw and puts it on the suppression list; it returns the E.164.
func (o *OptOuts) Add(ctx context.Context, raw, reason string) (string, error) {
	n, err := phone.Normalize(raw, o.region)
	if err != nil {
		return "", fmt.Errorf("add opt-out: %w", err)
	}
	if reason == "" {
		reason = "operator"
	}
	if err := o.store.AddOptOut(ctx, n.E164, reason, o.store.Now()); err != nil {
		return "", fmt.Errorf("add opt-out: %w", err)
	}
	return n.E164, nil
}

// Remove takes raw off the suppression list; it reports whether it was there.
// raw may be an exact stored E.164 that no longer normalises.
func (o *OptOuts) Remove(ctx context.Context, raw string) (bool, error) {
	key := raw
	if n, err := phone.Normalize(raw, o.region); err == nil {
		key = n.E164
	}
	ok, err := o.store.RemoveOptOut(ctx, key)
	if err != nil {
		return false, fmt.Errorf("remove opt-out: %w", err)
	}
	return ok, nil
}

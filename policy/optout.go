package policy

import (
	"context"
	"errors"
	"fmt"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// ObserveInbound checks an inbound message: when body is an opt-out (STOP,
// UNSUBSCRIBE, "stop texting me"...), from is normalised and put on the
// suppression list for every channel (a text opt-out stops calls too), and an
// audit line is written. It reports whether the sender was opted out. Call it
// for every inbound SMS the server reads (webhook, inbox, list tools).
func (e *Engine) ObserveInbound(ctx context.Context, from, body string) (bool, error) {
	if !text.IsOptOut(body) {
		return false, nil
	}
	n, err := phone.Normalize(from, e.region)
	if err != nil {
		return false, fmt.Errorf("policy: opt-out from unusable sender number: %w", err)
	}
	o := store.OptOut{E164: n.E164, Channel: store.ChannelAll, At: e.clock.Now(), Source: "inbound_sms", Reason: "inbound opt-out keyword"}
	if err := e.OptOuts().add(ctx, o, "inbound_sms"); err != nil {
		return false, err
	}
	e.log.InfoContext(ctx, "policy: recipient opted out", "e164", n.E164)
	return true, nil
}

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
	return n.E164, o.add(ctx, store.OptOut{E164: n.E164, Channel: channel, At: o.clock.Now(), Source: "operator", Reason: reason}, "optout_cli")
}

// add stores the opt-out and audits it. The store write comes first: an opt-out must
// take effect even when the audit log cannot be written (the error then says so).
func (o *OptOuts) add(ctx context.Context, oo store.OptOut, tool string) error {
	if _, err := o.store.AddOptOut(ctx, oo); err != nil {
		return fmt.Errorf("policy: record opt-out: %w", err)
	}
	if o.audit == nil {
		return nil
	}
	line := audit.Entry{Tool: tool, Decision: audit.DecisionOptOut, Rules: []string{RuleOptedOut}, Target: oo.E164,
		Channel: oo.Scope(), Source: oo.Source, Reason: oo.Reason, CreatedAt: oo.At.UTC()}
	if _, _, err := o.audit.Append(line); err != nil {
		return fmt.Errorf("policy: the opt-out of %s is in force, but its audit line could not be written (a state rebuild would not know it): %w", oo.E164, err)
	}
	return nil
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

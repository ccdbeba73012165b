package policy

import (
	"context"
	"fmt"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// ObserveInbound checks an inbound message: when body is an opt-out (STOP,
// UNSUBSCRIBE, "stop texting me"...), from is normalised and put on the
// suppression list, and an audit line is written. It reports whether the
// sender was opted out. Call it for every inbound SMS the server reads
// (webhook, inbox, list tools).
func (e *Engine) ObserveInbound(ctx context.Context, from, body string) (bool, error) {
	if !text.IsOptOut(body) {
		return false, nil
	}
	n, err := phone.Normalize(from, e.region)
	if err != nil {
		return false, fmt.Errorf("policy: opt-out from unusable sender number: %w", err)
	}
	if err := e.store.AddOptOut(ctx, n.E164, "inbound opt-out keyword", e.clock.Now()); err != nil {
		return false, fmt.Errorf("policy: record opt-out: %w", err)
	}
	e.log.InfoContext(ctx, "policy: recipient opted out", "e164", n.E164)
	if e.audit != nil {
		if _, _, err := e.audit.Append(audit.Entry{Tool: "inbound_sms", Decision: "opt_out", Rules: []string{RuleOptedOut}, Target: n.E164}); err != nil {
			return true, fmt.Errorf("policy: audit opt-out: %w", err)
		}
	}
	return true, nil
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

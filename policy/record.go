package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// Record registers the outcome of a decision: it writes one audit line (for
// every decision, including denials and pending previews), and, only when the
// action actually executed (see Result), counts it against the limits and
// marks the recipient known. A failed API call consumes no quota.
//
// Record is not atomic with Evaluate: two concurrent sends can both pass a cap
// by one. Caps are a brake, not an exact meter.
func (e *Engine) Record(ctx context.Context, a Action, d Decision, r Result) error {
	method := r.ConfirmMethod
	if method == "" {
		method = "none"
	}
	executed := r.Err == nil && (d.Outcome == Allow || (d.Outcome == Confirm && method != "none"))
	var errs []error
	if executed && d.Target != nil && (a.Kind == KindSMS || a.Kind == KindCall) {
		if err := e.count(ctx, a, d); err != nil {
			errs = append(errs, err)
		}
	}
	if executed && d.Target != nil && a.Kind == KindContactWrite {
		if err := e.MarkToolContact(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	if e.audit != nil {
		entry := audit.Entry{
			Tool:          a.Tool,
			Decision:      string(d.Outcome),
			Rules:         d.RuleIDs(),
			ConfirmMethod: method,
			APIID:         e.scrub(r.APIID), // the API's words: scrubbed like every other field
			APIStatus:     e.scrub(r.APIStatus),
			Principal:     a.Principal,
		}
		if d.Target != nil {
			entry.Target = d.Target.E164
		}
		// When the content carried a secret, no text of the action reaches the log: the secret
		// may be split or disguised in ways a scrubber misses (an invisible character between
		// two halves), and the rule ID already says why it was refused.
		secret := slices.Contains(d.RuleIDs(), RuleSecretInContent)
		if secret {
			if len(a.Details) > 0 || len(a.Spoken) > 0 {
				entry.Details = map[string]string{"withheld": "details withheld: the content carried a secret"}
			}
		} else {
			details := a.Details
			if len(a.Spoken) > 0 {
				details = make(map[string]string, len(a.Details)+len(a.Spoken))
				for k, v := range a.Details {
					details[k] = v
				}
				for _, sp := range a.Spoken {
					details["spoken: "+sp.Label] = sp.Text
				}
			}
			entry.Details = e.auditDetails(details)
		}
		if a.Body != "" {
			sum := sha256.Sum256([]byte(a.Body))
			entry.BodySHA256 = hex.EncodeToString(sum[:])
			entry.BodyLen = utf8.RuneCountInString(a.Body)
			if e.cfg.AuditBodies && !secret {
				entry.Body = e.scrub(a.Body)
			}
		}
		if a.Kind == KindSMS {
			entry.Segments = text.SMS(a.Body).Segments
		}
		if r.Err != nil {
			entry.Error = e.scrub(r.Err.Error())
		}
		if _, _, err := e.audit.Append(entry); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("policy: record %s: %w", a.Tool, err)
	}
	return nil
}

// count adds the executed SMS or call to the sliding windows and marks the
// recipient known.
func (e *Engine) count(ctx context.Context, a Action, d Decision) error {
	now := e.clock.Now()
	to := d.Target.E164
	type ev struct {
		key    string
		weight int
	}
	var evs []ev
	switch a.Kind {
	case KindSMS:
		evs = []ev{{evSMSTo + to, 1}, {evSMSSegments, max(1, text.SMS(a.Body).Segments)}, {dupKey(to, a.Body), 1}}
	case KindCall:
		evs = []ev{{evCallTo + to, 1}, {evCalls, 1}}
	}
	if d.Preview != nil && d.Preview.FirstContact {
		evs = append(evs, ev{evNewRecipient, 1})
	}
	// One transaction: every count and the known mark land together.
	return e.store.Update(ctx, func(tx *store.Tx) error {
		for _, x := range evs {
			if err := tx.AddEvent(x.key, now, x.weight); err != nil {
				return err
			}
		}
		return tx.MarkKnown(to, now)
	})
}

// scrub removes the configured secrets (raw and in every encoding keyguard.Scrubber knows)
// from s before it is logged or audited.
func (e *Engine) scrub(s string) string { return e.scrubber.Scrub(s) }

// maxAuditDetail bounds one audited detail value, in runes.
const maxAuditDetail = 256

// auditDetails copies the action's details for the audit line: hidden
// characters made visible, secrets scrubbed, values bounded.
func (e *Engine) auditDetails(d map[string]string) map[string]string {
	if len(d) == 0 {
		return nil
	}
	out := make(map[string]string, len(d))
	for k, v := range visibleDetails(d) {
		// Scrub the text as written and as made visible, so a key split by an invisible
		// character cannot pass in either form.
		v = e.scrub(v)
		if raw := d[k]; raw != "" && e.scrub(text.Sanitize(raw, 0)) != text.Sanitize(raw, 0) {
			v = "[withheld: contained a secret]"
		}
		if r := []rune(v); len(r) > maxAuditDetail {
			v = string(r[:maxAuditDetail]) + "…"
		}
		out[e.scrub(k)] = v
	}
	return out
}

// MarkToolContact records that a tool is writing a contact with the decision's number, so
// the contact never vouches for it (see isFirstContact). The tools layer calls it before the
// API call, so a text racing the write cannot see the new contact unmarked; Record calls it
// again after (it is idempotent). A decision without a number marks nothing.
func (e *Engine) MarkToolContact(ctx context.Context, d Decision) error {
	if d.Target == nil {
		return nil
	}
	now, to := e.clock.Now(), d.Target.E164
	if err := e.store.Update(ctx, func(tx *store.Tx) error { return tx.MarkToolContact(to, now) }); err != nil {
		return fmt.Errorf("policy: mark a tool-written contact: %w", err)
	}
	return nil
}

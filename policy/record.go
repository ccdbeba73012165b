package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
)

// Record writes the audit line of a decision that did not run: a denial, a preview
// awaiting confirmation, a refused or declined confirmation. It counts nothing: an action
// that runs is put on the books by Reserve (intent line) and Settle (outcome line).
func (e *Engine) Record(ctx context.Context, a Action, d Decision, r Result) error {
	if e.audit == nil {
		return nil
	}
	method := r.ConfirmMethod
	if method == "" {
		method = "none"
	}
	entry := e.auditEntry(a, d, method)
	entry.APIID, entry.APIStatus = e.scrub(r.APIID), e.scrub(r.APIStatus) // the API's words: scrubbed like every other field
	if r.Err != nil {
		entry.Error = e.scrub(r.Err.Error())
	}
	if _, _, err := e.audit.Append(entry); err != nil {
		return fmt.Errorf("policy: record %s: %w", a.Tool, err)
	}
	return nil
}

// auditEntry is the audit line of a decision on a, without the outcome: tool, decision,
// rules, target, principal, confirm method, details and the body as a hash (and as text
// with Config.AuditBodies).
func (e *Engine) auditEntry(a Action, d Decision, method string) audit.Entry {
	entry := audit.Entry{
		Tool:          a.Tool,
		Decision:      string(d.Outcome),
		Rules:         d.RuleIDs(),
		ConfirmMethod: method,
		Principal:     a.Principal,
		Campaign:      a.CampaignID,
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
		if !e.cfg.AuditBodies {
			for _, k := range a.BodyDetails {
				if _, ok := entry.Details[k]; ok {
					entry.Details[k] = "[message text withheld: AGENTPHONE_AUDIT_BODIES is off]"
				}
			}
		}
	}
	if a.Body != "" {
		entry.BodySHA256 = bodyHash(a.Body)
		entry.BodyLen = utf8.RuneCountInString(a.Body)
		if e.cfg.AuditBodies && !secret {
			entry.Body = e.scrub(a.Body)
		}
	}
	if a.Kind == KindSMS {
		entry.Segments = text.SMS(a.Body).Segments
	}
	return entry
}

// bodyHash is the SHA-256 (hex) of an outbound text.
func bodyHash(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
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

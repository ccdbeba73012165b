package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// Event keys in the store. Part of the on-disk format: do not rename.
const (
	evSMSTo        = "sms:"     // + E.164: one per SMS sent to a recipient
	evCallTo       = "call:"    // + E.164: one per call placed to a recipient
	evSMSDup       = "sms_dup:" // + E.164 + ":" + sha256(body): duplicate detection
	evSMSSegments  = "sms_segments"
	evCalls        = "calls"
	evNewRecipient = "new_recipients"
	evNumberBought = "numbers_bought"
	// evOperatorCode is operator-wide (store.GlobalPrefix): the operator has one phone, so
	// with callers' own keys (one account each) the cap still counts every account's codes.
	evOperatorCode = store.GlobalPrefix + "operator_codes"
)

// The operator-code cap: confirmation codes texted to the operator's phone (each is billed).
const (
	OperatorCodesMax    = 5
	OperatorCodesWindow = 10 * time.Minute
)

// capCheck is one sliding-window count: a cap, or the duplicate check.
type capCheck struct {
	key    string
	window time.Duration
	max    int
	add    int // weight this action would add
	what   string
	since  time.Time // start of the window for this decision
	used   int       // the window's current total, from the store's facts
	rule   string    // the deny rule when full: RuleRateLimit (""), or RuleGlobalLimit
}

// capsFor lists the caps that apply to an SMS or call to e164, and the
// new-recipients cap, which applies only on first contact. Disabled caps
// (negative max) are left out.
func (e *Engine) capsFor(kind Kind, e164 string, segments int) (caps []*capCheck, newRecipients *capCheck) {
	l := e.limits
	var all []*capCheck
	switch kind {
	case KindSMS:
		all = []*capCheck{
			{key: evSMSTo + e164, window: time.Hour, max: l.SMSPerRecipientHour, add: 1, what: "SMS to this recipient per hour"},
			{key: evSMSTo + e164, window: 24 * time.Hour, max: l.SMSPerRecipientDay, add: 1, what: "SMS to this recipient per 24 hours"},
			{key: evSMSSegments, window: time.Hour, max: l.SMSSegmentsHour, add: segments, what: "SMS segments per hour (all recipients)"},
		}
	case KindCall:
		all = []*capCheck{
			{key: evCallTo + e164, window: 10 * time.Minute, max: l.CallsPerRecipient10Min, add: 1, what: "calls to this recipient per 10 minutes"},
			{key: evCallTo + e164, window: 24 * time.Hour, max: l.CallsPerRecipientDay, add: 1, what: "calls to this recipient per 24 hours"},
			{key: evCalls, window: time.Hour, max: l.CallsHour, add: 1, what: "calls per hour (all recipients)"},
		}
	}
	for _, c := range all {
		if c.max >= 0 {
			caps = append(caps, c)
		}
	}
	if l.NewRecipientsDay >= 0 {
		newRecipients = &capCheck{key: evNewRecipient, window: 24 * time.Hour, max: l.NewRecipientsDay, add: 1, what: "new recipients per 24 hours"}
	}
	return caps, newRecipients
}

// dupCheck is the duplicate-detection window for an SMS (same body to the
// same recipient within 10 minutes) or a call (same callee within 2 minutes).
func dupCheck(a Action, e164 string) *capCheck {
	switch a.Kind {
	case KindSMS:
		return &capCheck{key: dupKey(e164, a.Body), window: dupSMSWindow}
	case KindCall:
		return &capCheck{key: evCallTo + e164, window: dupCallWindow}
	}
	return nil
}

// checkLimits denies when this action would exceed a cap (used filled in).
func checkLimits(v *verdict, caps []*capCheck) {
	for _, c := range caps {
		if c == nil || c.max < 0 {
			continue
		}
		if c.used+c.add > c.max {
			if c.rule == RuleGlobalLimit {
				v.denyHit(RuleGlobalLimit, globalLimitReason(c))
				continue
			}
			v.denyHit(RuleRateLimit, fmt.Sprintf("limit reached: %d of %d %s already used; this would add %d. Wait for the window to pass or ask the operator to raise the limit", c.used, c.max, c.what, c.add))
		}
	}
}

// checkDuplicate asks for confirmation when dup (used filled in) found the
// same SMS to the same recipient within 10 minutes, or a call to the same
// callee within 2 minutes.
func checkDuplicate(v *verdict, kind Kind, e164 string, dup *capCheck) {
	if dup == nil || dup.used == 0 {
		return
	}
	switch kind {
	case KindSMS:
		v.confirmHit(RuleDuplicate, fmt.Sprintf("the same message was sent to %s within the last 10 minutes; this looks like a duplicate", e164))
	case KindCall:
		v.confirmHit(RuleDuplicate, fmt.Sprintf("%s was called within the last 2 minutes; this looks like a duplicate call", e164))
	}
}

// dupKey is the duplicate-detection event key for an SMS: the body is compared in text.Fold
// form, so a copy that differs only by invisible characters, compatibility forms, look-alike
// letters, case or spacing is the same message.
func dupKey(e164, body string) string {
	sum := sha256.Sum256([]byte(text.Fold(body)))
	return evSMSDup + e164 + ":" + hex.EncodeToString(sum[:16])
}

// purchaseCaps is the number-purchase cap (none when disabled).
func (e *Engine) purchaseCaps() []*capCheck {
	if e.limits.NumbersBoughtDay < 0 {
		return nil
	}
	return []*capCheck{{key: evNumberBought, window: 24 * time.Hour, max: e.limits.NumbersBoughtDay, add: 1, what: "phone numbers bought per 24 hours"}}
}

// isFirstContact reports whether the destination is new: not allowlisted, never
// successfully texted or called from this account (known, read from the store, or the
// History hook), and not a contact. A contact that a tool wrote (ToolContact) does not
// vouch: otherwise a model could add a stranger as a contact and then reach them without
// anyone's confirmation.
func isFirstContact(l lookups, k store.KnownFact) bool {
	switch {
	case l.allowlisted, k.Known, l.history:
		return false
	case l.contact && !k.ToolContact:
		return false
	}
	// vouchSkip: the hooks were not asked because the number was known when they would
	// have been; a number never stops being known, so reaching here means the state was
	// replaced since: ask again (the safe side).
	return true
}

// eventsFor lists what a reservation of p counts: one event per cap and duplicate key
// the action adds to (at at), the new-recipients event on first contact, and the events
// of the operator's global caps that are set.
func (e *Engine) eventsFor(p *prepared, first bool, at time.Time) []store.Event {
	var evs []store.Event
	add := func(key string, w int) { evs = append(evs, store.Event{Key: key, At: at, Weight: w}) }
	switch p.a.Kind {
	case KindSMS:
		to := p.n.E164
		add(evSMSTo+to, 1)
		add(evSMSSegments, max(1, p.info.Segments))
		add(dupKey(to, p.a.Body), 1)
	case KindCall:
		to := p.n.E164
		add(evCallTo+to, 1)
		add(evCalls, 1)
	case KindBuyNumber:
		add(evNumberBought, 1)
	case KindOperatorCode:
		add(evOperatorCode, 1)
	}
	if first {
		add(evNewRecipient, 1)
	}
	return append(evs, e.globalEvents(p, first, at)...)
}

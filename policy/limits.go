package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Event keys in the store. Part of the on-disk format: do not rename.
const (
	evSMSTo        = "sms:"     // + E.164: one per SMS sent to a recipient
	evCallTo       = "call:"    // + E.164: one per call placed to a recipient
	evSMSDup       = "sms_dup:" // + E.164 + ":" + sha256(body): duplicate detection
	evSMSSegments  = "sms_segments"
	evCalls        = "calls"
	evNewRecipient = "new_recipients"
)

// capCheck is one sliding-window cap.
type capCheck struct {
	key    string
	window time.Duration
	max    int
	add    int // weight this action would add
	what   string
}

// checkLimits denies when this action would exceed a cap.
func (e *Engine) checkLimits(ctx context.Context, v *verdict, kind Kind, e164 string, segments int, first bool, now time.Time) error {
	l := e.limits
	var caps []capCheck
	switch kind {
	case KindSMS:
		caps = []capCheck{
			{evSMSTo + e164, time.Hour, l.SMSPerRecipientHour, 1, "SMS to this recipient per hour"},
			{evSMSTo + e164, 24 * time.Hour, l.SMSPerRecipientDay, 1, "SMS to this recipient per 24 hours"},
			{evSMSSegments, time.Hour, l.SMSSegmentsHour, segments, "SMS segments per hour (all recipients)"},
		}
	case KindCall:
		caps = []capCheck{
			{evCallTo + e164, 10 * time.Minute, l.CallsPerRecipient10Min, 1, "calls to this recipient per 10 minutes"},
			{evCallTo + e164, 24 * time.Hour, l.CallsPerRecipientDay, 1, "calls to this recipient per 24 hours"},
			{evCalls, time.Hour, l.CallsHour, 1, "calls per hour (all recipients)"},
		}
	}
	if first {
		caps = append(caps, capCheck{evNewRecipient, 24 * time.Hour, l.NewRecipientsDay, 1, "new recipients per 24 hours"})
	}
	for _, c := range caps {
		if c.max < 0 {
			continue
		}
		used, err := e.store.SumSince(ctx, c.key, now.Add(-c.window))
		if err != nil {
			return err
		}
		if used+c.add > c.max {
			v.denyHit(RuleRateLimit, fmt.Sprintf("limit reached: %d of %d %s already used; this would add %d. Wait for the window to pass or ask the operator to raise the limit", used, c.max, c.what, c.add))
		}
	}
	return nil
}

// checkDuplicate asks for confirmation when the same SMS went to the same
// recipient within 10 minutes, or the same callee was called within 2 minutes.
func (e *Engine) checkDuplicate(ctx context.Context, v *verdict, a Action, e164 string, now time.Time) error {
	switch a.Kind {
	case KindSMS:
		n, err := e.store.SumSince(ctx, dupKey(e164, a.Body), now.Add(-dupSMSWindow))
		if err != nil {
			return err
		}
		if n > 0 {
			v.confirmHit(RuleDuplicate, fmt.Sprintf("the same message was sent to %s within the last 10 minutes; this looks like a duplicate", e164))
		}
	case KindCall:
		n, err := e.store.SumSince(ctx, evCallTo+e164, now.Add(-dupCallWindow))
		if err != nil {
			return err
		}
		if n > 0 {
			v.confirmHit(RuleDuplicate, fmt.Sprintf("%s was called within the last 2 minutes; this looks like a duplicate call", e164))
		}
	}
	return nil
}

// dupKey is the duplicate-detection event key for an SMS.
func dupKey(e164, body string) string {
	sum := sha256.Sum256([]byte(body))
	return evSMSDup + e164 + ":" + hex.EncodeToString(sum[:16])
}

// isFirstContact reports whether e164 is new: not allowlisted, never
// successfully texted or called from this account (store or History hook),
// and not a contact. A Contacts or History error counts as "not known" (the
// safe side: it asks for confirmation); it is logged.
func (e *Engine) isFirstContact(ctx context.Context, e164 string) (bool, error) {
	if _, ok := e.allow.match(e164); ok {
		return false, nil
	}
	known, _, err := e.store.IsKnown(ctx, e164)
	if err != nil {
		return false, err
	}
	if known {
		return false, nil
	}
	if e.history != nil {
		ok, err := e.history.Contacted(ctx, e164)
		if err != nil {
			e.log.WarnContext(ctx, "policy: history check failed; treating as first contact", "err", e.scrub(err.Error()))
		} else if ok {
			return false, nil
		}
	}
	if e.contacts != nil {
		ok, err := e.contacts.IsContact(ctx, e164)
		if err != nil {
			e.log.WarnContext(ctx, "policy: contact check failed; treating as not a contact", "err", e.scrub(err.Error()))
		} else if ok {
			return false, nil
		}
	}
	return true, nil
}

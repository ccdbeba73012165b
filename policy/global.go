package policy

import (
	"fmt"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// RuleGlobalLimit denies an action that would exceed one of the operator's caps across all
// callers (Config.GlobalLimits): a deny no confirmation overrides.
const RuleGlobalLimit = "global_limit"

// GlobalLimits are the operator's caps across every caller of one deployment (caller-key
// mode: each caller has its own account and its own Limits; these hold over all of them,
// and over every process and replica sharing the state). A zero or negative field is no
// cap; there are no defaults. Every process and replica must have the same GlobalLimits
// (the same policy file): an action is counted toward a global cap only by a policy that
// has that cap set.
type GlobalLimits struct {
	SMSDay           int `json:"sms_day,omitempty"`            // SMS messages per 24 h (each group member counts)
	SMSSegmentsHour  int `json:"sms_segments_hour,omitempty"`  // SMS segments per hour
	CallsHour        int `json:"calls_hour,omitempty"`         // calls placed per hour
	CallsDay         int `json:"calls_day,omitempty"`          // calls placed per 24 h
	NewRecipientsDay int `json:"new_recipients_day,omitempty"` // first contacts (SMS and calls) per 24 h
	NumbersBoughtDay int `json:"numbers_bought_day,omitempty"` // phone numbers bought per 24 h
}

// Global event keys: shared by every account of the store (store.GlobalPrefix). Part of the
// on-disk format: do not rename.
const (
	evGlobalSMS      = store.GlobalPrefix + "sms"
	evGlobalSegments = store.GlobalPrefix + "sms_segments"
	evGlobalCalls    = store.GlobalPrefix + "calls"
	evGlobalNew      = store.GlobalPrefix + "new_recipients"
	evGlobalNumbers  = store.GlobalPrefix + "numbers_bought"
)

// overlay returns g with every non-zero field of o applied.
func (g GlobalLimits) overlay(o GlobalLimits) GlobalLimits {
	setNonZero(&g.SMSDay, o.SMSDay)
	setNonZero(&g.SMSSegmentsHour, o.SMSSegmentsHour)
	setNonZero(&g.CallsHour, o.CallsHour)
	setNonZero(&g.CallsDay, o.CallsDay)
	setNonZero(&g.NewRecipientsDay, o.NewRecipientsDay)
	setNonZero(&g.NumbersBoughtDay, o.NumbersBoughtDay)
	return g
}

// globalCaps lists the operator's caps across all callers that apply to an action of kind
// (segments: an SMS's segment count), and the global new-recipients cap, which applies only
// on first contact. Caps not set are left out.
func (e *Engine) globalCaps(kind Kind, segments int) (caps []*capCheck, newRecipients *capCheck) {
	g := e.cfg.GlobalLimits
	add := func(set int, key string, window time.Duration, weight int, what string) {
		if set > 0 {
			caps = append(caps, &capCheck{key: key, window: window, max: set, add: weight, what: what, rule: RuleGlobalLimit})
		}
	}
	switch kind {
	case KindSMS:
		add(g.SMSDay, evGlobalSMS, 24*time.Hour, 1, "SMS per 24 hours")
		add(g.SMSSegmentsHour, evGlobalSegments, time.Hour, max(1, segments), "SMS segments per hour")
	case KindCall:
		add(g.CallsHour, evGlobalCalls, time.Hour, 1, "calls per hour")
		add(g.CallsDay, evGlobalCalls, 24*time.Hour, 1, "calls per 24 hours")
	case KindBuyNumber:
		add(g.NumbersBoughtDay, evGlobalNumbers, 24*time.Hour, 1, "phone numbers bought per 24 hours")
	}
	if (kind == KindSMS || kind == KindCall) && g.NewRecipientsDay > 0 {
		newRecipients = &capCheck{key: evGlobalNew, window: 24 * time.Hour, max: g.NewRecipientsDay, add: 1, what: "new recipients per 24 hours", rule: RuleGlobalLimit}
	}
	return caps, newRecipients
}

// globalEvents lists the global events a reservation of p counts: one per global cap that
// is set (so the windows the decision reads are the windows reservations write).
func (e *Engine) globalEvents(p *prepared, first bool, at time.Time) []store.Event {
	g := e.cfg.GlobalLimits
	var evs []store.Event
	add := func(set bool, key string, w int) {
		if set {
			evs = append(evs, store.Event{Key: key, At: at, Weight: w})
		}
	}
	switch p.a.Kind {
	case KindSMS:
		add(g.SMSDay > 0, evGlobalSMS, 1)
		add(g.SMSSegmentsHour > 0, evGlobalSegments, max(1, p.info.Segments))
	case KindCall:
		add(g.CallsHour > 0 || g.CallsDay > 0, evGlobalCalls, 1)
	case KindBuyNumber:
		add(g.NumbersBoughtDay > 0, evGlobalNumbers, 1)
	}
	if first && (p.a.Kind == KindSMS || p.a.Kind == KindCall) {
		add(g.NewRecipientsDay > 0, evGlobalNew, 1)
	}
	return evs
}

// globalLimitReason explains a full global cap without naming anyone else: the operator's
// cap, what this action adds, and when it can run again. Other callers' use is not shown.
func globalLimitReason(c *capCheck) string {
	if c.add > c.max {
		return fmt.Sprintf("this action alone (%d) exceeds the operator's cap across all callers of at most %d %s; it cannot run as it is. Make it smaller or ask the operator", c.add, c.max, c.what)
	}
	return fmt.Sprintf("the operator's cap across all callers of this server is reached: at most %d %s; this would add %d. It frees up as earlier actions leave the window, within %s at the latest: try again later, or ask the operator to raise it", c.max, c.what, c.add, windowText(c.window))
}

// windowText renders a cap window for a reason.
func windowText(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

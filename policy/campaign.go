package policy

import (
	"context"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// What a campaign planner and runner ask the policy beyond a decision: when a deferred
// recipient's calling window opens, and how much of the all-recipient SMS segment cap is
// left. The decisions themselves are Evaluate and Reserve, as for any send.

// windowStep is the resolution of NextWindow.
const windowStep = 5 * time.Minute

// windowHorizon bounds NextWindow's search.
const windowHorizon = 72 * time.Hour

// InWindow reports whether t is inside the calling window for n in every one of its known
// time zones (the quiet_hours rule would not deny it).
func (e *Engine) InWindow(n *phone.Number, t time.Time) bool {
	var v verdict
	e.checkQuietHours(&v, n, t)
	return len(v.deny) == 0
}

// NextWindow returns the first time at or after t (to 5 minutes) when the quiet_hours rule
// lets n be reached; ok is false when there is none within three days.
func (e *Engine) NextWindow(n *phone.Number, t time.Time) (time.Time, bool) {
	if e.InWindow(n, t) {
		return t, true
	}
	start := t.Truncate(windowStep).Add(windowStep)
	for at := start; at.Sub(t) <= windowHorizon; at = at.Add(windowStep) {
		if e.InWindow(n, at) {
			return at, true
		}
	}
	return time.Time{}, false
}

// SMSSegmentBudget returns the all-recipient SMS segment cap per hour (max < 0: disabled)
// and how many segments the last hour used, as of now.
func (e *Engine) SMSSegmentBudget(ctx context.Context) (max, used int, err error) {
	max = e.limits.SMSSegmentsHour
	if max < 0 {
		return max, 0, nil
	}
	f, err := e.readFacts(ctx, store.FactQuery{Windows: []store.Window{{Key: evSMSSegments, Since: e.clock.Now().Add(-time.Hour)}}})
	if err != nil {
		return 0, 0, err
	}
	if len(f.Sums) > 0 {
		used = f.Sums[0]
	}
	return max, used, nil
}

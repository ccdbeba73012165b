package policy

import (
	"fmt"
	"sync"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

// unknownZone is what phonenumbers returns when it has no zone data.
const unknownZone = "Etc/Unknown"

// zoneCache caches time.LoadLocation results (including failures) per engine.
type zoneCache struct {
	mu sync.Mutex
	m  map[string]*time.Location // nil value: not loadable
}

func (c *zoneCache) load(name string) *time.Location {
	c.mu.Lock()
	defer c.mu.Unlock()
	if loc, ok := c.m[name]; ok {
		return loc
	}
	if c.m == nil {
		c.m = map[string]*time.Location{}
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == unknownZone {
		loc = nil
	}
	c.m[name] = loc
	return loc
}

// checkQuietHours denies when the recipient's local time is outside the
// window in ANY of the number's zones; when every known zone is inside but
// some zone is unknown (or unloadable), it asks for confirmation under the
// same rule ID. It returns the per-zone status for the preview.
func (e *Engine) checkQuietHours(v *verdict, n *phone.Number, now time.Time) []zoneStatus {
	if kind, ok := placeless(n); ok {
		// A toll-free or non-geographic number has no location: libphonenumber
		// lists every zone of the country (42 for NANP toll-free), which would
		// deny it most of the day. Its local time cannot be known.
		out := []zoneStatus{{zone: unknownZone, unknown: true}}
		if !e.window.off {
			v.confirmHit(RuleQuietHours, fmt.Sprintf("%s is a %s number, so the recipient's local time cannot be known and the %s calling window cannot be checked", n.E164, kind, e.window))
		}
		return out
	}
	zones := n.Timezones
	if len(zones) == 0 {
		zones = []string{unknownZone}
	}
	out := make([]zoneStatus, 0, len(zones))
	var outside []zoneStatus
	unknown := false
	for _, z := range zones {
		loc := e.zones.load(z)
		if loc == nil {
			unknown = true
			out = append(out, zoneStatus{zone: z, unknown: true})
			continue
		}
		local := now.In(loc)
		zs := zoneStatus{zone: z, local: local, inside: e.window.contains(local)}
		if !zs.inside {
			outside = append(outside, zs)
		}
		out = append(out, zs)
	}
	if e.window.off {
		return out
	}
	if len(outside) > 0 {
		z := outside[0]
		more := ""
		if len(outside) > 1 {
			more = fmt.Sprintf(" (and %d more of the number's %d time zones)", len(outside)-1, len(zones))
		}
		v.denyHit(RuleQuietHours, fmt.Sprintf("it is %s in %s for the recipient%s; calls and texts are allowed only %s recipient local time in every time zone of the number. Try again inside that window", z.local.Format("15:04 Mon"), z.zone, more, e.window))
		return out
	}
	if unknown {
		v.confirmHit(RuleQuietHours, fmt.Sprintf("the recipient's local time is unknown, so the %s calling window cannot be checked", e.window))
	}
	return out
}

// placeless reports whether n has no geographic location (toll-free, or a
// non-geographic "001" number), and names the kind for the reason.
func placeless(n *phone.Number) (string, bool) {
	switch {
	case n.Type == "toll_free":
		return "toll-free", true
	case n.Region == "001":
		return "non-geographic (+" + fmt.Sprint(n.CountryCode) + ")", true
	}
	return "", false
}

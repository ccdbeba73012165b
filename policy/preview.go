package policy

import (
	"sort"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
)

// Preview is what the user is asked to approve. The engine renders it from
// normalised values, never from model-written text; caller Details are shown
// with invisible and bidi characters made visible.
type Preview struct {
	To *Destination `json:"to,omitempty"`
	// Recipients are a group message's destinations, every one (To is then nil).
	Recipients []*Destination `json:"recipients,omitempty"`
	// NewRecipients are the group members never contacted before (FirstContact: any).
	NewRecipients []string     `json:"new_recipients,omitempty"`
	Transfer      *Destination `json:"transfer,omitempty"`
	FirstContact  bool         `json:"first_contact"`
	Body          *BodyPreview `json:"body,omitempty"`
	Cost          string       `json:"cost,omitempty"` // from the price table (Prices): numbers, SMS segments, call minutes
	// Spoken are the texts the AI voice will speak or follow, in full, hidden characters made
	// visible: a person approves exactly what the agent is told.
	Spoken  []LabeledText     `json:"spoken,omitempty"`
	Rules   []RuleHit         `json:"rules"`
	Details map[string]string `json:"details,omitempty"`
}

// Destination describes a normalised number.
type Destination struct {
	E164          string      `json:"e164"`
	International string      `json:"international"` // true international format, e.g. "+1 650-253-0000"
	Region        string      `json:"region"`
	IsForeign     bool        `json:"is_international"` // outside the default region's market
	Type          string      `json:"type"`
	LocalTimes    []LocalTime `json:"local_times,omitempty"`
}

// LocalTime is the recipient's current local time in one time zone. Zones
// showing the same time are merged: OtherZones counts the merged ones.
type LocalTime struct {
	Zone         string `json:"zone"`
	Time         string `json:"time"` // "Mon 15:04", or "unknown"
	InsideWindow bool   `json:"inside_window"`
	OtherZones   int    `json:"other_zones,omitempty"`
}

// BodyPreview describes an SMS body exactly as it will be sent.
type BodyPreview struct {
	TextVisible string `json:"text_visible"`
	Encoding    string `json:"encoding"`
	Segments    int    `json:"segments"`
	Characters  int    `json:"characters"`
}

// destination builds the preview of n with its local times.
func (e *Engine) destination(n *phone.Number, times []LocalTime) *Destination {
	if n == nil {
		return nil
	}
	return &Destination{
		E164:          n.E164,
		International: n.International,
		Region:        n.Region,
		IsForeign:     e.isInternational(n.Region),
		Type:          string(n.Type),
		LocalTimes:    times,
	}
}

// bodyPreview renders an SMS body.
func bodyPreview(body string, info text.SMSInfo) *BodyPreview {
	return &BodyPreview{TextVisible: text.Visible(body), Encoding: info.Encoding, Segments: info.Segments, Characters: info.Characters}
}

// newPreview starts the preview of a: its details and spoken texts made visible.
func newPreview(a Action) *Preview {
	p := &Preview{Details: visibleDetails(a.Details)}
	for _, t := range a.Spoken {
		p.Spoken = append(p.Spoken, LabeledText{Label: text.Visible(t.Label), Text: text.Visible(t.Text)})
	}
	return p
}

// visibleDetails copies details with hidden characters made visible.
func visibleDetails(d map[string]string) map[string]string {
	if len(d) == 0 {
		return nil
	}
	out := make(map[string]string, len(d))
	for k, v := range d {
		out[text.Visible(k)] = text.Visible(v)
	}
	return out
}

// zoneStatus is the quiet-hours status of one zone.
type zoneStatus struct {
	zone    string
	local   time.Time
	unknown bool
	inside  bool
}

// localTimes merges zones with the same local time and status, keeping the
// first zone's name, in first-seen order.
func localTimes(zs []zoneStatus) []LocalTime {
	type key struct {
		t      string
		inside bool
	}
	idx := map[key]int{}
	var out []LocalTime
	for _, z := range zs {
		t := "unknown"
		if !z.unknown {
			t = z.local.Format("Mon 15:04")
		}
		k := key{t, z.inside}
		if i, ok := idx[k]; ok {
			out[i].OtherZones++
			continue
		}
		idx[k] = len(out)
		out = append(out, LocalTime{Zone: z.zone, Time: t, InsideWindow: z.inside})
	}
	sort.SliceStable(out, func(i, j int) bool { return !out[i].InsideWindow && out[j].InsideWindow })
	return out
}

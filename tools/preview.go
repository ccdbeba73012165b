package tools

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

// renderPreview turns the engine's preview into the text a person approves. Everything in it
// comes from normalised values and the engine; nothing is the model's own wording except the
// details, which the engine has already made visible (invisible characters shown as ⟨U+…⟩).
func renderPreview(tool string, dec policy.Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Action: %s\n", tool)
	p := dec.Preview
	if p == nil {
		fmt.Fprintf(&b, "Rules: %s\n", ruleList(dec))
		return b.String()
	}
	if p.To != nil {
		writeDestination(&b, "To", p.To)
		if p.FirstContact {
			b.WriteString("  First contact: this number has not been called or texted before and is not a contact.\n")
		}
	}
	for i, r := range p.Recipients {
		writeDestination(&b, fmt.Sprintf("To (group member %d of %d)", i+1, len(p.Recipients)), r)
		if slices.Contains(p.NewRecipients, r.E164) {
			b.WriteString("  First contact: this number has not been called or texted before and is not a contact.\n")
		}
	}
	if p.Transfer != nil {
		writeDestination(&b, "Transfer to", p.Transfer)
	}
	if p.Body != nil {
		fmt.Fprintf(&b, "Message (exactly as sent, %s, %d characters, %d segment(s)):\n  %s\n",
			p.Body.Encoding, p.Body.Characters, p.Body.Segments, strings.ReplaceAll(p.Body.TextVisible, "\n", "\n  "))
	}
	for _, sp := range p.Spoken {
		fmt.Fprintf(&b, "%s (exactly as the agent gets it):\n  %s\n", upperFirst(sp.Label), strings.ReplaceAll(sp.Text, "\n", "\n  "))
	}
	if len(p.Details) > 0 {
		keys := make([]string, 0, len(p.Details))
		for k := range p.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %s\n", strings.ReplaceAll(k, "_", " "), p.Details[k])
		}
	}
	if p.Cost != "" {
		fmt.Fprintf(&b, "Cost: %s\n", p.Cost)
	}
	var rules []string
	for _, r := range p.Rules {
		rules = append(rules, fmt.Sprintf("[%s] %s", r.ID, r.Reason))
	}
	if len(rules) > 0 {
		fmt.Fprintf(&b, "Why confirmation is needed: %s\n", strings.Join(rules, "; "))
	}
	return b.String()
}

func writeDestination(b *strings.Builder, label string, d *policy.Destination) {
	fmt.Fprintf(b, "%s: %s (%s), region %s, %s", label, d.International, d.E164, d.Region, strings.ReplaceAll(d.Type, "_", " "))
	if d.IsForeign {
		b.WriteString(", international")
	}
	b.WriteString("\n")
	for _, lt := range d.LocalTimes {
		inside := "inside calling hours"
		if !lt.InsideWindow {
			inside = "OUTSIDE calling hours"
		}
		more := ""
		if lt.OtherZones > 0 {
			more = fmt.Sprintf(" (+%d zones with the same time)", lt.OtherZones)
		}
		fmt.Fprintf(b, "  Local time: %s %s%s, %s\n", lt.Time, lt.Zone, more, inside)
	}
}

// previewOneLine is the preview squeezed into an SMS to the operator.
func previewOneLine(dec policy.Decision) string {
	p := dec.Preview
	if p == nil {
		return ""
	}
	var parts []string
	if p.To != nil {
		parts = append(parts, "to "+p.To.E164)
	}
	for _, r := range p.Recipients {
		parts = append(parts, "to "+r.E164)
	}
	if p.Body != nil {
		parts = append(parts, fmt.Sprintf("%q", truncate(p.Body.TextVisible, 60)))
	}
	if p.Cost != "" {
		parts = append(parts, p.Cost)
	}
	return strings.Join(parts, " ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

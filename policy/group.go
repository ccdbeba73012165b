package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// MaxGroupRecipients is the most recipients one group message may list.
const MaxGroupRecipients = 8

// A group message (Action.Recipients) is decided as its members: each member is prepared as
// a one-recipient SMS (number rules, operator phone, opt-out, quiet hours, own number, first
// contact, per-recipient caps, duplicate), and the group takes every member's hits, each
// naming its recipient: one member's deny denies the whole group, and the confirm hits of
// all members are asked at once. Caps over all recipients count every member: the segment
// cap adds the segments once per member, the new-recipients cap once per new member. The
// reservation counts each member's events, so every member's caps hold across processes.

// prepareGroup prepares a group message: the content once, then each member.
func (e *Engine) prepareGroup(a Action) (*prepared, error) {
	if a.Kind != KindSMS {
		return nil, fmt.Errorf("recipients (a group) are for text messages only, not %s", a.Kind)
	}
	if a.To != "" {
		return nil, fmt.Errorf("give either one recipient (To) or a group (Recipients), not both")
	}
	if len(a.Recipients) < 2 || len(a.Recipients) > MaxGroupRecipients {
		return nil, fmt.Errorf("a group message needs 2 to %d recipients, not %d", MaxGroupRecipients, len(a.Recipients))
	}
	p := &prepared{a: a, channel: store.ChannelSMS, info: text.SMS(a.Body)}
	e.checkContent(&p.static, a)
	if p.info.Segments > smsMaxSegments {
		p.static.denyHit(RuleSMSTooLong, fmt.Sprintf("the message is %d SMS segments (%d %s characters); the maximum is %d. Shorten it", p.info.Segments, p.info.Characters, p.info.Encoding, smsMaxSegments))
	}
	seen := map[string]bool{}
	for _, raw := range a.Recipients {
		ma := a
		ma.To, ma.Recipients = raw, nil
		m := &prepared{a: ma, channel: store.ChannelSMS, info: p.info}
		m.n = e.normalize(&m.static, raw, "recipient "+raw+": ")
		if m.n != nil {
			if seen[m.n.E164] {
				m.static.denyHit(RuleInvalidNumber, fmt.Sprintf("recipient %s is listed twice; list each member once", m.n.E164))
			}
			seen[m.n.E164] = true
			if e.operator != "" && m.n.E164 == e.operator {
				m.static.denyHit(RuleOperatorPhone, fmt.Sprintf("recipient %s is the operator's phone (AGENTPHONE_OPERATOR_PHONE): it receives only the server's own confirmation texts, so the model may not text it", m.n.E164))
			}
		}
		p.group = append(p.group, m)
	}
	return p, nil
}

// groupChecks are each member's checks; the caps over all recipients are counted once for
// the group with every member's weight (segments once per member; new recipients in
// groupRules, once per new member).
func (e *Engine) groupChecks(p *prepared, now time.Time) checks {
	var c checks
	for _, m := range p.group {
		mc := e.checksFor(m, now)
		if c.newCap == nil {
			c.newCap = mc.newCap
		}
		if c.globalNew == nil {
			c.globalNew = mc.globalNew
		}
		mc.newCap, mc.globalNew = nil, nil
		kept := mc.caps[:0:0]
		for _, x := range mc.caps {
			// Caps over all recipients (and the operator's global caps) are kept once, with
			// every member's weight.
			if x.key == evSMSSegments || x.rule == RuleGlobalLimit {
				if len(c.group) > 0 {
					continue
				}
				x.add *= len(p.group)
			}
			kept = append(kept, x)
		}
		mc.caps = kept
		c.group = append(c.group, mc)
	}
	return c
}

// groupRules decides a group message from its members' decisions.
func (e *Engine) groupRules(p *prepared, c checks, f store.Facts, now time.Time) Decision {
	v := p.static.clone()
	pv := newPreview(p.a)
	pv.Body = bodyPreview(p.a.Body, p.info)
	if cost := e.cost(p.a, p.info); cost != "" {
		pv.Cost = fmt.Sprintf("%s per recipient, %d recipients", cost, len(p.group))
	}
	add := func(list *[]RuleHit, h RuleHit, m *prepared) {
		if who := memberName(m); !strings.Contains(h.Reason, who) {
			h.Reason = "recipient " + who + ": " + h.Reason
		}
		if !slices.ContainsFunc(*list, func(x RuleHit) bool { return x.ID == h.ID && x.Reason == h.Reason }) {
			*list = append(*list, h)
		}
	}
	for i, m := range p.group {
		d := e.outboundRules(m, c.group[i], f, now)
		if d.Preview != nil && d.Preview.To != nil {
			pv.Recipients = append(pv.Recipients, d.Preview.To)
			if d.Preview.FirstContact {
				pv.FirstContact = true
				pv.NewRecipients = append(pv.NewRecipients, m.n.E164)
			}
		}
		for _, h := range d.Rules {
			if h.Outcome == Deny {
				add(&v.deny, h, m)
			} else {
				add(&v.confirm, h, m)
			}
		}
	}
	if n := len(pv.NewRecipients); n > 0 {
		for _, x := range []*capCheck{c.newCap, c.globalNew} {
			if x != nil {
				nc := *x
				nc.add = n
				checkLimits(&v, []*capCheck{&nc})
			}
		}
	}
	return v.decision(nil, pv)
}

// memberName is how a reason names a group member: its E.164 form, or what was given.
func memberName(m *prepared) string {
	if m.n != nil {
		return m.n.E164
	}
	return m.a.To
}

// groupEntry fills the ledger entry of a group message: every member is a recipient, and
// each counts its own events.
func (e *Engine) groupEntry(en *store.Entry, p *prepared, d Decision, now time.Time) {
	for _, m := range p.group {
		if m.n == nil {
			continue
		}
		en.Recipients = append(en.Recipients, m.n.E164)
		en.MarkKnown = append(en.MarkKnown, m.n.E164)
		first := d.Preview != nil && slices.Contains(d.Preview.NewRecipients, m.n.E164)
		en.Events = append(en.Events, e.eventsFor(m, first, now)...)
	}
}

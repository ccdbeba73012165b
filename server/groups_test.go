package server

import (
	"strings"
	"testing"
)

// TestGroupMessagesOverProtocol: send_sms with recipients starts an iMessage group. Every
// member passes every rule: one opted-out member refuses the whole group (naming the member
// and the rule) and nothing reaches the sandbox; each member's own cap counts the group
// message; a valid group goes out once, as one grp_ conversation, after a preview that
// lists every member.
func TestGroupMessagesOverProtocol(t *testing.T) {
	file := writePolicyFile(t, `{"limits": {"sms_per_recipient_hour": 2}}`)
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.PolicyFile = file })
			c := h.connect(tr)
			agentID, numberID, phone := h.setupAgentWithNumber(c)
			// iMessage users in the sandbox (last seven digits start with 555013).
			const a, b, x = "+14155550131", "+14155550132", "+14155550133"
			group := func(body string, to ...string) map[string]any {
				return map[string]any{"agent_id": agentID, "recipients": to, "body": body}
			}

			// A valid group: the preview lists every member, and one confirmation sends it once.
			args := group("Dinner at 8?", a, b)
			r := h.call(c, "send_sms", args)
			tok := mustConfirm(t, r, "group preview", "first_contact", "first_contact") // one per member
			for _, n := range []string{a, b} {
				if !strings.Contains(r.text, n) {
					t.Fatalf("the preview does not list %s: %s", n, r.text)
				}
			}
			before := h.effects()
			r = h.mustOK(h.call(c, "send_sms", with(args, "confirmation_token", tok)), "the group, confirmed")
			if !strings.HasPrefix(r.str("to_number"), "grp_") {
				t.Fatalf("the group message did not go to a grp_ id: %v", r.data)
			}
			if got := h.effects(); got.messages != before.messages+1 {
				t.Fatalf("messages %d -> %d, want one group message", before.messages, got.messages)
			}

			// Caps per member: a (now at 1 of 2 per hour) gets a text of its own; then a group
			// with a is over a's cap, named, and nothing is sent.
			h.mustOK(h.call(c, "send_sms", sms(agentID, a, "See you there.")), "a text to a")
			before = h.effects()
			r = h.call(c, "send_sms", group("Running late", b, a))
			mustDeny(t, r, "rate_limit", "a group over one member's cap")
			if !strings.Contains(r.text, a) {
				t.Fatalf("the cap deny does not name the member: %s", r.text)
			}
			// b's own count holds the group message too: one more text to b is allowed (2 of 2).
			h.mustOK(h.call(c, "send_sms", sms(agentID, b, "Table 4.")), "a text to b")
			mustDeny(t, h.call(c, "send_sms", sms(agentID, b, "Table 5.")), "rate_limit", "b's third text in an hour")

			// One member opted out: the whole group is refused, naming the member and rule.
			if _, err := h.sb.InjectInboundSMS(x, phone, "STOP"); err != nil {
				t.Fatal(err)
			}
			h.mustOK(h.call(c, "list_messages", map[string]any{"number_id": numberID}), "list_messages")
			before = h.effects()
			r = h.call(c, "send_sms", group("Party on Friday!", x, "+14155550134"))
			mustDeny(t, r, "opted_out", "a group with an opted-out member")
			if !strings.Contains(r.text, x) {
				t.Fatalf("the deny does not name the member: %s", r.text)
			}
			if got := h.effects(); got != before {
				t.Fatalf("a refused group reached the sandbox: %+v -> %+v", before, got)
			}

			// Bad shapes are refused before the policy: both forms, or a group of one.
			for _, bad := range []map[string]any{
				with(group("hi", a, b), "to_number", a),
				group("hi", a),
				group("hi", a, b, x, "+14155550134", "+14155550135", "+14155550136", "+14155550137", "+14155550138", "+14155550139"),
			} {
				if r := h.call(c, "send_sms", bad); !r.isError {
					t.Fatalf("bad group accepted: %v -> %s", bad, r.text)
				}
			}
		})
	}
}

package sandbox

import (
	"strings"
	"testing"
	"time"
)

func TestIMessageChannelsStylesAndReplies(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		agentID := h.agent(nil)
		numID, _ := h.number(agentID)

		// Capabilities follow the simulated world: 555013x numbers use iMessage.
		cp := h.must(200, "GET", "/v1/contacts/capabilities?phone_number=%2B14155550135", nil)
		wantKeys(t, "capabilities", cp, "phoneNumber", "capabilities", "checkedAt")
		if c := cp["capabilities"].(map[string]any); c["imessage"] != true || c["sms"] != true {
			t.Errorf("iMessage user capabilities: %v", cp)
		}
		if c := h.must(200, "GET", "/v1/contacts/capabilities?phone_number=%2B12125550101", nil)["capabilities"].(map[string]any); c["imessage"] != false || c["sms"] != true {
			t.Errorf("SMS-only capabilities: %v", c)
		}
		h.sb.SetIMessage("+12125550101", true)
		if c := h.must(200, "GET", "/v1/contacts/capabilities?phone_number=%2B12125550101", nil)["capabilities"].(map[string]any); c["imessage"] != true {
			t.Errorf("SetIMessage override ignored: %v", c)
		}
		h.sb.SetIMessage("+12125550101", false)

		im := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+14155550135", "body": "Hi there", "send_style": "fireworks"})
		if im["channel"] != "imessage" || im["reply_parent_unresolved"] != nil || im["reply_to_message_id"] != nil {
			t.Errorf("iMessage send: %v", im)
		}
		sms := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+12125550101", "body": "Hi", "send_style": "slam"})
		if sms["channel"] != "sms" {
			t.Errorf("SMS-only recipient: %v", sms)
		}
		// A threaded reply under a message of the same iMessage conversation resolves; one on
		// SMS, or under a message of another conversation, is sent plain and says so.
		reply := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+14155550135", "body": "Following up", "reply_to_message_id": im["id"]})
		if reply["reply_to_message_id"] != im["id"] || reply["reply_parent_unresolved"] != false {
			t.Errorf("threaded reply: %v", reply)
		}
		for name, body := range map[string]map[string]any{
			"on SMS":             {"agent_id": agentID, "to_number": "+12125550101", "body": "x", "reply_to_message_id": sms["id"]},
			"other conversation": {"agent_id": agentID, "to_number": "+14155550136", "body": "x", "reply_to_message_id": im["id"]},
			"unknown parent":     {"agent_id": agentID, "to_number": "+14155550135", "body": "x", "reply_to_message_id": "msg_missing"},
		} {
			if r := h.must(200, "POST", "/v1/messages", body); r["reply_parent_unresolved"] != true {
				t.Errorf("reply %s: %v", name, r)
			}
		}
		conv := h.must(200, "GET", "/v1/conversations/"+reply["conversation_id"].(string), nil)
		var replyTo any
		for _, m := range conv["messages"].([]any) {
			if mm := m.(map[string]any); mm["id"] == reply["id"] {
				replyTo = mm["replyTo"]
			}
		}
		if rt, _ := replyTo.(map[string]any); rt == nil || rt["messageId"] != im["id"] || rt["message"] != "Hi there" {
			t.Errorf("conversation shows replyTo %v", replyTo)
		}
		// Emails are iMessage users; a carousel takes no body.
		if e := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "dana@example.com", "body": "Hello"}); e["channel"] != "imessage" || e["to_number"] != "dana@example.com" {
			t.Errorf("email: %v", e)
		}
		media := []string{"https://example.com/a.jpg", "https://example.com/b.jpg"}
		if r := h.do("POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+14155550135", "body": "x", "media_urls": media}); r.status != 422 {
			t.Errorf("carousel with body: %d %s", r.status, r.raw)
		}
		if c := h.must(200, "POST", "/v1/messages", map[string]any{"number_id": numID, "to_number": "+14155550135", "body": "", "media_urls": media}); c["channel"] != "imessage" {
			t.Errorf("carousel: %v", c)
		}
		if r := h.do("POST", "/v1/messages/"+im["id"].(string)+"/reactions", map[string]any{"reaction": "love"}); r.status != 200 {
			t.Errorf("reaction on our iMessage: %d %s", r.status, r.raw)
		}
	})
}

func TestIMessageGroups(t *testing.T) {
	hk := newHook(t, nil)
	eachMode(t, Options{AutoReply: true, ReplyDelay: 2 * time.Second}, func(t *testing.T, h *harness) {
		agentID := h.agent(nil)
		numID, phone := h.number(agentID)
		h.must(200, "POST", "/v1/webhooks", map[string]any{"url": hk.srv.URL + "/" + t.Name()})
		g := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "recipients": []string{"+14155550131", "(415) 555-0132", "sam@example.com"},
			"body": "Dinner at 7?", "send_style": "balloons"})
		grp, _ := g["to_number"].(string)
		if !strings.HasPrefix(grp, "grp_") || g["channel"] != "imessage" || g["from_number"] != phone {
			t.Fatalf("group start: %v", g)
		}
		convID := g["conversation_id"].(string)
		c := h.must(200, "GET", "/v1/conversations/"+convID, nil)
		parts := c["participants"].([]any)
		if c["isGroup"] != true || c["groupId"] != grp || c["participant"] != grp || len(parts) != 3 ||
			parts[1].(map[string]any)["identifier"] != "+14155550132" {
			t.Errorf("group conversation: %v", c)
		}
		// Follow-ups go to the group id; the group can be renamed.
		f := h.must(200, "POST", "/v1/messages", map[string]any{"number_id": numID, "to_number": grp, "body": "Or 8?"})
		if f["conversation_id"] != convID || f["to_number"] != grp {
			t.Errorf("group follow-up: %v", f)
		}
		if up := h.must(200, "PATCH", "/v1/conversations/"+convID, map[string]any{"group_name": "Dinner"}); up["groupName"] != "Dinner" {
			t.Errorf("rename: %v", up)
		}
		// The first member answers in the group; the webhook event carries the group.
		h.advance(2 * time.Second)
		c = h.must(200, "GET", "/v1/conversations/"+convID, nil)
		last := c["messages"].([]any)[0].(map[string]any)
		if last["direction"] != "inbound" || last["senderIdentifier"] != "+14155550131" || last["channel"] != "imessage" {
			t.Errorf("group reply: %v", last)
		}
		var sawGroup bool
		for _, ev := range hk.events(t) {
			d, _ := ev["data"].(map[string]any)
			if gr, _ := d["group"].(map[string]any); gr != nil && gr["groupId"] == grp && gr["groupName"] == "Dinner" {
				sawGroup = d["senderIdentifier"] == "+14155550131" && len(gr["participants"].([]any)) == 3
			}
		}
		if !sawGroup {
			t.Errorf("no agent.message with the group and its sender among %d deliveries", len(hk.events(t)))
		}
		// A group id of another number, and unknown groups, are 404.
		_, other := h.number(agentID)
		if r := h.do("POST", "/v1/messages", map[string]any{"from_number": other, "to_number": grp, "body": "x"}); r.status != 404 {
			t.Errorf("group on another number: %d", r.status)
		}
		if r := h.do("POST", "/v1/messages", map[string]any{"agent_id": agentID, "recipients": []string{"+14155550131", phone}, "body": "x"}); r.status != 422 {
			t.Errorf("own number in a group: %d %s", r.status, r.raw)
		}
	})
}

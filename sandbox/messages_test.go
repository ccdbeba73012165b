package sandbox

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSendMessage(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		agentID := h.agent(nil)
		numID, phone := h.number(agentID)
		m := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "(212) 555-0101",
			"body": "Your table is ready", "send_style": "confetti"})
		wantKeys(t, "send response", m, "id", "status", "channel", "from_number", "to_number", "conversation_id",
			"media_urls", "reply_to_message_id", "reply_parent_unresolved")
		if !strings.HasPrefix(m["id"].(string), "msg_") || m["status"] != "sent" || m["channel"] != "sms" ||
			m["from_number"] != phone || m["to_number"] != "+12125550101" {
			t.Fatalf("send: %v", m)
		}
		conv := m["conversation_id"].(string)
		// The same pair reuses the conversation, whichever sender field names the number.
		m2 := h.must(200, "POST", "/v1/messages", map[string]any{"number_id": numID, "to_number": "+12125550101",
			"body": "See you", "media_urls": []string{"https://example.com/a.jpg"}, "reply_to_message_id": m["id"]})
		m3 := h.must(200, "POST", "/v1/messages", map[string]any{"from_number": phone, "to_number": "+12125550101", "body": "Bye"})
		if m2["conversation_id"] != conv || m3["conversation_id"] != conv || m2["channel"] != "mms" ||
			m2["reply_parent_unresolved"] != true || len(m2["media_urls"].([]any)) != 1 {
			t.Errorf("reuse: %v / %v", m2, m3)
		}
		other := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+12125550102", "body": "Hi"})
		if other["conversation_id"] == conv {
			t.Errorf("a new participant reused the conversation")
		}

		errs := []struct {
			name   string
			body   map[string]any
			status int
		}{
			{"camelCase is ignored", map[string]any{"agentId": agentID, "toNumber": "+12125550101", "body": "x"}, 422},
			{"missing body", map[string]any{"agent_id": agentID, "to_number": "+12125550101"}, 422},
			{"empty body without media", map[string]any{"agent_id": agentID, "to_number": "+12125550101", "body": ""}, 422},
			{"both to and recipients", map[string]any{"agent_id": agentID, "to_number": "+12125550101", "recipients": []string{"+1", "+2"}, "body": "x"}, 422},
			{"bad send_style", map[string]any{"agent_id": agentID, "to_number": "+12125550101", "body": "x", "send_style": "glitter"}, 422},
			{"http media", map[string]any{"agent_id": agentID, "to_number": "+12125550101", "body": "x", "media_urls": []string{"http://x/a.jpg"}}, 422},
			{"bad recipient", map[string]any{"agent_id": agentID, "to_number": "hello", "body": "x"}, 422},
			{"group with SMS-only members", map[string]any{"agent_id": agentID, "recipients": []string{"+12125550101", "+12125550102"}, "body": "x"}, 400},
			{"group of one", map[string]any{"agent_id": agentID, "recipients": []string{"+14155550131"}, "body": "x"}, 422},
			{"group member twice", map[string]any{"agent_id": agentID, "recipients": []string{"+14155550131", "(415) 555-0131"}, "body": "x"}, 422},
			{"unknown group", map[string]any{"agent_id": agentID, "to_number": "grp_x", "body": "x"}, 404},
			{"foreign from_number", map[string]any{"from_number": "+12125550199", "to_number": "+12125550101", "body": "x"}, 404},
			{"unknown agent", map[string]any{"agent_id": "agt_missing", "to_number": "+12125550101", "body": "x"}, 404},
		}
		for _, c := range errs {
			if r := h.do("POST", "/v1/messages", c.body); r.status != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.raw)
			}
		}

		nm := h.must(200, "GET", "/v1/numbers/"+numID+"/messages?limit=2", nil)
		wantKeys(t, "number messages", nm, "data", "hasMore")
		items := nm["data"].([]any)
		first := items[0].(map[string]any)
		wantKeys(t, "number message", first, "id", "from", "from_", "to", "body", "direction", "channel", "receivedAt")
		if nm["hasMore"] != true || len(items) != 2 || first["body"] != "Hi" || first["from"] != phone || first["from_"] != phone {
			t.Errorf("number messages newest first: %v", nm)
		}

		cs := h.must(200, "GET", "/v1/conversations", nil)
		if cs["total"] != 2.0 {
			t.Fatalf("conversations: %v", cs)
		}
		top := cs["data"].([]any)[0].(map[string]any)
		wantKeys(t, "conversation summary", top, "id", "agentId", "phoneNumberId", "phoneNumber", "participant", "isGroup",
			"groupId", "groupName", "groupIconUrl", "participants", "lastMessageAt", "lastMessagePreview", "messageCount",
			"metadata", "createdAt")
		if top["participant"] != "+12125550102" || top["lastMessagePreview"] != "Hi" {
			t.Errorf("newest conversation first: %v", top)
		}
		d := h.must(200, "GET", "/v1/conversations/"+conv+"?message_limit=2", nil)
		msgs := d["messages"].([]any)
		if _, has := d["lastMessagePreview"]; has || d["messageCount"] != 3.0 || len(msgs) != 2 {
			t.Errorf("detail: %v", d)
		}
		cm := msgs[0].(map[string]any)
		wantKeys(t, "conversation message", cm, "id", "body", "fromNumber", "toNumber", "direction", "senderIdentifier",
			"channel", "mediaUrl", "mediaUrls", "receivedAt", "reactions", "replyTo")
		if r := h.do("GET", "/v1/conversations/"+conv+"?messageLimit=1", nil); len(r.obj(t)["messages"].([]any)) != 3 {
			t.Errorf("camelCase messageLimit should be ignored")
		}
		if l := h.must(200, "GET", "/v1/agents/"+agentID+"/conversations", nil); l["total"] != 2.0 {
			t.Errorf("agent conversations: %v", l)
		}

		up := h.must(200, "PATCH", "/v1/conversations/"+conv, map[string]any{"metadata": map[string]any{"orderId": "A1"}})
		if up["metadata"].(map[string]any)["orderId"] != "A1" {
			t.Errorf("metadata: %v", up["metadata"])
		}
		if up = h.must(200, "PATCH", "/v1/conversations/"+conv, map[string]any{"metadata": nil}); up["metadata"] != nil {
			t.Errorf("metadata not cleared: %v", up["metadata"])
		}
		if r := h.do("PATCH", "/v1/conversations/"+conv, map[string]any{"group_name": "Team"}); r.status != 400 {
			t.Errorf("group_name on SMS: %d", r.status)
		}
		for _, p := range []string{"/typing", "/background"} {
			if r := h.do("POST", "/v1/conversations/"+conv+p, map[string]any{"image_url": "https://example.com/bg.png"}); r.status != 400 {
				t.Errorf("%s on SMS: %d", p, r.status)
			}
		}
		if r := h.do("POST", "/v1/messages/"+m["id"].(string)+"/reactions", map[string]any{"reaction": "love"}); r.status != 400 {
			t.Errorf("reaction on SMS: %d %s", r.status, r.raw)
		}
		if r := h.do("GET", "/v1/conversations/conv_missing", nil); r.status != 404 {
			t.Errorf("missing conversation: %d", r.status)
		}
	})
}

func TestMessageTimeCursor(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		agentID := h.agent(nil)
		h.number(agentID)
		var conv string
		var stamps []time.Time
		for i := 0; i < 4; i++ {
			m := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+12125550101",
				"body": []string{"one", "two", "three", "four"}[i]})
			conv = m["conversation_id"].(string)
			stamps = append(stamps, h.clk.Now())
			h.advance(time.Minute)
		}
		cases := []struct {
			name  string
			query string
			want  string
			more  bool
		}{
			{"all newest first", "", "four,three,two,one", false},
			{"limit", "limit=2", "four,three", true},
			{"before", "before=" + url.QueryEscape(ts(stamps[2])), "two,one", false},
			{"after", "after=" + url.QueryEscape(ts(stamps[1])), "four,three", false},
			{"window", "after=" + url.QueryEscape(ts(stamps[0])) + "&before=" + url.QueryEscape(ts(stamps[3])), "three,two", false},
		}
		for _, c := range cases {
			r := h.must(200, "GET", "/v1/conversations/"+conv+"/messages?"+c.query, nil)
			var bodies []string
			for _, m := range r["data"].([]any) {
				bodies = append(bodies, m.(map[string]any)["body"].(string))
			}
			if strings.Join(bodies, ",") != c.want || r["hasMore"] != c.more {
				t.Errorf("%s: got %v hasMore %v, want %s %v", c.name, bodies, r["hasMore"], c.want, c.more)
			}
		}
		if r := h.do("GET", "/v1/conversations/"+conv+"/messages?before=yesterday", nil); r.status != 422 {
			t.Errorf("bad cursor: %d", r.status)
		}
	})
}

func TestAutoReply(t *testing.T) {
	eachMode(t, Options{AutoReply: true, ReplyDelay: 3 * time.Second}, func(t *testing.T, h *harness) {
		agentID := h.agent(nil)
		h.number(agentID)
		m := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+12125550101",
			"body": "Your order 1234 ships tomorrow morning by courier"})
		conv := m["conversation_id"].(string)
		h.advance(2 * time.Second)
		if d := h.must(200, "GET", "/v1/conversations/"+conv, nil); d["messageCount"] != 1.0 {
			t.Fatalf("reply came early: %v", d["messageCount"])
		}
		h.advance(time.Second)
		d := h.must(200, "GET", "/v1/conversations/"+conv, nil)
		msgs := d["messages"].([]any)
		if d["messageCount"] != 2.0 {
			t.Fatalf("no reply after the delay: %v", d)
		}
		reply := msgs[0].(map[string]any)
		if reply["direction"] != "inbound" || reply["fromNumber"] != "+12125550101" ||
			reply["body"] != "Thanks, got your message about \"Your order 1234 ships tomorrow morning …\". I'll get back to you soon." {
			t.Errorf("reply: %v", reply)
		}
		h.steps(3, 3*time.Second)
		if d := h.must(200, "GET", "/v1/conversations/"+conv, nil); d["messageCount"] != 2.0 {
			t.Errorf("the reply was answered again: %v", d["messageCount"])
		}
	})
	t.Run("off by default", func(t *testing.T) {
		h := newHarness(t, modes[1], Options{})
		agentID := h.agent(nil)
		h.number(agentID)
		m := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+12125550101", "body": "x"})
		h.advance(time.Minute)
		if d := h.must(200, "GET", "/v1/conversations/"+m["conversation_id"].(string), nil); d["messageCount"] != 1.0 {
			t.Errorf("auto-reply without AutoReply: %v", d["messageCount"])
		}
	})
}

func TestInboundMessages(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		agentID := h.agent(nil)
		numID, phone := h.number(agentID)
		id, err := h.sb.InjectInboundSMS("(212) 555-0101", phone, "Is my order ready?")
		if err != nil || !strings.HasPrefix(id, "msg_") {
			t.Fatalf("inject: %q %v", id, err)
		}
		r := h.must(200, "POST", "/sandbox/inbound/sms", map[string]any{"from": "+12125550101", "to": phone, "body": "Hello?"})
		if r["conversationId"] == nil {
			t.Fatalf("http inject: %v", r)
		}
		if r := h.do("POST", "/sandbox/inbound/sms", map[string]any{"from": "+12125550101", "to": "+19995550100", "body": "x"}); r.status != 404 {
			t.Errorf("unknown to: %d", r.status)
		}
		if r := h.do("POST", "/sandbox/inbound/sms", map[string]any{"from": "+12125550101", "to": phone}); r.status != 422 {
			t.Errorf("missing body: %d", r.status)
		}
		if _, err := h.sb.InjectInboundSMS("+12125550101", "+19995550100", "x"); err == nil {
			t.Error("inject to a foreign number succeeded")
		}
		nm := h.must(200, "GET", "/v1/numbers/"+numID+"/messages", nil)["data"].([]any)
		if len(nm) != 2 || nm[0].(map[string]any)["direction"] != "inbound" || nm[1].(map[string]any)["id"] != id {
			t.Errorf("inbound messages: %v", nm)
		}

		// iMessage traffic enables reactions, typing and backgrounds.
		imID, err := h.sb.InjectInboundMessage(InboundMessage{From: "+12125550105", To: phone, Body: "hey", Channel: "imessage"})
		if err != nil {
			t.Fatal(err)
		}
		rx := h.must(200, "POST", "/v1/messages/"+imID+"/reactions", map[string]any{"reaction": "love"})
		wantKeys(t, "reaction", rx, "id", "reaction_type", "message_id", "channel")
		if !strings.HasPrefix(rx["id"].(string), "rxn_") || rx["reaction_type"] != "love" || rx["message_id"] != imID {
			t.Errorf("reaction: %v", rx)
		}
		if r := h.do("POST", "/v1/messages/"+imID+"/reactions", map[string]any{"reaction": "🔥"}); r.status != 400 {
			t.Errorf("custom emoji: %d", r.status)
		}
		if r := h.do("POST", "/v1/messages/msg_missing/reactions", map[string]any{"reaction": "love"}); r.status != 404 {
			t.Errorf("missing message: %d", r.status)
		}
		var imConv string
		for _, c := range h.must(200, "GET", "/v1/conversations", nil)["data"].([]any) {
			if c.(map[string]any)["participant"] == "+12125550105" {
				imConv = c.(map[string]any)["id"].(string)
			}
		}
		typing := h.must(200, "POST", "/v1/conversations/"+imConv+"/typing", nil)
		wantKeys(t, "typing", typing, "conversationId", "channel", "status")
		bg := h.must(200, "POST", "/v1/conversations/"+imConv+"/background", map[string]any{"image_url": "https://example.com/bg.png"})
		wantKeys(t, "background", bg, "conversationId", "channel", "hasBackground", "backgroundId", "backgroundVersion", "changed")
		if bg["changed"] != true {
			t.Errorf("first background: %v", bg)
		}
		if bg = h.must(200, "POST", "/v1/conversations/"+imConv+"/background", map[string]any{"image_url": "https://example.com/bg.png"}); bg["changed"] != false {
			t.Errorf("idempotent background: %v", bg)
		}
		if r := h.do("DELETE", "/v1/conversations/"+imConv+"/background", nil); r.status != 204 {
			t.Errorf("delete background: %d", r.status)
		}
		d := h.must(200, "GET", "/v1/conversations/"+imConv, nil)
		reactions := d["messages"].([]any)[0].(map[string]any)["reactions"].([]any)
		if len(reactions) != 1 {
			t.Errorf("reaction not stored: %v", d)
		} else {
			wantKeys(t, "stored reaction", reactions[0].(map[string]any), "id", "reactionType", "fromNumber", "direction", "createdAt")
		}
	})
}

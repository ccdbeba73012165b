package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verifySignature checks a delivery the way a receiver must (independent of sign()).
func verifySignature(t *testing.T, secret string, r hookReq, now time.Time) {
	t.Helper()
	stamp := r.header.Get("X-Webhook-Timestamp")
	sec, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil || sec != now.Unix() {
		t.Errorf("timestamp %q, want %d", stamp, now.Unix())
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stamp + "." + string(r.body)))
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if got := r.header.Get("X-Webhook-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("signature %q, want %q", got, want)
	}
	if !strings.HasPrefix(r.header.Get("X-Webhook-ID"), "dlv_") {
		t.Errorf("X-Webhook-ID %q", r.header.Get("X-Webhook-ID"))
	}
}

func TestWebhookConfig(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		if r := h.do("GET", "/v1/webhooks", nil); r.status != 200 || string(r.raw) != "null" {
			t.Fatalf("no webhook: %d %s", r.status, r.raw)
		}
		w1 := h.must(200, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/hook"})
		wantKeys(t, "webhook", w1, "id", "url", "secret", "status", "contextLimit", "timeout", "createdAt")
		if !strings.HasPrefix(w1["id"].(string), "wh_") || !strings.HasPrefix(w1["secret"].(string), "whsec_") ||
			w1["contextLimit"] != 10.0 || w1["timeout"] != 30.0 || w1["status"] != "active" {
			t.Errorf("webhook: %v", w1)
		}
		w2 := h.must(200, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/hook2", "contextLimit": 0, "timeout": 5})
		if w2["id"] != w1["id"] || w2["secret"] == w1["secret"] || w2["contextLimit"] != 0.0 || w2["timeout"] != 5.0 {
			t.Errorf("replace did not rotate the secret or keep the id: %v / %v", w1, w2)
		}
		for _, body := range []map[string]any{
			{}, {"url": "not a url"}, {"url": "https://x.test", "contextLimit": 51}, {"url": "https://x.test", "timeout": 500},
			{"url": "https://x.test", "context_limit": 5, "contextLimit": -1},
		} {
			if r := h.do("POST", "/v1/webhooks", body); r.status != 422 {
				t.Errorf("%v: status %d", body, r.status)
			}
		}
		agentID := h.agent(nil)
		if r := h.do("GET", "/v1/agents/"+agentID+"/webhook", nil); string(r.raw) != "null" {
			t.Errorf("agent webhook before set: %s", r.raw)
		}
		aw := h.must(200, "POST", "/v1/agents/"+agentID+"/webhook", map[string]any{"url": "https://example.com/agent"})
		if aw["id"] == w1["id"] || h.must(200, "GET", "/v1/agents/"+agentID+"/webhook", nil)["url"] != "https://example.com/agent" {
			t.Errorf("agent webhook: %v", aw)
		}
		h.must(200, "DELETE", "/v1/agents/"+agentID+"/webhook", nil)
		if r := h.do("DELETE", "/v1/agents/"+agentID+"/webhook", nil); r.status != 404 {
			t.Errorf("second agent delete: %d", r.status)
		}
		if d := h.must(200, "DELETE", "/v1/webhooks", nil); d["success"] != true {
			t.Errorf("delete: %v", d)
		}
		if r := h.do("DELETE", "/v1/webhooks", nil); r.status != 404 {
			t.Errorf("second delete: %d", r.status)
		}
	})
}

func TestWebhookSignedDeliveries(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		project, agentHook := newHook(t, nil), newHook(t, nil)
		agentID := h.agent(nil)
		_, phone := h.number(agentID)
		secret := h.must(200, "POST", "/v1/webhooks", map[string]any{"url": project.srv.URL, "contextLimit": 1})["secret"].(string)
		if _, err := h.sb.InjectInboundSMS("+12125550101", phone, "first"); err != nil {
			t.Fatal(err)
		}
		h.must(201, "POST", "/v1/contacts", map[string]any{"phoneNumber": "+12125550101", "name": "Jane"})
		m, err := h.sb.InjectInboundSMS("+12125550101", phone, "second")
		if err != nil {
			t.Fatal(err)
		}
		h.settle()
		got := project.received()
		if len(got) != 2 {
			t.Fatalf("project webhook got %d requests", len(got))
		}
		for _, r := range got {
			verifySignature(t, secret, r, testStart)
		}
		var ev map[string]any // deliveries run concurrently: find the second message's event
		for _, e := range project.events(t) {
			if e["data"].(map[string]any)["message"] == "second" {
				ev = e
			}
		}
		if ev == nil {
			t.Fatal("no event for the second message")
		}
		wantKeys(t, "envelope", ev, "event", "channel", "timestamp", "agentId", "data", "conversationState", "recentHistory")
		data := ev["data"].(map[string]any)
		wantKeys(t, "data", data, "messageId", "conversationId", "numberId", "from", "to", "contact", "message",
			"mediaUrl", "mediaUrls", "direction", "receivedAt")
		hist := ev["recentHistory"].([]any)
		if ev["event"] != "agent.message" || ev["channel"] != "sms" || ev["agentId"] != agentID || data["messageId"] != m ||
			data["message"] != "second" || data["contact"].(map[string]any)["name"] != "Jane" || len(hist) != 1 ||
			hist[0].(map[string]any)["content"] != "first" {
			t.Errorf("event: %v", ev)
		}

		// The agent's own webhook takes over; the project webhook gets nothing more.
		agentSecret := h.must(200, "POST", "/v1/agents/"+agentID+"/webhook", map[string]any{"url": agentHook.srv.URL})["secret"].(string)
		if _, err := h.sb.InjectInboundSMS("+12125550101", phone, "third"); err != nil {
			t.Fatal(err)
		}
		h.settle()
		if len(project.received()) != 2 || len(agentHook.received()) != 1 {
			t.Fatalf("routing: project %d agent %d", len(project.received()), len(agentHook.received()))
		}
		verifySignature(t, agentSecret, agentHook.received()[0], testStart)

		// Deliveries: project list is account-wide ({items,...}), agent list is a bare array.
		all := h.must(200, "GET", "/v1/webhooks/deliveries", nil)
		wantKeys(t, "deliveries", all, "items", "total", "offset", "limit")
		items := all["items"].([]any)
		if all["total"] != 3.0 || all["limit"] != 50.0 || len(items) != 3 {
			t.Fatalf("deliveries: %v", all)
		}
		d0 := items[0].(map[string]any)
		wantKeys(t, "delivery", d0, "id", "messageId", "eventType", "channel", "status", "httpStatus", "errorMessage",
			"responseBody", "attemptCount", "lastAttemptAt", "nextRetryAt", "createdAt")
		if d0["status"] != "success" || d0["httpStatus"] != 200.0 || d0["attemptCount"] != 1.0 || d0["eventType"] != "agent.message" {
			t.Errorf("delivery: %v", d0)
		}
		if d0["id"] != agentHook.received()[0].header.Get("X-Webhook-ID") {
			t.Errorf("X-Webhook-ID does not name the delivery")
		}
		ad := h.do("GET", "/v1/agents/"+agentID+"/webhook/deliveries", nil).list(t)
		if len(ad) != 1 {
			t.Errorf("agent deliveries: %v", ad)
		}
		if u := h.must(200, "GET", "/v1/usage", nil)["stats"].(map[string]any); u["totalWebhookDeliveries"] != 3.0 || u["successfulWebhookDeliveries"] != 3.0 {
			t.Errorf("usage webhooks: %v", u)
		}
	})
}

func TestWebhookRetries(t *testing.T) {
	eachMode(t, Options{WebhookRetryBase: 5 * time.Second}, func(t *testing.T, h *harness) {
		flaky := newHook(t, func(n int, _ hookReq) (int, string, string) {
			if n <= 2 {
				return 500, "text/plain", "boom"
			}
			return 200, "application/json", "{}"
		})
		agentID := h.agent(nil)
		_, phone := h.number(agentID)
		h.must(200, "POST", "/v1/webhooks", map[string]any{"url": flaky.srv.URL})
		if _, err := h.sb.InjectInboundSMS("+12125550101", phone, "hi"); err != nil {
			t.Fatal(err)
		}
		h.settle()
		d := h.must(200, "GET", "/v1/webhooks/deliveries", nil)["items"].([]any)[0].(map[string]any)
		if d["status"] != "pending" || d["attemptCount"] != 1.0 || d["httpStatus"] != 500.0 || d["responseBody"] != "boom" ||
			d["nextRetryAt"] != ts(testStart.Add(5*time.Second)) {
			t.Fatalf("after first failure: %v", d)
		}
		h.advance(5 * time.Second)
		h.advance(10 * time.Second)
		d = h.must(200, "GET", "/v1/webhooks/deliveries", nil)["items"].([]any)[0].(map[string]any)
		if d["status"] != "success" || d["attemptCount"] != 3.0 || d["nextRetryAt"] != nil {
			t.Fatalf("after retries: %v", d)
		}
		got := flaky.received()
		if len(got) != 3 || got[0].header.Get("X-Webhook-ID") != got[2].header.Get("X-Webhook-ID") {
			t.Errorf("retries must reuse the delivery id: %d requests", len(got))
		}

		// A receiver that always fails: 6 attempts, then failed.
		down := newHook(t, func(int, hookReq) (int, string, string) { return 503, "text/plain", "down" })
		h.must(200, "POST", "/v1/webhooks", map[string]any{"url": down.srv.URL})
		if _, err := h.sb.InjectInboundSMS("+12125550101", phone, "again"); err != nil {
			t.Fatal(err)
		}
		h.settle()
		for _, wait := range []time.Duration{5, 10, 20, 40, 80} {
			h.advance(wait * time.Second)
		}
		h.advance(time.Hour)
		d = h.must(200, "GET", "/v1/webhooks/deliveries", nil)["items"].([]any)[0].(map[string]any)
		if d["status"] != "failed" || d["attemptCount"] != 6.0 || len(down.received()) != 6 || d["errorMessage"] == nil {
			t.Fatalf("exhausted: %v (%d requests)", d, len(down.received()))
		}
		st := h.must(200, "GET", "/v1/webhooks/deliveries/stats", nil)
		if st["total"] != 2.0 || st["success"] != 1.0 || st["failed"] != 1.0 || st["successRate"] != 50.0 {
			t.Errorf("stats: %v", st)
		}
		if bt := st["byEventType"].(map[string]any)["agent.message"].(map[string]any); bt["total"] != 2.0 {
			t.Errorf("byEventType: %v", bt)
		}
		if at := h.must(200, "GET", "/v1/webhooks/deliveries/all-time", nil); at["total"] != 2.0 || at["successRate"] != 50.0 {
			t.Errorf("all-time: %v", at)
		}
		if l := h.must(200, "GET", "/v1/webhooks/deliveries?hours=1", nil); l["total"] != 0.0 {
			t.Errorf("hours filter (deliveries are over an hour old): %v", l)
		}
	})
}

func TestWebhookTestEndpoint(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		if r := h.do("POST", "/v1/webhooks/test", nil); r.status != 404 {
			t.Errorf("test without webhook: %d", r.status)
		}
		good := newHook(t, nil)
		bad := newHook(t, func(int, hookReq) (int, string, string) { return 500, "text/plain", "no" })
		agentID := h.agent(nil)
		secret := h.must(200, "POST", "/v1/webhooks", map[string]any{"url": good.srv.URL})["secret"].(string)
		res := h.must(200, "POST", "/v1/webhooks/test?agentId="+agentID, nil)
		wantKeys(t, "test result", res, "success", "statusCode", "responseMs", "error", "sandbox")
		if res["success"] != true || res["statusCode"] != 200.0 || res["error"] != nil {
			t.Errorf("test: %v", res)
		}
		// The sandbox says where the event went: the address it connected to.
		where := res["sandbox"].(map[string]any)
		if to, _ := where["deliveredTo"].(string); where["url"] != good.srv.URL || to != strings.TrimPrefix(good.srv.URL, "http://") || where["refused"] != nil {
			t.Errorf("where the test went: %v", where)
		}
		verifySignature(t, secret, good.received()[0], testStart)
		var payload map[string]any
		if err := json.Unmarshal(good.received()[0].body, &payload); err != nil || payload["agentId"] != agentID {
			t.Errorf("test payload: %v %v", payload, err)
		}
		if r := h.do("POST", "/v1/webhooks/test?agentId=agt_missing", nil); r.status != 404 {
			t.Errorf("unknown agentId: %d", r.status)
		}
		if r := h.do("POST", "/v1/agents/"+agentID+"/webhook/test", nil); r.status != 404 {
			t.Errorf("agent test without agent webhook: %d", r.status)
		}
		h.must(200, "POST", "/v1/agents/"+agentID+"/webhook", map[string]any{"url": bad.srv.URL})
		res = h.must(200, "POST", "/v1/agents/"+agentID+"/webhook/test", nil)
		if res["success"] != false || res["statusCode"] != 500.0 || res["error"] == nil {
			t.Errorf("failing test: %v", res)
		}
		if l := h.must(200, "GET", "/v1/webhooks/deliveries", nil); l["total"] != 0.0 {
			t.Errorf("tests are not deliveries: %v", l)
		}
	})
}

// TestWebhookDeliveryStaysLocal: by default the sandbox delivers only to loopback addresses,
// looks up no other host, and says so; DeliverExternal lifts the loopback rule but never
// reaches link-local (metadata) addresses.
func TestWebhookDeliveryStaysLocal(t *testing.T) {
	cases := []struct {
		name, url string
		external  bool
		delivered bool
		words     string
	}{
		{"loopback", "{local}", false, true, ""},
		{"localhost name", "{localhost}", false, true, ""},
		{"public host not looked up", "https://hooks.example.com/ap", false, false, "hooks.example.com is not a loopback address"},
		{"public IP", "https://93.184.216.34/ap", false, false, "93.184.216.34 is not a loopback address"},
		{"private IP", "http://10.1.2.3:8080/ap", false, false, "10.1.2.3 is not a loopback address"},
		{"metadata even when external", "http://169.254.169.254/latest", true, false, "link-local"},
		{"loopback when external", "{local}", true, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			local := newHook(t, nil)
			url := strings.NewReplacer("{local}", local.srv.URL,
				"{localhost}", strings.Replace(local.srv.URL, "127.0.0.1", "localhost", 1)).Replace(tc.url)
			h := newHarness(t, modes[1], Options{DeliverExternal: tc.external})
			agentID := h.agent(nil)
			h.number(agentID)
			h.must(200, "POST", "/v1/webhooks", map[string]any{"url": url})
			before := len(local.received())
			res := h.must(200, "POST", "/v1/webhooks/test", nil)
			where := res["sandbox"].(map[string]any)
			if tc.delivered {
				if res["success"] != true || where["deliveredTo"] == nil || where["refused"] != nil {
					t.Errorf("not delivered: %v", res)
				}
				if len(local.received()) != before+1 {
					t.Errorf("the local receiver did not get the event")
				}
				return
			}
			refused, _ := where["refused"].(string)
			if res["success"] != false || where["deliveredTo"] != nil || !strings.Contains(refused, tc.words) ||
				!strings.Contains(res["error"].(string), tc.words) {
				t.Errorf("refusal: %v", res)
			}
			// Event deliveries are refused the same way, once (a refusal is not retried).
			if _, err := h.sb.InjectInboundSMS("+12125550101", "+14155550100", "hi"); err != nil {
				t.Fatal(err)
			}
			h.steps(3, time.Minute)
			items := h.must(200, "GET", "/v1/webhooks/deliveries", nil)["items"].([]any)
			d := items[0].(map[string]any)
			if d["status"] != "failed" || d["attemptCount"] != 1.0 || !strings.Contains(d["errorMessage"].(string), tc.words) {
				t.Errorf("refused delivery: %v", d)
			}
		})
	}
}

func TestVoiceWebhookTurns(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		voice := newHook(t, func(n int, r hookReq) (int, string, string) {
			var ev map[string]any
			_ = json.Unmarshal(r.body, &ev)
			if ev["event"] != "agent.message" {
				return 200, "application/json", "{}"
			}
			switch n {
			case 1:
				return 200, "application/json", `{"text":"Hello, this is Ada from the clinic."}`
			case 2:
				return 200, "application/x-ndjson", "{\"text\":\"Let me check.\",\"interim\":true}\n{\"text\":\"You are booked for Tuesday.\"}\n"
			case 3:
				return 200, "application/json", `["not", "an", "object"]`
			default:
				return 200, "application/json", `{"text":"Goodbye!","hangup":true}`
			}
		})
		agentID := h.agent(nil)
		_, phone := h.number(agentID)
		secret := h.must(200, "POST", "/v1/agents/"+agentID+"/webhook", map[string]any{"url": voice.srv.URL, "contextLimit": 2})["secret"].(string)
		id := h.must(200, "POST", "/v1/calls", map[string]any{"agentId": agentID, "toNumber": "+14155550190"})["id"].(string)
		h.steps(5, time.Second) // ring + four caller turns; the fourth reply hangs up

		c := h.must(200, "GET", "/v1/calls/"+id, nil)
		callers, agents := transcriptText(t, c)
		wantSpoken := []string{"Hello, this is Ada from the clinic.", "Let me check. You are booked for Tuesday.", "Goodbye!"}
		if c["status"] != "completed" || len(callers) != 4 || strings.Join(agents, "|") != strings.Join(wantSpoken, "|") {
			t.Fatalf("voice call: %v", c)
		}
		if sp := h.sb.Spoken(id); strings.Join(sp, "|") != strings.Join(wantSpoken, "|") {
			t.Errorf("Spoken: %q", sp)
		}
		if third := c["transcripts"].([]any)[2].(map[string]any); third["response"] != nil {
			t.Errorf("a non-object reply must be silence: %v", third)
		}
		evs := voice.events(t)
		if len(evs) != 5 {
			t.Fatalf("webhook requests: %d", len(evs))
		}
		for _, r := range voice.received() {
			verifySignature(t, secret, r, r.headerTime(t))
		}
		turn2 := evs[1]
		d := turn2["data"].(map[string]any)
		wantKeys(t, "voice data", d, "callId", "numberId", "from", "to", "status", "transcript", "confidence", "direction")
		if turn2["channel"] != "voice" || d["transcript"] != callers[1] || d["callId"] != id || d["from"] != phone ||
			len(turn2["recentHistory"].([]any)) != 2 {
			t.Errorf("voice event: %v", turn2)
		}
		end := evs[4]
		ed := end["data"].(map[string]any)
		if end["event"] != "agent.call_ended" || ed["disconnectionReason"] != "agent_hangup" || ed["status"] != "completed" ||
			len(ed["transcript"].([]any)) != 7 || ed["summary"] == nil {
			t.Errorf("call_ended: %v", end)
		}
		if dl := h.do("GET", "/v1/agents/"+agentID+"/webhook/deliveries", nil).list(t); len(dl) != 5 {
			t.Errorf("voice turns and call_ended are deliveries: %d", len(dl))
		}
	})
}

// headerTime reads the delivery's own timestamp (the clock may have moved between turns).
func (r hookReq) headerTime(t *testing.T) time.Time {
	t.Helper()
	sec, err := strconv.ParseInt(r.header.Get("X-Webhook-Timestamp"), 10, 64)
	if err != nil {
		t.Fatalf("timestamp: %v", err)
	}
	return time.Unix(sec, 0)
}

package sandbox

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestAuthAndRouting(t *testing.T) {
	eachMode(t, Options{APIKey: testKey}, func(t *testing.T, h *harness) {
		cases := []struct {
			name    string
			method  string
			path    string
			headers map[string]string
			status  int
			code    string
		}{
			{"no header", "GET", "/v1/agents", nil, 401, "UNAUTHORIZED"},
			{"basic scheme", "GET", "/v1/agents", map[string]string{"Authorization": "Basic abc"}, 401, "UNAUTHORIZED"},
			{"empty bearer", "GET", "/v1/agents", map[string]string{"Authorization": "Bearer "}, 401, "UNAUTHORIZED"},
			{"wrong key", "GET", "/v1/agents", map[string]string{"Authorization": "Bearer sk_live_wrong"}, 401, "INVALID_API_KEY"},
			{"good key", "GET", "/v1/agents", map[string]string{"Authorization": "Bearer " + testKey}, 200, ""},
			{"inbound injection needs auth", "POST", "/sandbox/inbound/sms", nil, 401, "UNAUTHORIZED"},
			{"recording is public", "GET", "/v1/calls/call_nope/recording", nil, 404, "RECORDING_NOT_FOUND"},
			{"unknown route", "GET", "/v1/nope", map[string]string{"Authorization": "Bearer " + testKey}, 404, "NOT_FOUND"},
			{"wrong method", "PUT", "/v1/agents", map[string]string{"Authorization": "Bearer " + testKey}, 405, "METHOD_NOT_ALLOWED"},
		}
		for _, c := range cases {
			r := h.doCtx(context.Background(), c.method, c.path, nil, c.headers)
			if r.status != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.raw)
				continue
			}
			if strings.Contains(string(r.raw), "sk_live_wrong") {
				t.Errorf("%s: response echoes the key: %s", c.name, r.raw)
			}
			if c.code == "" {
				continue
			}
			m := r.obj(t)
			wantKeys(t, c.name, m, "detail", "error")
			e := m["error"].(map[string]any)
			wantKeys(t, c.name+" error", e, "message", "code", "type")
			if e["code"] != c.code || m["detail"] != e["message"] {
				t.Errorf("%s: error %v, want code %s and detail == message", c.name, m, c.code)
			}
		}
	})
}

func TestAgents(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		a := h.must(200, "POST", "/v1/agents", map[string]any{"name": "Ada", "voiceMode": "hosted",
			"systemPrompt": "Book tables.", "voiceSpeed": 1.5, "interruptionSensitivity": 0, "agent_id": "ignored"})
		wantKeys(t, "agent", a, "id", "name", "description", "voiceMode", "enableMessaging", "modelTier",
			"systemPrompt", "beginMessage", "voice", "transferNumber", "customTools", "voicemailMessage",
			"callScreeningIdentity", "callScreeningPurpose", "sttMode", "ambientSound", "denoisingMode",
			"maxSilenceMs", "voiceSpeed", "interruptionSensitivity", "enableBackchannel", "language",
			"createdAt", "numbers")
		id := a["id"].(string)
		if !strings.HasPrefix(id, "agt_") || a["voiceSpeed"] != 1.5 || a["interruptionSensitivity"] != 0.0 ||
			a["maxSilenceMs"] != 600000.0 || a["voice"] != defaultVoice || a["language"] != "en-US" {
			t.Errorf("agent defaults/values wrong: %v", a)
		}

		invalid := []struct {
			name string
			body map[string]any
			loc  string
			typ  string
		}{
			{"missing name", map[string]any{"voiceMode": "webhook"}, "name", "missing"},
			{"bad enum", map[string]any{"name": "x", "voiceMode": "robot"}, "voiceMode", "enum"},
			{"maxSilence low", map[string]any{"name": "x", "maxSilenceMs": 5}, "maxSilenceMs", "greater_than_equal"},
			{"voiceSpeed high", map[string]any{"name": "x", "voiceSpeed": 2.5}, "voiceSpeed", "less_than_equal"},
			{"sensitivity high", map[string]any{"name": "x", "interruptionSensitivity": 1.1}, "interruptionSensitivity", "less_than_equal"},
			{"bad language", map[string]any{"name": "x", "language": "en-XX"}, "language", "enum"},
			{"string type", map[string]any{"name": 42}, "name", "string_type"},
			{"hosted without prompt", map[string]any{"name": "x", "voiceMode": "hosted"}, "systemPrompt", "value_error"},
			{"bad tool url", map[string]any{"name": "x", "customTools": []any{map[string]any{"name": "t", "description": "d", "url": "http://x"}}}, "customTools", "value_error"},
		}
		for _, c := range invalid {
			r := h.do("POST", "/v1/agents", c.body)
			if r.status != 422 {
				t.Errorf("%s: status %d, want 422: %s", c.name, r.status, r.raw)
				continue
			}
			detail, _ := r.obj(t)["detail"].([]any)
			if len(detail) == 0 {
				t.Errorf("%s: no detail list: %s", c.name, r.raw)
				continue
			}
			d0 := detail[0].(map[string]any)
			wantKeys(t, c.name, d0, "loc", "msg", "type")
			loc := d0["loc"].([]any)
			if loc[0] != "body" || loc[1] != c.loc || d0["type"] != c.typ {
				t.Errorf("%s: detail %v, want loc body.%s type %s", c.name, d0, c.loc, c.typ)
			}
		}
		if r := h.do("POST", "/v1/agents", "{not json"); r.status != 422 || !strings.Contains(string(r.raw), "json_invalid") {
			t.Errorf("bad JSON: %d %s", r.status, r.raw)
		}

		p := h.must(200, "PATCH", "/v1/agents/"+id, map[string]any{"name": "Ada 2", "description": "d", "transferNumber": "+14155550150"})
		if p["name"] != "Ada 2" || p["description"] != "d" || p["voiceMode"] != "hosted" || p["transferNumber"] != "+14155550150" {
			t.Errorf("patch: %v", p)
		}
		p = h.must(200, "PATCH", "/v1/agents/"+id, map[string]any{"transferNumber": "", "description": nil})
		if p["transferNumber"] != nil || p["description"] != nil || p["name"] != "Ada 2" {
			t.Errorf("patch clearing: %v", p)
		}
		h.agent(nil)
		list := h.must(200, "GET", "/v1/agents?limit=1", nil)
		if list["total"] != 2.0 || list["hasMore"] != true || len(list["data"].([]any)) != 1 {
			t.Errorf("list: %v", list)
		}
		if r := h.do("GET", "/v1/agents?limit=101", nil); r.status != 422 {
			t.Errorf("limit 101: %d", r.status)
		}

		v := h.must(200, "GET", "/v1/agents/voices", nil)
		first := v["data"].([]any)[0].(map[string]any)
		wantKeys(t, "voice", first, "voice_id", "voice_name", "provider", "gender", "accent", "preview_audio_url")

		d := h.must(200, "DELETE", "/v1/agents/"+id, nil)
		wantKeys(t, "delete", d, "success", "id", "name")
		if r := h.do("GET", "/v1/agents/"+id, nil); r.status != 404 {
			t.Errorf("deleted agent: %d", r.status)
		}
	})
}

func TestNumbers(t *testing.T) {
	eachMode(t, Options{NumberLimit: 3}, func(t *testing.T, h *harness) {
		agentID := h.agent(nil)
		cases := []struct {
			name   string
			body   map[string]any
			status int
			prefix string
			region string
			code   string
		}{
			{"default area code", map[string]any{}, 200, "+1415555", "US", ""},
			{"area code honoured", map[string]any{"areaCode": "212", "agentId": agentID}, 200, "+1212555", "US", ""},
			{"canada", map[string]any{"country": "CA", "areaCode": "604"}, 200, "+1604555", "CA", ""},
			{"two digits", map[string]any{"areaCode": "41"}, 422, "", "", ""},
			{"not US/CA", map[string]any{"country": "GB"}, 422, "", "", ""},
			{"limit reached", map[string]any{"areaCode": "415"}, 409, "", "", "VALIDATION_ERROR_NUMBER_LIMIT"},
		}
		var ids []string
		for _, c := range cases {
			r := h.do("POST", "/v1/numbers", c.body)
			if r.status != c.status {
				t.Fatalf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.raw)
			}
			m := r.obj(t)
			if c.code != "" && m["error"].(map[string]any)["code"] != c.code {
				t.Errorf("%s: %v", c.name, m)
			}
			if c.status != 200 {
				continue
			}
			wantKeys(t, c.name, m, "id", "phoneNumber", "country", "status", "type", "agentId", "createdAt")
			phone := m["phoneNumber"].(string)
			pn, err := phonenumbers.Parse(phone, "")
			if !strings.HasPrefix(phone, c.prefix) || err != nil || !phonenumbers.IsValidNumber(pn) ||
				phonenumbers.GetRegionCodeForNumber(pn) != c.region {
				t.Errorf("%s: number %s not a valid %s number with prefix %s", c.name, phone, c.region, c.prefix)
			}
			ids = append(ids, m["id"].(string))
		}
		// Release one: excluded from the list, still readable.
		rel := h.must(200, "DELETE", "/v1/numbers/"+ids[0], nil)
		if rel["status"] != "released" || rel["success"] != true {
			t.Errorf("release: %v", rel)
		}
		list := h.must(200, "GET", "/v1/numbers", nil)
		if list["total"] != 2.0 {
			t.Errorf("list after release: %v", list)
		}
		if g := h.must(200, "GET", "/v1/numbers/"+ids[0], nil); g["status"] != "released" {
			t.Errorf("get released: %v", g)
		}
		if r := h.do("POST", "/v1/agents/"+agentID+"/numbers", map[string]any{"numberId": ids[0]}); r.status != 400 {
			t.Errorf("attach released: %d", r.status)
		}
		// Attach / detach.
		at := h.must(200, "POST", "/v1/agents/"+agentID+"/numbers", map[string]any{"numberId": ids[2]})
		wantKeys(t, "attach", at, "agentId", "number")
		ag := h.must(200, "GET", "/v1/agents/"+agentID, nil)
		if n := len(ag["numbers"].([]any)); n != 2 {
			t.Errorf("agent numbers: %d", n)
		}
		h.must(200, "DELETE", "/v1/agents/"+agentID+"/numbers/"+ids[2], nil)
		if g := h.must(200, "GET", "/v1/numbers/"+ids[2], nil); g["agentId"] != nil || g["status"] != "active" {
			t.Errorf("after detach: %v", g)
		}
		if r := h.do("DELETE", "/v1/agents/"+agentID+"/numbers/"+ids[2], nil); r.status != 404 {
			t.Errorf("detach twice: %d", r.status)
		}
		// Unavailable area code and balance knobs.
		h.must(200, "DELETE", "/v1/numbers/"+ids[2], nil)
		if r := h.do("POST", "/v1/numbers", map[string]any{"areaCode": "999"}); r.status != 409 || !strings.Contains(string(r.raw), "NUMBER_UNAVAILABLE") {
			t.Errorf("area 999: %d %s", r.status, r.raw)
		}
		h.sb.SetBalanceCents(299)
		if r := h.do("POST", "/v1/numbers", nil); r.status != 402 || !strings.Contains(string(r.raw), "INSUFFICIENT_BALANCE") {
			t.Errorf("balance: %d %s", r.status, r.raw)
		}
		h.sb.SetBalanceCents(300)
		h.must(200, "POST", "/v1/numbers", nil)
		if r := h.do("GET", "/v1/numbers/num_missing", nil); r.status != 404 || !strings.Contains(string(r.raw), "PHONE_NUMBER_NOT_FOUND") {
			t.Errorf("missing number: %d %s", r.status, r.raw)
		}
	})
}

func TestDeleteAgentNullsReferences(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		agentID := h.agent(map[string]any{"voiceMode": "hosted", "systemPrompt": "Say hi."})
		numID, _ := h.number(agentID)
		msg := h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+14155550111", "body": "hi"})
		call := h.must(200, "POST", "/v1/calls", map[string]any{"agentId": agentID, "toNumber": "+14155550112"})
		h.must(200, "DELETE", "/v1/agents/"+agentID, nil)
		if g := h.must(200, "GET", "/v1/numbers/"+numID, nil); g["agentId"] != nil {
			t.Errorf("number agentId: %v", g["agentId"])
		}
		if g := h.must(200, "GET", "/v1/conversations/"+msg["conversation_id"].(string), nil); g["agentId"] != nil {
			t.Errorf("conversation agentId: %v", g["agentId"])
		}
		if g := h.must(200, "GET", "/v1/calls/"+call["id"].(string), nil); g["agentId"] != nil {
			t.Errorf("call agentId: %v", g["agentId"])
		}
	})
}

func TestContactsAndCards(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		r := h.do("POST", "/v1/contacts", map[string]any{"phoneNumber": "(415) 555-0123", "name": "Jane Doe", "email": "jane@example.com"})
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		c := r.obj(t)
		wantKeys(t, "contact", c, "id", "phoneNumber", "name", "email", "notes", "createdAt", "updatedAt")
		id := c["id"].(string)
		if c["phoneNumber"] != "+14155550123" || !strings.HasPrefix(id, "ct_") {
			t.Errorf("contact: %v", c)
		}
		statuses := []struct {
			name   string
			method string
			path   string
			body   any
			status int
		}{
			{"duplicate phone", "POST", "/v1/contacts", map[string]any{"phoneNumber": "+14155550123", "name": "Dup"}, 409},
			{"missing name", "POST", "/v1/contacts", map[string]any{"phoneNumber": "+14155550124"}, 422},
			{"bad phone", "POST", "/v1/contacts", map[string]any{"phoneNumber": "12", "name": "x"}, 422},
			{"bad email", "POST", "/v1/contacts", map[string]any{"phoneNumber": "+14155550125", "name": "x", "email": "nope"}, 422},
			{"second", "POST", "/v1/contacts", map[string]any{"phoneNumber": "+14155550126", "name": "Bob"}, 201},
			{"capabilities before id", "GET", "/v1/contacts/capabilities?phone_number=%2B14155550123", nil, 400},
			{"capabilities missing param", "GET", "/v1/contacts/capabilities", nil, 422},
			{"get", "GET", "/v1/contacts/" + id, nil, 200},
			{"patch conflict", "PATCH", "/v1/contacts/" + id, map[string]any{"phoneNumber": "+14155550126"}, 409},
			{"patch", "PATCH", "/v1/contacts/" + id, map[string]any{"notes": "VIP"}, 200},
			{"missing", "GET", "/v1/contacts/ct_missing", nil, 404},
		}
		for _, s := range statuses {
			if r := h.do(s.method, s.path, s.body); r.status != s.status {
				t.Errorf("%s: status %d, want %d: %s", s.name, r.status, s.status, r.raw)
			}
		}
		search := h.must(200, "GET", "/v1/contacts?search=jane", nil)
		if search["total"] != 1.0 {
			t.Errorf("search: %v", search)
		}
		// Capabilities work once the account has a number.
		h.number("")
		capab := h.must(200, "GET", "/v1/contacts/capabilities?phone_number=%2B14155550123", nil)
		wantKeys(t, "capabilities", capab, "phoneNumber", "capabilities", "checkedAt")
		if r := h.do("DELETE", "/v1/contacts/"+id, nil); r.status != 204 || len(r.raw) != 0 {
			t.Errorf("delete: %d %q", r.status, r.raw)
		}

		numID, _ := h.number("")
		card := h.must(200, "GET", "/v1/numbers/"+numID+"/contact-card", nil)
		wantKeys(t, "card", card, "firstName", "lastName", "displayName", "hasAvatar")
		card = h.must(200, "PUT", "/v1/numbers/"+numID+"/contact-card", map[string]any{"firstName": "Ada", "avatarUrl": "https://example.com/a.png"})
		if card["firstName"] != "Ada" || card["hasAvatar"] != true {
			t.Errorf("put card: %v", card)
		}
		if r := h.do("DELETE", "/v1/numbers/"+numID+"/contact-card", nil); r.status != 204 {
			t.Errorf("delete card: %d", r.status)
		}
	})
}

func TestUsageRegistrationAndExtras(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		agentID := h.agent(nil)
		h.number(agentID)
		for i := 0; i < 3; i++ {
			h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+14155550111", "body": "hello"})
		}
		// 161 GSM-7 characters: two segments. iMessage is not an SMS segment.
		h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+14155550111", "body": strings.Repeat("x", 161)})
		h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+14155550135", "body": "over iMessage"})
		h.must(200, "POST", "/v1/calls", map[string]any{"agentId": agentID, "toNumber": "+14155550112"})
		u := h.must(200, "GET", "/v1/usage", nil)
		wantKeys(t, "usage", u, "numbers", "stats", "periodStart", "periodEnd") // no legacy plan
		stats := u["stats"].(map[string]any)
		if stats["totalMessages"] != 5.0 || stats["messagesLast24h"] != 5.0 || stats["totalCalls"] != 1.0 || stats["smsSegmentsLast30d"] != 5.0 {
			t.Errorf("stats: %v", stats)
		}
		if n := u["numbers"].(map[string]any); n["used"] != 1.0 || n["limit"] != 10.0 || n["remaining"] != 9.0 {
			t.Errorf("numbers: %v", n)
		}
		daily := h.must(200, "GET", "/v1/usage/daily?days=7", nil)
		pts := daily["data"].([]any)
		last := pts[len(pts)-1].(map[string]any)
		if len(pts) != 7 || last["date"] != "2026-03-02" || last["messages"] != 5.0 || last["calls"] != 1.0 {
			t.Errorf("daily: %v", daily)
		}
		monthly := h.must(200, "GET", "/v1/usage/monthly", nil)
		if len(monthly["data"].([]any)) != 6 || monthly["months"] != 6.0 {
			t.Errorf("monthly: %v", monthly)
		}
		byNum := h.must(200, "GET", "/v1/usage/by-number", nil)["data"].([]any)[0].(map[string]any)
		if byNum["messages"] != 5.0 || byNum["calls"] != 1.0 {
			t.Errorf("by-number: %v", byNum)
		}
		if r := h.do("GET", "/v1/usage/by-agent", nil); r.status != 422 {
			t.Errorf("by-agent without period: %d", r.status)
		}
		if r := h.do("GET", "/v1/usage/by-agent?period=month&tz=Mars/Base", nil); r.status != 422 {
			t.Errorf("by-agent bad tz: %d", r.status)
		}
		ba := h.must(200, "GET", "/v1/usage/by-agent?period=week&tz=America/New_York", nil)
		row := ba["data"].([]any)[0].(map[string]any)
		if row["agentId"] != agentID || row["messages"] != 5.0 || row["calls"] != 1.0 || row["isOrphan"] != false {
			t.Errorf("by-agent: %v", ba)
		}

		reg := h.must(200, "GET", "/v1/register/status", nil)
		wantKeys(t, "registration", reg, "campaign_status", "message", "stage")
		if r := h.do("POST", "/v1/register", map[string]any{"registration_type": "sole_proprietor"}); r.status != 422 {
			t.Errorf("register incomplete: %d", r.status)
		}
		sub := h.must(200, "POST", "/v1/sub-accounts", map[string]any{"name": "Team"})
		h.must(200, "PATCH", "/v1/sub-accounts/"+sub["id"].(string), map[string]any{"name": "Team 2"})
		h.must(200, "DELETE", "/v1/sub-accounts/"+sub["id"].(string), nil)
		loc := h.must(200, "GET", "/v1/location/%2B14155550123", nil)
		if loc["phoneNumber"] != "+14155550123" {
			t.Errorf("location: %v", loc)
		}
		h.must(200, "POST", "/v1/location/refresh", nil)
	})
}

func TestRegisterRateLimit(t *testing.T) {
	h := newHarness(t, modes[1], Options{})
	body := map[string]any{"registration_type": "sole_proprietor", "first_name": "A", "last_name": "B",
		"email": "a@example.com", "phone_number": "+14155550123", "street_address": "1 Main St", "city": "SF",
		"state": "CA", "zip_code": "94105", "opt_in_image_url": "https://example.com/optin.png",
		"description":  "Appointment reminders for the Acme dental clinic patients.",
		"consent_flow": "Patients opt in on the Acme web form with an unchecked checkbox.",
		"use_cases":    []string{"customer_care"}, "brand_name": "Acme",
		"message_samples": []string{"Acme: your appointment is tomorrow at 3pm.", "Acme: reply C to confirm your visit."}}
	for i := 0; i < 5; i++ {
		r := h.must(200, "POST", "/v1/register", body)
		if r["campaign_status"] != "pending" || r["fee_cents"] != 2500.0 {
			t.Fatalf("register: %v", r)
		}
	}
	r := h.do("POST", "/v1/register", body)
	if r.status != 429 || r.header.Get("Retry-After") != "3600" || !strings.Contains(string(r.raw), "RATE_LIMIT_EXCEEDED") {
		t.Fatalf("sixth register: %d %v %s", r.status, r.header, r.raw)
	}
	h.advance(3601 * 1e9)
	h.must(200, "POST", "/v1/register", body)
	if s := h.must(200, "GET", "/v1/register/status", nil); s["campaign_status"] != "pending" {
		t.Errorf("status: %v", s)
	}
}

package apiclient

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	const secret = "whsec_testsecret"
	body := fixture(t, "event_sms.json")
	ts := testEpoch
	good := SignWebhook(secret, ts, body)
	hdr := func(sig, tsv string) http.Header {
		h := http.Header{}
		if sig != "" {
			h.Set(HeaderSignature, sig)
		}
		if tsv != "" {
			h.Set(HeaderTimestamp, tsv)
		}
		return h
	}
	unix := strconv.FormatInt(ts.Unix(), 10)
	cases := []struct {
		name   string
		secret string
		h      http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", secret, hdr(good, unix), body, ts, nil},
		{"valid bare hex", secret, hdr(strings.TrimPrefix(good, "sha256="), unix), body, ts, nil},
		{"valid among several", secret, hdr("sha256="+strings.Repeat("0", 64)+", "+good, unix), body, ts, nil},
		{"valid at +300s", secret, hdr(good, unix), body, ts.Add(300 * time.Second), nil},
		{"valid at -300s", secret, hdr(good, unix), body, ts.Add(-300 * time.Second), nil},
		{"wrong secret", "whsec_other", hdr(good, unix), body, ts, ErrBadSignature},
		{"secret without prefix", "testsecret", hdr(good, unix), body, ts, ErrBadSignature},
		{"tampered body", secret, hdr(good, unix), append([]byte(nil), append(body, ' ')...), ts, ErrBadSignature},
		{"tampered timestamp", secret, hdr(good, strconv.FormatInt(ts.Unix()+1, 10)), body, ts, ErrBadSignature},
		{"stale", secret, hdr(good, unix), body, ts.Add(301 * time.Second), ErrStaleTimestamp},
		{"future", secret, hdr(good, unix), body, ts.Add(-301 * time.Second), ErrStaleTimestamp},
		{"missing signature", secret, hdr("", unix), body, ts, ErrMissingHeader},
		{"missing timestamp", secret, hdr(good, ""), body, ts, ErrMissingHeader},
		{"timestamp not a number", secret, hdr(good, "2025-01-15T12:00:00Z"), body, ts, ErrMalformedHeader},
		{"signature not hex", secret, hdr("sha256=zz", unix), body, ts, ErrMalformedHeader},
		{"no secret", "", hdr(good, unix), body, ts, ErrNoSecret},
	}
	for _, tc := range cases {
		err := VerifyWebhook(tc.secret, tc.h, tc.body, tc.now)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "testsecret") {
			t.Errorf("%s: error leaks the secret: %v", tc.name, err)
		}
	}
}

func TestSignWebhookKnownAnswer(t *testing.T) {
	t.Parallel()
	// python3 -c 'import hmac,hashlib;print(hmac.new(b"whsec_k",b"1700000000.{\"a\":1}",hashlib.sha256).hexdigest())'
	const want = "sha256=a252a4340d8bbbdbac8643a2812cc7d628ad79bfba544bff054ac2fa10f795a2"
	got := SignWebhook("whsec_k", time.Unix(1700000000, 0), []byte(`{"a":1}`))
	if got != want {
		t.Errorf("SignWebhook = %s, want %s", got, want)
	}
}

func TestParseWebhookEvent(t *testing.T) {
	t.Parallel()
	t.Run("sms", func(t *testing.T) {
		ev, err := ParseWebhookEvent(fixture(t, "event_sms.json"))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Message == nil || ev.Voice != nil || ev.CallEnded != nil || ev.Reaction != nil {
			t.Fatalf("wrong variant: %+v", ev)
		}
		eq(t, "event", ev.Event, EventMessage)
		eq(t, "channel", ev.Channel, ChannelSMS)
		eq(t, "agentId", ev.AgentID, "agt_abc123")
		eq(t, "message", ev.Message.Message, "Hi, I need help with my order")
		eq(t, "from", ev.Message.From, "+15559876543")
		eq(t, "conversationId", ev.Message.ConversationID, "conv_def456")
		eq(t, "contact", ev.Message.Contact.Name, "Jane Doe")
		eq(t, "state", ev.ConversationState["orderId"], any("ORD-12345"))
		eq(t, "history", ev.RecentHistory[0].Content, "Hello")
		eq(t, "timestamp", ev.Timestamp.Time, testEpoch)
	})
	t.Run("voice transcript string", func(t *testing.T) {
		ev, err := ParseWebhookEvent(fixture(t, "event_voice.json"))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Voice == nil || ev.Message != nil {
			t.Fatalf("wrong variant: %+v", ev)
		}
		eq(t, "transcript", ev.Voice.Transcript, "I need help with my order")
		eq(t, "confidence", *ev.Voice.Confidence, 0.95)
		eq(t, "status", ev.Voice.Status, CallInProgress)
		if ev.ConversationState != nil {
			t.Errorf("null conversationState = %v", ev.ConversationState)
		}
	})
	t.Run("call ended transcript array", func(t *testing.T) {
		ev, err := ParseWebhookEvent(fixture(t, "event_call_ended.json"))
		if err != nil {
			t.Fatal(err)
		}
		d := ev.CallEnded
		if d == nil {
			t.Fatalf("no CallEnded: %+v", ev)
		}
		eq(t, "turns", len(d.Transcript), 2)
		eq(t, "role", d.Transcript[1].Role, RoleUser)
		eq(t, "content", d.Transcript[0].Content, "Hello, how can I help?")
		eq(t, "duration", *d.DurationSeconds, 300)
		eq(t, "successful", *d.CallSuccessful, true)
		eq(t, "reason", d.DisconnectionReason, "user_hangup")
		if d.Contact != nil {
			t.Errorf("null contact = %+v", d.Contact)
		}
	})
	t.Run("reaction", func(t *testing.T) {
		ev, err := ParseWebhookEvent(fixture(t, "event_reaction.json"))
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "type", ev.Reaction.ReactionType, ReactionLove)
		eq(t, "body", ev.Reaction.MessageBody, "Hey from iMessage!")
	})
	t.Run("unknown event kept", func(t *testing.T) {
		ev, err := ParseWebhookEvent([]byte(`{"event":"call.started","data":{"x":1}}`))
		if err != nil || ev.Message != nil || ev.CallEnded != nil || string(ev.Data) != `{"x":1}` {
			t.Errorf("unknown event: %+v, %v", ev, err)
		}
	})
	for _, bad := range []string{``, `[]`, `"x"`, `{}`, `{"event":"agent.call_ended","data":{"transcript":"a string"}}`, `{"event":1}`} {
		if _, err := ParseWebhookEvent([]byte(bad)); !errors.Is(err, ErrMalformedEvent) {
			t.Errorf("ParseWebhookEvent(%q) err = %v, want ErrMalformedEvent", bad, err)
		}
	}
}

func TestVoiceResponseJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   VoiceResponse
		want string
	}{
		{VoiceResponse{Text: "Hi"}, `{"text":"Hi"}`},
		{VoiceResponse{Text: "Wait", Interim: true}, `{"text":"Wait","interim":true}`},
		{VoiceResponse{Action: ActionTransfer}, `{"action":"transfer"}`},
		{VoiceResponse{Hangup: true, Digits: "1#"}, `{"hangup":true,"digits":"1#"}`},
	}
	for _, tc := range cases {
		b, err := json.Marshal(tc.in)
		if err != nil || !sameJSON(t, string(b), tc.want) {
			t.Errorf("%+v -> %s, want %s", tc.in, b, tc.want)
		}
	}
}

package apiclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

var epoch = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

// bearer attaches the test key, as the key guard's transport would.
type bearer struct {
	key  string
	base http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.base.RoundTrip(r)
}

// hookSink receives the sandbox's webhook deliveries in memory.
type hookSink struct {
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
}

func (h *hookSink) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, b)
	h.heads = append(h.heads, r.Header.Clone())
	h.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"text":"ok"}`)), Request: r}, nil
}

func (h *hookSink) all() ([][]byte, []http.Header) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...), append([]http.Header(nil), h.heads...)
}

type env struct {
	fc   *clockwork.FakeClock
	sb   *sandbox.Sandbox
	c    *apiclient.Client
	sink *hookSink
}

func newEnv(t testing.TB) *env {
	t.Helper()
	fc := clockwork.NewFakeClockAt(epoch)
	sink := &hookSink{}
	sb := sandbox.New(sandbox.Options{Clock: fc, Seed: 7, WebhookClient: &http.Client{Transport: sink}})
	t.Cleanup(sb.Close)
	c, err := apiclient.New(apiclient.Options{BaseURL: "https://api.agentphone.ai",
		HTTPClient: &http.Client{Transport: bearer{key: "test", base: sb.Transport()}}, Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	return &env{fc: fc, sb: sb, c: c, sink: sink}
}

// run calls f while advancing the fake clock, so that waits on it (call
// simulation, long polls, retry back-off) complete.
func (e *env) run(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	for i := 0; ; i++ {
		select {
		case <-done:
			return
		default:
		}
		if i > 5000 {
			t.Fatal("operation did not finish after 5000 clock steps")
		}
		e.fc.Advance(250 * time.Millisecond)
		if err := e.sb.Settle(t.Context()); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
			return
		case <-time.After(time.Millisecond):
		}
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func TestContractSandbox(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.c, t.Context()

	voices := must[[]apiclient.Voice](t, "ListVoices")(c.ListVoices(ctx))
	if len(voices) == 0 || voices[0].VoiceID == "" || voices[0].VoiceName == "" {
		t.Fatalf("voices not decoded: %+v", voices)
	}

	// Agents: create, get, list, partial update keeps zero values.
	zero, no := 0.0, false
	ag := must[*apiclient.Agent](t, "CreateAgent")(c.CreateAgent(ctx, apiclient.CreateAgentRequest{Name: "Support",
		AgentSettings: apiclient.AgentSettings{VoiceMode: ptr(apiclient.VoiceModeHosted), SystemPrompt: ptr("Be brief."),
			InterruptionSensitivity: &zero, EnableMessaging: &no, ModelTier: ptr(apiclient.ModelTierTurbo)}}))
	if !strings.HasPrefix(ag.ID, "agt_") || ag.VoiceMode != apiclient.VoiceModeHosted || ag.EnableMessaging || ag.InterruptionSensitivity != 0 || ag.ModelTier != apiclient.ModelTierTurbo {
		t.Errorf("created agent = %+v", ag)
	}
	got := must[*apiclient.Agent](t, "GetAgent")(c.GetAgent(ctx, ag.ID))
	if got.Name != "Support" || got.SystemPrompt != "Be brief." || got.CreatedAt.IsZero() {
		t.Errorf("GetAgent = %+v", got)
	}
	upd := must[*apiclient.Agent](t, "UpdateAgent")(c.UpdateAgent(ctx, ag.ID, apiclient.UpdateAgentRequest{Name: ptr("Support 2")}))
	if upd.Name != "Support 2" || upd.InterruptionSensitivity != 0 || upd.EnableMessaging || upd.SystemPrompt != "Be brief." {
		t.Errorf("partial update changed other fields: %+v", upd)
	}
	agents := must[*apiclient.Page[apiclient.Agent]](t, "ListAgents")(c.ListAgents(ctx, apiclient.ListParams{Limit: 10}))
	if len(agents.Data) != 1 || agents.Data[0].ID != ag.ID || agents.Total == nil || *agents.Total != 1 {
		t.Errorf("ListAgents = %+v", agents)
	}
	var walked int
	for a, err := range apiclient.Paginate(ctx, 1, c.ListAgents) {
		if err != nil || a.ID != ag.ID {
			t.Fatalf("Paginate: %v %v", a.ID, err)
		}
		walked++
	}
	if walked != 1 {
		t.Errorf("Paginate walked %d agents", walked)
	}

	// Numbers: buy with agent, get, list, attach/detach.
	n1 := must[*apiclient.Number](t, "BuyNumber")(c.BuyNumber(ctx, apiclient.BuyNumberRequest{Country: "US", AreaCode: "415", AgentID: ag.ID}))
	if !strings.HasPrefix(n1.ID, "num_") || !strings.HasPrefix(n1.PhoneNumber, "+1415") || n1.AgentID != ag.ID || n1.Status != apiclient.NumberActive {
		t.Errorf("BuyNumber = %+v", n1)
	}
	n2 := must[*apiclient.Number](t, "BuyNumber 2")(c.BuyNumber(ctx, apiclient.BuyNumberRequest{}))
	if n2.Country != "US" || n2.AgentID != "" {
		t.Errorf("default BuyNumber = %+v", n2)
	}
	att := must[*apiclient.AttachedNumber](t, "AttachNumber")(c.AttachNumber(ctx, ag.ID, n2.ID))
	if att.AgentID != ag.ID || att.Number.ID != n2.ID {
		t.Errorf("AttachNumber = %+v", att)
	}
	if g := must[*apiclient.Agent](t, "GetAgent numbers")(c.GetAgent(ctx, ag.ID)); len(g.Numbers) != 2 {
		t.Errorf("agent numbers = %+v", g.Numbers)
	}
	if d := must[*apiclient.SuccessResult](t, "DetachNumber")(c.DetachNumber(ctx, ag.ID, n2.ID)); !d.Success {
		t.Errorf("DetachNumber = %+v", d)
	}
	if g := must[*apiclient.Number](t, "GetNumber")(c.GetNumber(ctx, n2.ID)); g.AgentID != "" || g.Status != apiclient.NumberActive {
		t.Errorf("detached number = %+v", g)
	}
	nums := must[*apiclient.Page[apiclient.Number]](t, "ListNumbers")(c.ListNumbers(ctx, apiclient.ListParams{}))
	if len(nums.Data) != 2 {
		t.Errorf("ListNumbers = %d numbers", len(nums.Data))
	}

	// Contact card.
	card := must[*apiclient.ContactCard](t, "SetContactCard")(c.SetContactCard(ctx, n1.ID, apiclient.ContactCardRequest{FirstName: "Ada", DisplayName: "Ada Co"}))
	if card.FirstName != "Ada" || card.DisplayName != "Ada Co" || card.HasAvatar {
		t.Errorf("SetContactCard = %+v", card)
	}
	if g := must[*apiclient.ContactCard](t, "GetContactCard")(c.GetContactCard(ctx, n1.ID)); g.FirstName != "Ada" {
		t.Errorf("GetContactCard = %+v", g)
	}
	if err := c.DeleteContactCard(ctx, n1.ID); err != nil {
		t.Errorf("DeleteContactCard: %v", err)
	}

	// Messages and conversations.
	const peer = "+14155550123"
	if a := must[*apiclient.Agent](t, "enable messaging")(c.UpdateAgent(ctx, ag.ID, apiclient.UpdateAgentRequest{AgentSettings: apiclient.AgentSettings{EnableMessaging: ptr(true)}})); !a.EnableMessaging || a.Name != "Support 2" {
		t.Errorf("enableMessaging update = %+v", a)
	}
	sent := must[*apiclient.SentMessage](t, "SendMessage")(c.SendMessage(ctx, apiclient.SendMessageRequest{AgentID: ag.ID, ToNumber: peer, Body: "Hello there"}))
	if !strings.HasPrefix(sent.ID, "msg_") || sent.ToNumber != peer || sent.FromNumber != n1.PhoneNumber || sent.ConversationID == "" || sent.Channel == "" {
		t.Errorf("SendMessage = %+v", sent)
	}
	if _, err := e.sb.InjectInboundSMS(peer, n1.PhoneNumber, "Hi back"); err != nil {
		t.Fatal(err)
	}
	msgs := must[*apiclient.CursorPage[apiclient.NumberMessage]](t, "ListNumberMessages")(c.ListNumberMessages(ctx, n1.ID, apiclient.CursorParams{Limit: 10}))
	if len(msgs.Data) != 2 {
		t.Fatalf("number messages = %+v", msgs.Data)
	}
	var inbound *apiclient.NumberMessage
	for i := range msgs.Data {
		if msgs.Data[i].Direction == apiclient.DirectionInbound {
			inbound = &msgs.Data[i]
		}
	}
	if inbound == nil || inbound.From != peer || inbound.Body != "Hi back" || inbound.ReceivedAt.IsZero() {
		t.Errorf("inbound message = %+v", inbound)
	}
	convs := must[*apiclient.Page[apiclient.Conversation]](t, "ListConversations")(c.ListConversations(ctx, apiclient.ListParams{}))
	if len(convs.Data) != 1 || convs.Data[0].ID != sent.ConversationID || convs.Data[0].Participant != peer || convs.Data[0].MessageCount != 2 {
		t.Errorf("ListConversations = %+v", convs.Data)
	}
	if ac := must[*apiclient.Page[apiclient.Conversation]](t, "ListAgentConversations")(c.ListAgentConversations(ctx, ag.ID, apiclient.ListParams{})); len(ac.Data) != 1 {
		t.Errorf("agent conversations = %d", len(ac.Data))
	}
	conv := must[*apiclient.Conversation](t, "GetConversation")(c.GetConversation(ctx, sent.ConversationID, apiclient.GetConversationParams{MessageLimit: 1}))
	if len(conv.Messages) != 1 || conv.PhoneNumber != n1.PhoneNumber {
		t.Errorf("GetConversation message_limit=1 gave %d messages: %+v", len(conv.Messages), conv)
	}
	conv = must[*apiclient.Conversation](t, "UpdateConversation")(c.UpdateConversation(ctx, sent.ConversationID,
		apiclient.UpdateConversationRequest{SetMetadata: true, Metadata: map[string]any{"orderId": "A1"}}))
	if conv.Metadata["orderId"] != "A1" {
		t.Errorf("metadata not set: %+v", conv.Metadata)
	}
	conv = must[*apiclient.Conversation](t, "UpdateConversation clear")(c.UpdateConversation(ctx, sent.ConversationID, apiclient.UpdateConversationRequest{SetMetadata: true}))
	if conv.Metadata != nil {
		t.Errorf("metadata not cleared: %+v", conv.Metadata)
	}
	cm := must[*apiclient.CursorPage[apiclient.ConversationMessage]](t, "ListConversationMessages")(c.ListConversationMessages(ctx, sent.ConversationID, apiclient.CursorParams{}))
	if len(cm.Data) != 2 || cm.Data[0].FromNumber == "" {
		t.Errorf("conversation messages = %+v", cm.Data)
	}
	if _, err := c.React(ctx, sent.ID, apiclient.ReactionLove); apiclient.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("reaction on SMS: err = %v, want 400", err)
	}
	imID, err := e.sb.InjectInboundMessage(sandbox.InboundMessage{From: "+14155550124", To: n1.PhoneNumber, Body: "iMsg", Channel: "imessage"})
	if err != nil {
		t.Fatal(err)
	}
	rx := must[*apiclient.Reaction](t, "React")(c.React(ctx, imID, apiclient.ReactionLike))
	if rx.ReactionType != apiclient.ReactionLike || rx.MessageID != imID || rx.ID == "" {
		t.Errorf("React = %+v", rx)
	}

	// Contacts.
	ct := must[*apiclient.Contact](t, "CreateContact")(c.CreateContact(ctx, apiclient.CreateContactRequest{PhoneNumber: "(415) 555-0123", Name: "Jane", Email: "jane@example.com"}))
	if ct.PhoneNumber != peer || ct.ID == "" || ct.Email != "jane@example.com" {
		t.Errorf("CreateContact = %+v", ct)
	}
	if _, err := c.CreateContact(ctx, apiclient.CreateContactRequest{PhoneNumber: peer, Name: "Dup"}); !apiclient.IsConflict(err) {
		t.Errorf("duplicate contact: err = %v, want 409", err)
	}
	if l := must[*apiclient.Page[apiclient.Contact]](t, "ListContacts")(c.ListContacts(ctx, apiclient.ListContactsParams{Search: "jan"})); len(l.Data) != 1 {
		t.Errorf("contact search = %+v", l.Data)
	}
	if l := must[*apiclient.Page[apiclient.Contact]](t, "ListContacts none")(c.ListContacts(ctx, apiclient.ListContactsParams{Search: "zzz"})); len(l.Data) != 0 {
		t.Errorf("contact search zzz = %+v", l.Data)
	}
	ct = must[*apiclient.Contact](t, "UpdateContact")(c.UpdateContact(ctx, ct.ID, apiclient.UpdateContactRequest{Notes: ptr("VIP")}))
	if ct.Notes != "VIP" || ct.Name != "Jane" {
		t.Errorf("UpdateContact = %+v", ct)
	}
	if g := must[*apiclient.Contact](t, "GetContact")(c.GetContact(ctx, ct.ID)); g.Notes != "VIP" {
		t.Errorf("GetContact = %+v", g)
	}
	if cp := must[*apiclient.Capabilities](t, "ContactCapabilities")(c.ContactCapabilities(ctx, peer)); cp.PhoneNumber != peer {
		t.Errorf("capabilities = %+v", cp)
	}
	if err := c.DeleteContact(ctx, ct.ID); err != nil {
		t.Errorf("DeleteContact: %v", err)
	}
	if _, err := c.GetContact(ctx, ct.ID); !apiclient.IsNotFound(err) {
		t.Errorf("deleted contact: err = %v, want 404", err)
	}

	// Webhooks: none, set, signed deliveries verify with our verifier.
	if w, err := c.GetWebhook(ctx); err != nil || w != nil {
		t.Errorf("GetWebhook before set = %+v, %v", w, err)
	}
	wh := must[*apiclient.Webhook](t, "SetWebhook")(c.SetWebhook(ctx, apiclient.SetWebhookRequest{URL: "https://hooks.example.com/ap", ContextLimit: ptr(0)}))
	if !strings.HasPrefix(wh.Secret, "whsec_") || wh.ContextLimit != 0 || wh.URL != "https://hooks.example.com/ap" {
		t.Errorf("SetWebhook = %+v", wh)
	}
	if g := must[*apiclient.Webhook](t, "GetWebhook")(c.GetWebhook(ctx)); g == nil || g.ID != wh.ID {
		t.Errorf("GetWebhook = %+v", g)
	}
	tr := must[*apiclient.WebhookTestResult](t, "TestWebhook")(c.TestWebhook(ctx, ag.ID))
	if !tr.Success || tr.StatusCode == nil || *tr.StatusCode != 200 {
		t.Errorf("TestWebhook = %+v", tr)
	}
	if _, err := e.sb.InjectInboundSMS(peer, n1.PhoneNumber, "Webhook me"); err != nil {
		t.Fatal(err)
	}
	e.run(t, func() {})
	bodies, heads := e.sink.all()
	var sawSMS bool
	for i, b := range bodies {
		if err := apiclient.VerifyWebhook(wh.Secret, heads[i], b, e.fc.Now()); err != nil {
			t.Errorf("delivery %d does not verify: %v", i, err)
		}
		ev, err := apiclient.ParseWebhookEvent(b)
		if err != nil {
			t.Errorf("delivery %d does not parse: %v", i, err)
			continue
		}
		if ev.Message != nil && ev.Message.Message == "Webhook me" && ev.Message.From == peer {
			sawSMS = true
		}
	}
	if !sawSMS {
		t.Errorf("no agent.message delivery for the injected SMS among %d deliveries", len(bodies))
	}
	dl := must[*apiclient.DeliveryList](t, "ListWebhookDeliveries")(c.ListWebhookDeliveries(ctx, apiclient.DeliveryParams{Limit: 50}))
	if len(dl.Items) == 0 || dl.Total < len(dl.Items) || dl.Items[0].Status == "" {
		t.Errorf("ListWebhookDeliveries = %+v", dl)
	}
	if st := must[*apiclient.DeliveryStats](t, "WebhookDeliveryStats")(c.WebhookDeliveryStats(ctx, 24)); st.Total == 0 || st.Success == 0 {
		t.Errorf("stats = %+v", st)
	}
	if _, err := c.WebhookAllTimeStats(ctx); err != nil {
		t.Errorf("WebhookAllTimeStats: %v", err)
	}
	if w, err := c.GetAgentWebhook(ctx, ag.ID); err != nil || w != nil {
		t.Errorf("GetAgentWebhook before set = %+v, %v", w, err)
	}
	awh := must[*apiclient.Webhook](t, "SetAgentWebhook")(c.SetAgentWebhook(ctx, ag.ID, apiclient.SetWebhookRequest{URL: "https://hooks.example.com/agent", Timeout: ptr(20)}))
	if awh.Timeout != 20 || awh.Secret == wh.Secret {
		t.Errorf("SetAgentWebhook = %+v", awh)
	}
	if g := must[*apiclient.Webhook](t, "GetAgentWebhook")(c.GetAgentWebhook(ctx, ag.ID)); g == nil || g.URL != awh.URL {
		t.Errorf("GetAgentWebhook = %+v", g)
	}
	if r := must[*apiclient.WebhookTestResult](t, "TestAgentWebhook")(c.TestAgentWebhook(ctx, ag.ID)); !r.Success {
		t.Errorf("TestAgentWebhook = %+v", r)
	}
	before, _ := e.sink.all()
	if _, err := e.sb.InjectInboundSMS(peer, n1.PhoneNumber, "To the agent hook"); err != nil {
		t.Fatal(err)
	}
	e.run(t, func() {})
	after, heads2 := e.sink.all()
	if len(after) <= len(before) {
		t.Fatalf("no delivery after the agent webhook was set")
	}
	if err := apiclient.VerifyWebhook(awh.Secret, heads2[len(after)-1], after[len(after)-1], e.fc.Now()); err != nil {
		t.Errorf("agent delivery not signed with the agent secret: %v", err)
	}
	ad := must[[]apiclient.WebhookDelivery](t, "ListAgentWebhookDeliveries")(c.ListAgentWebhookDeliveries(ctx, ag.ID, 10))
	if len(ad) == 0 {
		t.Errorf("agent deliveries empty")
	}
	if r := must[*apiclient.SuccessResult](t, "DeleteAgentWebhook")(c.DeleteAgentWebhook(ctx, ag.ID)); !r.Success {
		t.Errorf("DeleteAgentWebhook = %+v", r)
	}
	if w, _ := c.GetAgentWebhook(ctx, ag.ID); w != nil {
		t.Errorf("agent webhook not deleted: %+v", w)
	}

	// Calls: hosted call waited to completion, transcript, stream replay.
	var done *apiclient.Call
	e.run(t, func() {
		done, err = c.CreateCall(ctx, apiclient.CreateCallRequest{AgentID: ag.ID, ToNumber: "+14155550130",
			SystemPrompt: "Ask about the order.", WaitForCompletion: true, MaxWaitSeconds: 120})
	})
	if err != nil {
		t.Fatalf("CreateCall wait: %v", err)
	}
	if done.Status != apiclient.CallCompleted || len(done.Transcripts) == 0 || done.EndedAt.IsZero() || done.Direction != apiclient.DirectionOutbound {
		t.Errorf("waited call = %+v", done)
	}
	live := must[*apiclient.Call](t, "CreateCall")(c.CreateCall(ctx, apiclient.CreateCallRequest{AgentID: ag.ID, ToNumber: "+14155550131", InitialGreeting: "Hi"}))
	if live.Status.Terminal() || !strings.HasPrefix(live.ID, "call_") {
		t.Errorf("new call = %+v", live)
	}
	var waited *apiclient.Call
	e.run(t, func() {
		waited, err = c.GetCall(ctx, live.ID, apiclient.GetCallParams{Wait: true, Timeout: 60 * time.Second})
	})
	if err != nil || !waited.Status.Terminal() {
		t.Errorf("GetCall wait = %+v, %v", waited, err)
	}
	tx := must[*apiclient.Transcript](t, "GetTranscript")(c.GetTranscript(ctx, done.ID))
	if len(tx.Turns) != len(done.Transcripts) {
		t.Errorf("transcript has %d turns, call has %d", len(tx.Turns), len(done.Transcripts))
	}
	var types []apiclient.StreamEventType
	e.run(t, func() {
		err = c.StreamTranscriptFunc(ctx, done.ID, func(ev apiclient.StreamEvent) error {
			types = append(types, ev.Type)
			return nil
		})
	})
	if err != nil || len(types) < 2 || types[0] != apiclient.StreamConnected || types[len(types)-1] != apiclient.StreamEnded {
		t.Errorf("stream events = %v, %v", types, err)
	}
	if l := must[*apiclient.Page[apiclient.Call]](t, "ListCalls")(c.ListCalls(ctx, apiclient.ListCallsParams{Status: apiclient.CallCompleted, Direction: apiclient.DirectionOutbound})); len(l.Data) == 0 {
		t.Errorf("ListCalls completed outbound empty")
	}
	if l := must[*apiclient.Page[apiclient.Call]](t, "ListCalls search")(c.ListCalls(ctx, apiclient.ListCallsParams{Search: "5550130"})); len(l.Data) != 1 || l.Data[0].ID != done.ID {
		t.Errorf("ListCalls search = %+v", l.Data)
	}
	if l := must[*apiclient.Page[apiclient.Call]](t, "ListAgentCalls")(c.ListAgentCalls(ctx, ag.ID, apiclient.ListParams{})); len(l.Data) != 2 {
		t.Errorf("agent calls = %d", len(l.Data))
	}
	if l := must[*apiclient.Page[apiclient.Call]](t, "ListNumberCalls")(c.ListNumberCalls(ctx, n1.ID, apiclient.ListParams{})); len(l.Data) != 2 {
		t.Errorf("number calls = %d", len(l.Data))
	}
	third := must[*apiclient.Call](t, "CreateCall 3")(c.CreateCall(ctx, apiclient.CreateCallRequest{AgentID: ag.ID, ToNumber: "+14155550132"}))
	if ended := must[*apiclient.Call](t, "EndCall")(c.EndCall(ctx, third.ID)); ended.ID != third.ID {
		t.Errorf("EndCall = %+v", ended)
	}
	// The recording endpoint is public: no Authorization header at all.
	resp, err := (&http.Client{Transport: e.sb.Transport()}).Get(c.RecordingURL(done.ID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		t.Errorf("recording URL requires auth (status %d)", resp.StatusCode)
	}

	// Usage and registration.
	u := must[*apiclient.Usage](t, "GetUsage")(c.GetUsage(ctx))
	if u.Numbers.Used != 2 || u.Stats.TotalMessages < 2 || u.Stats.TotalCalls != 3 || u.Plan != nil ||
		u.Stats.SMSSegmentsLast30d == nil || *u.Stats.SMSSegmentsLast30d < 1 {
		t.Errorf("usage = %+v", u)
	}
	if d := must[*apiclient.DailyUsage](t, "GetDailyUsage")(c.GetDailyUsage(ctx, 7)); d.Days != 7 || len(d.Data) != 7 {
		t.Errorf("daily = %+v", d)
	}
	if m := must[*apiclient.MonthlyUsage](t, "GetMonthlyUsage")(c.GetMonthlyUsage(ctx, 3)); m.Months != 3 || len(m.Data) != 3 {
		t.Errorf("monthly = %+v", m)
	}
	if bn := must[[]apiclient.NumberUsage](t, "GetUsageByNumber")(c.GetUsageByNumber(ctx)); len(bn) != 2 {
		t.Errorf("by number = %+v", bn)
	}
	ba := must[*apiclient.UsageByAgent](t, "GetUsageByAgent")(c.GetUsageByAgent(ctx, apiclient.UsageByAgentParams{Period: apiclient.PeriodMonth, TZ: "America/New_York"}))
	if ba.Period != apiclient.PeriodMonth || len(ba.Data) == 0 {
		t.Errorf("by agent = %+v", ba)
	}
	if r := must[*apiclient.Registration](t, "RegistrationStatus")(c.RegistrationStatus(ctx)); r.CampaignStatus == "" {
		t.Errorf("registration = %+v", r)
	}

	// Release, delete, then 404s.
	rel := must[*apiclient.ReleasedNumber](t, "ReleaseNumber")(c.ReleaseNumber(ctx, n2.ID))
	if rel.Status != apiclient.NumberReleased {
		t.Errorf("ReleaseNumber = %+v", rel)
	}
	if g := must[*apiclient.Number](t, "GetNumber released")(c.GetNumber(ctx, n2.ID)); g.Status != apiclient.NumberReleased {
		t.Errorf("released number = %+v", g)
	}
	if l := must[*apiclient.Page[apiclient.Number]](t, "ListNumbers after release")(c.ListNumbers(ctx, apiclient.ListParams{})); len(l.Data) != 1 {
		t.Errorf("released number still listed: %d", len(l.Data))
	}
	if r := must[*apiclient.SuccessResult](t, "DeleteWebhook")(c.DeleteWebhook(ctx)); !r.Success {
		t.Errorf("DeleteWebhook = %+v", r)
	}
	if w, _ := c.GetWebhook(ctx); w != nil {
		t.Errorf("webhook not deleted")
	}
	da := must[*apiclient.DeletedAgent](t, "DeleteAgent")(c.DeleteAgent(ctx, ag.ID))
	if !da.Success || da.ID != ag.ID {
		t.Errorf("DeleteAgent = %+v", da)
	}
	if _, err := c.GetAgent(ctx, ag.ID); !apiclient.IsNotFound(err) {
		t.Errorf("deleted agent: err = %v, want 404", err)
	}
	if g := must[*apiclient.Number](t, "GetNumber after agent delete")(c.GetNumber(ctx, n1.ID)); g.AgentID != "" {
		t.Errorf("number keeps deleted agent id %q", g.AgentID)
	}
}

// TestContractTodaysAPI drives the newer fields end to end against the sandbox: iMessage
// sends, groups, capabilities, call variables and outcomes, the live transcript stream and
// sub-accounts.
func TestContractTodaysAPI(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.c, t.Context()
	ag := must[*apiclient.Agent](t, "CreateAgent")(c.CreateAgent(ctx, apiclient.CreateAgentRequest{Name: "Host",
		AgentSettings: apiclient.AgentSettings{VoiceMode: ptr(apiclient.VoiceModeHosted), SystemPrompt: ptr("Call {{name}}."),
			VoicemailMessage: ptr("Hi {{name}}, call us back.")}}))
	n := must[*apiclient.Number](t, "BuyNumber")(c.BuyNumber(ctx, apiclient.BuyNumberRequest{AgentID: ag.ID}))

	// Capabilities decide the channel.
	cp := must[*apiclient.Capabilities](t, "capabilities")(c.ContactCapabilities(ctx, "+14155550135"))
	if !cp.Capabilities.IMessage || !cp.Capabilities.SMS || cp.CheckedAt.IsZero() {
		t.Errorf("capabilities = %+v", cp)
	}
	first := must[*apiclient.SentMessage](t, "iMessage")(c.SendMessage(ctx, apiclient.SendMessageRequest{AgentID: ag.ID,
		ToNumber: "+14155550135", Body: "Hi", SendStyle: apiclient.StyleFireworks}))
	if first.Channel != apiclient.ChannelIMessage {
		t.Errorf("iMessage send = %+v", first)
	}
	reply := must[*apiclient.SentMessage](t, "reply")(c.SendMessage(ctx, apiclient.SendMessageRequest{NumberID: n.ID,
		ToNumber: "+14155550135", Body: "More", ReplyToMessageID: first.ID}))
	if reply.ReplyToMessageID != first.ID || reply.ReplyParentUnresolved {
		t.Errorf("threaded reply = %+v", reply)
	}
	plain := must[*apiclient.SentMessage](t, "SMS reply")(c.SendMessage(ctx, apiclient.SendMessageRequest{NumberID: n.ID,
		ToNumber: "+14155550199", Body: "More", ReplyToMessageID: first.ID}))
	if plain.Channel != apiclient.ChannelSMS || !plain.ReplyParentUnresolved {
		t.Errorf("unresolved reply = %+v", plain)
	}
	grp := must[*apiclient.SentMessage](t, "group")(c.SendMessage(ctx, apiclient.SendMessageRequest{AgentID: ag.ID,
		Recipients: []string{"+14155550131", "+14155550132"}, Body: "All of you"}))
	if !strings.HasPrefix(grp.ToNumber, "grp_") {
		t.Fatalf("group start = %+v", grp)
	}
	conv := must[*apiclient.Conversation](t, "group conversation")(c.GetConversation(ctx, grp.ConversationID, apiclient.GetConversationParams{}))
	if !conv.IsGroup || conv.GroupID != grp.ToNumber || len(conv.Participants) != 2 {
		t.Errorf("group conversation = %+v", conv)
	}
	if again := must[*apiclient.SentMessage](t, "to group")(c.SendMessage(ctx, apiclient.SendMessageRequest{AgentID: ag.ID,
		ToNumber: grp.ToNumber, Body: "Again"})); again.ConversationID != grp.ConversationID {
		t.Errorf("message to the group id = %+v", again)
	}

	// A voicemail call: variables fill the agent's voicemail message, the analysis says so.
	var vm *apiclient.Call
	var err error
	e.run(t, func() {
		vm, err = c.CreateCall(ctx, apiclient.CreateCallRequest{AgentID: ag.ID, ToNumber: "+1212" + sandbox.VoicemailSuffix,
			Variables: map[string]string{"name": "Kim"}, WaitForCompletion: true, MaxWaitSeconds: 60})
	})
	if err != nil {
		t.Fatal(err)
	}
	if vm.DisconnectionReason != "voicemail_reached" || vm.Analysis == nil || vm.Analysis.InVoicemail == nil || !*vm.Analysis.InVoicemail ||
		vm.CallSuccessful == nil || *vm.CallSuccessful || len(vm.Transcripts) == 0 || vm.Transcripts[len(vm.Transcripts)-1].Response != "Hi Kim, call us back." {
		t.Errorf("voicemail call = %+v (analysis %+v)", vm, vm.Analysis)
	}
	ringing := must[*apiclient.Call](t, "call")(c.CreateCall(ctx, apiclient.CreateCallRequest{AgentID: ag.ID, ToNumber: "+14155550160"}))
	if ended := must[*apiclient.Call](t, "EndCall")(c.EndCall(ctx, ringing.ID)); ended.Status != apiclient.CallCanceled || !ended.Status.Terminal() {
		t.Errorf("ended while ringing = %+v", ended)
	}

	// The live transcript: turns arrive as the call runs on the clock, each once.
	live := must[*apiclient.Call](t, "live call")(c.CreateCall(ctx, apiclient.CreateCallRequest{AgentID: ag.ID, ToNumber: "+14155550161",
		Variables: map[string]string{"name": "Lee"}}))
	var turns []string
	var ended *apiclient.StreamEndedData
	e.run(t, func() {
		err = c.FollowTranscript(ctx, live.ID, func(ev apiclient.StreamEvent) error {
			if ev.Turn != nil {
				turns = append(turns, string(ev.Turn.Role)+": "+ev.Turn.Content)
			}
			if ev.Ended != nil {
				ended = ev.Ended
			}
			return nil
		})
	})
	final := must[*apiclient.Call](t, "GetCall")(c.GetCall(ctx, live.ID, apiclient.GetCallParams{}))
	if err != nil || ended == nil || ended.Status != apiclient.CallCompleted || len(turns) < 3 {
		t.Fatalf("followed %v, ended %+v, err %v", turns, ended, err)
	}
	if want := len(final.Transcripts); len(turns) < want {
		t.Errorf("stream gave %d turns, the call has %d stored turns", len(turns), want)
	}

	// Sub-accounts: a client scoped to one sees only its resources.
	subRaw, err := (&http.Client{Transport: bearer{key: "test", base: e.sb.Transport()}}).Post("https://api.agentphone.ai/v1/sub-accounts",
		"application/json", strings.NewReader(`{"name":"Client A"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sub struct{ ID string }
	if err := json.NewDecoder(subRaw.Body).Decode(&sub); err != nil || sub.ID == "" {
		t.Fatalf("create sub-account: %v %+v", err, sub)
	}
	subRaw.Body.Close()
	sc, err := apiclient.New(apiclient.Options{BaseURL: "https://api.agentphone.ai", SubAccountID: sub.ID,
		HTTPClient: &http.Client{Transport: bearer{key: "test", base: e.sb.Transport()}}, Clock: e.fc})
	if err != nil {
		t.Fatal(err)
	}
	if l := must[*apiclient.Page[apiclient.Agent]](t, "sub agents")(sc.ListAgents(ctx, apiclient.ListParams{})); len(l.Data) != 0 {
		t.Errorf("the sub-account sees the master's agents: %+v", l.Data)
	}
	must[*apiclient.Agent](t, "sub CreateAgent")(sc.CreateAgent(ctx, apiclient.CreateAgentRequest{Name: "Sub"}))
	if l := must[*apiclient.Page[apiclient.Agent]](t, "master agents")(c.ListAgents(ctx, apiclient.ListParams{})); len(l.Data) != 1 {
		t.Errorf("the master sees %d agents, want its own 1", len(l.Data))
	}
	bad, _ := apiclient.New(apiclient.Options{BaseURL: "https://api.agentphone.ai", SubAccountID: "sub_nope",
		HTTPClient: &http.Client{Transport: bearer{key: "test", base: e.sb.Transport()}}, Clock: e.fc})
	if _, err := bad.ListAgents(ctx, apiclient.ListParams{}); !apiclient.IsNotFound(err) || !strings.Contains(err.Error(), "SUB_ACCOUNT_NOT_FOUND") {
		t.Errorf("unknown sub-account: %v", err)
	}
}

func TestContractFaultsAndAuth(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.c, t.Context()
	ag, err := c.CreateAgent(ctx, apiclient.CreateAgentRequest{Name: "A"})
	if err != nil {
		t.Fatal(err)
	}

	// GET retried through two 503s.
	e.sb.SetFault("GET /v1/agents/{agent_id}", sandbox.Fault{Status: 503, Times: 2})
	var got *apiclient.Agent
	e.run(t, func() { got, err = c.GetAgent(ctx, ag.ID) })
	if err != nil || got.ID != ag.ID {
		t.Errorf("GetAgent through 2×503: %v, %v", got, err)
	}

	// 429 with a Retry-After beyond the budget: returned at once.
	e.sb.SetFault("GET /v1/agents", sandbox.Fault{Status: 429, RetryAfter: 90 * time.Second, Times: 1})
	_, err = c.ListAgents(ctx, apiclient.ListParams{})
	var ae *apiclient.Error
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter != 90*time.Second || ae.Code != "RATE_LIMIT_EXCEEDED" {
		t.Errorf("429 beyond budget: %v", err)
	}

	// A POST 503 is never retried and says it may have been sent.
	e.sb.SetFault("POST /v1/calls", sandbox.Fault{Status: 503, Times: 1})
	_, err = c.CreateCall(ctx, apiclient.CreateCallRequest{AgentID: ag.ID, ToNumber: "+14155550140"})
	if !apiclient.IsMaybeSent(err) {
		t.Errorf("POST 503: %v, want MaybeSent", err)
	}
	if l, _ := c.ListCalls(ctx, apiclient.ListCallsParams{}); l == nil || len(l.Data) != 0 {
		t.Errorf("a call was created or listing failed: %+v", l)
	}

	// Malformed body on success.
	e.sb.SetFault("GET /v1/usage", sandbox.Fault{Malformed: true, Times: 1})
	if _, err := c.GetUsage(ctx); err == nil || !strings.Contains(err.Error(), "not the expected JSON") {
		t.Errorf("malformed body: %v", err)
	}

	// Unusable answers and dropped connections, each named.
	for _, tc := range []struct {
		fault sandbox.Fault
		kind  apiclient.Kind
	}{
		{sandbox.Fault{Body: sandbox.RawBody("null"), Times: 1}, apiclient.KindUnreadable},
		{sandbox.Fault{Body: sandbox.RawBody(""), Times: 1}, apiclient.KindUnreadable},
		{sandbox.Fault{Oversize: true, Times: 1}, apiclient.KindTooLarge},
		{sandbox.Fault{Reset: true, Times: 1}, apiclient.KindReset},
	} {
		e.sb.SetFault("GET /v1/usage", tc.fault)
		_, err := c.GetUsage(ctx)
		if !errors.As(err, &ae) || ae.Kind != tc.kind {
			t.Errorf("fault %+v: %v, want kind %s", tc.fault, err, tc.kind)
		}
	}
	e.sb.SetFault("POST /v1/messages", sandbox.Fault{Status: 429, Code: "OUTBOUND_LIMIT_REACHED", Times: 1})
	if _, err := c.SendMessage(ctx, apiclient.SendMessageRequest{AgentID: ag.ID, ToNumber: "+14155550150", Body: "x"}); !apiclient.IsOutreachLimit(err) ||
		!strings.Contains(err.Error(), "the account's outbound limit is reached; do not retry now") {
		t.Errorf("outbound limit: %v", err)
	}

	// Validation error from the sandbox (422 detail list).
	_, err = c.SetWebhook(ctx, apiclient.SetWebhookRequest{URL: "https://x.example", ContextLimit: ptr(99)})
	if !apiclient.IsValidation(err) || !errors.As(err, &ae) || len(ae.Details) == 0 {
		t.Errorf("contextLimit 99: %v", err)
	}

	// No key: 401.
	noKey, _ := apiclient.New(apiclient.Options{BaseURL: "https://api.agentphone.ai", HTTPClient: &http.Client{Transport: e.sb.Transport()}, Clock: e.fc})
	if _, err := noKey.ListAgents(ctx, apiclient.ListParams{}); !apiclient.IsUnauthorized(err) {
		t.Errorf("no key: %v, want 401", err)
	}
}

func BenchmarkClientGetAgentSandbox(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	ag, err := e.c.CreateAgent(ctx, apiclient.CreateAgentRequest{Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.c.GetAgent(ctx, ag.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

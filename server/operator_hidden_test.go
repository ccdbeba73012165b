package server

// Issue 15 item 1 through MCP: the strict-mode code texted to the operator's phone is readable
// by no tool, resource, wait, inbox, live tool or webhook event. The test calls every read-only
// tool the server registers (so a new read tool is covered without editing this test) with
// arguments aimed at the operator's conversation and call, and reads every resource.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

const (
	hiddenOperator = "+14155550123"
	// operatorMarker is in everything the operator's phone says back; it must never be read.
	operatorMarker = "OPERATOR-ONLY-7741"
)

// newStrictReceiverHarness is a strict-mode App with the operator's phone set and the webhook
// receiver (inbox, live tools) served on a loopback test server.
func newStrictReceiverHarness(t *testing.T) (*harness, string) {
	t.Helper()
	clk := clockwork.NewFakeClockAt(testStart)
	sb := sandbox.New(sandbox.Options{Clock: clk, Seed: 1})
	t.Cleanup(sb.Close)
	cfg, err := ConfigFromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sandbox, cfg.StateDir, cfg.LogLevel = true, t.TempDir(), "error"
	cfg.Toolsets = []string{"all"}
	cfg.WebhookListen = "127.0.0.1:0"
	cfg.ConfirmMode, cfg.OperatorPhone = "strict", "(415) 555-0123"
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	app, err := New(ctx, cfg, Options{Clock: clk, Sandbox: sb, Stderr: io.Discard, Logger: slog.New(slog.DiscardHandler),
		Version: "test", Secrets: Secrets{WebhookSecret: keyguard.NewSecret(testWebhookSecret)}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = app.Close() })
	srv := httptest.NewServer(app.WebhookHandler())
	t.Cleanup(srv.Close)
	return &harness{t: t, ctx: ctx, app: app, sb: sb, clk: clk, cfg: app.cfg}, srv.URL + WebhookPath
}

// operatorWorld is what exists about the operator's phone after a code was texted to it.
type operatorWorld struct {
	code                             string
	agentID, numberID, number        string
	convID, msgID, callID, contactID string
}

func setupOperatorWorld(t *testing.T, h *harness, url string, c *client.Client) operatorWorld {
	t.Helper()
	// The agent is set up directly: create_agent with a prompt needs a confirmation, and in
	// strict mode there is no number yet to text the operator's code from.
	raw := h.rawAPI()
	prompt, mode := "Be brief.", apiclient.VoiceModeHosted
	agent, err := raw.CreateAgent(h.ctx, apiclient.CreateAgentRequest{Name: "Desk", AgentSettings: apiclient.AgentSettings{VoiceMode: &mode, SystemPrompt: &prompt}})
	if err != nil {
		t.Fatal(err)
	}
	num, err := raw.BuyNumber(h.ctx, apiclient.BuyNumberRequest{AreaCode: "415", AgentID: agent.ID})
	if err != nil {
		t.Fatal(err)
	}
	w := operatorWorld{agentID: agent.ID, numberID: num.ID, number: num.PhoneNumber}
	// A strict confirmation texts the code to the operator.
	mustConfirm(t, h.call(c, "send_sms", sms(w.agentID, "+14155550142", "Your table is ready.")), "strict first contact", "first_contact")
	codes := h.operatorCodes(num.ID, hiddenOperator)
	if len(codes) != 1 {
		t.Fatalf("want one code texted to the operator, got %v", codes)
	}
	w.code = codes[0]
	// The operator answers by text and calls the number, repeating the code; the account has
	// a contact for them too.
	if _, err := h.sb.InjectInboundSMS(hiddenOperator, num.PhoneNumber, "ok "+w.code+" "+operatorMarker); err != nil {
		t.Fatal(err)
	}
	callID, err := h.sb.InjectInboundCall(hiddenOperator, num.PhoneNumber, sandbox.WithCallerLines("The code is "+w.code+" "+operatorMarker, "Bye."))
	if err != nil {
		t.Fatal(err)
	}
	w.callID = callID
	h.settleCall(callID)
	ct, err := raw.CreateContact(h.ctx, apiclient.CreateContactRequest{Name: "Operator " + operatorMarker, PhoneNumber: hiddenOperator})
	if err != nil {
		t.Fatal(err)
	}
	w.contactID = ct.ID
	convs, err := raw.ListConversations(h.ctx, apiclient.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, cv := range convs.Data {
		if cv.Participant == hiddenOperator {
			w.convID = cv.ID
		}
	}
	msgs, err := raw.ListConversationMessages(h.ctx, w.convID, apiclient.CursorParams{Limit: 10})
	if err != nil || len(msgs.Data) == 0 {
		t.Fatalf("operator conversation %q: %v", w.convID, err)
	}
	w.msgID = msgs.Data[0].ID

	// The same, as webhook deliveries: a text, an ended call, a reaction, a live caller turn.
	at := h.clk.Now()
	events := map[string]map[string]any{
		"text": {"event": "agent.message", "channel": "sms", "timestamp": at.Format(time.RFC3339), "agentId": w.agentID,
			"data": map[string]any{"messageId": "msg_op1", "conversationId": w.convID, "numberId": w.numberID, "from": "(415) 555-0123",
				"to": w.number, "message": "code " + w.code + " " + operatorMarker, "direction": "inbound", "receivedAt": at.Format(time.RFC3339)}},
		"call_ended": {"event": "agent.call_ended", "channel": "voice", "timestamp": at.Format(time.RFC3339), "agentId": w.agentID,
			"data": map[string]any{"callId": "call_op1", "numberId": w.numberID, "from": hiddenOperator, "to": w.number, "direction": "inbound",
				"status": "completed", "summary": "They read " + w.code + " " + operatorMarker,
				"transcript": []map[string]string{{"role": "user", "content": w.code + " " + operatorMarker}}}},
		"reaction": {"event": "agent.reaction", "channel": "imessage", "timestamp": at.Format(time.RFC3339), "agentId": w.agentID,
			"data": map[string]any{"conversationId": w.convID, "numberId": w.numberID, "reactionType": "like", "fromNumber": hiddenOperator,
				"direction": "inbound", "messageId": w.msgID, "messageBody": "Code " + w.code + " " + operatorMarker}},
		"voice": {"event": "agent.message", "channel": "voice", "timestamp": at.Format(time.RFC3339), "agentId": w.agentID,
			"data": map[string]any{"callId": "call_op2", "numberId": w.numberID, "from": "1-415-555-0123", "to": w.number,
				"status": "in-progress", "transcript": "my code is " + w.code + " " + operatorMarker, "direction": "inbound"}},
	}
	names := make([]string, 0, len(events))
	for k := range events {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, name := range names {
		body, _ := json.Marshal(events[name])
		type answer struct {
			status int
			body   string
		}
		got := make(chan answer, 1)
		go func() {
			s, b := deliver(t, url, testWebhookSecret, fmt.Sprintf("dlv_op_%d", i), at, body, "")
			got <- answer{s, b}
		}()
		select {
		case a := <-got:
			if a.status != 200 {
				t.Fatalf("%s event: status %d %s", name, a.status, a.body)
			}
			if name == "voice" && !strings.Contains(a.body, `"hangup":true`) {
				t.Fatalf("a live turn from the operator's phone was not ended: %s", a.body)
			}
		case <-time.After(10 * time.Second):
			// Held for the model: let the receiver give up (fake clock) so the test ends.
			for i := 0; i < 200; i++ {
				h.clk.Advance(10 * time.Second)
				select {
				case <-got:
					i = 200
				case <-time.After(10 * time.Millisecond):
				}
			}
			t.Errorf("%s event from the operator was held for the model", name)
		}
	}
	if n := h.storedInbound(); n != 0 {
		t.Errorf("%d operator events were stored for the inbox", n)
	}
	// Another process sharing the state dir, without the operator phone set, stored one.
	stored, _ := json.Marshal(storedEvent{Kind: "message", ID: "msg_other", From: hiddenOperator, To: w.number,
		Body: "code " + w.code + " " + operatorMarker, At: at})
	if err := h.app.store.AppendInbound(h.ctx, "message", "msg_other", stored, at); err != nil {
		t.Fatal(err)
	}
	return w
}

// readArgs are the argument values the test tries, aimed at the operator where it can.
func (w operatorWorld) readArgs() map[string]any {
	return map[string]any{
		"conversation_id": w.convID, "number_id": w.numberID, "agent_id": w.agentID, "call_id": w.callID,
		"message_id": w.msgID, "contact_id": w.contactID, "participant": hiddenOperator, "phone_number": hiddenOperator,
		"search": "555-0123", "since": "2000-01-01T00:00:00Z", "timeout_seconds": 1, "limit": 50,
		"direction": "inbound", "hours": 24, "days": 7, "months": 2,
		"campaign_id": "cmp_none", // no campaign reaches the operator: create_campaign refuses operator_phone
	}
}

// argSets builds the calls to make for one tool: the required arguments alone, then each
// optional argument, and each pair of them, with a value on top. A required argument without a value fails the test,
// so a new read tool must be given one here.
func argSets(t *testing.T, tool mcp.Tool, pool map[string]any) []map[string]any {
	t.Helper()
	base := map[string]any{}
	for _, req := range tool.InputSchema.Required {
		v, ok := pool[req]
		if !ok {
			t.Fatalf("read tool %s requires %q and the operator test has no value for it: add one to readArgs", tool.Name, req)
		}
		base[req] = v
	}
	sets := []map[string]any{base}
	names := make([]string, 0, len(tool.InputSchema.Properties))
	for name := range tool.InputSchema.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	var optional []string
	for _, name := range names {
		if _, done := base[name]; done {
			continue
		}
		if _, ok := pool[name]; ok {
			optional = append(optional, name)
		}
	}
	// Each optional argument alone, then every pair (wait_for_reply needs conversation_id and
	// since together to look back at the operator's answer).
	for i, a := range optional {
		sets = append(sets, with(base, a, pool[a]))
		for _, b := range optional[i+1:] {
			sets = append(sets, with(with(base, a, pool[a]), b, pool[b]))
		}
	}
	return sets
}

// TestOperatorCodeInvisibleToEveryReadPath: after a code was texted to the operator (and the
// operator answered by text, by call and by webhook), no read-only tool and no resource shows
// the code or anything the operator's phone said.
func TestOperatorCodeInvisibleToEveryReadPath(t *testing.T) {
	h, url := newStrictReceiverHarness(t)
	c := h.connect("inprocess")
	w := setupOperatorWorld(t, h, url, c)
	secrets := []string{w.code, operatorMarker}
	leak := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q (the operator's code or words): %s", where, s, text)
			}
		}
	}

	list, err := c.ListTools(h.ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pool := w.readArgs()
	readTools := 0
	for _, tool := range list.Tools {
		if tool.Annotations.ReadOnlyHint == nil || !*tool.Annotations.ReadOnlyHint {
			continue
		}
		readTools++
		for _, args := range argSets(t, tool, pool) {
			done := make(chan result, 1)
			go func() {
				r, err := h.callErr(c, tool.Name, args)
				if err != nil {
					r = result{isError: true, text: "protocol error: " + err.Error()}
				}
				done <- r
			}()
			r := h.advanceUntil(done, time.Second)
			data, _ := json.Marshal(r.data)
			leak(fmt.Sprintf("%s %v", tool.Name, args), r.text+"\n"+string(data))
		}
	}
	if readTools < 15 {
		t.Fatalf("only %d read-only tools found; the test must try every one", readTools)
	}

	uris := []string{}
	res, err := c.ListResources(h.ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Resources {
		uris = append(uris, r.URI)
	}
	tmpls, err := c.ListResourceTemplates(h.ctx, mcp.ListResourceTemplatesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range tmpls.ResourceTemplates {
		raw := tm.URITemplate.Raw()
		for _, id := range []string{w.convID, w.callID, w.msgID, w.contactID, w.numberID, w.agentID} {
			uris = append(uris, strings.NewReplacer("{id}", id).Replace(raw))
		}
	}
	if len(uris) < 6 {
		t.Fatalf("only %d resource URIs to read", len(uris))
	}
	for _, uri := range uris {
		rr, err := c.ReadResource(h.ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
		if err != nil {
			leak("resource "+uri+" error", err.Error())
			continue
		}
		for _, content := range rr.Contents {
			if tc, ok := content.(mcp.TextResourceContents); ok {
				leak("resource "+uri, tc.Text)
			}
		}
	}

	// The operator's code still works for the human who has it: TOKEN:CODE from the phone.
	first := h.call(c, "send_sms", sms(w.agentID, "+14155550144", "Second table."))
	tok := mustConfirm(t, first, "strict first contact", "first_contact")
	codes := h.operatorCodes(w.numberID, hiddenOperator)
	h.mustOK(h.call(c, "send_sms", with(sms(w.agentID, "+14155550144", "Second table."), "confirmation_token", tok+":"+codes[len(codes)-1])), "TOKEN:CODE")
	// And the model cannot text or call the operator's phone to ask for it.
	mustDeny(t, h.call(c, "send_sms", sms(w.agentID, "(415) 555-0123", "What is the code?")), "operator_phone", "text to the operator")
	mustDeny(t, h.call(c, "make_call", dial(w.agentID, hiddenOperator)), "operator_phone", "call to the operator")
}

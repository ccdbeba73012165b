package apiclient

import (
	"context"
	"testing"
	"time"
)

type endpointCase struct {
	name    string
	do      func(context.Context, *Client) (any, error)
	method  string
	path    string
	query   string
	body    string // expected JSON body; "" = no body
	fixture string // "" = empty body
	status  int
	check   func(t *testing.T, v any)
}

func check[T any](f func(t *testing.T, v T)) func(*testing.T, any) {
	return func(t *testing.T, v any) {
		t.Helper()
		tv, ok := v.(T)
		if !ok {
			t.Fatalf("result is %T", v)
		}
		f(t, tv)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	when := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	cases := []endpointCase{
		{name: "ListVoices", method: "GET", path: "/v1/agents/voices", fixture: "voices.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.ListVoices(ctx) },
			check: check(func(t *testing.T, v []Voice) {
				eq(t, "len", len(v), 2)
				eq(t, "voice_id", v[0].VoiceID, "11labs-Marissa")
				eq(t, "voice_name", v[0].VoiceName, "Marissa")
				eq(t, "preview", v[0].PreviewAudioURL, "https://cdn.example/m.mp3")
				eq(t, "null gender", v[1].Gender, "")
			})},
		{name: "ListAgents", method: "GET", path: "/v1/agents", query: "limit=5&offset=10", fixture: "agents_list.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListAgents(ctx, ListParams{Limit: 5, Offset: 10})
			},
			check: check(func(t *testing.T, p *Page[Agent]) {
				eq(t, "len", len(p.Data), 2)
				eq(t, "hasMore", p.HasMore, false)
				if p.Total == nil || *p.Total != 2 {
					t.Errorf("total = %v", p.Total)
				}
				eq(t, "second", p.Data[1].ID, "agt_def456")
			})},
		{name: "CreateAgent", method: "POST", path: "/v1/agents", fixture: "agent.json",
			body: `{"name":"Support Bot","voiceMode":"hosted","enableMessaging":false,"interruptionSensitivity":0,"modelTier":"max","systemPrompt":"You are helpful.","transferNumber":""}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateAgent(ctx, CreateAgentRequest{Name: "Support Bot", AgentSettings: AgentSettings{
					VoiceMode: ptr(VoiceModeHosted), EnableMessaging: ptr(false), InterruptionSensitivity: ptr(0.0),
					ModelTier: ptr(ModelTierMax), SystemPrompt: ptr("You are helpful."), TransferNumber: ptr("")}})
			},
			check: check(func(t *testing.T, a *Agent) {
				eq(t, "id", a.ID, "agt_abc123")
				eq(t, "voiceMode", a.VoiceMode, VoiceModeHosted)
				eq(t, "enableMessaging", a.EnableMessaging, false)
				eq(t, "modelTier", a.ModelTier, ModelTierMax)
				eq(t, "systemPrompt", a.SystemPrompt, "You are helpful.")
				eq(t, "beginMessage", a.BeginMessage, "Hi there")
				eq(t, "transferNumber", a.TransferNumber, "+15550001111")
				eq(t, "customTools", len(a.CustomTools), 1)
				eq(t, "tool method", a.CustomTools[0].Method, "GET")
				eq(t, "callScreeningIdentity", a.CallScreeningIdentity, "Acme")
				eq(t, "sttMode", a.STTMode, STTModeAccurate)
				eq(t, "ambientSound", a.AmbientSound, AmbientCoffeeShop)
				eq(t, "denoising", a.DenoisingMode, DenoisingNoiseAndBackSpeech)
				eq(t, "maxSilenceMs", a.MaxSilenceMs, 30000)
				eq(t, "voiceSpeed", a.VoiceSpeed, 1.25)
				eq(t, "interruptionSensitivity", a.InterruptionSensitivity, 0.0)
				eq(t, "language", a.Language, "en-GB")
				eq(t, "voice", a.Voice, "11labs-Marissa")
				eq(t, "createdAt", a.CreatedAt.Time, when)
				eq(t, "numbers", len(a.Numbers), 1)
				eq(t, "number phone", a.Numbers[0].PhoneNumber, "+15551234567")
			})},
		{name: "GetAgent", method: "GET", path: "/v1/agents/agt%2F..%2Fx", fixture: "agent.json",
			do:    func(ctx context.Context, c *Client) (any, error) { return c.GetAgent(ctx, "agt/../x") },
			check: check(func(t *testing.T, a *Agent) { eq(t, "id", a.ID, "agt_abc123") })},
		{name: "UpdateAgent partial", method: "PATCH", path: "/v1/agents/agt_abc123", fixture: "agent.json",
			body: `{"name":"New","enableBackchannel":false,"customTools":[],"voicemailMessage":""}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdateAgent(ctx, "agt_abc123", UpdateAgentRequest{Name: ptr("New"), AgentSettings: AgentSettings{
					EnableBackchannel: ptr(false), CustomTools: &[]CustomTool{}, VoicemailMessage: ptr("")}})
			},
			check: check(func(t *testing.T, a *Agent) { eq(t, "id", a.ID, "agt_abc123") })},
		{name: "DeleteAgent", method: "DELETE", path: "/v1/agents/agt_abc123", fixture: "agent_deleted.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.DeleteAgent(ctx, "agt_abc123") },
			check: check(func(t *testing.T, d *DeletedAgent) {
				eq(t, "success", d.Success, true)
				eq(t, "name", d.Name, "Support Bot")
			})},
		{name: "AttachNumber", method: "POST", path: "/v1/agents/agt_abc123/numbers", fixture: "attach_number.json",
			body: `{"numberId":"num_xyz789"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.AttachNumber(ctx, "agt_abc123", "num_xyz789")
			},
			check: check(func(t *testing.T, a *AttachedNumber) {
				eq(t, "agentId", a.AgentID, "agt_abc123")
				eq(t, "number", a.Number.ID, "num_xyz789")
				eq(t, "status", a.Number.Status, NumberActive)
			})},
		{name: "DetachNumber", method: "DELETE", path: "/v1/agents/agt_abc123/numbers/num_xyz789", fixture: "agent_deleted.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.DetachNumber(ctx, "agt_abc123", "num_xyz789")
			},
			check: check(func(t *testing.T, s *SuccessResult) { eq(t, "success", s.Success, true) })},
		{name: "ListAgentConversations", method: "GET", path: "/v1/agents/agt_1/conversations", query: "limit=3", fixture: "conversations_list.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListAgentConversations(ctx, "agt_1", ListParams{Limit: 3})
			},
			check: check(func(t *testing.T, p *Page[Conversation]) {
				eq(t, "preview", p.Data[0].LastMessagePreview, "Thanks!")
				eq(t, "count", p.Data[0].MessageCount, 7)
				if p.Data[0].Metadata != nil {
					t.Errorf("metadata = %v, want nil", p.Data[0].Metadata)
				}
			})},
		{name: "ListAgentCalls", method: "GET", path: "/v1/agents/agt_1/calls", query: "offset=20", fixture: "calls_list.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListAgentCalls(ctx, "agt_1", ListParams{Offset: 20})
			},
			check: check(func(t *testing.T, p *Page[Call]) {
				eq(t, "hasMore", p.HasMore, true)
				eq(t, "total", *p.Total, 41)
				eq(t, "status", p.Data[0].Status, CallFailed)
				eq(t, "snippet", p.Data[0].LastTranscriptSnippet, "Where is my…")
				if p.Data[0].DurationSeconds != nil || !p.Data[0].EndedAt.IsZero() {
					t.Errorf("null duration/endedAt decoded as %v/%v", p.Data[0].DurationSeconds, p.Data[0].EndedAt)
				}
			})},
		{name: "ListNumbers", method: "GET", path: "/v1/numbers", query: "limit=100", fixture: "numbers_list.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.ListNumbers(ctx, ListParams{Limit: 100}) },
			check: check(func(t *testing.T, p *Page[Number]) {
				eq(t, "phone", p.Data[0].PhoneNumber, "+15551234567")
				eq(t, "createdAt", p.Data[0].CreatedAt.Time, when.Add(123456*time.Microsecond))
			})},
		{name: "BuyNumber", method: "POST", path: "/v1/numbers", fixture: "number.json",
			body: `{"country":"US","areaCode":"415","agentId":"agt_abc123"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.BuyNumber(ctx, BuyNumberRequest{Country: "US", AreaCode: "415", AgentID: "agt_abc123"})
			},
			check: check(func(t *testing.T, n *Number) {
				eq(t, "id", n.ID, "num_xyz789")
				eq(t, "country", n.Country, "US")
				eq(t, "agentId", n.AgentID, "agt_abc123")
				eq(t, "type", n.Type, "sms")
			})},
		{name: "GetNumber", method: "GET", path: "/v1/numbers/num_xyz789", fixture: "number.json",
			do:    func(ctx context.Context, c *Client) (any, error) { return c.GetNumber(ctx, "num_xyz789") },
			check: check(func(t *testing.T, n *Number) { eq(t, "status", n.Status, NumberActive) })},
		{name: "ReleaseNumber", method: "DELETE", path: "/v1/numbers/num_xyz789", fixture: "number_released.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.ReleaseNumber(ctx, "num_xyz789") },
			check: check(func(t *testing.T, r *ReleasedNumber) {
				eq(t, "status", r.Status, NumberReleased)
				eq(t, "phone", r.PhoneNumber, "+15551234567")
			})},
		{name: "ListNumberMessages", method: "GET", path: "/v1/numbers/num_xyz789/messages",
			query: "after=2025-01-14T00%3A00%3A00Z&before=2025-01-15T12%3A00%3A00Z&limit=200", fixture: "number_messages.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListNumberMessages(ctx, "num_xyz789", CursorParams{Limit: 200, Before: when, After: when.Add(-36 * time.Hour)})
			},
			check: check(func(t *testing.T, p *CursorPage[NumberMessage]) {
				eq(t, "hasMore", p.HasMore, true)
				eq(t, "from_", p.Data[0].From, "+15559876543")
				eq(t, "from", p.Data[1].From, "+15551234567")
				eq(t, "direction", p.Data[0].Direction, DirectionInbound)
				eq(t, "channel", p.Data[0].Channel, ChannelSMS)
				eq(t, "body", p.Data[1].Body, "Your order shipped")
			})},
		{name: "ListNumberCalls", method: "GET", path: "/v1/numbers/num_1/calls", fixture: "calls_list.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListNumberCalls(ctx, "num_1", ListParams{})
			},
			check: check(func(t *testing.T, p *Page[Call]) { eq(t, "id", p.Data[0].ID, "call_ghi012") })},
		{name: "GetContactCard", method: "GET", path: "/v1/numbers/num_1/contact-card", fixture: "contact_card.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.GetContactCard(ctx, "num_1") },
			check: check(func(t *testing.T, cc *ContactCard) {
				eq(t, "first", cc.FirstName, "Ada")
				eq(t, "display", cc.DisplayName, "Ada @ Acme")
				eq(t, "avatar", cc.HasAvatar, true)
			})},
		{name: "SetContactCard", method: "PUT", path: "/v1/numbers/num_1/contact-card", fixture: "contact_card.json",
			body: `{"firstName":"Ada","avatarUrl":"https://example.com/a.png"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.SetContactCard(ctx, "num_1", ContactCardRequest{FirstName: "Ada", AvatarURL: "https://example.com/a.png"})
			},
			check: check(func(t *testing.T, cc *ContactCard) { eq(t, "last", cc.LastName, "Lovelace") })},
		{name: "DeleteContactCard", method: "DELETE", path: "/v1/numbers/num_1/contact-card", status: 204,
			do: func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteContactCard(ctx, "num_1") }},
		{name: "ListCalls filters", method: "GET", path: "/v1/calls",
			query: "direction=outbound&limit=10&offset=5&search=%2B1555&status=in-progress&type=web", fixture: "calls_list.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListCalls(ctx, ListCallsParams{Limit: 10, Offset: 5, Status: CallInProgress, Direction: DirectionOutbound, Type: CallTypeWeb, Search: "+1555"})
			},
			check: check(func(t *testing.T, p *Page[Call]) { eq(t, "len", len(p.Data), 1) })},
		{name: "CreateCall hosted", method: "POST", path: "/v1/calls", fixture: "call.json",
			body: `{"agentId":"agt_abc123","toNumber":"+15559876543","systemPrompt":"Book a table","modelTier":"turbo","variables":{"name":"Ann"},"waitForCompletion":true,"maxWaitSeconds":300,"callScreeningPurpose":"booking"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateCall(ctx, CreateCallRequest{AgentID: "agt_abc123", ToNumber: "+15559876543", SystemPrompt: "Book a table",
					ModelTier: ModelTierTurbo, Variables: map[string]string{"name": "Ann"}, WaitForCompletion: true, MaxWaitSeconds: 300, CallScreeningPurpose: "booking"})
			},
			check: check(func(t *testing.T, c *Call) {
				eq(t, "transcripts", len(c.Transcripts), 2)
				eq(t, "response", c.Transcripts[0].Response, "Hello, how can I help?")
				eq(t, "transcript", c.Transcripts[1].Transcript, "Where is my order?")
				eq(t, "confidence", *c.Transcripts[1].Confidence, 0.95)
				if c.Transcripts[0].Confidence != nil {
					t.Errorf("null confidence decoded as %v", *c.Transcripts[0].Confidence)
				}
				eq(t, "duration", *c.DurationSeconds, 330)
				eq(t, "endedAt", c.EndedAt.Time, time.Date(2025, 1, 15, 14, 5, 30, 0, time.UTC))
				eq(t, "recordingAvailable", c.RecordingAvailable, true)
				eq(t, "recordingUrl", c.RecordingURL, "")
				eq(t, "phoneNumberId", c.PhoneNumberID, "num_xyz789")
			})},
		{name: "CreateCall webhook", method: "POST", path: "/v1/calls", fixture: "call_created.json",
			body: `{"agentId":"agt_abc123","toNumber":"+15559876543","fromNumberId":"num_1","initialGreeting":"Hi","voice":"11labs-Marissa"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateCall(ctx, CreateCallRequest{AgentID: "agt_abc123", ToNumber: "+15559876543", FromNumberID: "num_1", InitialGreeting: "Hi", Voice: "11labs-Marissa"})
			},
			check: check(func(t *testing.T, c *Call) {
				eq(t, "status", c.Status, CallInProgress)
				eq(t, "direction", c.Direction, DirectionOutbound)
				eq(t, "retell", c.RetellCallID, "rc_123")
			})},
		{name: "GetCall wait", method: "GET", path: "/v1/calls/call_ghi012", query: "timeout=121&wait=true", fixture: "call.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.GetCall(ctx, "call_ghi012", GetCallParams{Wait: true, Timeout: 120*time.Second + time.Millisecond})
			},
			check: check(func(t *testing.T, c *Call) { eq(t, "status", c.Status, CallCompleted) })},
		{name: "GetCall voicemail analysis", method: "GET", path: "/v1/calls/call_vm0001", fixture: "call_voicemail.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.GetCall(ctx, "call_vm0001", GetCallParams{})
			},
			check: check(func(t *testing.T, c *Call) {
				eq(t, "disconnectionReason", c.DisconnectionReason, "voicemail_reached")
				eq(t, "userSentiment", c.UserSentiment, "Neutral")
				if c.CallSuccessful == nil || *c.CallSuccessful {
					t.Errorf("callSuccessful = %v, want false", c.CallSuccessful)
				}
				if c.Analysis == nil || c.Analysis.InVoicemail == nil || !*c.Analysis.InVoicemail {
					t.Fatalf("analysis = %+v, want inVoicemail true", c.Analysis)
				}
				eq(t, "analysis summary (callSummary)", c.Analysis.Summary, "Reached voicemail and left a message.")
				eq(t, "custom (customAnalysisData)", c.Analysis.Custom["callback_requested"], any(false))
				eq(t, "summary", c.Summary, "Reached voicemail and left a message.")
				eq(t, "transcripts", len(c.Transcripts), 2)
			})},
		{name: "GetCall plain", method: "GET", path: "/v1/calls/call_ghi012", fixture: "call.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.GetCall(ctx, "call_ghi012", GetCallParams{})
			},
			check: check(func(t *testing.T, c *Call) { eq(t, "from", c.FromNumber, "+15559876543") })},
		{name: "EndCall", method: "POST", path: "/v1/calls/call_1/end", fixture: "call_created.json",
			do:    func(ctx context.Context, c *Client) (any, error) { return c.EndCall(ctx, "call_1") },
			check: check(func(t *testing.T, c *Call) { eq(t, "id", c.ID, "call_new001") })},
		{name: "GetTranscript data", method: "GET", path: "/v1/calls/call_ghi012/transcript", fixture: "transcript_data.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.GetTranscript(ctx, "call_ghi012") },
			check: check(func(t *testing.T, tr *Transcript) {
				eq(t, "turns", len(tr.Turns), 1)
				eq(t, "response", tr.Turns[0].Response, "Hello")
			})},
		{name: "GetTranscript transcripts", method: "GET", path: "/v1/calls/call_9/transcript", fixture: "transcript_transcripts.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.GetTranscript(ctx, "call_9") },
			check: check(func(t *testing.T, tr *Transcript) {
				eq(t, "turns", len(tr.Turns), 1)
				eq(t, "transcript", tr.Turns[0].Transcript, "Bye")
				eq(t, "callId fallback", tr.CallID, "call_9")
			})},
		{name: "SendMessage snake_case", method: "POST", path: "/v1/messages", fixture: "send_message.json",
			body: `{"body":"","agent_id":"agt_abc123","to_number":"+15559876543","media_urls":["https://example.com/a.png"],"number_id":"num_1","send_style":"slam","reply_to_message_id":"msg_001"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.SendMessage(ctx, SendMessageRequest{AgentID: "agt_abc123", ToNumber: "+15559876543", MediaURLs: []string{"https://example.com/a.png"},
					NumberID: "num_1", SendStyle: StyleSlam, ReplyToMessageID: "msg_001"})
			},
			check: check(func(t *testing.T, m *SentMessage) {
				eq(t, "id", m.ID, "msg_98765zyxwv")
				eq(t, "channel", m.Channel, ChannelIMessage)
				eq(t, "from_number", m.FromNumber, "+15551234567")
				eq(t, "to_number", m.ToNumber, "+15559876543")
				eq(t, "conversation_id", m.ConversationID, "conv_def456")
				eq(t, "media_urls", len(m.MediaURLs), 1)
				eq(t, "reply_to", m.ReplyToMessageID, "msg_001")
				eq(t, "unresolved", m.ReplyParentUnresolved, true)
			})},
		{name: "SendMessage group", method: "POST", path: "/v1/messages", fixture: "send_message_group.json",
			body: `{"body":"hi all","from_number":"+15551234567","recipients":["+15550000001","a@b.c"],"send_style":"confetti"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.SendMessage(ctx, SendMessageRequest{Body: "hi all", FromNumber: "+15551234567", Recipients: []string{"+15550000001", "a@b.c"}, SendStyle: StyleConfetti})
			},
			check: check(func(t *testing.T, m *SentMessage) {
				eq(t, "status", m.Status, "sent")
				eq(t, "to_number is the new group", m.ToNumber, "grp_7c1d2e3f4a5b6c7d8e9f")
				eq(t, "channel", m.Channel, ChannelIMessage)
				eq(t, "null reply_to", m.ReplyToMessageID, "")
				eq(t, "null unresolved", m.ReplyParentUnresolved, false)
			})},
		{name: "React", method: "POST", path: "/v1/messages/msg_98765zyxwv/reactions", fixture: "reaction.json",
			body: `{"reaction":"love"}`,
			do:   func(ctx context.Context, c *Client) (any, error) { return c.React(ctx, "msg_98765zyxwv", ReactionLove) },
			check: check(func(t *testing.T, r *Reaction) {
				eq(t, "reaction_type", r.ReactionType, ReactionLove)
				eq(t, "message_id", r.MessageID, "msg_98765zyxwv")
			})},
		{name: "ListConversations", method: "GET", path: "/v1/conversations", query: "limit=20&offset=40", fixture: "conversations_list.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListConversations(ctx, ListParams{Limit: 20, Offset: 40})
			},
			check: check(func(t *testing.T, p *Page[Conversation]) { eq(t, "participant", p.Data[0].Participant, "+15559876543") })},
		{name: "GetConversation message_limit", method: "GET", path: "/v1/conversations/conv_def456", query: "message_limit=25", fixture: "conversation_detail.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.GetConversation(ctx, "conv_def456", GetConversationParams{MessageLimit: 25})
			},
			check: check(func(t *testing.T, cv *Conversation) {
				eq(t, "isGroup", cv.IsGroup, true)
				eq(t, "groupName", cv.GroupName, "Team")
				eq(t, "participants", len(cv.Participants), 2)
				eq(t, "metadata", cv.Metadata["orderId"], any("ORD-12345"))
				eq(t, "messages", len(cv.Messages), 1)
				m := cv.Messages[0]
				eq(t, "fromNumber", m.FromNumber, "+15559876543")
				eq(t, "senderIdentifier", m.SenderIdentifier, "+15559876543")
				eq(t, "reactionType", m.Reactions[0].ReactionType, ReactionLove)
				eq(t, "replyTo", m.ReplyTo.MessageID, "msg_001")
			})},
		{name: "UpdateConversation clear metadata", method: "PATCH", path: "/v1/conversations/conv_def456", fixture: "conversation_detail.json",
			body: `{"metadata":null,"group_name":"Crew"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdateConversation(ctx, "conv_def456", UpdateConversationRequest{SetMetadata: true, GroupName: ptr("Crew")})
			},
			check: check(func(t *testing.T, cv *Conversation) { eq(t, "id", cv.ID, "conv_def456") })},
		{name: "UpdateConversation set metadata", method: "PATCH", path: "/v1/conversations/conv_1", fixture: "conversation_detail.json",
			body: `{"metadata":{"k":"v"}}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdateConversation(ctx, "conv_1", UpdateConversationRequest{SetMetadata: true, Metadata: map[string]any{"k": "v"}})
			},
			check: check(func(t *testing.T, cv *Conversation) { eq(t, "id", cv.ID, "conv_def456") })},
		{name: "ListConversationMessages", method: "GET", path: "/v1/conversations/conv_1/messages", query: "limit=5", fixture: "conversation_messages.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListConversationMessages(ctx, "conv_1", CursorParams{Limit: 5})
			},
			check: check(func(t *testing.T, p *CursorPage[ConversationMessage]) {
				eq(t, "body", p.Data[0].Body, "Hey from iMessage!")
				eq(t, "channel", p.Data[0].Channel, ChannelIMessage)
			})},
		{name: "ListContacts search", method: "GET", path: "/v1/contacts", query: "limit=50&search=jane+doe", fixture: "contacts_list.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListContacts(ctx, ListContactsParams{Limit: 50, Search: "jane doe"})
			},
			check: check(func(t *testing.T, p *Page[Contact]) { eq(t, "email", p.Data[0].Email, "jane@example.com") })},
		{name: "CreateContact 201", method: "POST", path: "/v1/contacts", fixture: "contact.json", status: 201,
			body: `{"phoneNumber":"+15559876543","name":"Jane Doe","notes":"VIP"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateContact(ctx, CreateContactRequest{PhoneNumber: "+15559876543", Name: "Jane Doe", Notes: "VIP"})
			},
			check: check(func(t *testing.T, ct *Contact) {
				eq(t, "id", ct.ID, "ct_1")
				eq(t, "updatedAt", ct.UpdatedAt.Time, when.Add(24*time.Hour))
			})},
		{name: "GetContact", method: "GET", path: "/v1/contacts/ct_1", fixture: "contact.json",
			do:    func(ctx context.Context, c *Client) (any, error) { return c.GetContact(ctx, "ct_1") },
			check: check(func(t *testing.T, ct *Contact) { eq(t, "name", ct.Name, "Jane Doe") })},
		{name: "UpdateContact", method: "PATCH", path: "/v1/contacts/ct_1", fixture: "contact.json",
			body: `{"email":"","notes":"new"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdateContact(ctx, "ct_1", UpdateContactRequest{Email: ptr(""), Notes: ptr("new")})
			},
			check: check(func(t *testing.T, ct *Contact) { eq(t, "phone", ct.PhoneNumber, "+15559876543") })},
		{name: "DeleteContact 204", method: "DELETE", path: "/v1/contacts/ct_1", status: 204,
			do: func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteContact(ctx, "ct_1") }},
		{name: "ContactCapabilities phone_number", method: "GET", path: "/v1/contacts/capabilities", query: "phone_number=%2B15559876543", fixture: "capabilities.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.ContactCapabilities(ctx, "+15559876543") },
			check: check(func(t *testing.T, cp *Capabilities) {
				eq(t, "imessage", cp.Capabilities.IMessage, true)
				eq(t, "sms", cp.Capabilities.SMS, false)
			})},
		{name: "GetWebhook", method: "GET", path: "/v1/webhooks", fixture: "webhook.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.GetWebhook(ctx) },
			check: check(func(t *testing.T, w *Webhook) {
				eq(t, "secret", w.Secret, "whsec_testsecret")
				eq(t, "contextLimit", w.ContextLimit, 0)
				eq(t, "timeout", w.Timeout, 45)
			})},
		{name: "SetWebhook", method: "POST", path: "/v1/webhooks", fixture: "webhook.json",
			body: `{"url":"https://example.com/hook","contextLimit":0,"timeout":45}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.SetWebhook(ctx, SetWebhookRequest{URL: "https://example.com/hook", ContextLimit: ptr(0), Timeout: ptr(45)})
			},
			check: check(func(t *testing.T, w *Webhook) { eq(t, "id", w.ID, "wh_xyz789") })},
		{name: "DeleteWebhook", method: "DELETE", path: "/v1/webhooks", fixture: "agent_deleted.json",
			do:    func(ctx context.Context, c *Client) (any, error) { return c.DeleteWebhook(ctx) },
			check: check(func(t *testing.T, s *SuccessResult) { eq(t, "success", s.Success, true) })},
		{name: "ListWebhookDeliveries items", method: "GET", path: "/v1/webhooks/deliveries", query: "hours=6&limit=1&offset=10", fixture: "deliveries.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListWebhookDeliveries(ctx, DeliveryParams{Limit: 1, Offset: 10, Hours: 6})
			},
			check: check(func(t *testing.T, d *DeliveryList) {
				eq(t, "items", len(d.Items), 1)
				eq(t, "total", d.Total, 12)
				eq(t, "offset", d.Offset, 10)
				eq(t, "eventType", d.Items[0].EventType, "agent.message")
				eq(t, "httpStatus", *d.Items[0].HTTPStatus, 500)
				eq(t, "attempts", d.Items[0].AttemptCount, 3)
			})},
		{name: "WebhookDeliveryStats", method: "GET", path: "/v1/webhooks/deliveries/stats", query: "hours=48", fixture: "delivery_stats.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.WebhookDeliveryStats(ctx, 48) },
			check: check(func(t *testing.T, s *DeliveryStats) {
				eq(t, "pending", s.Pending, 1)
				eq(t, "rate", s.SuccessRate, 0.7)
				eq(t, "byEventType", s.ByEventType["agent.message"]["failed"], 2)
			})},
		{name: "TestWebhook agentId query", method: "POST", path: "/v1/webhooks/test", query: "agentId=agt_abc123", fixture: "webhook_test.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.TestWebhook(ctx, "agt_abc123") },
			check: check(func(t *testing.T, r *WebhookTestResult) {
				eq(t, "success", r.Success, false)
				eq(t, "statusCode", *r.StatusCode, 502)
				eq(t, "responseMs", *r.ResponseMs, 1234)
				eq(t, "error", r.Error, "Bad Gateway")
			})},
		{name: "TestWebhook no agent", method: "POST", path: "/v1/webhooks/test", fixture: "webhook_test.json",
			do:    func(ctx context.Context, c *Client) (any, error) { return c.TestWebhook(ctx, "") },
			check: check(func(t *testing.T, r *WebhookTestResult) { eq(t, "success", r.Success, false) })},
		{name: "GetAgentWebhook", method: "GET", path: "/v1/agents/agt_1/webhook", fixture: "webhook.json",
			do:    func(ctx context.Context, c *Client) (any, error) { return c.GetAgentWebhook(ctx, "agt_1") },
			check: check(func(t *testing.T, w *Webhook) { eq(t, "url", w.URL, "https://example.com/hook") })},
		{name: "SetAgentWebhook", method: "POST", path: "/v1/agents/agt_1/webhook", fixture: "webhook.json",
			body: `{"url":"https://example.com/a"}`,
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.SetAgentWebhook(ctx, "agt_1", SetWebhookRequest{URL: "https://example.com/a"})
			},
			check: check(func(t *testing.T, w *Webhook) { eq(t, "status", w.Status, "active") })},
		{name: "DeleteAgentWebhook", method: "DELETE", path: "/v1/agents/agt_1/webhook", fixture: "agent_deleted.json",
			do:    func(ctx context.Context, c *Client) (any, error) { return c.DeleteAgentWebhook(ctx, "agt_1") },
			check: check(func(t *testing.T, s *SuccessResult) { eq(t, "success", s.Success, true) })},
		{name: "ListAgentWebhookDeliveries bare array", method: "GET", path: "/v1/agents/agt_1/webhook/deliveries", query: "limit=7", fixture: "agent_deliveries.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListAgentWebhookDeliveries(ctx, "agt_1", 7)
			},
			check: check(func(t *testing.T, d []WebhookDelivery) {
				eq(t, "len", len(d), 2)
				eq(t, "second", d[1].Status, "success")
				if !d[1].NextRetryAt.IsZero() {
					t.Errorf("null nextRetryAt = %v", d[1].NextRetryAt)
				}
			})},
		{name: "ListAgentWebhookDeliveries items object", method: "GET", path: "/v1/agents/agt_1/webhook/deliveries", fixture: "deliveries.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.ListAgentWebhookDeliveries(ctx, "agt_1", 0)
			},
			check: check(func(t *testing.T, d []WebhookDelivery) { eq(t, "len", len(d), 1) })},
		{name: "TestAgentWebhook", method: "POST", path: "/v1/agents/agt_1/webhook/test", fixture: "webhook_test.json",
			do:    func(ctx context.Context, c *Client) (any, error) { return c.TestAgentWebhook(ctx, "agt_1") },
			check: check(func(t *testing.T, r *WebhookTestResult) { eq(t, "ms", *r.ResponseMs, 1234) })},
		{name: "GetUsage today's shape", method: "GET", path: "/v1/usage", fixture: "usage.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.GetUsage(ctx) },
			check: check(func(t *testing.T, u *Usage) {
				if u.Plan != nil {
					t.Errorf("plan = %+v, want nil (the API no longer sends it)", u.Plan)
				}
				if u.Stats.SMSSegmentsLast30d == nil || *u.Stats.SMSSegmentsLast30d != 131 {
					t.Errorf("smsSegmentsLast30d = %v, want 131", u.Stats.SMSSegmentsLast30d)
				}
				eq(t, "remaining", u.Numbers.Remaining, 9)
				eq(t, "messages30d", u.Stats.MessagesLast30d, 90)
				eq(t, "periodEnd", u.PeriodEnd.Time, time.Date(2025, 1, 31, 23, 59, 59, 0, time.UTC))
			})},
		{name: "GetUsage legacy plan tolerated", method: "GET", path: "/v1/usage", fixture: "usage_legacy_plan.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.GetUsage(ctx) },
			check: check(func(t *testing.T, u *Usage) {
				if u.Plan == nil {
					t.Fatal("legacy plan not read")
				}
				eq(t, "plan", u.Plan.Name, "payg")
				eq(t, "limits.numbers", u.Plan.Limits.Numbers, 10)
				eq(t, "concurrent", u.Plan.Limits.ConcurrentCalls, 2)
				if u.Stats.SMSSegmentsLast30d != nil {
					t.Errorf("absent smsSegmentsLast30d read as %v", *u.Stats.SMSSegmentsLast30d)
				}
				eq(t, "remaining", u.Numbers.Remaining, 9)
				eq(t, "messages30d", u.Stats.MessagesLast30d, 90)
				eq(t, "failedWebhooks", u.Stats.FailedWebhookDeliveries, 10)
				eq(t, "periodEnd", u.PeriodEnd.Time, time.Date(2025, 1, 31, 23, 59, 59, 0, time.UTC))
			})},
		{name: "GetDailyUsage", method: "GET", path: "/v1/usage/daily", query: "days=2", fixture: "usage_daily.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.GetDailyUsage(ctx, 2) },
			check: check(func(t *testing.T, u *DailyUsage) {
				eq(t, "days", u.Days, 2)
				eq(t, "date", u.Data[1].Date, "2025-01-15")
				eq(t, "webhooks", u.Data[0].Webhooks, 7)
			})},
		{name: "GetMonthlyUsage", method: "GET", path: "/v1/usage/monthly", query: "months=12", fixture: "usage_monthly.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.GetMonthlyUsage(ctx, 12) },
			check: check(func(t *testing.T, u *MonthlyUsage) {
				eq(t, "month", u.Data[0].Month, "2025-01")
				eq(t, "calls", u.Data[0].Calls, 12)
			})},
		{name: "GetUsageByNumber", method: "GET", path: "/v1/usage/by-number", fixture: "usage_by_number.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.GetUsageByNumber(ctx) },
			check: check(func(t *testing.T, u []NumberUsage) {
				eq(t, "numberId", u[0].NumberID, "num_xyz789")
				eq(t, "messages", u[0].Messages, 40)
			})},
		{name: "GetUsageByAgent", method: "GET", path: "/v1/usage/by-agent", query: "period=week&tz=Europe%2FBerlin", fixture: "usage_by_agent.json",
			do: func(ctx context.Context, c *Client) (any, error) {
				return c.GetUsageByAgent(ctx, UsageByAgentParams{Period: PeriodWeek, TZ: "Europe/Berlin"})
			},
			check: check(func(t *testing.T, u *UsageByAgent) {
				eq(t, "period", u.Period, PeriodWeek)
				eq(t, "orphan", u.Data[1].IsOrphan, true)
				eq(t, "orphan agent", u.Data[1].AgentID, "")
				eq(t, "seconds", u.Data[1].TotalSeconds, 61.5)
				eq(t, "periodStart", u.PeriodStart.Time, time.Date(2025, 1, 13, 0, 0, 0, 0, time.UTC))
			})},
		{name: "RegistrationStatus", method: "GET", path: "/v1/register/status", fixture: "registration.json",
			do: func(ctx context.Context, c *Client) (any, error) { return c.RegistrationStatus(ctx) },
			check: check(func(t *testing.T, r *Registration) {
				eq(t, "campaign_status", r.CampaignStatus, CampaignPending)
				eq(t, "stage", r.Stage, "carrier_review")
			})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var body []byte
			if tc.fixture != "" {
				body = fixture(t, tc.fixture)
			}
			c, srv := newTestClient(t, nil, reply{status: tc.status, body: body})
			got, err := tc.do(t.Context(), c)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			eq(t, "method", r.Method, tc.method)
			eq(t, "path", r.Path, tc.path)
			eq(t, "query", r.Query, tc.query)
			if !sameJSON(t, r.Body, tc.body) {
				t.Errorf("body = %s\nwant   %s", r.Body, tc.body)
			}
			eq(t, "Accept", r.Header.Get("Accept"), "application/json")
			eq(t, "User-Agent", r.Header.Get("User-Agent"), "test-agent/1")
			eq(t, "Authorization", r.Header.Get("Authorization"), "")
			wantCT := ""
			if tc.body != "" {
				wantCT = "application/json"
			}
			eq(t, "Content-Type", r.Header.Get("Content-Type"), wantCT)
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestGetWebhookNull(t *testing.T) {
	t.Parallel()
	for _, get := range []func(*Client) (*Webhook, error){
		func(c *Client) (*Webhook, error) { return c.GetWebhook(t.Context()) },
		func(c *Client) (*Webhook, error) { return c.GetAgentWebhook(t.Context(), "agt_1") },
	} {
		c, _ := newTestClient(t, nil, reply{body: []byte("null")})
		w, err := get(c)
		if err != nil || w != nil {
			t.Errorf("null webhook: got %v, %v; want nil, nil", w, err)
		}
	}
}

func TestLocalValidation(t *testing.T) {
	t.Parallel()
	c, srv := newTestClient(t, nil, reply{body: []byte("{}")})
	ctx := t.Context()
	cases := map[string]func() error{
		"empty agent id":  func() error { _, err := c.GetAgent(ctx, ""); return err },
		"empty number id": func() error { _, err := c.DetachNumber(ctx, "agt_1", ""); return err },
		"attach empty":    func() error { _, err := c.AttachNumber(ctx, "agt_1", ""); return err },
		"agent name":      func() error { _, err := c.CreateAgent(ctx, CreateAgentRequest{}); return err },
		"call to":         func() error { _, err := c.CreateCall(ctx, CreateCallRequest{AgentID: "a"}); return err },
		"message sender":  func() error { _, err := c.SendMessage(ctx, SendMessageRequest{ToNumber: "+1"}); return err },
		"message both": func() error {
			_, err := c.SendMessage(ctx, SendMessageRequest{AgentID: "a", ToNumber: "+1", Recipients: []string{"x", "y"}})
			return err
		},
		"message no target":  func() error { _, err := c.SendMessage(ctx, SendMessageRequest{AgentID: "a"}); return err },
		"reaction":           func() error { _, err := c.React(ctx, "msg_1", ""); return err },
		"period":             func() error { _, err := c.GetUsageByAgent(ctx, UsageByAgentParams{}); return err },
		"conversation noop":  func() error { _, err := c.UpdateConversation(ctx, "conv_1", UpdateConversationRequest{}); return err },
		"capabilities phone": func() error { _, err := c.ContactCapabilities(ctx, ""); return err },
		"webhook url":        func() error { _, err := c.SetWebhook(ctx, SetWebhookRequest{}); return err },
		"contact fields":     func() error { _, err := c.CreateContact(ctx, CreateContactRequest{Name: "x"}); return err },
	}
	for name, f := range cases {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests reached the server, want 0", n)
	}
}

func TestRecordingURLAndBaseURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"", DefaultBaseURL, true},
		{"https://api.agentphone.to", "https://api.agentphone.to", true},
		{"https://api.agentphone.to/", "https://api.agentphone.to", true},
		{"https://api.agentphone.to/v1", "https://api.agentphone.to", true},
		{"https://api.agentphone.to/v1/", "https://api.agentphone.to", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"ftp://x", "", false},
		{"https://", "", false},
		{"https://u:p@h", "", false},
		{"https://h/other", "", false},
		{"https://h?x=1", "", false},
	}
	for _, tc := range cases {
		c, err := New(Options{BaseURL: tc.in})
		if (err == nil) != tc.ok {
			t.Errorf("New(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err == nil {
			eq(t, "base "+tc.in, c.BaseURL(), tc.want)
		}
	}
	c, _ := New(Options{BaseURL: "https://api.agentphone.ai/v1"})
	eq(t, "recording", c.RecordingURL("call_a/b"), "https://api.agentphone.ai/v1/calls/call_a%2Fb/recording")
}

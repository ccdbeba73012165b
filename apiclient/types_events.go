package apiclient

import "encoding/json"

// WebhookEvent is a decoded webhook delivery body. Exactly one of Message,
// Voice, CallEnded and Reaction is set for a known event; an unknown event
// or channel leaves them all nil (Data keeps the raw payload) so a receiver
// can acknowledge and ignore it.
type WebhookEvent struct {
	Event     EventType `json:"event"`
	Channel   Channel   `json:"channel"`
	Timestamp Time      `json:"timestamp"`
	AgentID   string    `json:"agentId"`
	// Data is the raw "data" object.
	Data json.RawMessage `json:"data"`
	// ConversationState is the conversation metadata (agent.message only);
	// nil when none.
	ConversationState map[string]any `json:"conversationState,omitempty"`
	// RecentHistory holds the last contextLimit items (agent.message only).
	RecentHistory []HistoryItem `json:"recentHistory,omitempty"`

	Message   *MessageEventData   `json:"-"` // agent.message, channel sms|mms|imessage
	Voice     *VoiceEventData     `json:"-"` // agent.message, channel voice
	CallEnded *CallEndedEventData `json:"-"` // agent.call_ended
	Reaction  *ReactionEventData  `json:"-"` // agent.reaction
}

// HistoryItem is one recentHistory entry.
type HistoryItem struct {
	MessageID        string    `json:"messageId,omitempty"`
	Content          string    `json:"content"`
	Direction        Direction `json:"direction"`
	Channel          Channel   `json:"channel,omitempty"`
	At               Time      `json:"at"`
	SenderIdentifier string    `json:"senderIdentifier,omitempty"`
}

// EventContact is the saved contact of an event's sender (nil if none).
type EventContact struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	Email       string `json:"email,omitempty"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
}

// EventGroup describes the iMessage group of a message event.
type EventGroup struct {
	IsGroup      bool               `json:"isGroup"`
	GroupID      string             `json:"groupId,omitempty"`
	GroupName    string             `json:"groupName,omitempty"`
	GroupIconURL string             `json:"groupIconUrl,omitempty"`
	Participants []GroupParticipant `json:"participants,omitempty"`
}

// MessageEventData is the data of agent.message on sms/mms/imessage.
type MessageEventData struct {
	MessageID        string        `json:"messageId"`
	ConversationID   string        `json:"conversationId"`
	NumberID         string        `json:"numberId"`
	From             string        `json:"from"`
	To               string        `json:"to"`
	Contact          *EventContact `json:"contact,omitempty"`
	Message          string        `json:"message"`
	MediaURL         string        `json:"mediaUrl,omitempty"`
	MediaURLs        []string      `json:"mediaUrls,omitempty"`
	Direction        Direction     `json:"direction"`
	ReceivedAt       Time          `json:"receivedAt"`
	SenderIdentifier string        `json:"senderIdentifier,omitempty"`
	Group            *EventGroup   `json:"group,omitempty"`
	ReplyTo          *ReplyTo      `json:"replyTo,omitempty"`
}

// VoiceEventData is the data of agent.message on channel voice: one caller
// utterance; Transcript is a STRING here.
type VoiceEventData struct {
	CallID     string     `json:"callId"`
	NumberID   string     `json:"numberId"`
	From       string     `json:"from"`
	To         string     `json:"to"`
	Status     CallStatus `json:"status"`
	Transcript string     `json:"transcript"`
	Confidence *float64   `json:"confidence,omitempty"`
	Direction  Direction  `json:"direction"`
}

// CallEndedEventData is the data of agent.call_ended; Transcript is an
// ARRAY of {role, content} turns here.
type CallEndedEventData struct {
	CallID              string        `json:"callId"`
	NumberID            string        `json:"numberId"`
	From                string        `json:"from"`
	To                  string        `json:"to"`
	Contact             *EventContact `json:"contact,omitempty"`
	Direction           Direction     `json:"direction"`
	Status              CallStatus    `json:"status"`
	StartedAt           Time          `json:"startedAt"`
	EndedAt             Time          `json:"endedAt"`
	DurationSeconds     *int          `json:"durationSeconds,omitempty"`
	DisconnectionReason string        `json:"disconnectionReason,omitempty"`
	Transcript          []EventTurn   `json:"transcript"`
	Summary             string        `json:"summary,omitempty"`
	UserSentiment       string        `json:"userSentiment,omitempty"`
	CallSuccessful      *bool         `json:"callSuccessful,omitempty"`
}

// EventTurn is one turn of an agent.call_ended transcript.
type EventTurn struct {
	Role    TurnRole `json:"role"`
	Content string   `json:"content"`
}

// ReactionEventData is the data of agent.reaction.
type ReactionEventData struct {
	ConversationID   string       `json:"conversationId"`
	NumberID         string       `json:"numberId"`
	ReactionType     ReactionType `json:"reactionType"`
	FromNumber       string       `json:"fromNumber"`
	Direction        Direction    `json:"direction"`
	MessageID        string       `json:"messageId"`
	MessageBody      string       `json:"messageBody,omitempty"`
	MessageMediaURL  string       `json:"messageMediaUrl,omitempty"`
	MessageMediaURLs []string     `json:"messageMediaUrls,omitempty"`
	CreatedAt        Time         `json:"createdAt"`
}

// VoiceResponse is the JSON object a webhook answers to a voice
// agent.message: Text is spoken; Hangup ends the call; Action is
// "transfer" or "hangup"; Digits are DTMF; Interim chunks (NDJSON) are
// spoken while the turn stays open.
type VoiceResponse struct {
	Text    string `json:"text,omitempty"`
	Hangup  bool   `json:"hangup,omitempty"`
	Action  string `json:"action,omitempty"`
	Digits  string `json:"digits,omitempty"`
	Interim bool   `json:"interim,omitempty"`
}

// Voice response actions.
const (
	ActionTransfer = "transfer"
	ActionHangup   = "hangup"
)

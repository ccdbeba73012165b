package apiclient

import "encoding/json"

// SendMessageRequest is the body of POST /v1/messages. It is SNAKE_CASE.
// Body is always sent (it may be empty for media-only messages and iMessage
// carousels). Give a sender (AgentID, NumberID or FromNumber) and either
// ToNumber or Recipients (2+ to start an iMessage group), not both.
type SendMessageRequest struct {
	Body             string    `json:"body"`
	AgentID          string    `json:"agent_id,omitempty"`
	ToNumber         string    `json:"to_number,omitempty"`
	Recipients       []string  `json:"recipients,omitempty"`
	MediaURL         string    `json:"media_url,omitempty"`
	MediaURLs        []string  `json:"media_urls,omitempty"`
	NumberID         string    `json:"number_id,omitempty"`
	FromNumber       string    `json:"from_number,omitempty"`
	SendStyle        SendStyle `json:"send_style,omitempty"`
	ReplyToMessageID string    `json:"reply_to_message_id,omitempty"`
}

// SentMessage is the answer of POST /v1/messages (snake_case). When a group
// was created via Recipients, ToNumber holds the new grp_ id.
type SentMessage struct {
	ID                    string   `json:"id"`
	Status                string   `json:"status"`
	Channel               Channel  `json:"channel"`
	FromNumber            string   `json:"from_number"`
	ToNumber              string   `json:"to_number"`
	ConversationID        string   `json:"conversation_id,omitempty"`
	MediaURLs             []string `json:"media_urls,omitempty"`
	ReplyToMessageID      string   `json:"reply_to_message_id,omitempty"`
	ReplyParentUnresolved bool     `json:"reply_parent_unresolved,omitempty"`
}

// Reaction is the answer of POST /v1/messages/{id}/reactions (snake_case).
type Reaction struct {
	ID           string       `json:"id"`
	ReactionType ReactionType `json:"reaction_type"`
	MessageID    string       `json:"message_id"`
	Channel      Channel      `json:"channel"`
}

// Conversation is a ConversationSummary (lists) or ConversationDetail
// (get/update, with Messages). PhoneNumber is your number, Participant the
// other party. Metadata is nil when none is stored.
type Conversation struct {
	ID                 string                `json:"id"`
	AgentID            string                `json:"agentId,omitempty"`
	PhoneNumberID      string                `json:"phoneNumberId"`
	PhoneNumber        string                `json:"phoneNumber"`
	Participant        string                `json:"participant"`
	IsGroup            bool                  `json:"isGroup"`
	GroupID            string                `json:"groupId,omitempty"`
	GroupName          string                `json:"groupName,omitempty"`
	GroupIconURL       string                `json:"groupIconUrl,omitempty"`
	Participants       []GroupParticipant    `json:"participants,omitempty"`
	LastMessageAt      Time                  `json:"lastMessageAt"`
	LastMessagePreview string                `json:"lastMessagePreview,omitempty"`
	MessageCount       int                   `json:"messageCount"`
	Metadata           map[string]any        `json:"metadata,omitempty"`
	CreatedAt          Time                  `json:"createdAt"`
	Messages           []ConversationMessage `json:"messages,omitempty"`
}

// GroupParticipant is a member of an iMessage group.
type GroupParticipant struct {
	Identifier string `json:"identifier"`
	Name       string `json:"name,omitempty"`
}

// ConversationMessage is a MessageInConversation (camelCase).
type ConversationMessage struct {
	ID               string            `json:"id"`
	Body             string            `json:"body"`
	FromNumber       string            `json:"fromNumber"`
	ToNumber         string            `json:"toNumber"`
	Direction        Direction         `json:"direction"`
	SenderIdentifier string            `json:"senderIdentifier,omitempty"`
	Channel          Channel           `json:"channel,omitempty"`
	MediaURL         string            `json:"mediaUrl,omitempty"`
	MediaURLs        []string          `json:"mediaUrls,omitempty"`
	ReceivedAt       Time              `json:"receivedAt"`
	Reactions        []MessageReaction `json:"reactions,omitempty"`
	ReplyTo          *ReplyTo          `json:"replyTo,omitempty"`
}

// MessageReaction is a reaction attached to a conversation message.
type MessageReaction struct {
	ID           string       `json:"id"`
	ReactionType ReactionType `json:"reactionType"`
	FromNumber   string       `json:"fromNumber"`
	Direction    Direction    `json:"direction"`
	CreatedAt    Time         `json:"createdAt"`
}

// ReplyTo is the message a conversation message replies to.
type ReplyTo struct {
	MessageID string   `json:"messageId"`
	Message   string   `json:"message,omitempty"`
	MediaURLs []string `json:"mediaUrls,omitempty"`
}

// GetConversationParams are the query parameters of GET
// /v1/conversations/{id}; MessageLimit 0 = server default (50).
type GetConversationParams struct {
	MessageLimit int
}

// UpdateConversationRequest is the body of PATCH /v1/conversations/{id}.
// Metadata is sent only when SetMetadata is true; it then replaces the
// stored object, and a nil Metadata is sent as JSON null (clears it).
// GroupName (snake_case "group_name" on the wire) renames iMessage groups.
type UpdateConversationRequest struct {
	SetMetadata bool
	Metadata    map[string]any
	GroupName   *string
}

// MarshalJSON writes {"metadata"?, "group_name"?}.
func (r UpdateConversationRequest) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if r.SetMetadata {
		if r.Metadata == nil {
			m["metadata"] = nil
		} else {
			m["metadata"] = r.Metadata
		}
	}
	if r.GroupName != nil {
		m["group_name"] = *r.GroupName
	}
	return json.Marshal(m)
}

package apiclient

import (
	"context"
	"errors"
	"net/http"
	"strconv"
)

// SendMessage sends an SMS/MMS/iMessage (POST /v1/messages, snake_case).
// Never retried once it may have reached the server: on a MaybeSent error,
// list the conversation's recent messages before sending again.
func (c *Client) SendMessage(ctx context.Context, req SendMessageRequest) (*SentMessage, error) {
	if req.AgentID == "" && req.NumberID == "" && req.FromNumber == "" {
		return nil, errors.New("apiclient: send message: give a sender (agent_id, number_id or from_number)")
	}
	if (req.ToNumber == "") == (len(req.Recipients) == 0) {
		return nil, errors.New("apiclient: send message: give either to_number or recipients (not both)")
	}
	return sendJSON[SentMessage](ctx, c, http.MethodPost, "/v1/messages", nil, req)
}

// React adds an iMessage reaction to a message
// (POST /v1/messages/{id}/reactions {"reaction"}).
func (c *Client) React(ctx context.Context, messageID string, reaction ReactionType) (*Reaction, error) {
	p, err := pathOf("messages", messageID, "reactions")
	if err != nil {
		return nil, err
	}
	if reaction == "" {
		return nil, errors.New("apiclient: react: the reaction is empty")
	}
	return sendJSON[Reaction](ctx, c, http.MethodPost, p, nil, struct {
		Reaction ReactionType `json:"reaction"`
	}{reaction})
}

// ListConversations lists conversations, most recent first
// (GET /v1/conversations).
func (c *Client) ListConversations(ctx context.Context, lp ListParams) (*Page[Conversation], error) {
	return getJSON[Page[Conversation]](ctx, c, "/v1/conversations", listQuery(lp.Limit, lp.Offset))
}

// GetConversation returns a conversation with its latest messages
// (GET /v1/conversations/{id}?message_limit=).
func (c *Client) GetConversation(ctx context.Context, conversationID string, gp GetConversationParams) (*Conversation, error) {
	p, err := pathOf("conversations", conversationID)
	if err != nil {
		return nil, err
	}
	q := map[string][]string{}
	if gp.MessageLimit > 0 {
		q["message_limit"] = []string{strconv.Itoa(gp.MessageLimit)}
	}
	return getJSON[Conversation](ctx, c, p, q)
}

// UpdateConversation replaces metadata and/or renames a group
// (PATCH /v1/conversations/{id}).
func (c *Client) UpdateConversation(ctx context.Context, conversationID string, req UpdateConversationRequest) (*Conversation, error) {
	p, err := pathOf("conversations", conversationID)
	if err != nil {
		return nil, err
	}
	if !req.SetMetadata && req.GroupName == nil {
		return nil, errors.New("apiclient: update conversation: nothing to change (set metadata or group_name)")
	}
	return sendJSON[Conversation](ctx, c, http.MethodPatch, p, nil, req)
}

// ListConversationMessages lists a conversation's messages, newest first
// (GET /v1/conversations/{id}/messages with limit/before/after).
func (c *Client) ListConversationMessages(ctx context.Context, conversationID string, cp CursorParams) (*CursorPage[ConversationMessage], error) {
	p, err := pathOf("conversations", conversationID, "messages")
	if err != nil {
		return nil, err
	}
	return getJSON[CursorPage[ConversationMessage]](ctx, c, p, cursorQuery(cp))
}

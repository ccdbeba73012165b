package apiclient

import (
	"context"
	"errors"
	"net/http"
)

// ListVoices lists the available voices (GET /v1/agents/voices).
func (c *Client) ListVoices(ctx context.Context) ([]Voice, error) {
	out, err := getJSON[dataList[Voice]](ctx, c, "/v1/agents/voices", nil)
	if err != nil {
		return nil, err
	}
	return out.Data, nil
}

// ListAgents lists agents (GET /v1/agents; the answer has total, no hasMore).
func (c *Client) ListAgents(ctx context.Context, p ListParams) (*Page[Agent], error) {
	return getJSON[Page[Agent]](ctx, c, "/v1/agents", listQuery(p.Limit, p.Offset))
}

// CreateAgent creates an agent (POST /v1/agents). Never retried.
func (c *Client) CreateAgent(ctx context.Context, req CreateAgentRequest) (*Agent, error) {
	if req.Name == "" {
		return nil, errors.New("apiclient: create agent: name is required")
	}
	return sendJSON[Agent](ctx, c, http.MethodPost, "/v1/agents", nil, req)
}

// GetAgent returns one agent with its numbers (GET /v1/agents/{id}).
func (c *Client) GetAgent(ctx context.Context, agentID string) (*Agent, error) {
	p, err := pathOf("agents", agentID)
	if err != nil {
		return nil, err
	}
	return getJSON[Agent](ctx, c, p, nil)
}

// UpdateAgent changes only the non-nil fields (PATCH /v1/agents/{id}).
func (c *Client) UpdateAgent(ctx context.Context, agentID string, req UpdateAgentRequest) (*Agent, error) {
	p, err := pathOf("agents", agentID)
	if err != nil {
		return nil, err
	}
	return sendJSON[Agent](ctx, c, http.MethodPatch, p, nil, req)
}

// DeleteAgent deletes an agent (DELETE /v1/agents/{id}); its numbers,
// conversations and calls remain with agentId null.
func (c *Client) DeleteAgent(ctx context.Context, agentID string) (*DeletedAgent, error) {
	p, err := pathOf("agents", agentID)
	if err != nil {
		return nil, err
	}
	return sendJSON[DeletedAgent](ctx, c, http.MethodDelete, p, nil, nil)
}

// AttachNumber attaches a number to an agent (POST /v1/agents/{id}/numbers).
func (c *Client) AttachNumber(ctx context.Context, agentID, numberID string) (*AttachedNumber, error) {
	p, err := pathOf("agents", agentID, "numbers")
	if err != nil {
		return nil, err
	}
	if numberID == "" {
		return nil, errors.New("apiclient: attach number: the number id is empty")
	}
	return sendJSON[AttachedNumber](ctx, c, http.MethodPost, p, nil, struct {
		NumberID string `json:"numberId"`
	}{numberID})
}

// DetachNumber detaches a number from an agent
// (DELETE /v1/agents/{id}/numbers/{number_id}); the number stays active.
func (c *Client) DetachNumber(ctx context.Context, agentID, numberID string) (*SuccessResult, error) {
	p, err := pathOf("agents", agentID, "numbers", numberID)
	if err != nil {
		return nil, err
	}
	return sendJSON[SuccessResult](ctx, c, http.MethodDelete, p, nil, nil)
}

// ListAgentConversations lists an agent's conversations
// (GET /v1/agents/{id}/conversations).
func (c *Client) ListAgentConversations(ctx context.Context, agentID string, lp ListParams) (*Page[Conversation], error) {
	p, err := pathOf("agents", agentID, "conversations")
	if err != nil {
		return nil, err
	}
	return getJSON[Page[Conversation]](ctx, c, p, listQuery(lp.Limit, lp.Offset))
}

// ListAgentCalls lists an agent's calls (GET /v1/agents/{id}/calls).
func (c *Client) ListAgentCalls(ctx context.Context, agentID string, lp ListParams) (*Page[Call], error) {
	p, err := pathOf("agents", agentID, "calls")
	if err != nil {
		return nil, err
	}
	return getJSON[Page[Call]](ctx, c, p, listQuery(lp.Limit, lp.Offset))
}

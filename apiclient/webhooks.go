package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// GetWebhook returns the project webhook, or nil (no error) when none is
// configured (the API answers JSON null).
func (c *Client) GetWebhook(ctx context.Context) (*Webhook, error) {
	out, err := getNullableJSON[*Webhook](ctx, c, "/v1/webhooks", nil)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// SetWebhook creates or replaces the project webhook (POST /v1/webhooks);
// a new secret is generated every time.
func (c *Client) SetWebhook(ctx context.Context, req SetWebhookRequest) (*Webhook, error) {
	if req.URL == "" {
		return nil, errors.New("apiclient: set webhook: url is required")
	}
	return sendJSON[Webhook](ctx, c, http.MethodPost, "/v1/webhooks", nil, req)
}

// DeleteWebhook removes the project webhook; agent webhooks stay.
func (c *Client) DeleteWebhook(ctx context.Context) (*SuccessResult, error) {
	return sendJSON[SuccessResult](ctx, c, http.MethodDelete, "/v1/webhooks", nil, nil)
}

// ListWebhookDeliveries lists project webhook deliveries
// (GET /v1/webhooks/deliveries; answer {"items","total","offset","limit"}).
func (c *Client) ListWebhookDeliveries(ctx context.Context, p DeliveryParams) (*DeliveryList, error) {
	q := listQuery(p.Limit, p.Offset)
	if p.Hours > 0 {
		q.Set("hours", strconv.Itoa(p.Hours))
	}
	return getJSON[DeliveryList](ctx, c, "/v1/webhooks/deliveries", q)
}

// WebhookDeliveryStats summarises deliveries over the last hours
// (GET /v1/webhooks/deliveries/stats; 0 = server default 24).
func (c *Client) WebhookDeliveryStats(ctx context.Context, hours int) (*DeliveryStats, error) {
	q := url.Values{}
	if hours > 0 {
		q.Set("hours", strconv.Itoa(hours))
	}
	return getJSON[DeliveryStats](ctx, c, "/v1/webhooks/deliveries/stats", q)
}

// WebhookAllTimeStats summarises all deliveries ever
// (GET /v1/webhooks/deliveries/all-time).
func (c *Client) WebhookAllTimeStats(ctx context.Context) (*DeliveryStats, error) {
	return getJSON[DeliveryStats](ctx, c, "/v1/webhooks/deliveries/all-time", nil)
}

// TestWebhook sends a test event to the project webhook
// (POST /v1/webhooks/test[?agentId=]); agentID picks the agent shown in the
// payload ("" = the server's default).
func (c *Client) TestWebhook(ctx context.Context, agentID string) (*WebhookTestResult, error) {
	var q url.Values
	if agentID != "" {
		q = url.Values{"agentId": {agentID}}
	}
	return sendJSON[WebhookTestResult](ctx, c, http.MethodPost, "/v1/webhooks/test", q, nil)
}

// GetAgentWebhook returns an agent's webhook, or nil when none.
func (c *Client) GetAgentWebhook(ctx context.Context, agentID string) (*Webhook, error) {
	p, err := pathOf("agents", agentID, "webhook")
	if err != nil {
		return nil, err
	}
	out, err := getNullableJSON[*Webhook](ctx, c, p, nil)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// SetAgentWebhook creates or replaces an agent's webhook, which overrides
// the project webhook for that agent.
func (c *Client) SetAgentWebhook(ctx context.Context, agentID string, req SetWebhookRequest) (*Webhook, error) {
	p, err := pathOf("agents", agentID, "webhook")
	if err != nil {
		return nil, err
	}
	if req.URL == "" {
		return nil, errors.New("apiclient: set agent webhook: url is required")
	}
	return sendJSON[Webhook](ctx, c, http.MethodPost, p, nil, req)
}

// DeleteAgentWebhook removes an agent's webhook (events fall back to the
// project webhook).
func (c *Client) DeleteAgentWebhook(ctx context.Context, agentID string) (*SuccessResult, error) {
	p, err := pathOf("agents", agentID, "webhook")
	if err != nil {
		return nil, err
	}
	return sendJSON[SuccessResult](ctx, c, http.MethodDelete, p, nil, nil)
}

// ListAgentWebhookDeliveries lists an agent's webhook deliveries
// (GET /v1/agents/{id}/webhook/deliveries; the answer is a BARE array, an
// {"items"} or {"data"} object is accepted too). limit 0 = server default.
func (c *Client) ListAgentWebhookDeliveries(ctx context.Context, agentID string, limit int) ([]WebhookDelivery, error) {
	p, err := pathOf("agents", agentID, "webhook", "deliveries")
	if err != nil {
		return nil, err
	}
	out, err := getJSON[deliveryArray](ctx, c, p, listQuery(limit, 0))
	if err != nil {
		return nil, err
	}
	return []WebhookDelivery(*out), nil
}

// TestAgentWebhook sends a test event to an agent's webhook.
func (c *Client) TestAgentWebhook(ctx context.Context, agentID string) (*WebhookTestResult, error) {
	p, err := pathOf("agents", agentID, "webhook", "test")
	if err != nil {
		return nil, err
	}
	return sendJSON[WebhookTestResult](ctx, c, http.MethodPost, p, nil, nil)
}

// deliveryArray decodes a bare array or an {"items"|"data"} object.
type deliveryArray []WebhookDelivery

func (d *deliveryArray) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var obj struct {
			Items []WebhookDelivery `json:"items"`
			Data  []WebhookDelivery `json:"data"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		*d = obj.Items
		if len(*d) == 0 {
			*d = obj.Data
		}
		return nil
	}
	var arr []WebhookDelivery
	if err := json.Unmarshal(b, &arr); err != nil {
		return fmt.Errorf("agent webhook deliveries: %w", err)
	}
	*d = arr
	return nil
}

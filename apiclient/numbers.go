package apiclient

import (
	"context"
	"net/http"
)

// ListNumbers lists active numbers (GET /v1/numbers; released excluded).
func (c *Client) ListNumbers(ctx context.Context, lp ListParams) (*Page[Number], error) {
	return getJSON[Page[Number]](ctx, c, "/v1/numbers", listQuery(lp.Limit, lp.Offset))
}

// BuyNumber provisions a number (POST /v1/numbers). It costs money and is
// never retried once it may have reached the server.
func (c *Client) BuyNumber(ctx context.Context, req BuyNumberRequest) (*Number, error) {
	return sendJSON[Number](ctx, c, http.MethodPost, "/v1/numbers", nil, req)
}

// GetNumber returns a number, even a released one (GET /v1/numbers/{id}).
func (c *Client) GetNumber(ctx context.Context, numberID string) (*Number, error) {
	p, err := pathOf("numbers", numberID)
	if err != nil {
		return nil, err
	}
	return getJSON[Number](ctx, c, p, nil)
}

// ReleaseNumber releases a number, irreversibly (DELETE /v1/numbers/{id}).
func (c *Client) ReleaseNumber(ctx context.Context, numberID string) (*ReleasedNumber, error) {
	p, err := pathOf("numbers", numberID)
	if err != nil {
		return nil, err
	}
	return sendJSON[ReleasedNumber](ctx, c, http.MethodDelete, p, nil, nil)
}

// ListNumberMessages lists a number's messages, newest first
// (GET /v1/numbers/{id}/messages with limit/before/after).
func (c *Client) ListNumberMessages(ctx context.Context, numberID string, cp CursorParams) (*CursorPage[NumberMessage], error) {
	p, err := pathOf("numbers", numberID, "messages")
	if err != nil {
		return nil, err
	}
	return getJSON[CursorPage[NumberMessage]](ctx, c, p, cursorQuery(cp))
}

// ListNumberCalls lists a number's calls (GET /v1/numbers/{id}/calls).
func (c *Client) ListNumberCalls(ctx context.Context, numberID string, lp ListParams) (*Page[Call], error) {
	p, err := pathOf("numbers", numberID, "calls")
	if err != nil {
		return nil, err
	}
	return getJSON[Page[Call]](ctx, c, p, listQuery(lp.Limit, lp.Offset))
}

// GetContactCard returns a number's iMessage contact card.
func (c *Client) GetContactCard(ctx context.Context, numberID string) (*ContactCard, error) {
	p, err := pathOf("numbers", numberID, "contact-card")
	if err != nil {
		return nil, err
	}
	return getJSON[ContactCard](ctx, c, p, nil)
}

// SetContactCard replaces a number's contact card (PUT .../contact-card).
func (c *Client) SetContactCard(ctx context.Context, numberID string, req ContactCardRequest) (*ContactCard, error) {
	p, err := pathOf("numbers", numberID, "contact-card")
	if err != nil {
		return nil, err
	}
	return sendJSON[ContactCard](ctx, c, http.MethodPut, p, nil, req)
}

// DeleteContactCard removes a number's contact card (204).
func (c *Client) DeleteContactCard(ctx context.Context, numberID string) error {
	p, err := pathOf("numbers", numberID, "contact-card")
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: p}, nil)
}

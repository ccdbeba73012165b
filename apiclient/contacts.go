package apiclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// ListContacts lists or searches contacts (GET /v1/contacts).
func (c *Client) ListContacts(ctx context.Context, lp ListContactsParams) (*Page[Contact], error) {
	q := listQuery(lp.Limit, lp.Offset)
	if lp.Search != "" {
		q.Set("search", lp.Search)
	}
	return getJSON[Page[Contact]](ctx, c, "/v1/contacts", q)
}

// CreateContact saves a contact (POST /v1/contacts; 201; 409 if the phone
// already exists).
func (c *Client) CreateContact(ctx context.Context, req CreateContactRequest) (*Contact, error) {
	if req.PhoneNumber == "" || req.Name == "" {
		return nil, errors.New("apiclient: create contact: phoneNumber and name are required")
	}
	return sendJSON[Contact](ctx, c, http.MethodPost, "/v1/contacts", nil, req)
}

// GetContact returns one contact.
func (c *Client) GetContact(ctx context.Context, contactID string) (*Contact, error) {
	p, err := pathOf("contacts", contactID)
	if err != nil {
		return nil, err
	}
	return getJSON[Contact](ctx, c, p, nil)
}

// UpdateContact changes the non-nil fields (PATCH /v1/contacts/{id}).
func (c *Client) UpdateContact(ctx context.Context, contactID string, req UpdateContactRequest) (*Contact, error) {
	p, err := pathOf("contacts", contactID)
	if err != nil {
		return nil, err
	}
	return sendJSON[Contact](ctx, c, http.MethodPatch, p, nil, req)
}

// DeleteContact deletes a contact (204).
func (c *Client) DeleteContact(ctx context.Context, contactID string) error {
	p, err := pathOf("contacts", contactID)
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: p}, nil)
}

// ContactCapabilities checks live whether a phone can get iMessage/SMS
// (GET /v1/contacts/capabilities?phone_number=).
func (c *Client) ContactCapabilities(ctx context.Context, phoneNumber string) (*Capabilities, error) {
	if phoneNumber == "" {
		return nil, errors.New("apiclient: contact capabilities: the phone number is empty")
	}
	q := url.Values{}
	q.Set("phone_number", phoneNumber)
	return getJSON[Capabilities](ctx, c, "/v1/contacts/capabilities", q)
}

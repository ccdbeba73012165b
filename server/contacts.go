package server

import (
	"context"
	"fmt"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// contactChecker answers the policy's first-contact questions from the AgentPhone account:
// is the number a saved contact, and has the account called or texted it before.
type contactChecker struct{ api *apiclient.Client }

// IsContact reports whether e164 is one of the account's contacts.
func (c *contactChecker) IsContact(ctx context.Context, e164 string) (bool, error) {
	page, err := c.api.ListContacts(ctx, apiclient.ListContactsParams{Search: e164, Limit: 10})
	if err != nil {
		return false, fmt.Errorf("look up contacts: %w", err)
	}
	for _, ct := range page.Data {
		if ct.PhoneNumber == e164 {
			return true, nil
		}
	}
	return false, nil
}

// Contacted reports whether the account has an outbound call to e164 on record.
func (c *contactChecker) Contacted(ctx context.Context, e164 string) (bool, error) {
	page, err := c.api.ListCalls(ctx, apiclient.ListCallsParams{Search: e164, Direction: apiclient.DirectionOutbound, Limit: 5})
	if err != nil {
		return false, fmt.Errorf("look up call history: %w", err)
	}
	for _, call := range page.Data {
		if call.ToNumber == e164 {
			return true, nil
		}
	}
	return false, nil
}

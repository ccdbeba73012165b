package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// contactChecker answers the policy's questions about a number from the AgentPhone account:
// is it a saved contact, has the account called it before, is it one of the account's own.
type contactChecker struct {
	api   *apiclient.Client
	clock clockwork.Clock

	mu      sync.Mutex
	own     map[string]bool
	ownTime time.Time
}

// ownNumbersTTL bounds how stale the cached list of the account's own numbers may be.
const ownNumbersTTL = time.Minute

// IsOwnNumber reports whether e164 is one of the account's active numbers. The list is
// cached for a minute: a number bought since then is caught on the next refresh.
func (c *contactChecker) IsOwnNumber(ctx context.Context, e164 string) (bool, error) {
	c.mu.Lock()
	fresh := c.own != nil && c.clock.Since(c.ownTime) < ownNumbersTTL
	own := c.own
	c.mu.Unlock()
	if !fresh {
		set := map[string]bool{}
		for n, err := range apiclient.Paginate(ctx, 100, func(ctx context.Context, p apiclient.ListParams) (*apiclient.Page[apiclient.Number], error) {
			return c.api.ListNumbers(ctx, p)
		}) {
			if err != nil {
				return false, fmt.Errorf("list the account's numbers: %w", err)
			}
			set[n.PhoneNumber] = true
		}
		c.mu.Lock()
		c.own, c.ownTime, own = set, c.clock.Now(), set
		c.mu.Unlock()
	}
	return own[e164], nil
}

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

// Bounds of a bulk look-up: past them the policy asks number by number.
const (
	bulkPageSize = 100
	bulkMaxPages = 50
)

// Vouched answers IsContact and Contacted for many numbers at once (policy.BulkVoucher):
// it reads the whole contact book and outbound call history, a page of 100 at a time, and
// reports complete false when either holds more than 5,000 entries.
func (c *contactChecker) Vouched(ctx context.Context, e164s []string) (contacts, history map[string]bool, complete bool, err error) {
	want := make(map[string]bool, len(e164s))
	for _, n := range e164s {
		want[n] = true
	}
	contacts, history = map[string]bool{}, map[string]bool{}
	more := true
	for page := 0; page < bulkMaxPages && more; page++ {
		p, err := c.api.ListContacts(ctx, apiclient.ListContactsParams{Limit: bulkPageSize, Offset: page * bulkPageSize})
		if err != nil {
			return nil, nil, false, fmt.Errorf("list contacts: %w", err)
		}
		for _, ct := range p.Data {
			if want[ct.PhoneNumber] {
				contacts[ct.PhoneNumber] = true
			}
		}
		more = p.HasMore && len(p.Data) > 0
	}
	if more {
		return nil, nil, false, nil
	}
	more = true
	for page := 0; page < bulkMaxPages && more; page++ {
		p, err := c.api.ListCalls(ctx, apiclient.ListCallsParams{Limit: bulkPageSize, Offset: page * bulkPageSize, Direction: apiclient.DirectionOutbound})
		if err != nil {
			return nil, nil, false, fmt.Errorf("list calls: %w", err)
		}
		for _, call := range p.Data {
			if want[call.ToNumber] {
				history[call.ToNumber] = true
			}
		}
		more = p.HasMore && len(p.Data) > 0
	}
	if more {
		return nil, nil, false, nil
	}
	return contacts, history, true, nil
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

package outbound

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// errNoProbe: the API offers no way to look this kind of action up.
var errNoProbe = errors.New("no way to look this action up in the API")

// reconcile looks in the API, for at most ReconcileWithin, for what t's maybe-sent call
// created: the message in the conversation with the recipient, the call to the recipient,
// the number bought. Objects another ledger entry already claimed are skipped, so two
// unknown sends to one recipient cannot both claim one message.
func (p *Path) reconcile(ctx context.Context, t *policy.Ticket) Reconciliation {
	clk := p.clock()
	within := p.ReconcileWithin
	if within <= 0 {
		within = DefaultReconcileWithin
	}
	start := clk.Now()
	deadline := start.Add(within)
	since := t.Entry.CreatedAt.Add(-clockSkew)
	var rec Reconciliation
	for {
		claimed, err := p.claimed(ctx, t, since)
		if err == nil {
			var id, status string
			id, status, err = p.probe(ctx, t, since, claimed)
			if err == nil && id != "" {
				rec.Found, rec.APIID, rec.Status = true, id, status
				break
			}
		}
		if errors.Is(err, errNoProbe) {
			rec.Unsupported = true
			break
		}
		rec.Err = err
		if ctx.Err() != nil || !clk.Now().Add(reconcileEvery).Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-clk.After(reconcileEvery):
		}
	}
	rec.Looked = clk.Since(start)
	if rec.Found {
		rec.Err = nil
	}
	return rec
}

// claimed lists the API ids other ledger entries of the same kind already settled with.
func (p *Path) claimed(ctx context.Context, t *policy.Ticket, since time.Time) (map[string]bool, error) {
	list, err := p.Policy.Entries(ctx, store.EntryFilter{Kind: t.Entry.Kind, Since: since.Add(-clockSkew)})
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, e := range list {
		if e.ID != t.Entry.ID && e.APIID != "" {
			ids[e.APIID] = true
		}
	}
	return ids, nil
}

// probe makes one look in the API; an empty id means not found (yet).
func (p *Path) probe(ctx context.Context, t *policy.Ticket, since time.Time, claimed map[string]bool) (id, status string, err error) {
	a := t.Action
	switch a.Kind {
	case policy.KindSMS:
		if len(t.Entry.Recipients) > 1 {
			return p.findGroupSMS(ctx, t.Entry.Recipients, a.Details["from_number"], a.Body, since, claimed)
		}
		if t.Decision.Target == nil {
			return "", "", errNoProbe
		}
		return p.findSMS(ctx, t.Decision.Target.E164, a.Details["from_number"], a.Body, since, claimed)
	case policy.KindCall:
		if t.Decision.Target == nil {
			return "", "", errNoProbe
		}
		return p.FindCall(ctx, t.Decision.Target.E164, since, claimed)
	case policy.KindBuyNumber:
		return p.findNumber(ctx, a.Details["country"], a.Details["area_code"], since, claimed)
	}
	return "", "", errNoProbe
}

// findSMS looks for an outbound message with body to `to` in the recipient's
// conversations (from `from` when the sender number is known).
func (p *Path) findSMS(ctx context.Context, to, from, body string, since time.Time, claimed map[string]bool) (string, string, error) {
	return p.findMessage(ctx, func(c apiclient.Conversation) bool { return c.Participant == to }, to, from, body, since, claimed)
}

// findGroupSMS looks for an outbound message with body in an iMessage group whose members
// are exactly members (E.164): a group message starts a new group, so the group is looked up
// by its members, not by an id the lost answer would have carried.
func (p *Path) findGroupSMS(ctx context.Context, members []string, from, body string, since time.Time, claimed map[string]bool) (string, string, error) {
	return p.findMessage(ctx, func(c apiclient.Conversation) bool { return c.IsGroup && sameMembers(c.Participants, members) }, "", from, body, since, claimed)
}

// findMessage looks, in the latest conversations that match (and are from `from` when the
// sender number is known), for an outbound message with body sent since, not claimed, and to
// `to` when the message names its recipient and to is given.
func (p *Path) findMessage(ctx context.Context, match func(apiclient.Conversation) bool, to, from, body string, since time.Time, claimed map[string]bool) (string, string, error) {
	convs, err := p.API.ListConversations(ctx, apiclient.ListParams{Limit: 50})
	if err != nil {
		return "", "", err
	}
	for _, c := range convs.Data {
		if !match(c) || (from != "" && c.PhoneNumber != "" && c.PhoneNumber != from) {
			continue
		}
		msgs, err := p.API.ListConversationMessages(ctx, c.ID, apiclient.CursorParams{Limit: 100, After: since})
		if err != nil {
			return "", "", err
		}
		for _, m := range msgs.Data {
			if m.Direction == apiclient.DirectionOutbound && m.Body == body && !claimed[m.ID] &&
				(to == "" || m.ToNumber == "" || m.ToNumber == to) && (m.ReceivedAt.IsZero() || !m.ReceivedAt.Before(since)) {
				return m.ID, "sent", nil
			}
		}
	}
	return "", "", nil
}

// sameMembers reports whether a group's participants are exactly members, in any order.
func sameMembers(ps []apiclient.GroupParticipant, members []string) bool {
	if len(ps) != len(members) {
		return false
	}
	want := make(map[string]bool, len(members))
	for _, m := range members {
		want[m] = true
	}
	for _, p := range ps {
		if !want[p.Identifier] {
			return false
		}
		delete(want, p.Identifier)
	}
	return len(want) == 0
}

// FindCall looks in the API for an outbound call to `to` that started after since and is
// not in claimed (by id); "" when there is none. A campaign restarted after a kill uses it
// for a call its earlier run reserved and may have placed.
func (p *Path) FindCall(ctx context.Context, to string, since time.Time, claimed map[string]bool) (string, string, error) {
	page, err := p.API.ListCalls(ctx, apiclient.ListCallsParams{Search: to, Direction: apiclient.DirectionOutbound, Limit: 20})
	if err != nil {
		return "", "", err
	}
	for _, c := range page.Data {
		if c.ToNumber == to && !claimed[c.ID] && (c.StartedAt.IsZero() || !c.StartedAt.Before(since)) {
			return c.ID, string(c.Status), nil
		}
	}
	return "", "", nil
}

// findNumber looks for a number bought after since, in the country and area code asked.
func (p *Path) findNumber(ctx context.Context, country, areaCode string, since time.Time, claimed map[string]bool) (string, string, error) {
	page, err := p.API.ListNumbers(ctx, apiclient.ListParams{Limit: 100})
	if err != nil {
		return "", "", err
	}
	for _, n := range page.Data {
		if claimed[n.ID] || n.CreatedAt.IsZero() || n.CreatedAt.Before(since) {
			continue
		}
		if country != "" && n.Country != "" && !strings.EqualFold(n.Country, country) {
			continue
		}
		if areaCode != "" && !strings.HasPrefix(strings.TrimPrefix(n.PhoneNumber, "+1"), areaCode) {
			continue
		}
		return n.ID, string(n.Status), nil
	}
	return "", "", nil
}

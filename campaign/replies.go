package campaign

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

// pollEvery is how often a running campaign looks for its recipients' replies.
const pollEvery = time.Minute

// maxReplyPages bounds one look for replies (200 messages a page).
const maxReplyPages = 10

// Reply is an inbound message from a recipient after the campaign texted them. Its body is
// third-party text: shown sanitised and labelled, never followed.
type Reply struct {
	ID         string    `json:"id"`
	From       string    `json:"from"`
	Body       string    `json:"body"`
	ReceivedAt time.Time `json:"received_at"`
	OptOut     bool      `json:"opt_out"` // the policy read it as an opt-out (STOP...)
}

// maxReplies bounds the replies a campaign keeps.
const maxReplies = 1000

// senderNumbers lists the ids of the numbers the campaign texts from.
func (r *Runner) senderNumbers(ctx context.Context, c *Campaign) ([]string, error) {
	if c.NumberID != "" {
		return []string{c.NumberID}, nil
	}
	var ids []string
	for n, err := range apiclient.Paginate(ctx, 100, func(ctx context.Context, p apiclient.ListParams) (*apiclient.Page[apiclient.Number], error) {
		return r.Path.API.ListNumbers(ctx, p)
	}) {
		if err != nil {
			return nil, err
		}
		if n.AgentID == c.AgentID {
			ids = append(ids, n.ID)
		}
	}
	return ids, nil
}

// Refresh looks for replies to campaign id now: each is attached to the campaign, and one
// the policy reads as an opt-out (STOP...) puts the sender on the suppression list at once.
func (r *Runner) Refresh(ctx context.Context, id string) error {
	r.init()
	c, err := r.files().load(id)
	if err != nil {
		return err
	}
	texted := map[string]time.Time{}
	for _, rc := range c.Recipients {
		// Texted, or called (also while a call is in progress or its retry waits): a
		// text from them since is a reply to the campaign.
		if rc.State == Sent || rc.State == MaybeSent || (rc.Attempts > 0 && !rc.SentAt.IsZero()) {
			texted[rc.E164] = rc.SentAt
		}
	}
	now := r.Clock.Now()
	if len(texted) == 0 {
		return r.update(id, func(c *Campaign) error { c.LastPoll = now; return nil }, nil)
	}
	nums, err := r.senderNumbers(ctx, c)
	if err != nil {
		return fmt.Errorf("campaign: list the sender's numbers: %w", err)
	}
	// The API's "after" is strict and message times may tie: look a second back; ids dedupe.
	since := c.CreatedAt.Add(-time.Second)
	if !c.RepliesUntil.IsZero() {
		since = c.RepliesUntil.Add(-time.Second)
	}
	seen := map[string]bool{}
	for _, rp := range c.Replies {
		seen[rp.ID] = true
	}
	var found []Reply
	newest := c.RepliesUntil
	for _, nid := range nums {
		p := apiclient.CursorParams{Limit: 200, After: since}
		for range maxReplyPages {
			page, err := r.Path.API.ListNumberMessages(ctx, nid, p)
			if err != nil {
				return fmt.Errorf("campaign: read replies: %w", err)
			}
			for _, m := range page.Data {
				// The cursor moves past every message seen, not only replies: a message
				// before a recipient was texted is never a reply to the campaign.
				if m.ReceivedAt.After(newest) {
					newest = m.ReceivedAt.Time
				}
				at, ok := texted[m.From]
				if m.Direction != apiclient.DirectionInbound || !ok || seen[m.ID] || m.ReceivedAt.Before(at) {
					continue
				}
				seen[m.ID] = true
				found = append(found, Reply{ID: m.ID, From: m.From, Body: m.Body, ReceivedAt: m.ReceivedAt.Time})
			}
			if !page.HasMore || len(page.Data) == 0 {
				break
			}
			p.Before = page.Data[len(page.Data)-1].ReceivedAt.Time
		}
	}
	for i := range found {
		out, err := r.Path.Policy.ObserveInbound(ctx, policy.Inbound{From: found[i].From, Text: found[i].Body, ID: found[i].ID, At: found[i].ReceivedAt, Campaign: id})
		if err != nil {
			return fmt.Errorf("campaign: record an opt-out: %w", err)
		}
		found[i].OptOut = out.OptedOut
	}
	slices.SortFunc(found, func(a, b Reply) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	return r.update(id, func(c *Campaign) error {
		c.LastPoll = now
		if newest.After(c.RepliesUntil) {
			c.RepliesUntil = newest
		}
		have := map[string]bool{}
		for _, rp := range c.Replies {
			have[rp.ID] = true
		}
		for _, rp := range found {
			if !have[rp.ID] && len(c.Replies) < maxReplies {
				c.Replies = append(c.Replies, rp)
			}
		}
		return nil
	}, nil)
}

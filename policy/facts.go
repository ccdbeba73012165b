package policy

import (
	"context"
	"fmt"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// facts is what the store knows about one action.
type facts struct {
	optedOut map[string]bool // by E.164
	known    bool            // the knownOf number was texted or called before
	// toolContact: a tool (not the operator) wrote a contact with the knownOf number, so its
	// being a contact does not vouch for it.
	toolContact bool
}

// numberQuery is a number whose opt-out to read, for one channel (store.ChannelSMS or
// store.ChannelCall); a nil number is skipped.
type numberQuery struct {
	n       *phone.Number
	channel string
}

// readFacts reads, in one store transaction (one open of the state file,
// shared with other processes): the opt-out status of every non-nil number,
// whether knownOf ("" to skip) is a known recipient, and the window totals of
// every non-nil count (filling in used). Nothing is read when there is
// nothing to ask.
func (e *Engine) readFacts(ctx context.Context, now time.Time, numbers []numberQuery, knownOf string, counts []*capCheck) (facts, error) {
	f := facts{optedOut: map[string]bool{}}
	ask := knownOf != ""
	for _, q := range numbers {
		ask = ask || q.n != nil
	}
	for _, c := range counts {
		ask = ask || c != nil
	}
	if !ask {
		return f, nil
	}
	err := e.store.View(ctx, func(tx *store.Tx) error {
		for _, q := range numbers {
			if q.n == nil {
				continue
			}
			o, err := tx.IsOptedOutOn(q.n.E164, q.channel)
			if err != nil {
				return err
			}
			f.optedOut[q.n.E164] = f.optedOut[q.n.E164] || o
		}
		if knownOf != "" {
			k, _, err := tx.IsKnown(knownOf)
			if err != nil {
				return err
			}
			f.known = k
			if f.toolContact, err = tx.IsToolContact(knownOf); err != nil {
				return err
			}
		}
		for _, c := range counts {
			if c == nil {
				continue
			}
			used, err := tx.SumSince(c.key, now.Add(-c.window))
			if err != nil {
				return err
			}
			c.used = used
		}
		return nil
	})
	if err != nil {
		return facts{}, fmt.Errorf("read policy state: %w", err)
	}
	return f, nil
}

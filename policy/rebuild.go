package policy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// RebuildReport says what Rebuild replayed.
type RebuildReport struct {
	Lines   int      // audit lines read
	OptOuts int      // opt-outs in force afterwards
	Entries int      // ledger entries replayed (intents, and outcomes that carry their entry)
	Known   int      // recipients known afterwards (sent entries, pre-ledger send lines)
	Nonces  int      // confirmation-token nonces still unexpired, marked used
	Unknown []string // ledger IDs of intents without an outcome, now unknown
	Legacy  int      // pre-ledger send lines that marked a recipient known
}

// UnknownAtRebuild is the note of an intent that had no outcome when the state was rebuilt.
const UnknownAtRebuild = "rebuilt from the audit log: the intent has no outcome; it may have been sent"

// Rebuild replays the audit log at path into st, which must be a fresh, empty state:
// opt-outs (added and removed), ledger entries with their events (cap windows and
// duplicate keys), known recipients (sends that settled as sent), tool-written contacts,
// and the nonces of confirmation tokens that have not expired at now. Intents without an
// outcome are settled as unknown (they keep counting), and an outcome line saying so is
// appended to log (nil: none is written). The log must verify up to its end: a torn last
// line must be repaired first (`audit repair`), a broken chain is refused.
//
// Rebuild works through the store.Store interface only, so it rebuilds any engine.
//
// opts name the log's key (audit.WithKeyFile) when it is not the default one beside it.
func Rebuild(ctx context.Context, st store.Store, path string, log *audit.Log, now time.Time, opts ...audit.Option) (RebuildReport, error) {
	var r RebuildReport
	open := map[string]audit.Entry{} // ledger ID -> intent line, until an outcome closes it
	var order []string
	known := map[string]bool{}
	replay := func(l audit.Entry) error {
		en := entryFromLine(l)
		if _, err := st.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return en, nil }); err != nil {
			return fmt.Errorf("replay ledger entry %s (line %d): %w", l.Ledger, l.Seq, err)
		}
		r.Entries++
		return nil
	}
	settle := func(id string, l audit.Entry) error {
		_, err := st.Settle(ctx, id, store.Settlement{State: store.State(l.Outcome), APIID: l.APIID, Note: l.Note, At: l.TS})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("replay the outcome of %s (line %d): %w", id, l.Seq, err)
		}
		if store.State(l.Outcome) == store.Sent {
			for _, n := range l.MarkKnown {
				known[n] = true
			}
			if in, ok := open[id]; ok {
				for _, n := range in.MarkKnown {
					known[n] = true
				}
			}
		}
		return nil
	}
	n, err := audit.Scan(path, func(l audit.Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case l.Decision == audit.DecisionOptOut && l.Target != "":
			if _, err := st.AddOptOut(ctx, optOutFromLine(l)); err != nil {
				return fmt.Errorf("replay the opt-out of line %d: %w", l.Seq, err)
			}
		case l.Decision == audit.DecisionOptOutRemoved && l.Target != "":
			ch := l.Channel
			if ch == "every" {
				ch = ""
			}
			if _, err := st.RemoveOptOut(ctx, l.Target, ch); err != nil {
				return fmt.Errorf("replay the opt-out removal of line %d: %w", l.Seq, err)
			}
		case l.Phase == audit.PhaseIntent && l.Ledger != "":
			if err := replay(l); err != nil {
				return err
			}
			open[l.Ledger] = l
			order = append(order, l.Ledger)
			if l.TokenNonce != "" && now.Before(l.TokenExp) {
				if _, err := st.UseNonce(ctx, l.TokenNonce, l.TokenExp); err != nil {
					return fmt.Errorf("replay the token of line %d: %w", l.Seq, err)
				}
				r.Nonces++
			}
		case l.Phase == audit.PhaseOutcome && l.Ledger != "":
			if _, ok := open[l.Ledger]; !ok {
				if _, err := st.Entry(ctx, l.Ledger); errors.Is(err, store.ErrNotFound) {
					if l.Kind == "" {
						return nil // an outcome whose intent is lost and that carries no entry
					}
					if err := replay(l); err != nil { // a recovered entry's line carries it whole
						return err
					}
				}
			}
			if err := settle(l.Ledger, l); err != nil {
				return err
			}
			delete(open, l.Ledger)
		case legacySend(l):
			id := fmt.Sprintf("legacy-%d", l.Seq)
			en := store.Entry{ID: id, Kind: kindOfTool(l.Tool), Tool: l.Tool, Recipients: []string{l.Target}, MarkKnown: []string{l.Target}, CreatedAt: l.TS}
			if _, err := st.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return en, nil }); err != nil {
				return fmt.Errorf("replay the send of line %d: %w", l.Seq, err)
			}
			if _, err := st.Settle(ctx, id, store.Settlement{State: store.Sent, APIID: l.APIID, Note: "rebuilt from a line written before the send ledger", At: l.TS}); err != nil {
				return fmt.Errorf("replay the send of line %d: %w", l.Seq, err)
			}
			known[l.Target] = true
			r.Legacy++
		}
		return nil
	}, opts...)
	r.Lines = n
	if err != nil {
		return r, fmt.Errorf("rebuild from %s: %w", path, err)
	}
	for _, id := range order {
		in, ok := open[id]
		if !ok {
			continue
		}
		if _, err := st.Settle(ctx, id, store.Settlement{State: store.Unknown, Note: UnknownAtRebuild, At: now}); err != nil {
			return r, fmt.Errorf("settle %s as unknown: %w", id, err)
		}
		r.Unknown = append(r.Unknown, id)
		if log != nil {
			line := audit.Entry{Tool: in.Tool, Decision: "rebuilt", Principal: in.Principal, Target: in.Target, ConfirmMethod: in.ConfirmMethod,
				Phase: audit.PhaseOutcome, Ledger: id, Kind: in.Kind, Outcome: string(store.Unknown), Note: UnknownAtRebuild}
			if _, _, err := log.Append(line); err != nil {
				return r, fmt.Errorf("audit the unknown outcome of %s: %w", id, err)
			}
		}
	}
	list, err := st.ListOptOuts(ctx)
	if err != nil {
		return r, err
	}
	r.OptOuts, r.Known = len(list), len(known)
	return r, nil
}

// entryFromLine is the ledger entry an intent (or a whole-entry outcome) line records.
func entryFromLine(l audit.Entry) store.Entry {
	en := store.Entry{ID: l.Ledger, Kind: l.Kind, Tool: l.Tool, Recipients: l.Recipients, BodyHash: l.BodySHA256,
		Principal: l.Principal, ConfirmMethod: l.ConfirmMethod, CreatedAt: l.CreatedAt, MarkKnown: l.MarkKnown, ToolContacts: l.ToolContacts,
		CampaignID: l.Campaign} // a campaign's restarted run finds its reserved sends by it
	if en.CreatedAt.IsZero() {
		en.CreatedAt = l.TS
	}
	if en.Kind == "" {
		en.Kind = kindOfTool(l.Tool)
	}
	for _, ev := range l.Events {
		en.Events = append(en.Events, store.Event{Key: ev.Key, At: ev.At, Weight: ev.Weight})
	}
	return en
}

// legacySend reports a line written before the send ledger existed for an SMS or call that
// ran and succeeded: its recipient became known.
func legacySend(l audit.Entry) bool {
	return l.Phase == "" && (l.Tool == "send_sms" || l.Tool == "make_call") && l.Target != "" && l.APIID != "" && l.Error == "" &&
		(l.Decision == string(Allow) || (l.Decision == string(Confirm) && l.ConfirmMethod != "" && l.ConfirmMethod != "none"))
}

// kindOfTool maps the send tools to their kinds (for lines that lack a kind).
func kindOfTool(tool string) string {
	switch tool {
	case "send_sms":
		return string(KindSMS)
	case "make_call":
		return string(KindCall)
	case "buy_number":
		return string(KindBuyNumber)
	}
	return string(KindOther)
}

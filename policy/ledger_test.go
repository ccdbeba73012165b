package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// TestReserveDecidesAgainOnFreshFacts: what changed between the preview and the
// reservation decides. A duplicate that appeared needs a new confirmation; a cap filled
// meanwhile or an opt-out that arrived denies. Nothing is written either way.
func TestReserveDecidesAgainOnFreshFacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, Config{Allowlist: []string{numLA, numNY}, Limits: Limits{SMSPerRecipientHour: 2}}, nil)

	a := sms(numLA, "same text")
	d := e.eval(t, a)
	wantDecision(t, d, Allow, "")
	e.send(t, a) // another process sent the same text since the preview
	_, err := e.eng.Reserve(ctx, a, d, e.eng.Approve(d, "none", ""))
	var r *Refusal
	if !errors.As(err, &r) || !r.NeedsConfirmation() || len(r.Unapproved) != 1 || r.Unapproved[0].ID != RuleDuplicate {
		t.Fatalf("Reserve after a duplicate appeared = %v; want a refusal needing the duplicate confirmation", err)
	}
	// Approved (the human confirmed the duplicate): it goes through.
	d2 := e.eval(t, a)
	if _, err := e.eng.Reserve(ctx, a, d2, e.eng.Approve(d2, "token", "")); err != nil {
		t.Fatalf("Reserve with the duplicate approved: %v", err)
	}
	// The cap (2 per hour) is now full: a preview taken before is refused at reservation.
	if got := e.sum(t, evSMSTo+numLA, t0.Add(-time.Hour)); got != 2 {
		t.Fatalf("counted %d, want 2", got)
	}
	b := sms(numLA, "other text")
	if _, err := e.eng.Reserve(ctx, b, d, e.eng.Approve(d, "none", "")); !errors.As(err, &r) || r.NeedsConfirmation() || r.Decision.RuleIDs()[0] != RuleRateLimit {
		t.Fatalf("Reserve over the cap = %v; want a rate_limit deny", err)
	}
	// An opt-out that arrived after the preview.
	c := sms(numNY, "hi")
	dc := e.eval(t, c)
	if _, err := e.eng.ObserveInbound(ctx, Inbound{From: numNY, Text: "STOP"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Reserve(ctx, c, dc, e.eng.Approve(dc, "none", "")); !errors.As(err, &r) || !slices.Contains(r.Decision.RuleIDs(), RuleOptedOut) {
		t.Fatalf("Reserve after an opt-out = %v; want opted_out", err)
	}
	if got := e.sum(t, evSMSTo+numLA, t0.Add(-time.Hour)); got != 2 {
		t.Errorf("refused reservations counted: %d", got)
	}
}

// TestIntentAndOutcomeLines: a reservation writes an intent line with what a rebuild needs,
// a settlement an outcome line with the same ledger ID.
func TestIntentAndOutcomeLines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, Config{}, nil)
	a := sms(numLA, "hello")
	d := e.eval(t, a)
	tok, err := e.eng.IssueToken(a, d.RuleIDs()...)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := e.eng.Reserve(ctx, a, d, e.eng.Approve(d, "token", tok))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Settle(ctx, tk, Settlement{State: store.Sent, APIID: "msg_1", APIStatus: "sent"}); err != nil {
		t.Fatal(err)
	}
	var lines []audit.Entry
	if _, err := audit.Scan(e.audit, func(l audit.Entry) error { lines = append(lines, l); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want intent and outcome", len(lines))
	}
	in, out := lines[0], lines[1]
	if in.Phase != audit.PhaseIntent || in.Ledger != tk.Entry.ID || in.Kind != "sms" || in.Target != numLA || in.Decision != "confirm" ||
		len(in.Events) != 4 || !slices.Equal(in.MarkKnown, []string{numLA}) || in.TokenNonce == "" || in.TokenExp.IsZero() || in.BodySHA256 == "" {
		t.Errorf("intent line = %+v", in)
	}
	if out.Phase != audit.PhaseOutcome || out.Ledger != tk.Entry.ID || out.Outcome != "sent" || out.APIID != "msg_1" {
		t.Errorf("outcome line = %+v", out)
	}
}

// TestReserveFailsClosedWithoutTheJournal: when the intent cannot be audited, nothing may be
// sent, and the reservation is released.
func TestReserveFailsClosedWithoutTheJournal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var lg *audit.Log
	e := newEnv(t, Config{Allowlist: []string{numLA}}, func(d *Deps) { lg = d.Audit })
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	a := sms(numLA, "hello")
	d := e.eval(t, a)
	_, err := e.eng.Reserve(ctx, a, d, e.eng.Approve(d, "none", ""))
	var be *BooksError
	if !errors.As(err, &be) {
		t.Fatalf("Reserve without an audit log = %v; want a BooksError", err)
	}
	if got := e.sum(t, evSMSTo+numLA, t0.Add(-time.Hour)); got != 0 {
		t.Errorf("the refused send still counts %d", got)
	}
}

// TestRebuildRestoresTheState: the audit log replayed into an empty state gives back the
// opt-outs (added and removed), known recipients, cap windows, used tokens, and turns an
// intent without an outcome into unknown.
func TestRebuildRestoresTheState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, Config{Limits: Limits{SMSPerRecipientHour: 2}}, nil)
	e.send(t, sms(numLA, "one"))
	e.run(t, sms(numLA, "failed"), store.Failed)
	if _, err := e.eng.ObserveInbound(ctx, Inbound{From: numNY, Text: "STOP"}); err != nil {
		t.Fatal(err)
	}
	oo := e.eng.OptOuts()
	if _, err := oo.Add(ctx, numLA2, store.ChannelCall, "said do not call"); err != nil {
		t.Fatal(err)
	}
	if _, err := oo.Add(ctx, numCanada, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := oo.Remove(ctx, numCanada, ""); err != nil {
		t.Fatal(err)
	}
	a := sms(numLA, "in flight")
	d := e.eval(t, a)
	tok, _ := e.eng.IssueToken(a, d.RuleIDs()...)
	if err := e.eng.RedeemToken(ctx, a, tok); err != nil {
		t.Fatal(err)
	}
	open, err := e.eng.Reserve(ctx, a, d, e.eng.Approve(d, "token", tok)) // never settled
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	fresh, err := store.Open(dir, store.Options{Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	lg, err := audit.Open(e.audit, e.clk)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	rep, err := Rebuild(ctx, fresh, e.audit, lg, e.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.OptOuts != 2 || rep.Known != 1 || rep.Nonces != 1 || len(rep.Unknown) != 1 || rep.Unknown[0] != open.Entry.ID {
		t.Fatalf("report = %+v", rep)
	}
	q := store.FactQuery{
		OptOuts: []store.OptOutQuery{{E164: numNY, Channel: store.ChannelSMS}, {E164: numLA2, Channel: store.ChannelCall}, {E164: numCanada, Channel: store.ChannelSMS}},
		Known:   []string{numLA},
		Windows: []store.Window{{Key: evSMSTo + numLA, Since: t0.Add(-time.Hour)}},
	}
	f, err := fresh.Facts(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !f.OptedOut[numNY] || !f.OptedOut[numLA2] || f.OptedOut[numCanada] || !f.Known[numLA].Known || f.Sums[0] != 2 {
		t.Fatalf("rebuilt facts = %+v; want NY and LA2 opted out, Canada not, LA known, 2 counted (sent + in flight)", f)
	}
	if ok, _ := fresh.IsOptedOut(ctx, numLA2, store.ChannelSMS); ok {
		t.Error("a call-only opt-out became an everything opt-out")
	}
	if ok, _ := fresh.UseNonce(ctx, mustNonce(t, e.eng, tok), t0.Add(time.Hour)); ok {
		t.Error("the used token is reusable after the rebuild")
	}
	if en, err := fresh.Entry(ctx, open.Entry.ID); err != nil || en.State != store.Unknown {
		t.Errorf("the intent without an outcome = %+v, %v; want unknown", en, err)
	}
	if rep, err := audit.Inspect(e.audit); err != nil || len(rep.Open) != 0 {
		t.Errorf("after the rebuild the log still has open intents: %+v, %v", rep.Open, err)
	}
}

func mustNonce(t *testing.T, e *Engine, tok string) string {
	t.Helper()
	n, err := e.TokenNonce(tok)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRecoverAbandonedIsAudited: a send left pending by a store that closed (its process
// died) becomes unknown at the next start, with an outcome line carrying the whole entry.
func TestRecoverAbandonedIsAudited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clk := clockwork.NewFakeClockAt(t0)
	ap := filepath.Join(dir, audit.DefaultFileName)
	open := func() (*Engine, *store.Bolt, *audit.Log) {
		st, err := store.Open(dir, store.Options{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		lg, err := audit.Open(ap, clk)
		if err != nil {
			t.Fatal(err)
		}
		eng, err := New(Config{Allowlist: []string{numLA}}, Deps{Store: st, Clock: clk, Audit: lg})
		if err != nil {
			t.Fatal(err)
		}
		return eng, st, lg
	}
	eng, st, lg := open()
	a := sms(numLA, "hi")
	d, _ := eng.Evaluate(ctx, a)
	tk, err := eng.Reserve(ctx, a, d, eng.Approve(d, "none", ""))
	if err != nil {
		t.Fatal(err)
	}
	st.Close() // the process dies mid-send
	lg.Close()
	eng2, st2, lg2 := open()
	defer st2.Close()
	defer lg2.Close()
	got, err := eng2.RecoverAbandoned(ctx)
	if err != nil || len(got) != 1 || got[0].ID != tk.Entry.ID || got[0].State != store.Unknown {
		t.Fatalf("RecoverAbandoned = %+v, %v", got, err)
	}
	rep, err := audit.Inspect(ap)
	if err != nil || len(rep.Open) != 0 || rep.Lines != 2 {
		t.Fatalf("after recovery: %+v, %v; want the intent closed by a recovery line", rep, err)
	}
	if _, err := os.Stat(ap); err != nil {
		t.Fatal(err)
	}
}

// TestRebuildKeepsTheCampaignID: a campaign's send rebuilt from the audit log keeps its
// campaign id, so a campaign run restarted after `state rebuild` finds the send it reserved
// (and never sends it again).
func TestRebuildKeepsTheCampaignID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, Config{}, nil)
	a := sms(numLA, "campaign text")
	a.Tool, a.CampaignID = "campaign", "cmp_0123456789abcdef"
	d := e.eval(t, a)
	sent, err := e.eng.Reserve(ctx, a, d, Approval{Method: "campaign", Rules: d.RuleIDs()})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := store.Open(t.TempDir(), store.Options{Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := Rebuild(ctx, fresh, e.audit, nil, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	en, err := fresh.Entry(ctx, sent.Entry.ID)
	if err != nil || en.CampaignID != a.CampaignID {
		t.Fatalf("rebuilt entry %+v (%v): want campaign %s", en, err, a.CampaignID)
	}
}

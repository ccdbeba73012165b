package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

func group(body string, to ...string) Action {
	return Action{Tool: "send_sms", Principal: "p1", Kind: KindSMS, Recipients: to, Body: body}
}

// TestGroupEveryRecipientPassesEveryRule: one opted-out member denies the whole group,
// naming the member and the rule; first contact and duplicates are per member; each
// member's caps count the group message, and a member's full cap denies the group.
func TestGroupEveryRecipientPassesEveryRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, Config{Allowlist: []string{numLA}, Limits: Limits{SMSPerRecipientHour: 2}}, nil)

	d := e.eval(t, group("Dinner at 8?", numLA, numNY))
	wantDecision(t, d, Confirm, RuleFirstContact)
	if len(d.Rules) != 1 || !strings.Contains(d.Rules[0].Reason, numNY) || len(d.Preview.Recipients) != 2 ||
		d.Preview.Recipients[0].E164 != numLA || d.Preview.Recipients[1].E164 != numNY {
		t.Fatalf("group preview: rules %v recipients %+v", d.Rules, d.Preview.Recipients)
	}

	// One member opted out: the group is denied whole, naming that member.
	if _, err := e.eng.ObserveInbound(ctx, Inbound{From: numNY, Text: "STOP"}); err != nil {
		t.Fatal(err)
	}
	d = e.eval(t, group("Dinner at 8?", numLA, numNY))
	wantDecision(t, d, Deny, RuleOptedOut)
	if !strings.Contains(d.Rules[0].Reason, numNY) {
		t.Fatalf("the deny does not name the member: %v", d.Rules)
	}

	// Caps per member: a group to LA and LA2 counts one SMS for each.
	e.send(t, group("first", numLA, numLA2))
	for _, n := range []string{numLA, numLA2} {
		if got := e.sum(t, evSMSTo+n, t0.Add(-time.Hour)); got != 1 {
			t.Fatalf("%s counted %d, want 1", n, got)
		}
	}
	if got := e.sum(t, evNewRecipient, t0.Add(-24*time.Hour)); got != 1 {
		t.Fatalf("new recipients counted %d, want 1 (LA is allowlisted)", got)
	}
	// Duplicate per member: the same text to a group sharing LA2.
	d = e.eval(t, group("first", numLA2, numCanada))
	wantDecision(t, d, Confirm, RuleDuplicate)
	if !hasRule(d, RuleFirstContact) {
		t.Fatalf("first contact of the new member not asked: %v", d.Rules)
	}
	e.send(t, sms(numLA, "second")) // LA is now at 2 of 2 per hour
	d = e.eval(t, group("third", numLA2, numLA))
	wantDecision(t, d, Deny, RuleRateLimit)
	if !strings.Contains(d.Rules[0].Reason, numLA) {
		t.Fatalf("the cap deny does not name the member: %v", d.Rules)
	}
	// The same cap refuses a group reserved on an older preview: nothing is written.
	before := e.sum(t, evSMSTo+numLA2, t0.Add(-time.Hour))
	old := group("fourth", numLA2, numLA)
	_, err := e.eng.Reserve(ctx, old, Decision{}, Approval{Method: ConfirmOff})
	var r *Refusal
	if !errors.As(err, &r) || r.NeedsConfirmation() {
		t.Fatalf("Reserve of a group over a member's cap = %v; want a deny", err)
	}
	if got := e.sum(t, evSMSTo+numLA2, t0.Add(-time.Hour)); got != before {
		t.Fatalf("a refused group counted: %d -> %d", before, got)
	}
	// Reserved groups put every member on the books.
	tk, err := e.eng.Reserve(ctx, group("fifth", numLA2, numNY[:len(numNY)-1]+"1"), Decision{}, Approval{Method: ConfirmOff})
	if err != nil {
		t.Fatal(err)
	}
	if len(tk.Entry.Recipients) != 2 {
		t.Fatalf("entry recipients = %v", tk.Entry.Recipients)
	}
	if _, err := e.eng.Settle(ctx, tk, Settlement{State: store.Sent}); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCapsOverAllRecipients: the new-recipients cap counts every new member of one
// group, so a group cannot slip several strangers past a cap with one slot left.
func TestGroupCapsOverAllRecipients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Limits: Limits{NewRecipientsDay: 1}}, nil)
	d := e.eval(t, group("hello", numLA, numNY))
	wantDecision(t, d, Deny, RuleRateLimit)
	d = e.eval(t, group("hello", numLA, numLA2, numLA))
	wantDecision(t, d, Deny, RuleInvalidNumber)
	if _, err := e.eng.Evaluate(context.Background(), group("hello", numLA)); err == nil {
		t.Fatal("a group of one was accepted")
	}
}

// TestGroupTokenOfAFullGroup: a token for the largest group, every member asking several
// confirm rules, is issued (rule ids are carried once each) and approves them.
func TestGroupTokenOfAFullGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	var to []string
	for i := range MaxGroupRecipients {
		to = append(to, fmt.Sprintf("+1650253000%d", i))
	}
	a := group(strings.Repeat("long message ", 40), to...) // sms_long and first_contact per member
	d := e.eval(t, a)
	wantDecision(t, d, Confirm, RuleSMSLong)
	tok, err := e.eng.IssueToken(a, d.RuleIDs()...)
	if err != nil {
		t.Fatalf("token for a full group: %v", err)
	}
	if got, _ := e.eng.tokenRules(tok); !slices.Equal(got, []string{RuleFirstContact, RuleSMSLong}) {
		t.Fatalf("token rules = %v, want each id once", got)
	}
	if err := e.eng.RedeemToken(context.Background(), a, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Reserve(context.Background(), a, d, e.eng.Approve(d, "token", tok)); err != nil {
		t.Fatalf("Reserve of a full group with its token: %v", err)
	}
}

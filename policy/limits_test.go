package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

func TestCapsAtEdgeAndReset(t *testing.T) {
	t.Parallel()
	// Generous other caps so that only the cap under test can bite.
	loose := Limits{SMSPerRecipientHour: 100, SMSPerRecipientDay: 100, CallsPerRecipient10Min: 100, CallsPerRecipientDay: 100, NewRecipientsDay: 100, SMSSegmentsHour: 1000, CallsHour: 100}
	recipients := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("+1650253%04d", i)
		}
		return out
	}
	tests := []struct {
		name   string
		limits func(l *Limits)
		// allowed actions within the window, then the one that must be denied
		actions func(i int) Action
		n       int
		step    time.Duration // clock step between actions
		reset   time.Duration // after the last action, this much more frees one slot
	}{
		{"sms per recipient per hour", func(l *Limits) { l.SMSPerRecipientHour = 5 },
			func(i int) Action { return sms(numLA, fmt.Sprint("m", i)) }, 5, time.Minute, time.Hour - 4*time.Minute + time.Second},
		{"sms per recipient per day", func(l *Limits) { l.SMSPerRecipientDay = 20 },
			func(i int) Action { return sms(numLA, fmt.Sprint("m", i)) }, 20, 10 * time.Minute, 24*time.Hour - 190*time.Minute + time.Second},
		{"calls per recipient per 10 min", func(l *Limits) { l.CallsPerRecipient10Min = 1 },
			func(i int) Action { return call(numLA) }, 1, 0, 10*time.Minute + time.Second},
		{"calls per recipient per day", func(l *Limits) { l.CallsPerRecipientDay = 3 },
			func(i int) Action { return call(numLA) }, 3, 3 * time.Minute, 24*time.Hour - 6*time.Minute + time.Second},
		{"global calls per hour", func(l *Limits) { l.CallsHour = 20 },
			func(i int) Action { return call(recipients(21)[i]) }, 20, time.Second, time.Hour - 19*time.Second + time.Second},
		{"global sms segments per hour", func(l *Limits) { l.SMSSegmentsHour = 60 },
			func(i int) Action { return sms(recipients(31)[i], strings.Repeat("x", 300)) }, 30, time.Second, time.Hour - 29*time.Second + time.Second},
		{"new recipients per day", func(l *Limits) { l.NewRecipientsDay = 10 },
			func(i int) Action { return sms(recipients(11)[i], "hi") }, 10, time.Minute, 24*time.Hour - 9*time.Minute + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := loose
			tt.limits(&l)
			e := newEnv(t, Config{Limits: l, QuietHours: "off"}, nil)
			for i := range tt.n {
				if i > 0 {
					e.clk.Advance(tt.step)
				}
				e.send(t, tt.actions(i))
			}
			next := tt.actions(tt.n)
			d := e.eval(t, next)
			wantDecision(t, d, Deny, RuleRateLimit)
			e.clk.Advance(tt.reset - 2*time.Second) // still inside the window
			wantDecision(t, e.eval(t, next), Deny, RuleRateLimit)
			e.clk.Advance(2 * time.Second) // oldest event has left the window
			if d := e.eval(t, next); d.Outcome == Deny {
				t.Fatalf("after window: %v", d.Rules)
			}
		})
	}
}

func TestCapsDefaultsAndDisable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Allowlist: []string{numLA}, Limits: Limits{SMSPerRecipientHour: -1, SMSPerRecipientDay: -1}}, nil)
	for i := range 25 {
		e.send(t, sms(numLA, fmt.Sprint(i)))
	}
	// Default global cap of 60 segments/hour still applies.
	for i := range 35 {
		e.send(t, sms(numLA, fmt.Sprint("b", i)))
	}
	wantDecision(t, e.eval(t, sms(numLA, "last")), Deny, RuleRateLimit)
}

func TestFailedAPICallConsumesNoQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Allowlist: []string{numLA}, Limits: Limits{CallsPerRecipient10Min: 1}}, nil)
	ctx := context.Background()
	a := call(numLA)
	for range 5 {
		d := e.eval(t, a)
		wantDecision(t, d, Allow, "")
		tk, err := e.eng.Reserve(ctx, a, d, e.eng.Approve(d, "none", ""))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.eng.Settle(ctx, tk, Settlement{State: store.Failed, Err: errors.New("upstream 422")}); err != nil {
			t.Fatal(err)
		}
	}
	// A denied decision is not counted either.
	denied := Decision{Outcome: Deny, Rules: []RuleHit{{ID: RuleQuietHours}}, Target: e.eval(t, a).Target}
	if err := e.eng.Record(ctx, a, denied, Result{}); err != nil {
		t.Fatal(err)
	}
	e.send(t, a)
	wantDecision(t, e.eval(t, a), Deny, RuleRateLimit)
}

func TestLimitsPersistAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clk := clockwork.NewFakeClockAt(t0)
	open := func() (*Engine, *store.Bolt) {
		st, err := store.Open(dir, store.Options{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		eng, err := New(Config{Limits: Limits{SMSPerRecipientHour: 2}}, Deps{Store: st, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		return eng, st
	}
	ctx := context.Background()
	eng, st := open()
	for i := range 2 {
		a := sms(numLA, fmt.Sprint(i))
		d, err := eng.Evaluate(ctx, a)
		if err != nil || d.Outcome == Deny {
			t.Fatalf("%v %v", d, err)
		}
		tk, err := eng.Reserve(ctx, a, d, eng.Approve(d, "token", ""))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Settle(ctx, tk, Settlement{State: store.Sent}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eng.OptOuts().Add(ctx, numNY, "", ""); err != nil {
		t.Fatal(err)
	}
	st.Close()

	eng, st = open()
	defer st.Close()
	d, err := eng.Evaluate(ctx, sms(numLA, "third"))
	if err != nil {
		t.Fatal(err)
	}
	wantDecision(t, d, Deny, RuleRateLimit)
	// Known recipient survived too: no first_contact after the window.
	clk.Advance(time.Hour + time.Second)
	d, _ = eng.Evaluate(ctx, sms(numLA, "fourth"))
	wantDecision(t, d, Allow, "")
	d, _ = eng.Evaluate(ctx, sms(numNY, "hi"))
	wantDecision(t, d, Deny, RuleOptedOut)
}

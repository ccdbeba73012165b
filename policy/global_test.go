package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// loose are per-account caps that never bite in these tests, so only a global cap can.
var loose = Limits{SMSPerRecipientHour: 100, SMSPerRecipientDay: 100, CallsPerRecipient10Min: 100, CallsPerRecipientDay: 100, NewRecipientsDay: 100, SMSSegmentsHour: 1000, CallsHour: 100, NumbersBoughtDay: 100}

const (
	acctA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	acctB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// recipient i, all in Los Angeles.
func recipient(i int) string { return fmt.Sprintf("+1650253%04d", i) }

// callerEnvs builds one engine per account view of one bbolt state dir, as the server
// does for callers with their own keys: one store engine, a view and a policy engine per
// account, the same policy (and GlobalLimits) for all.
func callerEnvs(t *testing.T, cfg Config, accounts ...string) (*store.Bolt, *clockwork.FakeClock, []*env) {
	t.Helper()
	clk := clockwork.NewFakeClockAt(t0)
	root, err := store.Open(t.TempDir(), store.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	var envs []*env
	for _, a := range accounts {
		v, err := root.ForAccount(a)
		if err != nil {
			t.Fatal(err)
		}
		eng, err := New(cfg, Deps{Store: v, Clock: clk, Contacts: fakeContacts{}, Keys: []string{testKey}})
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, &env{eng: eng, clk: clk, st: root})
	}
	return root, clk, envs
}

// TestGlobalLimitAcrossAccounts: account A fills the operator's global cap; account B, with
// its own caps untouched, is refused [global_limit] (a deny: no confirmation lifts it), with
// a reason that names neither A nor A's recipients; when the window passes B may send.
func TestGlobalLimitAcrossAccounts(t *testing.T) {
	cfg := Config{Limits: loose, QuietHours: "off", GlobalLimits: GlobalLimits{CallsHour: 2}}
	root, clk, envs := callerEnvs(t, cfg, acctA, acctB)
	a, b := envs[0], envs[1]
	a.send(t, call(recipient(1)))
	clk.Advance(time.Minute)
	a.send(t, call(recipient(2)))
	for _, e := range []*env{a, b} {
		d := e.eval(t, call(recipient(3)))
		wantDecision(t, d, Deny, RuleGlobalLimit)
		for _, h := range d.Rules {
			if h.ID != RuleGlobalLimit {
				t.Errorf("another rule fired besides the global cap: %s %s", h.ID, h.Reason)
			}
			for _, leak := range []string{acctA, recipient(1), recipient(2)} {
				if strings.Contains(h.Reason, leak) {
					t.Errorf("the reason names %s: %s", leak, h.Reason)
				}
			}
			if !strings.Contains(h.Reason, "across all callers") || !strings.Contains(h.Reason, "1 hour") {
				t.Errorf("the reason does not say it is the operator's cap across all callers and when it frees up: %s", h.Reason)
			}
		}
	}
	// B's own window is empty: only the global one is full.
	bv, _ := root.ForAccount(acctB)
	if f, err := bv.Facts(context.Background(), store.FactQuery{Windows: []store.Window{{Key: evCalls, Since: t0}, {Key: evGlobalCalls, Since: t0}}}); err != nil || f.Sums[0] != 0 || f.Sums[1] != 2 {
		t.Errorf("B's calls window and the global window = %v, %v; want 0 and 2", f.Sums, err)
	}
	clk.Advance(time.Hour - time.Minute + time.Second) // the first call left the window
	if d := b.eval(t, call(recipient(3))); d.Outcome == Deny {
		t.Fatalf("after the window B is still denied: %v", d.Rules)
	}
}

// TestGlobalLimitReserveAgrees: a decision taken before the cap filled is refused at
// reservation with the same rule (Evaluate and Reserve share the rules).
func TestGlobalLimitReserveAgrees(t *testing.T) {
	cfg := Config{Limits: loose, QuietHours: "off", GlobalLimits: GlobalLimits{SMSDay: 1}}
	_, _, envs := callerEnvs(t, cfg, acctA, acctB)
	a, b := envs[0], envs[1]
	ctx := context.Background()
	late := sms(recipient(2), "hi")
	stale := b.eval(t, late) // allowed (after confirmation) while the cap is free
	if stale.Outcome == Deny {
		t.Fatalf("denied before the cap filled: %v", stale.Rules)
	}
	a.send(t, sms(recipient(1), "hi"))
	_, err := b.eng.Reserve(ctx, late, stale, b.eng.Approve(stale, "token", ""))
	var r *Refusal
	if !errors.As(err, &r) || r.NeedsConfirmation() || !hasRule(r.Decision, RuleGlobalLimit) {
		t.Fatalf("Reserve after the cap filled: err = %v; want a *Refusal denying [global_limit]", err)
	}
}

// TestGlobalLimitConcurrent: 40 goroutines over two accounts reserve SMS against a global
// cap of 5 (each per-account cap far away): exactly 5 reach the books.
func TestGlobalLimitConcurrent(t *testing.T) {
	cfg := Config{Limits: loose, QuietHours: "off", Allowlist: []string{"+1650253"}, GlobalLimits: GlobalLimits{SMSDay: 5}}
	root, _, envs := callerEnvs(t, cfg, acctA, acctB)
	ctx := context.Background()
	var won atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		e := envs[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := sms(recipient(i), "hello")
			d, err := e.eng.Evaluate(ctx, a)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Outcome == Deny {
				if !hasRule(d, RuleGlobalLimit) {
					t.Errorf("denied by %v", d.Rules)
				}
				return
			}
			_, err = e.eng.Reserve(ctx, a, d, e.eng.Approve(d, "token", ""))
			var r *Refusal
			switch {
			case err == nil:
				won.Add(1)
			case errors.As(err, &r) && hasRule(r.Decision, RuleGlobalLimit):
			default:
				t.Errorf("Reserve: %v", err)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 5 {
		t.Errorf("%d SMS were reserved under a global cap of 5", won.Load())
	}
	if f, err := root.Facts(ctx, store.FactQuery{Windows: []store.Window{{Key: evGlobalSMS, Since: t0}}}); err != nil || f.Sums[0] != 5 {
		t.Errorf("the global window counts %v, %v; want 5", f.Sums, err)
	}
}

// TestGlobalLimitKinds: each global cap counts what it names, a group counts each member,
// first contacts count once each, and nothing global is written when no global cap is set.
func TestGlobalLimitKinds(t *testing.T) {
	t.Run("group members each count", func(t *testing.T) {
		_, _, envs := callerEnvs(t, Config{Limits: loose, QuietHours: "off", GlobalLimits: GlobalLimits{SMSDay: 3}}, acctA, acctB)
		group := Action{Tool: "send_sms", Principal: "p1", Kind: KindSMS, Recipients: []string{recipient(1), recipient(2)}, Body: "hi"}
		envs[0].send(t, group)
		wantDecision(t, envs[1].eval(t, Action{Tool: "send_sms", Principal: "p1", Kind: KindSMS, Recipients: []string{recipient(3), recipient(4)}, Body: "hi"}), Deny, RuleGlobalLimit)
		if d := envs[1].eval(t, sms(recipient(3), "hi")); d.Outcome == Deny {
			t.Errorf("one more SMS under a cap of 3 after a group of 2: %v", d.Rules)
		}
	})
	t.Run("segments", func(t *testing.T) {
		_, _, envs := callerEnvs(t, Config{Limits: loose, QuietHours: "off", GlobalLimits: GlobalLimits{SMSSegmentsHour: 4}}, acctA, acctB)
		envs[0].send(t, sms(recipient(1), strings.Repeat("x", 300))) // 2 segments
		wantDecision(t, envs[1].eval(t, sms(recipient(2), strings.Repeat("y", 400))), Deny, RuleGlobalLimit)
		d := envs[1].eval(t, sms(recipient(2), strings.Repeat("z", 1000))) // 7 segments > the cap itself
		wantDecision(t, d, Deny, RuleGlobalLimit)
		if !strings.Contains(d.Rules[0].Reason, "alone") {
			t.Errorf("an action larger than the cap itself: %s", d.Rules[0].Reason)
		}
	})
	t.Run("new recipients", func(t *testing.T) {
		_, _, envs := callerEnvs(t, Config{Limits: loose, QuietHours: "off", GlobalLimits: GlobalLimits{NewRecipientsDay: 1}}, acctA, acctB)
		envs[0].send(t, sms(recipient(1), "hi"))
		envs[0].send(t, sms(recipient(1), "again")) // known now: not new
		wantDecision(t, envs[1].eval(t, sms(recipient(1), "hi")), Deny, RuleGlobalLimit)
	})
	t.Run("calls per day", func(t *testing.T) {
		_, clk, envs := callerEnvs(t, Config{Limits: loose, QuietHours: "off", GlobalLimits: GlobalLimits{CallsDay: 2, CallsHour: 10}}, acctA, acctB)
		envs[0].send(t, call(recipient(1)))
		clk.Advance(2 * time.Hour)
		envs[1].send(t, call(recipient(2)))
		clk.Advance(2 * time.Hour)
		wantDecision(t, envs[0].eval(t, call(recipient(3))), Deny, RuleGlobalLimit)
	})
	t.Run("numbers bought", func(t *testing.T) {
		_, _, envs := callerEnvs(t, Config{Limits: loose, GlobalLimits: GlobalLimits{NumbersBoughtDay: 1}}, acctA, acctB)
		buy := Action{Tool: "buy_number", Principal: "p1", Kind: KindBuyNumber}
		envs[0].send(t, buy)
		wantDecision(t, envs[1].eval(t, buy), Deny, RuleGlobalLimit)
	})
	t.Run("unset writes nothing global", func(t *testing.T) {
		e := newEnv(t, Config{Limits: loose, QuietHours: "off"}, nil)
		e.send(t, sms(recipient(1), "hi"))
		e.send(t, call(recipient(2)))
		for _, k := range []string{evGlobalSMS, evGlobalSegments, evGlobalCalls, evGlobalNew} {
			if n := e.sum(t, k, t0); n != 0 {
				t.Errorf("%s counts %d with no global cap set", k, n)
			}
		}
	})
}

// TestGlobalLimitsPolicyFile: "global_limits" is read from the policy file, each set key
// replacing the configured value; unknown keys are refused.
func TestGlobalLimitsPolicyFile(t *testing.T) {
	p := writePolicy(t, `{"global_limits": {"sms_day": 500, "calls_hour": 40, "calls_day": 200, "new_recipients_day": 50, "sms_segments_hour": 900, "numbers_bought_day": 2}}`, 0o600)
	fc, err := LoadPolicyFile(p)
	if err != nil {
		t.Fatal(err)
	}
	got := Config{GlobalLimits: GlobalLimits{SMSDay: 1, CallsHour: 1}}.WithFile(fc).GlobalLimits
	want := GlobalLimits{SMSDay: 500, SMSSegmentsHour: 900, CallsHour: 40, CallsDay: 200, NewRecipientsDay: 50, NumbersBoughtDay: 2}
	if got != want {
		t.Errorf("global limits = %+v, want %+v", got, want)
	}
	if _, err := LoadPolicyFile(writePolicy(t, `{"global_limits": {"sms_per_day": 5}}`, 0o600)); err == nil || !strings.Contains(err.Error(), "sms_per_day") {
		t.Errorf("an unknown global_limits key: err = %v", err)
	}
	eng := newEnv(t, Config{PolicyFile: p}, nil).eng
	if eng.Config().GlobalLimits != want {
		t.Errorf("engine config = %+v", eng.Config().GlobalLimits)
	}
}

// TestOperatorCodesCappedAcrossAccounts: the operator has one phone, so the cap on
// confirmation codes texted to it counts every caller account's codes together: codes sent
// for A leave B none until the window passes.
func TestOperatorCodesCappedAcrossAccounts(t *testing.T) {
	cfg := Config{Limits: loose, QuietHours: "off"}
	_, clk, envs := callerEnvs(t, cfg, acctA, acctB)
	a, b := envs[0], envs[1]
	code := Action{Tool: "buy_number", Kind: KindOperatorCode, Details: map[string]string{"confirms": "buy_number"}}
	for range OperatorCodesMax - 1 {
		a.send(t, code)
	}
	b.send(t, code)
	for _, e := range []*env{a, b} {
		if d := e.eval(t, code); d.Outcome != Deny || !hasRule(d, RuleRateLimit) {
			t.Fatalf("code %d across two accounts: %s %v; want the operator-code cap", OperatorCodesMax+1, d.Outcome, d.Rules)
		}
	}
	clk.Advance(OperatorCodesWindow + time.Second)
	if d := b.eval(t, code); d.Outcome == Deny {
		t.Fatalf("after the window: %v", d.Rules)
	}
}

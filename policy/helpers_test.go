package policy

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// t0 is 11:00 in Los Angeles and 14:00 in New York (DST in force).
var t0 = time.Date(2026, 3, 10, 18, 0, 0, 0, time.UTC)

const (
	numLA       = "+16502530000" // US, America/Los_Angeles
	numLA2      = "+16502530001"
	numNY       = "+12127365000" // US, America/New_York
	numTollFree = "+18002530000" // US toll-free, 42 zones (Guam to Pago Pago)
	numPremium  = "+19002001234"
	numSat      = "+881212345678"
	numLondon   = "+442079460958"
	numJamaica  = "+18765551234"
	numCanada   = "+14034567890"
	testKey     = "ak_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
)

type fakeContacts struct {
	set map[string]bool
	err error
}

func (f fakeContacts) IsContact(_ context.Context, e164 string) (bool, error) {
	return f.set[e164], f.err
}

type fakeHistory struct {
	set map[string]bool
	err error
}

func (f fakeHistory) Contacted(_ context.Context, e164 string) (bool, error) {
	return f.set[e164], f.err
}

type env struct {
	eng   *Engine
	clk   *clockwork.FakeClock
	st    *store.Bolt
	dir   string
	audit string
}

// newEnv builds an engine over a temp state dir at t0. mod may adjust Deps.
func newEnv(t testing.TB, cfg Config, mod func(*Deps)) *env {
	t.Helper()
	dir := t.TempDir()
	clk := clockwork.NewFakeClockAt(t0)
	st, err := store.Open(dir, store.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ap := filepath.Join(dir, audit.DefaultFileName)
	lg, err := audit.Open(ap, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	deps := Deps{Store: st, Clock: clk, Audit: lg, Contacts: fakeContacts{}, Keys: []string{testKey}}
	if mod != nil {
		mod(&deps)
	}
	eng, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{eng: eng, clk: clk, st: st, dir: dir, audit: ap}
}

func sms(to, body string) Action {
	return Action{Tool: "send_sms", Principal: "p1", Kind: KindSMS, To: to, Body: body}
}

func call(to string) Action {
	return Action{Tool: "place_call", Principal: "p1", Kind: KindCall, To: to, Texts: []string{"Hi, this is an automated assistant."}}
}

func (e *env) eval(t testing.TB, a Action) Decision {
	t.Helper()
	d, err := e.eng.Evaluate(context.Background(), a)
	if err != nil {
		t.Fatalf("Evaluate(%s %s): %v", a.Kind, a.To, err)
	}
	return d
}

// send evaluates a, requires it not denied, and runs it as the tools layer does: reserved
// (its confirm rules approved by a token) and settled as sent.
func (e *env) send(t testing.TB, a Action) Decision {
	t.Helper()
	d, _ := e.run(t, a, store.Sent)
	return d
}

// run evaluates a, requires it not denied, reserves it approving its confirm rules, and
// settles it as state.
func (e *env) run(t testing.TB, a Action, state store.State) (Decision, store.Entry) {
	t.Helper()
	ctx := context.Background()
	d := e.eval(t, a)
	if d.Outcome == Deny {
		t.Fatalf("send %s %s denied: %+v", a.Kind, a.To, d.Rules)
	}
	tk, err := e.eng.Reserve(ctx, a, d, e.eng.Approve(d, "token", ""))
	if err != nil {
		t.Fatalf("Reserve %s %s: %v", a.Kind, a.To, err)
	}
	en, err := e.eng.Settle(ctx, tk, Settlement{State: state, APIID: "x"})
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	return d, en
}

// sum reads one window total from the store.
func (e *env) sum(t testing.TB, key string, since time.Time) int {
	t.Helper()
	f, err := e.st.Facts(context.Background(), store.FactQuery{Windows: []store.Window{{Key: key, Since: since}}})
	if err != nil {
		t.Fatal(err)
	}
	return f.Sums[0]
}

func hasRule(d Decision, id string) bool {
	return slices.ContainsFunc(d.Rules, func(r RuleHit) bool { return r.ID == id })
}

func wantDecision(t testing.TB, d Decision, outcome Outcome, rule string) {
	t.Helper()
	if d.Outcome != outcome || (rule != "" && !hasRule(d, rule)) {
		t.Fatalf("decision = %s %v, want %s with rule %q", d.Outcome, d.Rules, outcome, rule)
	}
	for _, r := range d.Rules {
		if r.Reason == "" || r.Outcome != outcome {
			t.Errorf("rule %s: outcome %s reason %q", r.ID, r.Outcome, r.Reason)
		}
		if strings.Contains(r.Reason, testKey) {
			t.Errorf("reason leaks the key: %s", r.Reason)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

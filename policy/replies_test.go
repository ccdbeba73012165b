package policy

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// fakeReplies answers LatestReplies from a map; err fails every read.
type fakeReplies struct {
	mu    sync.Mutex
	by    map[string][]Reply
	err   error
	asked []string
}

func (f *fakeReplies) LatestReplies(_ context.Context, e164 string) ([]Reply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, e164)
	return f.by[e164], f.err
}

func repliesEnv(t *testing.T, cfg Config) (*env, *fakeReplies) {
	t.Helper()
	f := &fakeReplies{by: map[string][]Reply{}}
	return newEnv(t, cfg, func(d *Deps) { d.Replies = f }), f
}

// TestRepliesCheckedBeforeEveryOutbound: a STOP the engine never saw through ObserveInbound
// denies the next text and call, because the engine asks the reader before deciding.
func TestRepliesCheckedBeforeEveryOutbound(t *testing.T) {
	e, f := repliesEnv(t, Config{Allowlist: []string{numLA}})
	e.send(t, sms(numLA, "Your table is ready."))
	f.by[numLA] = []Reply{{Channel: store.ChannelSMS, Text: "STOP please", At: t0}}
	wantDecision(t, e.eval(t, sms(numLA, "Second text")), Deny, RuleOptedOut)
	wantDecision(t, e.eval(t, call(numLA)), Deny, RuleOptedOut)
	if len(f.asked) == 0 || f.asked[len(f.asked)-1] != numLA {
		t.Fatalf("the reader was not asked about %s: %v", numLA, f.asked)
	}
	// Recorded, so it holds even when the reader later shows nothing.
	f.by[numLA] = nil
	wantDecision(t, e.eval(t, sms(numLA, "Third")), Deny, RuleOptedOut)
}

// TestSpokenOptOutScopes: "stop calling me" on a call denies calls, not texts; "don't text me
// either" denies both.
func TestSpokenOptOutScopes(t *testing.T) {
	e, f := repliesEnv(t, Config{Allowlist: []string{numLA, numNY}})
	f.by[numLA] = []Reply{{Channel: store.ChannelCall, Text: "Yes?"}, {Channel: store.ChannelCall, Text: "Stop calling me. Do not call me again.", Ref: "call_1"}}
	wantDecision(t, e.eval(t, call(numLA)), Deny, RuleOptedOut)
	if d := e.eval(t, sms(numLA, "Sorry for the calls.")); d.Outcome == Deny {
		t.Fatalf("a text after a spoken do-not-call was denied: %+v", d.Rules)
	}
	f.by[numNY] = []Reply{{Channel: store.ChannelCall, Text: "Stop calling me, and don't text me either."}}
	wantDecision(t, e.eval(t, sms(numNY, "Hello")), Deny, RuleOptedOut)
	wantDecision(t, e.eval(t, call(numNY)), Deny, RuleOptedOut)
	l, _ := e.eng.OptOuts().List(context.Background())
	got := map[string]string{}
	for _, o := range l {
		got[o.E164] = o.Channel
	}
	if got[numLA] != store.ChannelCall || got[numNY] != store.ChannelAll {
		t.Fatalf("stored scopes = %v, want %s call and %s all", got, numLA, numNY)
	}
}

// TestRepliesReadFailureFailsClosed: when the reader fails, Evaluate refuses with
// ErrRepliesUnavailable and nothing is counted.
func TestRepliesReadFailureFailsClosed(t *testing.T) {
	e, f := repliesEnv(t, Config{Allowlist: []string{numLA}})
	f.err = errors.New("503 service unavailable")
	for _, a := range []Action{sms(numLA, "hi"), call(numLA)} {
		_, err := e.eng.Evaluate(context.Background(), a)
		if !errors.Is(err, ErrRepliesUnavailable) {
			t.Fatalf("%s with a failing reader: err = %v, want ErrRepliesUnavailable", a.Kind, err)
		}
	}
}

// TestOperatorPhoneNeverTextedOrCalled: the operator's phone is the confirmation channel.
func TestOperatorPhoneNeverTextedOrCalled(t *testing.T) {
	e, _ := repliesEnv(t, Config{OperatorPhone: numNY, Allowlist: []string{numNY}})
	wantDecision(t, e.eval(t, sms(numNY, "What was the code?")), Deny, RuleOperatorPhone)
	wantDecision(t, e.eval(t, call(numNY)), Deny, RuleOperatorPhone)
	// The operator's own STOP (to the codes) is not an opt-out.
	if ch, err := e.eng.ObserveReplies(context.Background(), numNY, []Reply{{Channel: store.ChannelSMS, Text: "STOP"}}); ch != "" || err != nil {
		t.Fatalf("operator STOP recorded: %q %v", ch, err)
	}
}

// TestLiftedOptOutNotReAddedByOldWords: the operator lifts an opt-out; the same old STOP,
// still the latest reply, does not opt the number out again.
func TestLiftedOptOutNotReAddedByOldWords(t *testing.T) {
	e, f := repliesEnv(t, Config{Allowlist: []string{numLA}})
	f.by[numLA] = []Reply{{Channel: store.ChannelSMS, Text: "STOP", At: t0.Add(-time.Hour)}}
	wantDecision(t, e.eval(t, sms(numLA, "hi")), Deny, RuleOptedOut)
	if ok, err := e.eng.OptOuts().Remove(context.Background(), numLA, ""); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if d := e.eval(t, sms(numLA, "hi")); d.Outcome == Deny {
		t.Fatalf("the lifted opt-out came back from the old STOP: %+v", d.Rules)
	}
}

package policy

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// TestEvaluateManyMatchesEvaluate: one store read for many actions decides each exactly as
// Evaluate does, whatever its facts (known, opted out, over a cap, a duplicate, a contact,
// invalid, international, a stranger).
func TestEvaluateManyMatchesEvaluate(t *testing.T) {
	e := newEnv(t, Config{Limits: Limits{SMSPerRecipientDay: 1}, Allowlist: []string{numNY}}, func(d *Deps) {
		d.Contacts = fakeContacts{set: map[string]bool{numCanada: true}}
	})
	ctx := context.Background()
	e.send(t, sms(numLA, "earlier"))
	e.send(t, sms(numLA2, "same body"))
	if _, err := e.st.AddOptOut(ctx, store.OptOut{E164: numJamaica, At: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	as := []Action{
		sms(numLA, "over the daily cap"), sms(numLA2, "same body"), sms(numNY, "allowlisted"),
		sms(numCanada, "a contact"), sms(numJamaica, "opted out"), sms(numLondon, "country"),
		sms("not a number", "invalid"), sms("+14155550142", "a stranger"), sms(numTollFree, "toll-free"),
	}
	many, err := e.eng.EvaluateMany(ctx, as)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range as {
		one := e.eval(t, a)
		if one.Outcome != many[i].Outcome || !reflect.DeepEqual(one.RuleIDs(), many[i].RuleIDs()) {
			t.Errorf("%s: Evaluate %s %v, EvaluateMany %s %v", a.To, one.Outcome, one.RuleIDs(), many[i].Outcome, many[i].RuleIDs())
		}
	}
	if _, err := e.eng.EvaluateMany(ctx, []Action{sms(numLA, "x"), call(numLA)}); err == nil {
		t.Fatal("mixed kinds were accepted")
	}
}

// TestNextWindow finds the first time inside the calling window in every zone.
func TestNextWindow(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	n, err := e.eng.prepare(sms(numNY, "x"))
	if err != nil || n.n == nil {
		t.Fatal(err)
	}
	// 07:00 in New York (EDT): the window opens at 08:00 local.
	at := time.Date(2026, 3, 11, 11, 0, 0, 0, time.UTC)
	got, ok := e.eng.NextWindow(n.n, at)
	if !ok || !got.Equal(time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("NextWindow = %v %v, want 12:00 UTC", got, ok)
	}
	if got, _ := e.eng.NextWindow(n.n, got); !got.Equal(time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("inside the window NextWindow moved to %v", got)
	}
}

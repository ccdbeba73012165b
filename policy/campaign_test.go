package policy

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
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

// bulkChecker is a contact book and call history that answers in bulk (BulkVoucher), and
// counts the one-by-one questions it gets.
type bulkChecker struct {
	contacts, history map[string]bool
	complete          bool
	mu                sync.Mutex
	single, bulk      int
}

func (b *bulkChecker) IsContact(_ context.Context, e164 string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.single++
	return b.contacts[e164], nil
}

func (b *bulkChecker) Contacted(_ context.Context, e164 string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.single++
	return b.history[e164], nil
}

func (b *bulkChecker) Vouched(_ context.Context, e164s []string) (map[string]bool, map[string]bool, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bulk++
	if !b.complete {
		return nil, nil, false, nil
	}
	c, h := map[string]bool{}, map[string]bool{}
	for _, n := range e164s {
		c[n], h[n] = b.contacts[n], b.history[n]
	}
	return c, h, true, nil
}

// TestEvaluateManyBulkVouching: a plan of many unknown numbers asks the contact book and
// call history once in bulk, deciding exactly as Evaluate does one by one; when the bulk
// look-up cannot answer for everyone, it asks one by one.
func TestEvaluateManyBulkVouching(t *testing.T) {
	for _, complete := range []bool{true, false} {
		bc := &bulkChecker{contacts: map[string]bool{"+14155550105": true}, history: map[string]bool{"+14155550107": true}, complete: complete}
		e := newEnv(t, Config{}, func(d *Deps) { d.Contacts, d.History = bc, bc })
		var as []Action
		for i := range 20 {
			as = append(as, sms(fmt.Sprintf("+141555501%02d", i), "hello"))
		}
		many, err := e.eng.EvaluateMany(context.Background(), as)
		if err != nil {
			t.Fatal(err)
		}
		if complete && (bc.bulk != 1 || bc.single != 0) {
			t.Fatalf("complete: %d bulk and %d single look-ups, want 1 and 0", bc.bulk, bc.single)
		}
		if !complete && bc.single == 0 {
			t.Fatal("incomplete bulk answer: nobody was asked one by one")
		}
		for i, a := range as {
			one := e.eval(t, a)
			if one.Outcome != many[i].Outcome || !reflect.DeepEqual(one.RuleIDs(), many[i].RuleIDs()) {
				t.Errorf("%s (complete %v): Evaluate %s %v, EvaluateMany %s %v", a.To, complete, one.Outcome, one.RuleIDs(), many[i].Outcome, many[i].RuleIDs())
			}
			first := slices.Contains(many[i].RuleIDs(), RuleFirstContact)
			if vouched := a.To == "+14155550105" || a.To == "+14155550107"; first == vouched {
				t.Errorf("%s: first_contact %v", a.To, first)
			}
		}
	}
}

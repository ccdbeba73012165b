package policy

import (
	"context"
	"errors"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
)

type fakeOwn struct {
	set   map[string]bool
	err   error
	calls int
}

func (f *fakeOwn) IsOwnNumber(_ context.Context, e164 string) (bool, error) {
	f.calls++
	return f.set[e164], f.err
}

func TestAgentCreateAndOther(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	tests := []struct {
		name    string
		a       Action
		outcome Outcome
		rule    string
	}{
		{"create clean", Action{Tool: "create_agent", Kind: KindAgentCreate, Texts: []string{"You are a helpful receptionist."}}, Allow, ""},
		{"create clean transfer", Action{Tool: "create_agent", Kind: KindAgentCreate, TransferNumber: numLA}, Allow, ""},
		{"create secret in prompt", Action{Tool: "create_agent", Kind: KindAgentCreate, Texts: []string{"use key " + testKey}}, Deny, RuleSecretInContent},
		{"create premium transfer", Action{Tool: "create_agent", Kind: KindAgentCreate, TransferNumber: numPremium}, Deny, RuleNumberType},
		{"create emergency transfer", Action{Tool: "create_agent", Kind: KindAgentCreate, TransferNumber: "911"}, Deny, RuleEmergency},
		{"create foreign transfer", Action{Tool: "create_agent", Kind: KindAgentCreate, TransferNumber: numLondon}, Deny, RuleCountry},
		{"change still confirms", Action{Tool: "update_agent", Kind: KindAgentChange, TransferNumber: numLA}, Confirm, RuleAgentChange},
		{"other clean", Action{Tool: "attach_number", Kind: KindOther, Details: map[string]string{"agent": "ag_1"}}, Allow, ""},
		{"other secret", Action{Tool: "react_to_message", Kind: KindOther, Texts: []string{testKey}}, Deny, RuleSecretInContent},
		{"other ignores numbers", Action{Tool: "end_call", Kind: KindOther, TransferNumber: numPremium, To: numPremium}, Allow, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.eval(t, tt.a)
			wantDecision(t, d, tt.outcome, tt.rule)
			if tt.outcome == Allow && len(d.Rules) != 0 {
				t.Errorf("allow with rules %v", d.Rules)
			}
		})
	}
}

func TestOtherIsAuditedWithDetails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	a := Action{Tool: "attach_number", Principal: "p1", Kind: KindOther,
		Details: map[string]string{"agent_id": "ag_1", "number_id": "pn_\u202e2", "note": "key " + testKey}}
	d := e.eval(t, a)
	if d.Preview == nil || d.Preview.Details["number_id"] != "pn_⟨U+202E⟩2" {
		t.Fatalf("preview details = %+v", d.Preview)
	}
	if err := e.eng.Record(context.Background(), a, d, Result{APIStatus: "200"}); err != nil {
		t.Fatal(err)
	}
	if n, err := audit.Verify(e.audit); n != 1 || err != nil {
		t.Fatalf("Verify = %d, %v", n, err)
	}
	raw, err := os.ReadFile(e.audit)
	if err != nil {
		t.Fatal(err)
	}
	line := string(raw)
	for _, want := range []string{`"tool":"attach_number"`, `"decision":"allow"`, `"agent_id":"ag_1"`, `"number_id":"pn_⟨U+202E⟩2"`, `"note":"[withheld: contained a secret]"`} {
		if !strings.Contains(line, want) {
			t.Errorf("audit line lacks %s: %s", want, line)
		}
	}
	if strings.Contains(line, testKey) {
		t.Error("audit line leaks the key")
	}
	// Other writes consume no SMS/call quota and mark nobody known.
	if n := e.sum(t, evCalls, t0.Add(-time.Hour)); n != 0 {
		t.Errorf("calls counted = %d", n)
	}
}

func TestOwnNumber(t *testing.T) {
	t.Parallel()
	own := &fakeOwn{set: map[string]bool{numLA2: true}}
	e := newEnv(t, Config{}, func(d *Deps) { d.OwnNumbers = own })
	tests := []struct {
		name    string
		a       Action
		outcome Outcome
		rule    string
	}{
		{"sms to own", sms(numLA2, "hi"), Deny, RuleOwnNumber},
		{"call to own", call(numLA2), Deny, RuleOwnNumber},
		{"sms elsewhere", sms(numLA, "hi"), Confirm, RuleFirstContact},
		{"transfer to own is allowed", Action{Tool: "transfer_call", Kind: KindTransfer, To: numLA2}, Allow, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantDecision(t, e.eval(t, tt.a), tt.outcome, tt.rule)
		})
	}
	// The hook is not asked when a cheaper rule already denied.
	before := own.calls
	wantDecision(t, e.eval(t, sms(numPremium, "hi")), Deny, RuleNumberType)
	if own.calls != before {
		t.Errorf("own-number hook called for an already denied action")
	}
	// A lookup failure is an error (the engine cannot decide), with the key scrubbed.
	bad := newEnv(t, Config{}, func(d *Deps) { d.OwnNumbers = &fakeOwn{err: errors.New("upstream said " + testKey)} })
	_, err := bad.eng.Evaluate(context.Background(), sms(numLA, "hi"))
	if err == nil || !strings.Contains(err.Error(), "own numbers") || strings.Contains(err.Error(), testKey) {
		t.Errorf("Evaluate err = %v", err)
	}
	// nil hook: skipped.
	none := newEnv(t, Config{}, nil)
	wantDecision(t, none.eval(t, sms(numLA2, "hi")), Confirm, RuleFirstContact)
}

// TestAuditWithholdsSplitSecret: a key split by an invisible character is refused, and no
// text of the refused action reaches the audit log in any form.
func TestAuditWithholdsSplitSecret(t *testing.T) {
	e := newEnv(t, Config{QuietHours: "off"}, nil)
	split := testKey[:8] + "\u200b" + testKey[8:]
	a := Action{Tool: "make_call", Principal: "p1", Kind: KindCall, To: "+14155550142",
		Texts: []string{"read this: " + split}, Details: map[string]string{"objective": "read this: " + split}}
	d := e.eval(t, a)
	if d.Outcome != Deny || !slices.Contains(d.RuleIDs(), RuleSecretInContent) {
		t.Fatalf("want deny [secret_in_content], got %v %v", d.Outcome, d.RuleIDs())
	}
	if err := e.eng.Record(context.Background(), a, d, Result{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(e.audit)
	if err != nil {
		t.Fatal(err)
	}
	line := string(raw)
	if strings.Contains(line, testKey[8:]) || strings.Contains(line, testKey[:8]) || !strings.Contains(line, "details withheld") {
		t.Fatalf("the audit line carries part of the key or lacks the withheld note: %s", line)
	}
}

// allContacts says every number is a saved contact.
type allContacts struct{}

func (allContacts) IsContact(context.Context, string) (bool, error) { return true, nil }

// TestToolWrittenContactDoesNotVouch: a contact the model wrote through a tool must not make
// its number "known": otherwise adding a stranger as a contact would skip first_contact.
func TestToolWrittenContactDoesNotVouch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{QuietHours: "off"}, func(d *Deps) { d.Contacts = allContacts{} })
	const stranger = "+14155550188"
	if d := e.eval(t, sms(stranger, "hi")); d.Outcome != Allow {
		t.Fatalf("an operator contact should vouch: %v %v", d.Outcome, d.RuleIDs())
	}
	write := Action{Tool: "create_contact", Principal: "p1", Kind: KindContactWrite, To: stranger}
	e.run(t, write, store.Sent)
	d := e.eval(t, sms(stranger, "hi"))
	if d.Outcome != Confirm || !slices.Contains(d.RuleIDs(), RuleFirstContact) {
		t.Fatalf("after a tool wrote the contact: want confirm [first_contact], got %v %v", d.Outcome, d.RuleIDs())
	}
	// The mark is written with the reservation, before the API call: a text racing the
	// write can never see the new contact unmarked. So even a failed write marks its number
	// (the safe side: the model tried to vouch for it).
	other := "+14155550189"
	e.run(t, Action{Tool: "create_contact", Principal: "p1", Kind: KindContactWrite, To: other}, store.Failed)
	if d := e.eval(t, sms(other, "hi")); d.Outcome != Confirm || !slices.Contains(d.RuleIDs(), RuleFirstContact) {
		t.Fatalf("after a failed tool write: want confirm [first_contact], got %v %v", d.Outcome, d.RuleIDs())
	}
}

package policy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
)

func auditEntries(t *testing.T, path string) []map[string]any {
	t.Helper()
	if _, err := audit.Verify(path); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestRecordWritesAuditLines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, bodies := range []bool{false, true} {
		e := newEnv(t, Config{AuditBodies: bodies}, nil)
		a := sms(numLA, "hello there")
		d := e.eval(t, a)
		if err := e.eng.Record(ctx, a, d, Result{}); err != nil { // preview
			t.Fatal(err)
		}
		keyErr := errors.New("upstream said: bad key " + testKey + " b64=" + base64.StdEncoding.EncodeToString([]byte(testKey)))
		if err := e.eng.Record(ctx, a, d, Result{ConfirmMethod: "token", APIStatus: "401", Err: keyErr}); err != nil {
			t.Fatal(err)
		}
		if err := e.eng.Record(ctx, a, d, Result{ConfirmMethod: "elicitation", APIID: "msg_1", APIStatus: "200"}); err != nil {
			t.Fatal(err)
		}
		den := sms("911", "x")
		if err := e.eng.Record(ctx, den, e.eval(t, den), Result{}); err != nil {
			t.Fatal(err)
		}
		lines := auditEntries(t, e.audit)
		if len(lines) != 4 {
			t.Fatalf("%d audit lines, want 4", len(lines))
		}
		raw, _ := os.ReadFile(e.audit)
		if strings.Contains(string(raw), testKey) || strings.Contains(string(raw), base64.StdEncoding.EncodeToString([]byte(testKey))) {
			t.Error("audit log contains the API key")
		}
		first := lines[0]
		if first["tool"] != "send_sms" || first["decision"] != "confirm" || first["target"] != numLA || first["confirm_method"] != "none" ||
			first["principal"] != "p1" || first["segments"] != float64(1) || first["body_len"] != float64(11) || len(first["body_sha256"].(string)) != 64 {
			t.Errorf("line 1 = %v", first)
		}
		if rules := first["rules"].([]any); len(rules) != 1 || rules[0] != RuleFirstContact {
			t.Errorf("rules = %v", rules)
		}
		if _, has := first["body"]; has != bodies {
			t.Errorf("AuditBodies=%v but body present=%v", bodies, has)
		}
		if !strings.Contains(lines[1]["error"].(string), "[REDACTED]") || lines[1]["api_status"] != "401" {
			t.Errorf("line 2 = %v", lines[1])
		}
		if lines[2]["api_id"] != "msg_1" || lines[2]["confirm_method"] != "elicitation" {
			t.Errorf("line 3 = %v", lines[2])
		}
		if lines[3]["decision"] != "deny" || lines[3]["rules"].([]any)[0] != RuleEmergency {
			t.Errorf("line 4 = %v", lines[3])
		}
	}
}

func TestObserveInboundAndOptOuts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, Config{Allowlist: []string{numLA, numNY}}, nil)
	tests := []struct {
		from, body string
		opted      bool
	}{
		{"(650) 253-0000", "Thanks, see you then", false},
		{"(650) 253-0000", "stop by at 5?", false},
		{"(650) 253-0000", "STOP", true},
		{numNY, "please stop texting me", true},
	}
	for _, tt := range tests {
		o, err := e.eng.ObserveInbound(ctx, Inbound{From: tt.from, Text: tt.body})
		if got := o.OptedOut; err != nil || got != tt.opted {
			t.Errorf("ObserveInbound(%q) = %+v, %v; want opted out %v", tt.body, o, err, tt.opted)
		}
	}
	if _, err := e.eng.ObserveInbound(ctx, Inbound{From: "not a number", Text: "STOP"}); err == nil {
		t.Error("opt-out from an unusable number reported no error")
	}
	wantDecision(t, e.eval(t, sms(numLA, "hi")), Deny, RuleOptedOut)
	wantDecision(t, e.eval(t, call(numNY)), Deny, RuleOptedOut)
	// A transfer to an opted-out number is refused too.
	wantDecision(t, e.eval(t, Action{Tool: "transfer_call", Kind: KindTransfer, TransferNumber: numLA}), Deny, RuleOptedOut)

	oo := e.eng.OptOuts()
	list, err := oo.List(ctx)
	if err != nil || len(list) != 2 || list[0].E164 != numNY || list[1].E164 != numLA {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if ok, err := oo.Remove(ctx, "650-253-0000", ""); !ok || err != nil {
		t.Fatalf("Remove = %v, %v", ok, err)
	}
	wantDecision(t, e.eval(t, sms(numLA, "hi")), Allow, "")
	if _, err := oo.Add(ctx, "911", "", ""); err == nil {
		t.Error("Add(911) accepted")
	}
	if e164, err := oo.Add(ctx, "+1 650 253 0000", "", ""); err != nil || e164 != numLA {
		t.Errorf("Add = %q, %v", e164, err)
	}
	wantDecision(t, e.eval(t, sms(numLA, "hi")), Deny, RuleOptedOut)
	// Every change is audited (a state rebuild replays them): two inbound opt-outs, the
	// operator's removal and the operator's add.
	lines := auditEntries(t, e.audit)
	var got []string
	for _, l := range lines {
		got = append(got, fmt.Sprint(l["decision"], " ", l["target"], " ", l["channel"], " ", l["source"]))
	}
	want := []string{"opt_out " + numLA + " all inbound_sms", "opt_out " + numNY + " all inbound_sms", "opt_out_removed " + numLA + " every operator", "opt_out " + numLA + " all operator"}
	if !slices.Equal(got, want) {
		t.Errorf("opt-out audit lines = %q, want %q", got, want)
	}
}

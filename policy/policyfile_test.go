package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePolicy(t *testing.T, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadPolicyFileExample(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/policy.example.json")
	if err != nil {
		t.Fatal(err)
	}
	p := writePolicy(t, string(src), 0o600) // a checkout may leave the example group-writable
	fc, err := LoadPolicyFile(p)
	if err != nil {
		t.Fatalf("example: %v", err)
	}
	if len(fc.Allowlist) != 2 || len(fc.Denylist) != 3 || fc.Limits == nil || fc.Limits.CallsHour != 20 || fc.OperatorPhone == "" {
		t.Errorf("example decoded as %+v", fc)
	}
	// New applies it: GB allowed (international confirm), +1900 denylisted, allowlist skips first contact.
	e := newEnv(t, Config{PolicyFile: p, Denylist: []string{numNY}}, nil)
	if c := e.eng.Config(); len(c.Denylist) != 4 || c.OperatorPhone != "+14155550123" {
		t.Errorf("effective config = %+v", c)
	}
	wantDecision(t, e.eval(t, sms(numPremium, "x")), Deny, RuleDenylist)
	wantDecision(t, e.eval(t, sms(numNY, "x")), Deny, RuleDenylist)
	wantDecision(t, e.eval(t, sms("+14155550100", "x")), Allow, "")
	wantDecision(t, e.eval(t, sms("+14155550101", "x")), Allow, "")
}

func TestLoadPolicyFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		mode os.FileMode
		want string
	}{
		{"unknown key", `{"allowlist":[],"alowlist":["+14155550100"]}`, 0o600, "unknown field"},
		{"unknown limit key", `{"limits":{"sms_per_hour":1}}`, 0o600, "unknown field"},
		{"group writable", `{}`, 0o620, "writable by group or others"},
		{"world writable", `{}`, 0o602, "chmod go-w"},
		{"bad quiet hours", `{"quiet_hours":"8pm"}`, 0o600, "quiet hours"},
		{"bad country", `{"allowed_countries":["USA"]}`, 0o600, "allowed_countries"},
		{"unknown region XX", `{"allowed_countries":["US","XX"]}`, 0o600, `allowed_countries: "XX" is not a region code phone numbers use`},
		{"UK is GB", `{"allowed_countries":["UK"]}`, 0o600, `"UK" is not a region code`},
		{"duplicate key", `{"denylist":["+1900"],"allowlist":[],"denylist":["+14155550199"]}`, 0o600, `the key "denylist" appears twice in the file`},
		{"duplicate nested key", `{"limits":{"calls_hour":5,"calls_hour":50}}`, 0o600, `the key "calls_hour" appears twice in the file.limits`},
		{"negative price", `{"prices":{"sms_per_segment":-1}}`, 0o600, "prices.sms_per_segment"},
		{"price in cents", `{"prices":{"number_monthly":3000}}`, 0o600, "between 0 and 1000"},
		{"bad max call minutes", `{"prices":{"max_call_minutes":0}}`, 0o600, "prices.max_call_minutes"},
		{"unknown price", `{"prices":{"mms_per_message":0.1}}`, 0o600, "unknown field"},
		{"trailing data", `{} {}`, 0o600, "trailing data"},
		{"not json", `allowlist = 1`, 0o600, "invalid JSON"},
		{"wrong type", `{"allowlist":"+14155550100"}`, 0o600, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := writePolicy(t, tt.body, tt.mode)
			_, err := LoadPolicyFile(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v, want mention of %q and the path", err, tt.want)
			}
		})
	}
	if _, err := LoadPolicyFile(t.TempDir()); err == nil || !strings.Contains(err.Error(), "regular file") {
		t.Errorf("directory: %v", err)
	}
	// Readable-by-others is fine; only writability matters.
	if _, err := LoadPolicyFile(writePolicy(t, `{"quiet_hours":"off"}`, 0o644)); err != nil {
		t.Errorf("0644: %v", err)
	}
	// An invalid number in a valid file fails at New, naming the list.
	p := writePolicy(t, `{"denylist":["nope"]}`, 0o600)
	e := newEnv(t, Config{}, nil)
	if _, err := New(Config{PolicyFile: p}, Deps{Store: e.st}); err == nil || !strings.Contains(err.Error(), "denylist") {
		t.Errorf("New with bad denylist: %v", err)
	}
}

func TestPolicyFilePrices(t *testing.T) {
	t.Parallel()
	p := writePolicy(t, `{"prices":{"voice_hosted_per_min":0.3,"max_call_minutes":10,"number_monthly":0}}`, 0o600)
	e := newEnv(t, Config{PolicyFile: p}, nil)
	pr := e.eng.Prices()
	if pr.VoiceHostedPerMin != 0.3 || pr.MaxCallMinutes != 10 || pr.NumberMonthly != 0 || pr.SMSPerSegment != 0.02 || pr.VoiceWebhookPerMin != 0.13 {
		t.Errorf("prices = %+v", pr)
	}
	if got := pr.CallCost(CallHosted); got != "$0.30/min (AgentPhone's AI runs the call), billed per second; up to $3.00 if it runs the maximum 10 min" {
		t.Errorf("hosted call cost = %q", got)
	}
	d := e.eval(t, Action{Tool: "buy_number", Kind: KindBuyNumber})
	if d.Preview.Cost != "$0.00/month" {
		t.Errorf("number cost = %q", d.Preview.Cost)
	}
	// The environment's region list is checked the same way.
	if _, err := New(Config{AllowedCountries: []string{"US", "ZZ"}}, Deps{Store: e.st}); err == nil || !strings.Contains(err.Error(), `"ZZ" is not a region code`) {
		t.Errorf("ZZ: %v", err)
	}
	if _, err := New(Config{AllowedCountries: []string{"us", " gb "}}, Deps{Store: e.st}); err != nil {
		t.Errorf("lower case regions: %v", err)
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{3: "$3.00", 0.13: "$0.13", 0.005: "$0.005", 13.2: "$13.20", 0.22 * 61: "$13.42", 0: "$0.00"} {
		if got := Money(in); got != want {
			t.Errorf("Money(%v) = %q, want %q", in, got, want)
		}
	}
	pr := DefaultPrices()
	for mode, want := range map[string]string{
		CallWebhook: "$0.13/min (your webhook drives the call), billed per second; up to $7.80 if it runs the maximum 60 min",
		"":          "$0.13/min with your webhook or $0.22/min with AgentPhone's AI, billed per second; up to $13.20 if it runs the maximum 60 min",
	} {
		if got := pr.CallCost(mode); got != want {
			t.Errorf("CallCost(%q) = %q", mode, got)
		}
	}
	if got := pr.SMSCost(3); got != "3 SMS segments × $0.02 = $0.06 (if it goes as SMS; iMessage has no segment charge)" {
		t.Errorf("SMSCost(3) = %q", got)
	}
}

func TestWithFileMerge(t *testing.T) {
	t.Parallel()
	base := Config{Allowlist: []string{"a"}, Denylist: []string{"d"}, QuietHours: "09:00-20:00", AllowedCountries: []string{"US"},
		Limits: Limits{SMSPerRecipientHour: 2, CallsHour: 7}}
	got := base.WithFile(FileConfig{Allowlist: []string{"b"}, Limits: &Limits{CallsHour: 9}, OperatorPhone: "+1"})
	if strings.Join(got.Allowlist, ",") != "a,b" || strings.Join(got.Denylist, ",") != "d" || got.QuietHours != "09:00-20:00" ||
		got.Limits.SMSPerRecipientHour != 2 || got.Limits.CallsHour != 9 || got.OperatorPhone != "+1" || got.AllowedCountries[0] != "US" {
		t.Errorf("merged = %+v", got)
	}
	if len(base.Allowlist) != 1 {
		t.Error("WithFile mutated the receiver")
	}
}

func FuzzParsePolicyFile(f *testing.F) {
	src, _ := os.ReadFile("testdata/policy.example.json")
	f.Add(src)
	f.Add([]byte(`{"quiet_hours":"22:00-06:00"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fc, err := parsePolicyFile(b)
		if err != nil {
			return
		}
		if fc.QuietHours != "" {
			if _, err := parseWindow(fc.QuietHours); err != nil {
				t.Fatalf("accepted bad quiet hours %q", fc.QuietHours)
			}
		}
		_ = Config{}.WithFile(fc)
	})
}

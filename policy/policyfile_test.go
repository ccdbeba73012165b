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

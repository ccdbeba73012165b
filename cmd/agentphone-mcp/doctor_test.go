package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/doctor"
	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// writeAuditLog writes n chained lines with the audit package (the one seam onto its writer).
func writeAuditLog(t *testing.T, path string, n int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(path, clockwork.NewFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, _, err := l.Append(audit.Entry{Tool: "send_sms", Decision: "allow", Rules: []string{}, Target: "+14155550142", BodyLen: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// runDoctor runs `agentphone-mcp doctor --json ARGS` and decodes the report.
func runDoctor(t *testing.T, environ []string, args ...string) (int, doctor.Report) {
	t.Helper()
	code, out, errOut := runCmd(t, environ, append([]string{"doctor", "--json"}, args...)...)
	var rep doctor.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor --json printed no report (exit %d): %v\n%s\n%s", code, err, out, errOut)
	}
	return code, rep
}

func findCheck(t *testing.T, rep doctor.Report, id string) doctor.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", id, rep.Checks)
	return doctor.Check{}
}

func thisBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// TestDoctorSandboxAllGreen: a sandbox set-up installed with `install --sandbox`, with an
// audit log and a state store, passes every check (ok or skip, no warning) and exits 0.
func TestDoctorSandboxAllGreen(t *testing.T) {
	home := t.TempDir()
	state := filepath.Join(home, "state")
	env := []string{"HOME=" + home, "AGENTPHONE_STATE_DIR=" + state}
	if code, out, errOut := runCmd(t, env, "install", "cursor", "--sandbox", "--command", thisBinary(t)); code != 0 {
		t.Fatalf("install: %d %s %s", code, out, errOut)
	}
	writeAuditLog(t, filepath.Join(state, "sandbox", "audit.jsonl"), 3)
	if err := os.Chmod(filepath.Join(state, "sandbox", "audit.jsonl"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, rep := runDoctor(t, env, "--sandbox")
	if code != 0 || !rep.OK || !rep.Sandbox {
		t.Fatalf("exit %d, report %+v", code, rep)
	}
	for _, c := range rep.Checks {
		if c.Status != doctor.OK && c.Status != doctor.Skip {
			t.Errorf("%s: %s %s (fix: %s)", c.ID, c.Status, c.Detail, c.Fix)
		}
	}
	if c := findCheck(t, rep, "audit_log"); !strings.Contains(c.Detail, "3 lines, hash chain intact") {
		t.Errorf("audit: %+v", c)
	}
	if c := findCheck(t, rep, "client_cursor"); c.Status != doctor.OK || !strings.Contains(c.Detail, "runs this binary") || !strings.Contains(c.Detail, "sandbox") {
		t.Errorf("cursor: %+v", c)
	}
	if c := findCheck(t, rep, "api_reachable"); c.Status != doctor.OK {
		t.Errorf("sandbox API: %+v", c)
	}
	// The table form says the same.
	code, out, _ := runCmd(t, env, "doctor", "--sandbox")
	if code != 0 || !strings.Contains(out, "Nothing blocks agentphone-mcp.") || strings.Contains(out, "FAIL") {
		t.Fatalf("table: exit %d\n%s", code, out)
	}
}

// servedSandbox serves the simulated API on loopback, accepting only goodKey.
func servedSandbox(t *testing.T, goodKey string) string {
	t.Helper()
	sb := sandbox.New(sandbox.Options{APIKey: goodKey})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return srv.URL
}

// TestDoctorKeyAcceptedAndRefused: the key is checked with one read request through the key
// guard; a refused key fails with what to do, an accepted one passes, and the API's Date
// header gives the clock check.
func TestDoctorKeyAcceptedAndRefused(t *testing.T) {
	const good = "ak_live_doctor_good_key_123456"
	url := servedSandbox(t, good)
	home := t.TempDir()
	base := []string{"HOME=" + home, "AGENTPHONE_STATE_DIR=" + filepath.Join(home, "state"), "AGENTPHONE_BASE_URL=" + url}

	code, rep := runDoctor(t, append(base, "AGENTPHONE_API_KEY="+good))
	if c := findCheck(t, rep, "key_accepted"); c.Status != doctor.OK {
		t.Fatalf("good key: %+v", c)
	}
	if c := findCheck(t, rep, "clock"); c.Status != doctor.OK {
		t.Fatalf("clock: %+v", c)
	}
	if c := findCheck(t, rep, "base_url"); c.Status != doctor.Warn || !strings.Contains(c.Detail, "local test server") {
		t.Fatalf("loopback base URL: %+v", c)
	}
	if c := findCheck(t, rep, "clients"); c.Status != doctor.Warn || !strings.Contains(c.Fix, "agentphone-mcp install") {
		t.Fatalf("no clients: %+v", c)
	}
	if code != 0 {
		t.Fatalf("exit %d with only warnings: %+v", code, rep.Checks)
	}

	code, rep = runDoctor(t, append(base, "AGENTPHONE_API_KEY=ak_live_revoked_key_000000"))
	c := findCheck(t, rep, "key_accepted")
	if code != 1 || rep.OK || c.Status != doctor.Fail || !strings.Contains(c.Detail, "refused the key (401") || !strings.Contains(c.Fix, "create a new API key") {
		t.Fatalf("bad key: exit %d, %+v", code, c)
	}
	out, _ := json.Marshal(rep)
	if strings.Contains(string(out), "ak_live_revoked") {
		t.Fatal("the report contains the key")
	}
}

// TestDoctorBrokenSetups: each broken set-up fails the right check, names the fix and exits 1.
func TestDoctorBrokenSetups(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, home string) []string
		check   string
		detail  string
		fix     string
		sandbox bool
	}{
		{
			name:   "no key at all",
			setup:  func(t *testing.T, home string) []string { return nil },
			check:  "api_key",
			detail: "no key",
			fix:    "agentphone-mcp install CLIENT",
		},
		{
			name: "foreign base URL",
			setup: func(t *testing.T, home string) []string {
				return []string{"AGENTPHONE_API_KEY=ak_live_x_123456", "AGENTPHONE_BASE_URL=https://api.agentphone.evil.example"}
			},
			check:  "base_url",
			detail: "not an AgentPhone API host",
			fix:    "unset AGENTPHONE_BASE_URL",
		},
		{
			name: "world-readable key file",
			setup: func(t *testing.T, home string) []string {
				kf := filepath.Join(home, "key")
				if err := os.WriteFile(kf, []byte("ak_live_x_123456\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return []string{"AGENTPHONE_API_KEY_FILE=" + kf}
			},
			check:  "key_file",
			detail: "other users can read the key",
			fix:    "chmod 600 ",
		},
		{
			name: "damaged audit log",
			setup: func(t *testing.T, home string) []string {
				log := filepath.Join(home, "state", "sandbox", "audit.jsonl")
				writeAuditLog(t, log, 4)
				b, err := os.ReadFile(log)
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.SplitAfter(string(b), "\n")
				lines[2] = strings.Replace(lines[2], `"body_len":3`, `"body_len":30`, 1)
				if err := os.WriteFile(log, []byte(strings.Join(lines, "")), 0o600); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			check:   "audit_log",
			detail:  "line 3",
			fix:     "agentphone-mcp audit verify",
			sandbox: true,
		},
		{
			name: "bad policy file",
			setup: func(t *testing.T, home string) []string {
				p := filepath.Join(home, "policy.json")
				if err := os.WriteFile(p, []byte(`{"quiet_hours": "late"}`), 0o600); err != nil {
					t.Fatal(err)
				}
				return []string{"AGENTPHONE_POLICY_FILE=" + p}
			},
			check:   "policy_file",
			detail:  "policy file",
			fix:     "correct the file",
			sandbox: true,
		},
		{
			name: "client entry points at a deleted binary",
			setup: func(t *testing.T, home string) []string {
				gone := filepath.Join(home, "old", "agentphone-mcp")
				if code, out, errOut := runCmd(t, []string{"HOME=" + home}, "install", "windsurf", "--sandbox", "--command", gone); code != 0 {
					t.Fatalf("install: %s %s", out, errOut)
				}
				return nil
			},
			check:   "client_windsurf",
			detail:  "does not exist",
			fix:     "agentphone-mcp install windsurf",
			sandbox: true,
		},
		{
			name: "remote HTTP without a token",
			setup: func(t *testing.T, home string) []string {
				return []string{"AGENTPHONE_TRANSPORT=http", "AGENTPHONE_HTTP_LISTEN=0.0.0.0:8080", "AGENTPHONE_HTTP_ALLOW_REMOTE=true"}
			},
			check:   "transport",
			detail:  "without AGENTPHONE_HTTP_TOKEN",
			fix:     "AGENTPHONE_HTTP_TOKEN",
			sandbox: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			env := append([]string{"HOME=" + home, "AGENTPHONE_STATE_DIR=" + filepath.Join(home, "state")}, tc.setup(t, home)...)
			var args []string
			if tc.sandbox {
				args = append(args, "--sandbox")
			}
			code, rep := runDoctor(t, env, args...)
			c := findCheck(t, rep, tc.check)
			if code != 1 || rep.OK || c.Status != doctor.Fail || !strings.Contains(c.Detail, tc.detail) || !strings.Contains(c.Fix, tc.fix) {
				t.Fatalf("exit %d; %s = %+v; want FAIL with detail %q and fix %q", code, tc.check, c, tc.detail, tc.fix)
			}
			code, out, _ := runCmd(t, env, append([]string{"doctor"}, args...)...)
			if code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, tc.fix) || !strings.Contains(out, "Something blocks") {
				t.Fatalf("table: exit %d\n%s", code, out)
			}
		})
	}
}

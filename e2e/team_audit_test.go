package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTeamAuditExport: two replicas of the built binary on one Redis (deploy/run-local.sh)
// each write audit lines in their own state dir; `audit export` verifies both chains and
// merges them by time into one JSON Lines file that `audit verify` accepts; a line edited in
// one replica's log makes the export fail, naming that log and line, and write nothing.
func TestTeamAuditExport(t *testing.T) {
	_, replicas, _, work, _ := startTeamIn(t)
	c1, c2 := connectHTTP(t, replicas[0]), connectHTTP(t, replicas[1])
	agent := mustOK(t, callTool(t, c1, "create_agent", map[string]any{"name": "Audit desk"}), "create_agent")
	mustOK(t, callTool(t, c2, "buy_number", map[string]any{"agent_id": agent.str("id"), "area_code": "415"}), "buy_number")
	for i := range 6 {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		mustOK(t, callTool(t, c, "send_sms", map[string]any{"agent_id": agent.str("id"), "to_number": fmt.Sprintf("+1415555%04d", 300+i), "body": "Audit text."}), "send_sms")
	}
	logs := []string{filepath.Join(work, "replica1", "audit.jsonl"), filepath.Join(work, "replica2", "audit.jsonl")}
	out := filepath.Join(t.TempDir(), "team-audit.jsonl")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(binary, args...)
		cmd.Env = append(os.Environ(), "AGENTPHONE_AUDIT_KEY_FILE=")
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if text, err := run(append([]string{"audit", "export", "--out", out}, logs...)...); err != nil {
		t.Fatalf("audit export: %v\n%s", err, text)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	headers, next := 0, map[string]uint64{}
	var prev time.Time
	for i, l := range lines {
		var v struct {
			Export string          `json:"export"`
			Source string          `json:"source"`
			Seq    uint64          `json:"seq"`
			TS     time.Time       `json:"ts"`
			Line   json.RawMessage `json:"line"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("export line %d: %v", i+1, err)
		}
		if v.Export != "" {
			headers++
			continue
		}
		if v.TS.Before(prev) {
			t.Fatalf("export line %d goes back in time", i+1)
		}
		prev = v.TS
		if v.Seq != next[v.Source]+1 {
			t.Fatalf("export line %d: %s seq %d after %d", i+1, v.Source, v.Seq, next[v.Source])
		}
		next[v.Source] = v.Seq
	}
	if headers != 2 || len(next) != 2 {
		t.Fatalf("the export has %d chain headers and lines from %d logs; want 2 and 2", headers, len(next))
	}
	for _, l := range logs {
		// Each replica wrote at least three sends' intent and outcome lines.
		if next[l] < 6 {
			t.Fatalf("%s contributed %d lines; want at least 6 (sources: %v)", l, next[l], next)
		}
	}
	if text, err := run("audit", "verify", out); err != nil || !strings.Contains(text, "export of 2 chains") {
		t.Fatalf("audit verify of the export: %v\n%s", err, text)
	}
	for _, l := range logs {
		if text, err := run("audit", "verify", l); err != nil {
			t.Fatalf("audit verify %s: %v\n%s", l, err, text)
		}
	}

	// Edit one recipient in replica 2's log: its line no longer matches its mac.
	b, err := os.ReadFile(logs[1])
	if err != nil {
		t.Fatal(err)
	}
	all := bytes.SplitAfter(b, []byte("\n"))
	line := 0
	for i, l := range all {
		if bytes.Contains(l, []byte(`"+14155550301"`)) {
			all[i], line = bytes.Replace(l, []byte(`"+14155550301"`), []byte(`"+14155550399"`), 1), i+1
			break
		}
	}
	if line == 0 {
		t.Fatal("replica 2's log does not name +14155550301")
	}
	if err := os.WriteFile(logs[1], bytes.Join(all, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(t.TempDir(), "again.jsonl")
	text, err := run(append([]string{"audit", "export", "--out", again}, logs...)...)
	if err == nil {
		t.Fatalf("audit export of a tampered log succeeded:\n%s", text)
	}
	if want := fmt.Sprintf("%s: line %d", logs[1], line); !strings.Contains(text, want) {
		t.Fatalf("audit export error does not name %q:\n%s", want, text)
	}
	if _, err := os.Stat(again); !os.IsNotExist(err) {
		t.Fatalf("the failed export wrote %s (%v)", again, err)
	}
}

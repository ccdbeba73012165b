package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// TestOptoutAuditRepairAndRebuild drives the operator commands in-process: opt-outs are
// audited, a torn audit line is named by verify and moved aside by repair (after saying
// so), state rebuild refuses while a server holds the state dir and otherwise restores the
// opt-outs from the audit log.
func TestOptoutAuditRepairAndRebuild(t *testing.T) {
	dir := t.TempDir()
	env := []string{"AGENTPHONE_STATE_DIR=" + dir}
	if code, out, errOut := runCmd(t, env, "optout", "add", "+16502530001", "asked", "--channel", "call"); code != 0 || !strings.Contains(out, "calls to it are denied") {
		t.Fatalf("optout add = %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCmd(t, env, "optout", "add", "+16502530002"); code != 0 || !strings.Contains(out, "calls and texts") {
		t.Fatalf("optout add = %d %q", code, out)
	}
	logPath := filepath.Join(dir, audit.DefaultFileName)
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"ts":"2026-`)
	f.Close()
	if code, out, _ := runCmd(t, env, "audit", "verify"); code != 1 || !strings.Contains(out, "line 3 is torn") || !strings.Contains(out, "audit repair") {
		t.Fatalf("audit verify on a torn log = %d %q", code, out)
	}
	if code, out, errOut := runCmd(t, env, "audit", "repair"); code != 0 || !strings.Contains(out, "Moving it") || !strings.Contains(out, "Moved 12 bytes") {
		t.Fatalf("audit repair = %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCmd(t, env, "audit", "verify"); code != 0 || !strings.Contains(out, "2 lines, hash chain intact") {
		t.Fatalf("audit verify after repair = %d %q", code, out)
	}

	held, err := store.Open(dir, store.Options{}) // a running server
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd(t, env, "state", "rebuild"); code != 1 || !strings.Contains(errOut, "stop them all") {
		t.Fatalf("state rebuild beside a running server = %d %q", code, errOut)
	}
	_ = held.Close()
	if err := os.Truncate(filepath.Join(dir, store.FileName), 0); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd(t, env, "optout", "list"); code != 1 || !strings.Contains(errOut, "state rebuild") {
		t.Fatalf("optout list on an emptied state file = %d %q", code, errOut)
	}
	if code, out, errOut := runCmd(t, env, "state", "rebuild"); code != 0 || !strings.Contains(out, "2 opt-outs") {
		t.Fatalf("state rebuild = %d %q %q", code, out, errOut)
	}
	code, out, _ := runCmd(t, env, "optout", "list")
	if code != 0 || !strings.Contains(out, "+16502530001  call") || !strings.Contains(out, "+16502530002  all") {
		t.Fatalf("optout list after the rebuild = %d\n%s", code, out)
	}
}

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
)

// TestAuditVerifyCatchesACutLog: the operator commands name a log cut short (against its
// anchor) and say what to do, and nothing else writes to it or rebuilds from it.
func TestAuditVerifyCatchesACutLog(t *testing.T) {
	dir := t.TempDir()
	env := []string{"AGENTPHONE_STATE_DIR=" + dir}
	for _, n := range []string{"+16502530001", "+16502530002", "+16502530003"} {
		if code, _, errOut := runCmd(t, env, "optout", "add", n); code != 0 {
			t.Fatalf("optout add = %d %q", code, errOut)
		}
	}
	if code, out, _ := runCmd(t, env, "audit", "verify"); code != 0 || !strings.Contains(out, "3 lines, hash chain intact: keyed, and matching its anchor") {
		t.Fatalf("audit verify = %d %q", code, out)
	}
	logPath := filepath.Join(dir, audit.DefaultFileName)
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	first := bytes.IndexByte(b, '\n') + 1
	if err := os.WriteFile(logPath, b[:first], 0o600); err != nil { // the STOPs of lines 2-3 "forgotten"
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, env, "audit", "verify")
	if code != 1 || !strings.Contains(errOut, "shorter than its anchor") || !strings.Contains(errOut, "Restore the log from a backup") {
		t.Fatalf("audit verify on a cut log = %d %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, env, "optout", "add", "+16502530004"); code != 1 || !strings.Contains(errOut, "shorter than its anchor") {
		t.Fatalf("optout add on a cut log = %d %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, env, "state", "rebuild"); code != 1 || !strings.Contains(errOut, "does not verify") {
		t.Fatalf("state rebuild from a cut log = %d %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, env, "audit", "repair"); code != 1 || !strings.Contains(errOut, "shorter than its anchor") {
		t.Fatalf("audit repair of a cut log = %d %q", code, errOut)
	}
}

// legacyLines renders n audit lines as versions before the keyed chain wrote them.
func legacyLines(n int) []byte {
	var out []byte
	prev := audit.GenesisHash
	for i := 1; i <= n; i++ {
		body := fmt.Sprintf(`{"ts":"2026-01-01T00:00:00Z","seq":%d,"prev_hash":"%s","tool":"optout","decision":"opt_out","rules":[],"target":"+1650253%04d","channel":"all"}`, i, prev, i)
		sum := sha256.Sum256([]byte(body))
		prev = hex.EncodeToString(sum[:])
		out = append(out, body[:len(body)-1]+`,"hash":"`+prev+`"}`+"\n"...)
	}
	return out
}

// TestAuditVerifyLegacyThenKeyed: a log from before the key verifies as legacy, and the
// first append after the upgrade keys the chain from there on.
func TestAuditVerifyLegacyThenKeyed(t *testing.T) {
	dir := t.TempDir()
	env := []string{"AGENTPHONE_STATE_DIR=" + dir}
	logPath := filepath.Join(dir, audit.DefaultFileName)
	if err := os.WriteFile(logPath, legacyLines(2), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCmd(t, env, "audit", "verify"); code != 0 || !strings.Contains(out, "2 lines, hash chain intact but legacy (unkeyed)") {
		t.Fatalf("audit verify of a legacy log = %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, env, "state", "rebuild"); code != 0 {
		t.Fatalf("state rebuild from a legacy log = %d %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, env, "optout", "add", "+16502530009"); code != 0 {
		t.Fatalf("optout add = %d %q", code, errOut)
	}
	if code, out, _ := runCmd(t, env, "audit", "verify"); code != 0 || !strings.Contains(out, "3 lines, hash chain intact and matching its anchor: lines 1-2 are legacy") {
		t.Fatalf("audit verify after the upgrade = %d %q", code, out)
	}
}

// TestAuditKeyFromTheOperator: AGENTPHONE_AUDIT_KEY_FILE keys the chain; no key is made in
// the state directory, and the log does not verify without the operator's key.
func TestAuditKeyFromTheOperator(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "audit.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("5a", audit.KeySize)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"AGENTPHONE_STATE_DIR=" + dir, "AGENTPHONE_AUDIT_KEY_FILE=" + keyFile}
	if code, _, errOut := runCmd(t, env, "optout", "add", "+16502530001"); code != 0 {
		t.Fatalf("optout add = %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, audit.KeyFileName)); !os.IsNotExist(err) {
		t.Fatalf("a key was made in the state dir although the operator gave one (%v)", err)
	}
	logPath := filepath.Join(dir, audit.DefaultFileName)
	if code, out, errOut := runCmd(t, env, "audit", "verify", logPath); code != 0 || !strings.Contains(out, "1 lines, hash chain intact: keyed") {
		t.Fatalf("audit verify with the operator key = %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, env[:1], "audit", "verify"); code != 1 || !strings.Contains(errOut, "key") {
		t.Fatalf("audit verify without the operator key = %d %q", code, errOut)
	}
	b, _ := os.ReadFile(logPath)
	if bytes.Contains(b, []byte("5a5a5a5a")) {
		t.Fatal("the key appears in the log")
	}
}

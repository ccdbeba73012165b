package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerRefusesACutAuditLog: the built binary records opt-outs in a keyed, anchored
// audit log; once the log's tail is cut off, `audit verify` and the server's start both say
// so and name what to do, and the server does not start on it.
func TestServerRefusesACutAuditLog(t *testing.T) {
	t.Parallel()
	logDir := t.TempDir()
	logPath := filepath.Join(logDir, "audit.jsonl")
	// One log for the operator commands and the sandbox server alike.
	env := sandboxEnv(t, "AGENTPHONE_AUDIT_LOG="+logPath)
	for _, n := range []string{numberN(7, 1), numberN(7, 2), numberN(7, 3)} {
		if out, err := runCLI(t, env, "optout", "add", n); err != nil {
			t.Fatalf("optout add: %v\n%s", err, out)
		}
	}
	if out, err := runCLI(t, env, "audit", "verify"); err != nil || !strings.Contains(out, "3 lines, hash chain intact: keyed") {
		t.Fatalf("audit verify = %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(logDir, "audit.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v %v", fi, err)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath, b[:bytes.IndexByte(b, '\n')+1], 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, env, "audit", "verify"); err == nil || !strings.Contains(out, "shorter than its anchor") {
		t.Fatalf("audit verify of the cut log = %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--sandbox")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(nil), &bytes.Buffer{}, &stderr
	err = cmd.Run()
	if err == nil || !strings.Contains(stderr.String(), "shorter than its anchor") || !strings.Contains(stderr.String(), "Restore the log from a backup") {
		t.Fatalf("server start on a cut audit log = %v\n%s", err, stderr.String())
	}
}

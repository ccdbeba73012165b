package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// runCmd runs the command line in-process and returns its exit code, stdout and stderr.
func runCmd(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, environ: environ})
	return code, out.String(), errOut.String()
}

const (
	toolsBegin = "<!-- tools:begin -->\n"
	toolsEnd   = "<!-- tools:end -->"
)

// TestREADMEToolTable fails when the README's tool table differs from "agentphone-mcp tools".
// UPDATE_README=1 rewrites the table.
func TestREADMEToolTable(t *testing.T) {
	code, out, _ := runCmd(t, nil, "tools")
	if code != 0 {
		t.Fatalf("tools exited %d", code)
	}
	if out != tools.Markdown(tools.All(&tools.Deps{})) {
		t.Fatal("agentphone-mcp tools does not print tools.Markdown of every tool")
	}
	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i, j := strings.Index(text, toolsBegin), strings.Index(text, toolsEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", strings.TrimSpace(toolsBegin), toolsEnd)
	}
	if got := text[i+len(toolsBegin) : j]; got != out {
		if os.Getenv("UPDATE_README") == "1" {
			updated := text[:i+len(toolsBegin)] + out + text[j:]
			if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's tool table differs from `agentphone-mcp tools`; run UPDATE_README=1 go test ./cmd/agentphone-mcp/\nREADME:\n%s\ntools:\n%s", got, out)
	}
}

func TestUnknownCommandIsAUsageError(t *testing.T) {
	code, _, errOut := runCmd(t, nil, "dial")
	if code != 2 || !strings.Contains(errOut, `unknown command "dial"`) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestServeRefusesArgumentsThatLookLikeSecrets(t *testing.T) {
	code, _, errOut := runCmd(t, []string{"AGENTPHONE_STATE_DIR=" + t.TempDir()}, "serve", "--sandbox", "sk_live_abc")
	if code != 2 || !strings.Contains(errOut, "environment") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestOptoutCommands(t *testing.T) {
	env := []string{"AGENTPHONE_STATE_DIR=" + t.TempDir()}
	if code, out, errOut := runCmd(t, env, "optout", "add", "(415) 555-0142", "asked by phone"); code != 0 || !strings.Contains(out, "+14155550142 is opted out") {
		t.Fatalf("add: exit %d, %q %q", code, out, errOut)
	}
	if code, out, _ := runCmd(t, env, "optout", "list"); code != 0 || !strings.Contains(out, "+14155550142") || !strings.Contains(out, "asked by phone") {
		t.Fatalf("list: exit %d, %q", code, out)
	}
	if code, _, errOut := runCmd(t, env, "optout", "add", "911"); code != 1 || !strings.Contains(errOut, "emergency") {
		t.Fatalf("add 911: exit %d, %q", code, errOut)
	}
	if code, out, _ := runCmd(t, env, "optout", "remove", "+1 415 555 0142"); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("remove: exit %d, %q", code, out)
	}
	if code, out, _ := runCmd(t, env, "optout", "list"); code != 0 || !strings.Contains(out, "No opted-out numbers") {
		t.Fatalf("list after remove: exit %d, %q", code, out)
	}
}

func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.jsonl")
	if code, _, errOut := runCmd(t, nil, "audit", "verify", log); code != 1 || errOut == "" {
		t.Fatalf("a missing log: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCmd(t, nil, "audit"); code != 2 {
		t.Fatalf("audit without verify: exit %d, want 2", code)
	}
}

func TestHelpListsSubcommands(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "help"} {
		code, out, _ := runCmd(t, nil, arg)
		if code != 0 || !strings.Contains(out, "agentphone-mcp demo") || !strings.Contains(out, "optout") {
			t.Fatalf("%s: exit %d, %q", arg, code, out)
		}
	}
}

func TestAuditVerifyNamesTheSandboxLog(t *testing.T) {
	env := []string{"AGENTPHONE_STATE_DIR=" + t.TempDir()}
	code, _, errOut := runCmd(t, env, "audit", "verify", "--sandbox")
	if code != 1 || !strings.Contains(errOut, filepath.Join("sandbox", "audit.jsonl")) {
		t.Fatalf("exit %d, %q", code, errOut)
	}
}

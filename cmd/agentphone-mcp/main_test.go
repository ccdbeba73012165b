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

// TestREADMEGenerated fails when a generated section of the README (between
// "<!-- NAME:begin -->" and "<!-- NAME:end -->") differs from what the code generates: the
// tool table, the toolsets, the token footprint and the environment variables.
// UPDATE_README=1 rewrites them.
func TestREADMEGenerated(t *testing.T) {
	code, out, _ := runCmd(t, nil, "tools")
	if code != 0 {
		t.Fatalf("tools exited %d", code)
	}
	if out != tools.Markdown(tools.Catalog(&tools.Deps{})) {
		t.Fatal("agentphone-mcp tools does not print tools.Markdown of the catalog")
	}
	code, toolsets, _ := runCmd(t, nil, "tools", "--toolsets")
	if code != 0 || toolsets != tools.ToolsetsMarkdown() {
		t.Fatalf("agentphone-mcp tools --toolsets: exit %d, or not tools.ToolsetsMarkdown", code)
	}
	code, footprint, _ := runCmd(t, nil, "tools", "--footprint")
	if code != 0 || !strings.HasPrefix(footprint, tools.FootprintMarkdown()) {
		t.Fatalf("agentphone-mcp tools --footprint: exit %d, or not tools.FootprintMarkdown", code)
	}
	sections := []struct{ name, body string }{
		{"tools", out},
		{"toolsets", toolsets},
		{"footprint", tools.FootprintMarkdown() + "\n<details><summary>Bytes per tool</summary>\n\n" + tools.ToolBytesMarkdown() + "\n</details>\n"},
		{"env", envMarkdown(t)},
	}
	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	changed := false
	for _, sec := range sections {
		begin, end := "<!-- "+sec.name+":begin -->\n", "<!-- "+sec.name+":end -->"
		i, j := strings.Index(text, begin), strings.Index(text, end)
		if i < 0 || j < i {
			t.Errorf("README.md lacks the %q ... %q markers", strings.TrimSpace(begin), end)
			continue
		}
		if got := text[i+len(begin) : j]; got != sec.body {
			if os.Getenv("UPDATE_README") == "1" {
				text, changed = text[:i+len(begin)]+sec.body+text[j:], true
				continue
			}
			t.Errorf("README.md's %s section differs from the code; run UPDATE_README=1 go test ./cmd/agentphone-mcp/\nREADME:\n%s\ngenerated:\n%s", sec.name, got, sec.body)
		}
	}
	if changed {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
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

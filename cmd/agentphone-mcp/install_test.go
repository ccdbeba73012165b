package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/buildinfo"
)

// TestInstallCommand drives install, --list, --dry-run and uninstall through the command line
// against a temporary home, with the key on standard input.
func TestInstallCommand(t *testing.T) {
	home := t.TempDir()
	environ := []string{"HOME=" + home}
	exe := thisBinary(t)
	const key = "ak_live_cli_install_key_987654"
	cfg := filepath.Join(home, ".cursor", "mcp.json")

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"install", "cursor", "--dry-run", "--key-stdin", "--command", exe}, env{stdin: strings.NewReader(key + "\n"), stdout: &out, stderr: &errOut, environ: environ})
	if code != 0 || !strings.Contains(out.String(), `+    "agentphone": {`) || !strings.Contains(out.String(), "Dry run") || strings.Contains(out.String(), key) {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if _, err := os.Stat(cfg); err == nil {
		t.Fatal("dry run wrote the config")
	}

	out.Reset()
	code = run(context.Background(), []string{"install", "--key-stdin", "cursor", "--command", exe}, env{stdin: strings.NewReader(key + "\n"), stdout: &out, stderr: &errOut, environ: environ})
	if code != 0 {
		t.Fatalf("install: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"Created " + cfg, "readable only by you", "Next:", "switch agentphone on", "agentphone-mcp doctor"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("install output lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(cfg)
	if err != nil || bytes.Contains(b, []byte(key)) || !bytes.Contains(b, []byte("AGENTPHONE_API_KEY_FILE")) {
		t.Fatalf("config: %v\n%s", err, b)
	}

	// Again, with the key now in the environment: nothing changes.
	code, stdout, _ := runCmd(t, append(environ, "AGENTPHONE_API_KEY="+key), "install", "cursor", "--command", exe)
	if code != 0 || !strings.Contains(stdout, "nothing changed") {
		t.Fatalf("reinstall: exit %d %s", code, stdout)
	}

	code, stdout, _ = runCmd(t, environ, "install", "--list")
	if code != 0 || !strings.Contains(stdout, "cursor") || !strings.Contains(stdout, "installed (this binary)") || !strings.Contains(stdout, "no config file yet") {
		t.Fatalf("--list: exit %d\n%s", code, stdout)
	}

	// A second client reuses the key file without asking.
	code, stdout, _ = runCmd(t, environ, "install", "windsurf", "--command", exe)
	if code != 0 || !strings.Contains(stdout, "The API key stays in") {
		t.Fatalf("second client: exit %d %s", code, stdout)
	}
	// In a fresh home, without a terminal, a key or --key-stdin, install says how to give one.
	code, _, stderr := runCmd(t, []string{"HOME=" + t.TempDir()}, "install", "windsurf", "--command", exe)
	if code != 1 || !strings.Contains(stderr, "AGENTPHONE_API_KEY") || !strings.Contains(stderr, "--sandbox") {
		t.Fatalf("no key: exit %d %s", code, stderr)
	}

	code, stdout, _ = runCmd(t, environ, "uninstall", "cursor")
	if code != 0 || !strings.Contains(stdout, "Removed the agentphone entry") || !strings.Contains(stdout, "The key file") || !strings.Contains(stdout, "still used by windsurf") {
		t.Fatalf("uninstall: exit %d %s", code, stdout)
	}
	if b, _ := os.ReadFile(cfg); bytes.Contains(b, []byte("agentphone")) {
		t.Fatalf("entry still there:\n%s", b)
	}
}

func TestInstallUsageErrors(t *testing.T) {
	environ := []string{"HOME=" + t.TempDir()}
	for _, args := range [][]string{
		{"install"},
		{"install", "emacs"},
		{"install", "cursor", "vscode"},
		{"install", "--list", "cursor"},
		{"install", "cursor", "--sandbox", "--key-stdin"},
		{"uninstall"},
	} {
		if code, _, stderr := runCmd(t, environ, args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if code, _, stderr := runCmd(t, nil, "install", "cursor", "--sandbox"); code != 1 || !strings.Contains(stderr, "HOME") {
		t.Errorf("without HOME: exit %d %q", code, stderr)
	}
}

func TestVersionCommand(t *testing.T) {
	code, out, _ := runCmd(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "agentphone-mcp ") {
		t.Fatalf("version: %d %q", code, out)
	}
	code, out, _ = runCmd(t, nil, "version", "--json")
	var info buildinfo.Info
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil || info.Version == "" || info.GoVersion == "" || info.Platform == "" {
		t.Fatalf("version --json: %d %q", code, out)
	}
}

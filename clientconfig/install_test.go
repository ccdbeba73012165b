package clientconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const (
	testExe = "/opt/agentphone/bin/agentphone-mcp"
	testKey = "ak_live_0123456789abcdefTESTKEY"
)

var layouts = []string{"linux", "darwin", "windows"}

// newPlatform makes an empty home directory in the layout of os.
func newPlatform(t *testing.T, goos string, env map[string]string) Platform {
	t.Helper()
	home := t.TempDir()
	return Platform{OS: goos, Home: home, Env: func(k string) string { return env[k] }}
}

func fixedNow() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }

func request(t *testing.T, c Client, p Platform) Request {
	t.Helper()
	return Request{Client: c, Platform: p, Executable: testExe, EnvKey: testKey, Now: fixedNow}
}

func mustClient(t *testing.T, id string) Client {
	t.Helper()
	c, err := Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantPaths is where each client's file lives in each layout, relative to the home dir
// (APPDATA and XDG_CONFIG_HOME unset).
var wantPaths = map[string]map[string]string{
	"claude-desktop": {
		"linux":   ".config/Claude/claude_desktop_config.json",
		"darwin":  "Library/Application Support/Claude/claude_desktop_config.json",
		"windows": "AppData/Roaming/Claude/claude_desktop_config.json",
	},
	"claude-code": {"linux": ".claude.json", "darwin": ".claude.json", "windows": ".claude.json"},
	"cursor":      {"linux": ".cursor/mcp.json", "darwin": ".cursor/mcp.json", "windows": ".cursor/mcp.json"},
	"vscode": {
		"linux":   ".config/Code/User/mcp.json",
		"darwin":  "Library/Application Support/Code/User/mcp.json",
		"windows": "AppData/Roaming/Code/User/mcp.json",
	},
	"windsurf": {"linux": ".codeium/windsurf/mcp_config.json", "darwin": ".codeium/windsurf/mcp_config.json", "windows": ".codeium/windsurf/mcp_config.json"},
}

var wantKeyFile = map[string]string{
	"linux":   ".config/agentphone-mcp/api-key",
	"darwin":  "Library/Application Support/agentphone-mcp/api-key",
	"windows": "AppData/Roaming/agentphone-mcp/api-key",
}

// golden compares got with testdata/golden/name, with the home directory written as $HOME.
// UPDATE_GOLDEN=1 rewrites the file.
func golden(t *testing.T, name, home string, got []byte) {
	t.Helper()
	norm := strings.ReplaceAll(string(got), home, "$HOME")
	path := filepath.Join("testdata", "golden", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(norm), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run UPDATE_GOLDEN=1 go test ./clientconfig to create it)", err)
	}
	if norm != string(want) {
		t.Errorf("%s differs from the golden file (UPDATE_GOLDEN=1 rewrites it):\n%s", name, unifiedDiff("golden", "got", want, []byte(norm)))
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func backups(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(path + ".agentphone-backup-*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestInstallFreshEveryClientEveryLayout installs into an empty home in each layout: the file
// appears where the client documents it, matches the golden file, holds no key, and the key
// file is private; a second run changes nothing.
func TestInstallFreshEveryClientEveryLayout(t *testing.T) {
	t.Parallel()
	for _, c := range Clients() {
		for _, goos := range layouts {
			t.Run(c.ID+"/"+goos, func(t *testing.T) {
				t.Parallel()
				p := newPlatform(t, goos, nil)
				res, err := Install(request(t, c, p))
				if err != nil {
					t.Fatal(err)
				}
				want := filepath.Join(p.Home, filepath.FromSlash(wantPaths[c.ID][goos]))
				if res.Path != want {
					t.Fatalf("config path %s, want %s", res.Path, want)
				}
				if !res.Created || !res.Changed || res.Backup != "" {
					t.Fatalf("result %+v: want created, changed, no backup", res)
				}
				got := readFile(t, want)
				golden(t, "fresh/"+c.ID+"-"+goos+".json", p.Home, got)
				if bytes.Contains(got, []byte(testKey)) {
					t.Fatal("the key is in the config file")
				}
				if !json.Valid(got) {
					t.Fatalf("not valid JSON:\n%s", got)
				}
				keyFile := filepath.Join(p.Home, filepath.FromSlash(wantKeyFile[goos]))
				if res.KeyFile != keyFile || !res.KeyFileChanged {
					t.Fatalf("key file %q (changed %v), want %q", res.KeyFile, res.KeyFileChanged, keyFile)
				}
				if k := strings.TrimSpace(string(readFile(t, keyFile))); k != testKey {
					t.Fatalf("key file holds %q", k)
				}
				if runtime.GOOS != "windows" {
					if m := mode(t, keyFile); m != 0o600 {
						t.Fatalf("key file mode %04o, want 0600", m)
					}
					if m := mode(t, filepath.Dir(keyFile)); m != 0o700 {
						t.Fatalf("key dir mode %04o, want 0700", m)
					}
					if m := mode(t, want); m != 0o600 {
						t.Fatalf("new config mode %04o, want 0600", m)
					}
				}
				if !strings.Contains(string(got), keyFile) {
					t.Fatalf("the entry does not name the key file:\n%s", got)
				}

				again, err := Install(request(t, c, p))
				if err != nil {
					t.Fatal(err)
				}
				if again.Changed || again.KeyFileChanged || again.Diff != "" || again.Backup != "" {
					t.Fatalf("second install changed something: %+v", again)
				}
				if !bytes.Equal(readFile(t, want), got) {
					t.Fatal("second install rewrote the file")
				}
				if b := backups(t, want); len(b) != 0 {
					t.Fatalf("backups after an idempotent run: %v", b)
				}

				st := Inspect(c, p, "")
				if st.Err != nil || st.Entry == nil || !st.Entry.Ours || st.Entry.KeyFile != keyFile || st.Entry.Command != testExe || st.Entry.Sandbox || st.Entry.PlainKey {
					t.Fatalf("Inspect: %+v entry %+v", st, st.Entry)
				}
			})
		}
	}
}

// TestConfigDirFromEnvironment: APPDATA (Windows) and XDG_CONFIG_HOME (Linux) move the files
// that live in the config directory; CLAUDE_CONFIG_DIR moves Claude Code's.
func TestConfigDirFromEnvironment(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	win := Platform{OS: "windows", Home: filepath.Join(base, "home"), Env: func(k string) string {
		if k == "APPDATA" {
			return filepath.Join(base, "roaming")
		}
		return ""
	}}
	if got, want := mustClient(t, "claude-desktop").ConfigPath(win), filepath.Join(base, "roaming", "Claude", "claude_desktop_config.json"); got != want {
		t.Errorf("windows claude-desktop: %s, want %s", got, want)
	}
	if got, want := win.KeyFilePath(), filepath.Join(base, "roaming", "agentphone-mcp", "api-key"); got != want {
		t.Errorf("windows key file: %s, want %s", got, want)
	}
	lin := Platform{OS: "linux", Home: filepath.Join(base, "home"), Env: func(k string) string {
		switch k {
		case "XDG_CONFIG_HOME":
			return filepath.Join(base, "xdg")
		case "CLAUDE_CONFIG_DIR":
			return filepath.Join(base, "claude")
		}
		return ""
	}}
	if got, want := mustClient(t, "vscode").ConfigPath(lin), filepath.Join(base, "xdg", "Code", "User", "mcp.json"); got != want {
		t.Errorf("linux vscode: %s, want %s", got, want)
	}
	if got, want := mustClient(t, "claude-code").ConfigPath(lin), filepath.Join(base, "claude", ".claude.json"); got != want {
		t.Errorf("claude-code with CLAUDE_CONFIG_DIR: %s, want %s", got, want)
	}
	rel := Platform{OS: "linux", Home: "/home/me", Env: func(k string) string { return "relative/dir" }}
	if got := rel.ConfigDir(); got != "/home/me/.config" {
		t.Errorf("a relative XDG_CONFIG_HOME must be ignored: %s", got)
	}
}

// writeExisting puts testdata/existing/<client>.json where the client reads its config.
func writeExisting(t *testing.T, c Client, p Platform) (string, []byte) {
	t.Helper()
	src := readFile(t, filepath.Join("testdata", "existing", c.ID+".json"))
	path := c.ConfigPath(p)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, src
}

// TestInstallIntoExistingConfig merges into a real-looking config with other servers and
// settings (comments and trailing commas in VS Code's): the result matches the golden file,
// every other server and setting is unchanged, a backup holds the original, the mode is
// kept, and uninstall restores the original byte for byte.
func TestInstallIntoExistingConfig(t *testing.T) {
	t.Parallel()
	for _, c := range Clients() {
		for _, goos := range layouts {
			t.Run(c.ID+"/"+goos, func(t *testing.T) {
				t.Parallel()
				p := newPlatform(t, goos, nil)
				path, orig := writeExisting(t, c, p)
				res, err := Install(request(t, c, p))
				if err != nil {
					t.Fatal(err)
				}
				if res.Created || !res.Changed || res.Backup == "" {
					t.Fatalf("result %+v", res)
				}
				got := readFile(t, path)
				if goos == "linux" {
					golden(t, "merged/"+c.ID+".json", p.Home, got)
				}
				if !bytes.Equal(readFile(t, res.Backup), orig) {
					t.Fatal("the backup is not the original file")
				}
				if runtime.GOOS != "windows" {
					if m := mode(t, path); m != 0o644 {
						t.Fatalf("mode changed to %04o", m)
					}
					if m := mode(t, res.Backup); m != 0o600 {
						t.Fatalf("backup mode %04o, want 0600", m)
					}
				}
				assertOthersUnchanged(t, c, orig, got)
				if !strings.Contains(res.Diff, `+    "agentphone"`) && !strings.Contains(res.Diff, `+		"agentphone"`) && !strings.Contains(res.Diff, `"agentphone": {`) {
					t.Fatalf("diff does not show the entry:\n%s", res.Diff)
				}

				again, err := Install(request(t, c, p))
				if err != nil || again.Changed {
					t.Fatalf("second install: %+v, %v", again, err)
				}

				un, err := Uninstall(Request{Client: c, Platform: p, Now: fixedNow})
				if err != nil || !un.Changed {
					t.Fatalf("uninstall: %+v, %v", un, err)
				}
				if after := readFile(t, path); !bytes.Equal(after, orig) {
					t.Fatalf("install then uninstall did not restore the original:\n%s", unifiedDiff("orig", "after", orig, after))
				}
				un2, err := Uninstall(Request{Client: c, Platform: p, Now: fixedNow})
				if err != nil || un2.Changed {
					t.Fatalf("second uninstall: %+v, %v", un2, err)
				}
			})
		}
	}
}

// assertOthersUnchanged decodes both files (comments stripped) and compares everything but
// our entry.
func assertOthersUnchanged(t *testing.T, c Client, before, after []byte) {
	t.Helper()
	decode := func(b []byte) map[string]any {
		doc, err := parseDocument("x", b, false)
		if err != nil {
			t.Fatal(err)
		}
		v := doc.root.Clone()
		v.Standardize()
		var m map[string]any
		if err := json.Unmarshal(v.Pack(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	b, a := decode(before), decode(after)
	servers, _ := a[c.ServersKey].(map[string]any)
	if _, ok := servers[DefaultName]; !ok {
		t.Fatalf("no %q entry after install", DefaultName)
	}
	delete(servers, DefaultName)
	bj, _ := json.Marshal(b)
	aj, _ := json.Marshal(a)
	if !bytes.Equal(bj, aj) {
		t.Fatalf("something besides our entry changed:\nbefore %s\nafter  %s", bj, aj)
	}
}

// TestVSCodeKeepsCommentsAndTrailingCommas: every comment and trailing comma of a JSONC file
// survives install, and the new entry follows the trailing-comma style.
func TestVSCodeKeepsCommentsAndTrailingCommas(t *testing.T) {
	t.Parallel()
	c := mustClient(t, "vscode")
	p := newPlatform(t, "linux", nil)
	path, orig := writeExisting(t, c, p)
	if _, err := Install(request(t, c, p)); err != nil {
		t.Fatal(err)
	}
	got := string(readFile(t, path))
	for _, comment := range []string{"// VS Code user MCP servers (JSON with comments)", "// asked once per session", "/* the GitHub server */", "// browser automation"} {
		if !strings.Contains(got, comment) {
			t.Errorf("comment %q lost", comment)
		}
	}
	if strings.Count(got, ",\n") < strings.Count(string(orig), ",\n") {
		t.Errorf("trailing commas lost:\n%s", got)
	}
	if !strings.Contains(got, "\"AGENTPHONE_API_KEY_FILE\": ") || !strings.Contains(got, "},\n    },\n}") {
		t.Errorf("the new entry does not follow the file's trailing-comma style:\n%s", got)
	}
}

// TestRefusesWhatItCannotEditSafely: unparseable files, comments where the client reads plain
// JSON, a top level that is not an object, a servers member that is not an object, and
// duplicate keys are refused with a message naming the file; nothing is written, no backup,
// no key file.
func TestRefusesWhatItCannotEditSafely(t *testing.T) {
	t.Parallel()
	cases := []struct {
		client, name, content, want string
	}{
		{"claude-desktop", "truncated", `{"mcpServers": {"a": {"command": "x"}`, "not valid JSON"},
		{"claude-desktop", "comments", "{\n  // mine\n  \"mcpServers\": {}\n}\n", "comments or trailing commas"},
		{"cursor", "trailing comma", `{"mcpServers": {"a": {"command": "x"},},}`, "comments or trailing commas"},
		{"windsurf", "array", `[1, 2]`, "top level is not a JSON object"},
		{"claude-code", "servers not object", `{"mcpServers": ["x"]}`, `"mcpServers" is not a JSON object`},
		{"claude-desktop", "duplicate", `{"mcpServers": {}, "mcpServers": {}}`, "appears twice"},
		{"vscode", "broken jsonc", "{ \"servers\": { /* open comment }", "not valid JSON with comments"},
		{"vscode", "duplicate entry", `{"servers": {"agentphone": {}, "agentphone": {}}}`, "appears twice"},
	}
	for _, tc := range cases {
		t.Run(tc.client+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			c := mustClient(t, tc.client)
			p := newPlatform(t, "linux", nil)
			path := c.ConfigPath(p)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.content), 0o640); err != nil {
				t.Fatal(err)
			}
			for _, op := range []func(Request) (Result, error){Install, Uninstall} {
				_, err := op(request(t, c, p))
				var pe *ParseError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not changed") {
					t.Fatalf("err = %v, want a ParseError naming %s and %q", err, path, tc.want)
				}
			}
			if got := string(readFile(t, path)); got != tc.content {
				t.Fatalf("file changed to %q", got)
			}
			if runtime.GOOS != "windows" && mode(t, path) != 0o640 {
				t.Fatal("mode changed")
			}
			if b := backups(t, path); len(b) != 0 {
				t.Fatalf("backups written: %v", b)
			}
			if _, err := os.Stat(p.KeyFilePath()); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("a key file was written for a refused install: %v", err)
			}
		})
	}
}

// TestForeignEntryIsKept: an "agentphone" entry that runs something else is neither replaced
// nor removed without --force; with --force it is, and a backup keeps it.
func TestForeignEntryIsKept(t *testing.T) {
	t.Parallel()
	c := mustClient(t, "claude-desktop")
	p := newPlatform(t, "darwin", nil)
	path := c.ConfigPath(p)
	orig := `{"mcpServers": {"agentphone": {"command": "npx", "args": ["-y", "agentphone-mcp-official"]}}}`
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, op := range []func(Request) (Result, error){Install, Uninstall} {
		_, err := op(request(t, c, p))
		if err == nil || !strings.Contains(err.Error(), `runs "npx"`) || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "--name") {
			t.Fatalf("err = %v", err)
		}
	}
	if string(readFile(t, path)) != orig {
		t.Fatal("the foreign entry was touched")
	}
	other := request(t, c, p)
	other.Name = "agentphone-local"
	if _, err := Install(other); err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, path)); !strings.Contains(got, `"agentphone-mcp-official"`) || !strings.Contains(got, `"agentphone-local"`) {
		t.Fatalf("--name: %s", got)
	}
	forced := request(t, c, p)
	forced.Force = true
	res, err := Install(forced)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, path)); strings.Contains(got, "agentphone-mcp-official") || !strings.Contains(got, testExe) {
		t.Fatalf("--force did not replace the entry: %s", got)
	}
	if !strings.Contains(string(readFile(t, res.Backup)), "agentphone-mcp-official") {
		t.Fatal("the backup lacks the replaced entry")
	}
}

// TestPlainTextKeyMovesToKeyFile: an old hand-written entry with the key in it is rewritten to
// name the key file; the key is in neither the new config nor the diff.
func TestPlainTextKeyMovesToKeyFile(t *testing.T) {
	t.Parallel()
	c := mustClient(t, "cursor")
	p := newPlatform(t, "linux", nil)
	path := c.ConfigPath(p)
	orig := fmt.Sprintf(`{
  "mcpServers": {
    "agentphone": {
      "command": "agentphone-mcp",
      "args": ["stdio"],
      "env": {
        "AGENTPHONE_API_KEY": %q,
        "AGENTPHONE_CONFIRM_MODE": "strict"
      }
    }
  }
}
`, testKey)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	st := Inspect(c, p, "")
	if st.Entry == nil || !st.Entry.PlainKey || !st.Entry.Ours {
		t.Fatalf("Inspect did not see the plain key: %+v", st.Entry)
	}
	dry := request(t, c, p)
	dry.EnvKey, dry.DryRun = "", true
	res, err := Install(dry)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.Diff, testKey) || !strings.Contains(res.Diff, "[REDACTED]") || !strings.Contains(res.Diff, `-        "AGENTPHONE_API_KEY"`) {
		t.Fatalf("dry-run diff leaks or hides the change:\n%s", res.Diff)
	}
	if string(readFile(t, path)) != orig {
		t.Fatal("dry run wrote the config")
	}
	if _, err := os.Stat(p.KeyFilePath()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("dry run wrote the key file")
	}
	real := dry
	real.DryRun = false
	res, err = Install(real)
	if err != nil {
		t.Fatal(err)
	}
	got := string(readFile(t, path))
	if strings.Contains(got, testKey) {
		t.Fatalf("the key is still in the config:\n%s", got)
	}
	if !strings.Contains(got, `"AGENTPHONE_CONFIRM_MODE": "strict"`) {
		t.Fatalf("a setting the person added was dropped:\n%s", got)
	}
	if strings.TrimSpace(string(readFile(t, p.KeyFilePath()))) != testKey || !strings.Contains(res.KeySource, "previous entry") {
		t.Fatalf("the key was not moved to the key file (source %q)", res.KeySource)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), res.Backup) {
		t.Fatalf("notes do not warn that the backup holds the key: %v", res.Notes)
	}
}

// TestKeySources: the prompt is used when nothing else has a key; without a prompt the error
// says how to give one; a key file readable by others is made private.
func TestKeySources(t *testing.T) {
	t.Parallel()
	c := mustClient(t, "windsurf")
	t.Run("prompt", func(t *testing.T) {
		t.Parallel()
		p := newPlatform(t, "linux", nil)
		r := request(t, c, p)
		r.EnvKey = ""
		asked := 0
		r.Prompt = func() (string, error) { asked++; return "  " + testKey + "\n", nil }
		res, err := Install(r)
		if err != nil || asked != 1 || res.KeySource != "typed in" {
			t.Fatalf("res %+v err %v asked %d", res, err, asked)
		}
		if strings.TrimSpace(string(readFile(t, p.KeyFilePath()))) != testKey {
			t.Fatal("typed key not stored")
		}
		// A new key in the environment replaces the stored one, and says so.
		r2 := r
		r2.EnvKey, r2.Prompt = testKey+"NEW", nil
		res2, err := Install(r2)
		if err != nil || !strings.Contains(strings.Join(res2.Notes, " "), "held a different key") || strings.TrimSpace(string(readFile(t, p.KeyFilePath()))) != testKey+"NEW" {
			t.Fatalf("replace: %+v %v", res2, err)
		}
		// The next install finds the key file and does not ask again.
		r.Prompt = func() (string, error) { t.Fatal("asked again"); return "", nil }
		if res, err := Install(r); err != nil || res.Changed || res.KeySource != "the existing key file" {
			t.Fatalf("reinstall: %+v %v", res, err)
		}
	})
	t.Run("no way to get a key", func(t *testing.T) {
		t.Parallel()
		p := newPlatform(t, "linux", nil)
		r := request(t, c, p)
		r.EnvKey = ""
		_, err := Install(r)
		if err == nil || !strings.Contains(err.Error(), "AGENTPHONE_API_KEY") || !strings.Contains(err.Error(), "--sandbox") {
			t.Fatalf("err = %v", err)
		}
		if _, err := os.Stat(c.ConfigPath(p)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("config written without a key")
		}
	})
	t.Run("bad key text", func(t *testing.T) {
		t.Parallel()
		p := newPlatform(t, "linux", nil)
		r := request(t, c, p)
		r.EnvKey = "two words"
		_, err := Install(r)
		if err == nil || strings.Contains(err.Error(), "two words") || !strings.Contains(err.Error(), "one token") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("world-readable key file", func(t *testing.T) {
		t.Parallel()
		if runtime.GOOS == "windows" {
			t.Skip("file modes are not permissions on Windows")
		}
		p := newPlatform(t, "linux", nil)
		kf := p.KeyFilePath()
		if err := os.MkdirAll(filepath.Dir(kf), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kf, []byte(testKey+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := request(t, c, p)
		r.EnvKey = ""
		res, err := Install(r)
		if err != nil {
			t.Fatal(err)
		}
		if mode(t, kf) != 0o600 || !res.KeyFileChanged || !strings.Contains(strings.Join(res.Notes, " "), "could be read by other users") {
			t.Fatalf("mode %04o, res %+v", mode(t, kf), res)
		}
	})
}

// TestSandboxEntry: --sandbox writes an entry without a key or key file; switching between
// sandbox and real entries keeps what the person added.
func TestSandboxEntry(t *testing.T) {
	t.Parallel()
	c := mustClient(t, "claude-code")
	p := newPlatform(t, "darwin", nil)
	r := request(t, c, p)
	r.EnvKey, r.Sandbox = "", true
	res, err := Install(r)
	if err != nil {
		t.Fatal(err)
	}
	got := readFile(t, res.Path)
	golden(t, "sandbox/claude-code.json", p.Home, got)
	if res.KeyFile != "" || strings.Contains(string(got), "AGENTPHONE_API_KEY") {
		t.Fatalf("sandbox entry mentions a key:\n%s", got)
	}
	if _, err := os.Stat(p.KeyFilePath()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("sandbox install wrote a key file")
	}
	if st := Inspect(c, p, ""); st.Entry == nil || !st.Entry.Sandbox {
		t.Fatalf("Inspect: %+v", st.Entry)
	}
	// Real install over the sandbox entry.
	r.Sandbox, r.EnvKey = false, testKey
	if _, err := Install(r); err != nil {
		t.Fatal(err)
	}
	// The person adds a setting; back to sandbox keeps it and drops only the key file.
	path := res.Path
	edited := strings.Replace(string(readFile(t, path)), `"AGENTPHONE_API_KEY_FILE"`, `"AGENTPHONE_READ_ONLY": "true",
        "AGENTPHONE_API_KEY_FILE"`, 1)
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Sandbox = true
	if _, err := Install(r); err != nil {
		t.Fatal(err)
	}
	got = readFile(t, path)
	if !strings.Contains(string(got), `"AGENTPHONE_READ_ONLY": "true"`) || strings.Contains(string(got), "AGENTPHONE_API_KEY_FILE") || !strings.Contains(string(got), `"--sandbox"`) {
		t.Fatalf("sandbox over real:\n%s", got)
	}
}

// TestLineEndingsBOMAndSymlink: a CRLF file with a BOM keeps both; a symlinked config stays a
// symlink and its target is updated.
func TestLineEndingsBOMAndSymlink(t *testing.T) {
	t.Parallel()
	c := mustClient(t, "claude-desktop")
	p := newPlatform(t, "windows", nil)
	path := c.ConfigPath(p)
	orig := "\xEF\xBB\xBF{\r\n  \"mcpServers\": {\r\n    \"x\": {\"command\": \"x\"}\r\n  }\r\n}\r\n"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(request(t, c, p)); err != nil {
		t.Fatal(err)
	}
	got := string(readFile(t, path))
	if !strings.HasPrefix(got, "\xEF\xBB\xBF{") || strings.Count(got, "\n") != strings.Count(got, "\r\n") {
		t.Fatalf("BOM or CRLF lost: %q", got)
	}
	if _, err := Uninstall(Request{Client: c, Platform: p}); err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, path)); got != orig {
		t.Fatalf("round trip: %q", got)
	}

	if runtime.GOOS == "windows" {
		return
	}
	c2 := mustClient(t, "cursor")
	p2 := newPlatform(t, "linux", nil)
	real := filepath.Join(p2.Home, "dotfiles", "cursor-mcp.json")
	if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte(`{"mcpServers": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := c2.ConfigPath(p2)
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(request(t, c2, p2)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced by a file")
	}
	if !strings.Contains(string(readFile(t, real)), testExe) {
		t.Fatal("the link's target was not updated")
	}
}

// TestEmptyFileAndEmptyObject: an empty file or {} gets a well-formed config.
func TestEmptyFileAndEmptyObject(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", "  \n", "{}", "{}\n", `{"mcpServers": {}}`} {
		c := mustClient(t, "cursor")
		p := newPlatform(t, "linux", nil)
		path := c.ConfigPath(p)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Install(request(t, c, p)); err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		got := readFile(t, path)
		var m struct {
			MCPServers map[string]struct {
				Command string            `json:"command"`
				Args    []string          `json:"args"`
				Env     map[string]string `json:"env"`
			} `json:"mcpServers"`
		}
		if err := json.Unmarshal(got, &m); err != nil {
			t.Fatalf("%q gave invalid JSON: %v\n%s", content, err, got)
		}
		e := m.MCPServers[DefaultName]
		if e.Command != testExe || len(e.Args) != 1 || e.Env[envKeyFile] != p.KeyFilePath() {
			t.Fatalf("%q gave %s", content, got)
		}
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"claude-desktop", "Claude-Code", "cursor", "code", "vscode", "windsurf"} {
		if _, err := Lookup(id); err != nil {
			t.Errorf("Lookup(%q): %v", id, err)
		}
	}
	if _, err := Lookup("emacs"); err == nil || !strings.Contains(err.Error(), "claude-desktop, claude-code, cursor, vscode, windsurf") {
		t.Errorf("Lookup(emacs) = %v", err)
	}
}

// TestWriteRefusesAFileChangedSinceRead: when the client rewrites its file between our read
// and our rename, the write is abandoned and the client's version stays.
func TestWriteRefusesAFileChangedSinceRead(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mcp.json")
	if err := os.WriteFile(path, []byte(`{"a": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := readConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"a": 2}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.write([]byte(`{"a": 1, "b": 3}`)); !errors.Is(err, errChanged) {
		t.Fatalf("write = %v, want errChanged", err)
	}
	if got := string(readFile(t, path)); got != `{"a": 2}` {
		t.Fatalf("the client's change was overwritten: %s", got)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".mcp.json.agentphone-*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func TestUnifiedDiff(t *testing.T) {
	t.Parallel()
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
	b := "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n11\n"
	want := "--- a\n+++ b\n@@ -3,8 +3,9 @@\n 3\n 4\n 5\n-6\n+six\n 7\n 8\n 9\n 10\n+11\n"
	if got := unifiedDiff("a", "b", []byte(a), []byte(b)); got != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", got, want)
	}
	if got := unifiedDiff("a", "b", []byte(a), []byte(a)); got != "" {
		t.Fatalf("equal inputs gave %q", got)
	}
	if got := unifiedDiff("a", "b", nil, []byte("x\n")); got != "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n" {
		t.Fatalf("new file: %q", got)
	}
}

// TestDryRunNeitherAsksNorLeaks: a dry run with no key anywhere does not prompt, and a short
// plain-text key in an old entry is redacted from the diff too.
func TestDryRunNeitherAsksNorLeaks(t *testing.T) {
	t.Parallel()
	c := mustClient(t, "claude-desktop")
	p := newPlatform(t, "linux", nil)
	path := c.ConfigPath(p)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	orig := `{"mcpServers": {"agentphone": {"command": "agentphone-mcp", "env": {"AGENTPHONE_API_KEY": "ak_short"}}}}`
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	r := request(t, c, p)
	r.EnvKey, r.DryRun = "", true
	r.Prompt = func() (string, error) { t.Fatal("a dry run asked for the key"); return "", nil }
	res, err := Install(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.Diff, "ak_short") || !strings.Contains(res.Diff, `"AGENTPHONE_API_KEY": "[REDACTED]"`) {
		t.Fatalf("diff:\n%s", res.Diff)
	}
	r2 := request(t, c, newPlatform(t, "linux", nil))
	r2.EnvKey, r2.DryRun = "", true
	r2.Prompt = r.Prompt
	if res, err := Install(r2); err != nil || !res.KeyFileChanged || res.Diff == "" {
		t.Fatalf("fresh dry run: %+v %v", res, err)
	}
}

// TestOddEntryShapeIsRefused: our entry with an "env" that is not an object is not guessed at;
// uninstall may still remove the whole entry.
func TestOddEntryShapeIsRefused(t *testing.T) {
	t.Parallel()
	c := mustClient(t, "cursor")
	p := newPlatform(t, "linux", nil)
	path := c.ConfigPath(p)
	orig := `{"mcpServers": {"agentphone": {"command": "agentphone-mcp", "env": ["X=1"]}}}`
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Install(request(t, c, p))
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), `"env" is not a JSON object`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v", err)
	}
	if string(readFile(t, path)) != orig {
		t.Fatal("file changed")
	}
	if res, err := Uninstall(Request{Client: c, Platform: p}); err != nil || !res.Changed {
		t.Fatalf("uninstall: %+v %v", res, err)
	}
}

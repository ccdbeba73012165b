package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// repoFile reads a file at the repository root.
func repoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCommittedServerJSONIsValid(t *testing.T) {
	t.Parallel()
	if problems := checkServerJSON(repoFile(t, "server.json"), false); len(problems) > 0 {
		t.Fatalf("server.json:\n%s", strings.Join(problems, "\n"))
	}
}

// TestCheckServerJSONCatchesMistakes: the checker is not a rubber stamp.
func TestCheckServerJSONCatchesMistakes(t *testing.T) {
	t.Parallel()
	good := repoFile(t, "server.json")
	cases := []struct{ name, from, to, want string }{
		{"description too long", `"description": "Give an AI agent`, `"description": "` + strings.Repeat("x", 120) + ` Give an AI agent`, "schema"},
		{"old schema", "2025-12-11", "2025-09-29", "want the current"},
		{"bad name", `"name": "io.github.agentphone-mcp/agentphone-mcp"`, `"name": "agentphone"`, "schema"},
		{"foreign namespace", `"name": "io.github.agentphone-mcp/agentphone-mcp"`, `"name": "io.github.someone-else/agentphone-mcp"`, "GitHub namespace"},
		{"range version", `"version": "0.1.0",
  "repository"`, `"version": "^0.1.0",
  "repository"`, "not one specific version"},
		{"image tag drift", "agentphone-mcp:0.1.0", "agentphone-mcp:0.0.9", "differs from the server version"},
		{"mcpb off GitHub", "https://github.com/agentphone-mcp/agentphone-mcp/releases/download/v0.1.0/agentphone-mcp_0.1.0_linux_amd64.mcpb", "https://example.com/agentphone-mcp.mcpb", "GitHub release asset"},
		{"secret flag missing type", `"type": "named"`, `"type": "flag"`, "neither named nor positional"},
	}
	for _, tc := range cases {
		if !bytes.Contains(good, []byte(tc.from)) {
			t.Fatalf("%s: server.json lacks %q", tc.name, tc.from)
		}
		bad := bytes.Replace(good, []byte(tc.from), []byte(tc.to), 1)
		problems := strings.Join(checkServerJSON(bad, false), "\n")
		if !strings.Contains(problems, tc.want) {
			t.Errorf("%s: problems %q do not mention %q", tc.name, problems, tc.want)
		}
	}
}

// TestServerJSONAndManifestAgree: one version everywhere, the image's registry name in the
// Dockerfile label, and every environment variable they name is one the server reads.
func TestServerJSONAndManifestAgree(t *testing.T) {
	t.Parallel()
	var s struct {
		Name     string `json:"name"`
		Version  string `json:"version"`
		Packages []struct {
			RegistryType string `json:"registryType"`
			Env          []struct {
				Name     string `json:"name"`
				IsSecret bool   `json:"isSecret"`
			} `json:"environmentVariables"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(repoFile(t, "server.json"), &s); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Version string `json:"version"`
		Server  struct {
			EntryPoint string `json:"entry_point"`
			MCPConfig  struct {
				Command string            `json:"command"`
				Args    []string          `json:"args"`
				Env     map[string]string `json:"env"`
			} `json:"mcp_config"`
		} `json:"server"`
		UserConfig map[string]struct {
			Type      string `json:"type"`
			Sensitive bool   `json:"sensitive"`
			Default   any    `json:"default"`
		} `json:"user_config"`
	}
	if err := json.Unmarshal(repoFile(t, "mcpb/manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	if m.Version != s.Version {
		t.Errorf("manifest.json version %q, server.json %q", m.Version, s.Version)
	}
	known := serverEnvNames()
	secret := map[string]bool{}
	for _, p := range s.Packages {
		for _, e := range p.Env {
			if !known[e.Name] {
				t.Errorf("server.json names %s, which the server does not read", e.Name)
			}
			secret[e.Name] = e.IsSecret
		}
	}
	if !secret[server.EnvAPIKey] {
		t.Errorf("server.json must mark %s secret", server.EnvAPIKey)
	}
	for name, val := range m.Server.MCPConfig.Env {
		if !known[name] {
			t.Errorf("manifest.json sets %s, which the server does not read", name)
		}
		ref := regexp.MustCompile(`^\$\{user_config\.([a-z_]+)\}$`).FindStringSubmatch(val)
		if ref == nil {
			t.Errorf("manifest env %s=%q is not a user_config reference", name, val)
			continue
		}
		uc, ok := m.UserConfig[ref[1]]
		if !ok {
			t.Errorf("manifest env %s refers to missing user_config %q", name, ref[1])
		}
		// Without a default an unset option would reach the server as the literal text.
		if uc.Default == nil {
			t.Errorf("user_config %q has no default", ref[1])
		}
	}
	if uc := m.UserConfig["api_key"]; !uc.Sensitive || m.Server.MCPConfig.Env[server.EnvAPIKey] != "${user_config.api_key}" {
		t.Errorf("the API key must be a sensitive user_config passed as %s", server.EnvAPIKey)
	}
	if m.Server.MCPConfig.Env["AGENTPHONE_SANDBOX"] == "" || m.UserConfig["sandbox"].Type != "boolean" {
		t.Error("the manifest lacks the sandbox switch")
	}
	if !reflect.DeepEqual(m.Server.MCPConfig.Args, []string{"stdio"}) || m.Server.MCPConfig.Command != "${__dirname}/"+m.Server.EntryPoint {
		t.Errorf("mcp_config %+v does not run the entry point over stdio", m.Server.MCPConfig)
	}
	label := dockerfileLabels(t)["io.modelcontextprotocol.server.name"]
	if label != s.Name {
		t.Errorf("Dockerfile label io.modelcontextprotocol.server.name = %q, server.json name %q", label, s.Name)
	}
}

// serverEnvNames are the variables server.Config reads, plus the secrets.
func serverEnvNames() map[string]bool {
	names := map[string]bool{server.EnvAPIKey: true, server.EnvWebhookSecret: true, server.EnvHTTPToken: true}
	t := reflect.TypeFor[server.Config]()
	for i := range t.NumField() {
		if n := t.Field(i).Tag.Get("env"); n != "" {
			names[n] = true
		}
	}
	return names
}

// dockerInstruction is one Dockerfile instruction with continuation lines joined.
type dockerInstruction struct{ cmd, args string }

func parseDockerfile(t *testing.T) []dockerInstruction {
	t.Helper()
	var out []dockerInstruction
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(repoFile(t, "Dockerfile")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

func dockerfileLabels(t *testing.T) map[string]string {
	t.Helper()
	labels := map[string]string{}
	re := regexp.MustCompile(`([A-Za-z0-9._-]+)="([^"]*)"`)
	for _, in := range parseDockerfile(t) {
		if in.cmd == "LABEL" {
			for _, m := range re.FindAllStringSubmatch(in.args, -1) {
				labels[m[1]] = m[2]
			}
		}
	}
	return labels
}

// TestDockerfile checks what no engine runs here: a static (CGO-free, -trimpath) build, a
// distroless or scratch final stage, a non-root numeric user, the HTTP transport on all
// interfaces of the container with the remote switch (which makes the server demand a bearer
// token), the state directory as a volume, an exec-form entry point, and the Go version of
// go.mod.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t)
	var stages []string
	env := map[string]string{}
	var user, entry, build string
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			stages = append(stages, in.args)
			env = map[string]string{}
			user = ""
		case "ENV":
			for _, m := range regexp.MustCompile(`([A-Z_]+)=(\S+)`).FindAllStringSubmatch(in.args, -1) {
				env[m[1]] = m[2]
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "RUN":
			if strings.Contains(in.args, "go build") {
				build = in.args
			}
		}
	}
	if len(stages) < 2 {
		t.Fatalf("want a build stage and a runtime stage, got %v", stages)
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage %q is neither distroless/static nor scratch", final)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "-X main.commit=", "-X main.date=", "./cmd/agentphone-mcp"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build step lacks %q: %s", want, build)
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" || strings.Trim(uid, "0123456789") != "" {
		t.Errorf("USER %q is not a numeric non-root user", user)
	}
	if env["AGENTPHONE_TRANSPORT"] != "http" || !strings.HasPrefix(env["AGENTPHONE_HTTP_LISTEN"], "0.0.0.0:") || env["AGENTPHONE_HTTP_ALLOW_REMOTE"] != "true" || env["AGENTPHONE_STATE_DIR"] == "" {
		t.Errorf("runtime environment %v does not serve HTTP with a state dir", env)
	}
	for name := range env {
		if !serverEnvNames()[name] {
			t.Errorf("the Dockerfile sets %s, which the server does not read", name)
		}
		if name == server.EnvAPIKey || name == server.EnvHTTPToken || name == server.EnvWebhookSecret {
			t.Errorf("the Dockerfile bakes the secret %s into the image", name)
		}
	}
	var entryArgs []string
	if err := json.Unmarshal([]byte(entry), &entryArgs); err != nil || len(entryArgs) == 0 {
		t.Errorf("ENTRYPOINT %q is not exec form", entry)
	}
	goMod := string(repoFile(t, "go.mod"))
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(goMod)
	if goVer == nil || !strings.Contains(stages[0], "golang:"+goVer[1]) {
		t.Errorf("build stage %q does not use go.mod's Go %v", stages[0], goVer)
	}
	vol := false
	for _, in := range ins {
		if in.cmd == "VOLUME" && strings.Contains(in.args, env["AGENTPHONE_STATE_DIR"]) {
			vol = true
		}
	}
	if !vol {
		t.Error("the state directory is not a VOLUME")
	}
	if labels := dockerfileLabels(t); labels["io.modelcontextprotocol.server.name"] == "" {
		t.Error("no io.modelcontextprotocol.server.name label")
	}
}

// TestStaticBuild builds the binary as the Dockerfile does (CGO_ENABLED=0, -trimpath) and
// checks that the ELF file has no interpreter and no shared libraries: it runs on scratch.
func TestStaticBuild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the ELF check needs a Linux host")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	out := filepath.Join(t.TempDir(), "agentphone-mcp")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=9.9.9", "-o", out, "./cmd/agentphone-mcp")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("the binary is dynamically linked (%v)", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the binary needs %v", libs)
	}
	v, err := exec.Command(out, "version").Output()
	if err != nil || !strings.HasPrefix(string(v), "agentphone-mcp 9.9.9 (") {
		t.Fatalf("version of the stamped build: %q %v", v, err)
	}
}

// TestBundleManifest: each platform's manifest names its own binary and only its platform.
func TestBundleManifest(t *testing.T) {
	t.Parallel()
	in := repoFile(t, "mcpb/manifest.json")
	for goos, want := range map[string]struct{ platform, entry string }{
		"darwin": {"darwin", "server/agentphone-mcp"}, "linux": {"linux", "server/agentphone-mcp"}, "windows": {"win32", "server/agentphone-mcp.exe"},
	} {
		b, err := bundleManifest(in, "1.2.3", goos)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Version string `json:"version"`
			Server  struct {
				EntryPoint string         `json:"entry_point"`
				MCPConfig  map[string]any `json:"mcp_config"`
			} `json:"server"`
			Compatibility struct {
				Platforms []string `json:"platforms"`
			} `json:"compatibility"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Version != "1.2.3" || m.Server.EntryPoint != want.entry || m.Server.MCPConfig["command"] != "${__dirname}/"+want.entry ||
			!reflect.DeepEqual(m.Compatibility.Platforms, []string{want.platform}) || m.Server.MCPConfig["platform_overrides"] != nil {
			t.Errorf("%s: %s", goos, b)
		}
	}
	if _, err := bundleManifest(in, "1.x", "linux"); err == nil {
		t.Error("a range version was accepted")
	}
}

// TestStampServerJSON: the release's server.json names each built bundle with its real
// SHA-256 and passes the publish checks.
func TestStampServerJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var bundles []string
	for _, p := range []string{"linux_amd64", "darwin_arm64"} {
		path := filepath.Join(dir, "agentphone-mcp_1.2.3_"+p+".mcpb")
		if err := os.WriteFile(path, []byte("bundle "+p), 0o644); err != nil {
			t.Fatal(err)
		}
		bundles = append(bundles, path)
	}
	out, err := stampServerJSON(repoFile(t, "server.json"), "1.2.3", bundles)
	if err != nil {
		t.Fatal(err)
	}
	if problems := checkServerJSON(out, true); len(problems) > 0 {
		t.Fatalf("stamped server.json:\n%s\n%s", strings.Join(problems, "\n"), out)
	}
	for _, want := range []string{
		`"identifier": "ghcr.io/agentphone-mcp/agentphone-mcp:1.2.3"`,
		`"identifier": "https://github.com/agentphone-mcp/agentphone-mcp/releases/download/v1.2.3/agentphone-mcp_1.2.3_linux_amd64.mcpb"`,
		// sha256("bundle linux_amd64")
		`"fileSha256": "` + sha256hex("bundle linux_amd64") + `"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("stamped server.json lacks %s:\n%s", want, out)
		}
	}
	if _, err := stampServerJSON(repoFile(t, "server.json"), "1.2.3", []string{filepath.Join(dir, "other.mcpb")}); err == nil {
		t.Error("a wrongly named bundle was accepted")
	}
}

// TestArchives: tar.gz and zip hold the folder with its modes, the same input gives the same
// bytes.
func TestArchives(t *testing.T) {
	t.Parallel()
	src := filepath.Join(t.TempDir(), "agentphone-mcp_1.2.3_linux_amd64")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "agentphone-mcp"), []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "README.md"), []byte("readme"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, ext := range []string{".tar.gz", ".zip"} {
		a, b := filepath.Join(t.TempDir(), "a"+ext), filepath.Join(t.TempDir(), "b"+ext)
		if err := makeArchive(a, src, mtime); err != nil {
			t.Fatal(err)
		}
		if err := makeArchive(b, src, mtime); err != nil {
			t.Fatal(err)
		}
		ab, bb := readAll(t, a), readAll(t, b)
		if !bytes.Equal(ab, bb) {
			t.Errorf("%s: two runs differ", ext)
		}
		modes := archiveModes(t, ab, ext)
		if modes["agentphone-mcp_1.2.3_linux_amd64/agentphone-mcp"] != 0o755 || modes["agentphone-mcp_1.2.3_linux_amd64/README.md"] != 0o644 {
			t.Errorf("%s: entries %v", ext, modes)
		}
	}
}

func readAll(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func archiveModes(t *testing.T, b []byte, ext string) map[string]os.FileMode {
	t.Helper()
	modes := map[string]os.FileMode{}
	if ext == ".zip" {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			modes[f.Name] = f.Mode().Perm()
		}
		return modes
	}
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return modes
		}
		if err != nil {
			t.Fatal(err)
		}
		modes[h.Name] = os.FileMode(h.Mode).Perm()
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

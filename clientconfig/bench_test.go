package clientconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkInstallLargeClaudeJSON installs into (and uninstalls from) a ~/.claude.json of a
// few MB, the size the file reaches with a long project history: parse, edit, diff, backup and
// atomic write. Run: go test ./clientconfig -run '^$' -bench Large -benchmem
func BenchmarkInstallLargeClaudeJSON(b *testing.B) {
	c, _ := Lookup("claude-code")
	p := Platform{OS: "linux", Home: b.TempDir()}
	var sb strings.Builder
	sb.WriteString("{\n  \"numStartups\": 1,\n  \"projects\": {\n")
	for i := range 4000 {
		fmt.Fprintf(&sb, "    \"/home/me/src/project-%d\": {\n      \"allowedTools\": [],\n      \"history\": [%q, %q],\n      \"mcpServers\": {}\n    },\n", i, strings.Repeat("x", 300), strings.Repeat("y", 300))
	}
	sb.WriteString("    \"/last\": {}\n  },\n  \"mcpServers\": {}\n}\n")
	orig := []byte(sb.String())
	path := c.ConfigPath(p)
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		b.Fatal(err)
	}
	req := Request{Client: c, Platform: p, Executable: "/usr/local/bin/agentphone-mcp", EnvKey: "ak_live_bench_key_123456"}
	b.SetBytes(int64(len(orig)))
	b.ResetTimer()
	for range b.N {
		if _, err := Install(req); err != nil {
			b.Fatal(err)
		}
		if _, err := Uninstall(req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	backups, _ := filepath.Glob(path + ".agentphone-backup-*")
	for _, f := range backups {
		os.Remove(f)
	}
	b.ReportMetric(float64(len(orig))/(1<<20), "MiB/file")
}

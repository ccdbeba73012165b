package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/agentphone-mcp/agentphone-mcp", Version: "v0.3.1"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-30T12:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	devel := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}
	tests := []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"release build: stamped values win", "1.2.0", "feedface", "2026-12-01T10:00:00Z", vcs,
			Info{Version: "1.2.0", Commit: "feedface", Date: "2026-12-01T10:00:00Z", GoVersion: "go1.26.0"}},
		{"go install module@version", "dev", "", "", vcs,
			Info{Version: "v0.3.1", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-11-30T12:00:00Z", Modified: true, GoVersion: "go1.26.0"}},
		{"go build in a checkout without VCS data", "dev", "unknown", "unknown", devel,
			Info{Version: "dev", GoVersion: "go1.26.0"}},
		{"no build info at all", "", "", "", nil, Info{Version: "dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Resolve(tt.version, tt.commit, tt.date, tt.bi)
			if tt.want.GoVersion == "" {
				tt.want.GoVersion = got.GoVersion // the running toolchain's
			}
			tt.want.Platform = got.Platform
			if got != tt.want {
				t.Fatalf("Resolve = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	i := Info{Version: "1.2.0", Commit: "0123456789abcdef", Modified: true, Date: "2026-12-01T10:00:00Z", GoVersion: "go1.26.0", Platform: "linux/arm64"}
	want := "agentphone-mcp 1.2.0 (commit 0123456789ab+dirty, built 2026-12-01T10:00:00Z, go1.26.0, linux/arm64)"
	if got := i.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if got := (Info{Version: "dev", GoVersion: "go1.26.0", Platform: "linux/amd64"}).String(); !strings.HasPrefix(got, "agentphone-mcp dev (go1.26.0") {
		t.Fatalf("String() = %q", got)
	}
}

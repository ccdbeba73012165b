// Package buildinfo says which build of agentphone-mcp is running: the version, commit and
// date stamped by the release build (-ldflags -X), or, for a plain `go build` or
// `go install module@version`, what the Go toolchain recorded in the binary.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Info describes one build.
type Info struct {
	Version   string `json:"version"`    // "1.2.0", "v1.2.0" from go install, or "dev"
	Commit    string `json:"commit"`     // full VCS revision, or "" when unknown
	Date      string `json:"date"`       // RFC 3339 build or commit time, or "" when unknown
	Modified  bool   `json:"modified"`   // built from a work tree with uncommitted changes
	GoVersion string `json:"go_version"` // "go1.26.0"
	Platform  string `json:"platform"`   // "linux/amd64"
}

// Resolve combines the values stamped at link time with the toolchain's build information.
// A stamped value wins; an empty or "dev"/"unknown" one is filled from bi (which may be nil).
func Resolve(version, commit, date string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   strings.TrimSpace(version),
		Commit:    strings.TrimSpace(commit),
		Date:      strings.TrimSpace(date),
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if info.Commit == "unknown" {
		info.Commit = ""
	}
	if info.Date == "unknown" {
		info.Date = ""
	}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if (info.Version == "" || info.Version == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if info.Commit == "" {
			info.Commit = settings["vcs.revision"]
			info.Modified = settings["vcs.modified"] == "true"
		}
		if info.Date == "" {
			info.Date = settings["vcs.time"]
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	return info
}

// Read is Resolve with the running binary's build information.
func Read(version, commit, date string) Info {
	bi, _ := debug.ReadBuildInfo()
	return Resolve(version, commit, date, bi)
}

// String is the one-line form printed by `agentphone-mcp version`:
// "agentphone-mcp 1.2.0 (commit 0123abc, built 2026-12-01T10:00:00Z, go1.26.0, linux/amd64)".
func (i Info) String() string {
	var parts []string
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if i.Modified {
			c += "+dirty"
		}
		parts = append(parts, "commit "+c)
	}
	if i.Date != "" {
		parts = append(parts, "built "+i.Date)
	}
	parts = append(parts, i.GoVersion, i.Platform)
	return fmt.Sprintf("agentphone-mcp %s (%s)", i.Version, strings.Join(parts, ", "))
}

// Package clientconfig installs agentphone-mcp into the MCP clients' configuration files
// (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf) and reads them back for `doctor`.
//
// It edits a file the way a careful person would: it finds the client's documented config
// file for the operating system, changes only the `agentphone` entry (every other server,
// setting, comment and byte of formatting stays as it was), refuses a file it cannot parse or
// that the client itself could not read, keeps a backup, writes atomically, and does nothing
// when nothing would change. The API key never goes into a config file: it lives in a 0600
// key file under the user's config directory, and the entry names that file in
// AGENTPHONE_API_KEY_FILE.
package clientconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Platform is the part of the machine the config paths depend on. Tests build one for a
// temporary home directory in a Linux, macOS or Windows layout; Host describes this machine.
type Platform struct {
	// OS is "linux", "darwin" or "windows" (runtime.GOOS values; others are treated as linux).
	OS string
	// Home is the user's home directory (%USERPROFILE% on Windows).
	Home string
	// Env reads an environment variable (APPDATA, XDG_CONFIG_HOME, CLAUDE_CONFIG_DIR); nil reads none.
	Env func(string) string
}

// Host describes the running machine.
func Host() (Platform, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return Platform{}, fmt.Errorf("find your home directory: %w", err)
	}
	return Platform{OS: runtime.GOOS, Home: home, Env: os.Getenv}, nil
}

func (p Platform) getenv(name string) string {
	if p.Env == nil {
		return ""
	}
	return p.Env(name)
}

// absEnv returns the variable when it holds an absolute path (XDG says relative values are
// to be ignored), else "".
func (p Platform) absEnv(name string) string {
	v := p.getenv(name)
	if v == "" || !(filepath.IsAbs(v) || (p.OS == "windows" && len(v) > 2 && v[1] == ':')) {
		return ""
	}
	return v
}

// ConfigDir is the user's configuration directory: %APPDATA% on Windows,
// ~/Library/Application Support on macOS, $XDG_CONFIG_HOME or ~/.config elsewhere.
func (p Platform) ConfigDir() string {
	switch p.OS {
	case "windows":
		if d := p.absEnv("APPDATA"); d != "" {
			return d
		}
		return filepath.Join(p.Home, "AppData", "Roaming")
	case "darwin":
		return filepath.Join(p.Home, "Library", "Application Support")
	default:
		if d := p.absEnv("XDG_CONFIG_HOME"); d != "" {
			return d
		}
		return filepath.Join(p.Home, ".config")
	}
}

// KeyFilePath is where install keeps the API key: <config dir>/agentphone-mcp/api-key.
func (p Platform) KeyFilePath() string {
	return filepath.Join(p.ConfigDir(), "agentphone-mcp", "api-key")
}

func (p Platform) check() error {
	if p.Home == "" {
		return errors.New("no home directory is known; set HOME (USERPROFILE on Windows)")
	}
	return nil
}

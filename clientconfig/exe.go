package clientconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Executable returns the path an entry should run: this binary, named by the path in PATH
// that leads to it when there is one (so a package manager's symlink, which survives
// upgrades, is kept), else its own absolute path. A binary built by `go run` lives in a
// temporary directory that disappears; that is refused.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this program's path: %w", err)
	}
	exe, err = filepath.Abs(exe)
	if err != nil {
		return "", fmt.Errorf("find this program's path: %w", err)
	}
	if inTempBuild(exe) {
		return "", fmt.Errorf("this agentphone-mcp was built by `go run` into %s, which is deleted when it exits; install it first (go install ./cmd/agentphone-mcp, or a release binary) and run install from there", filepath.Dir(exe))
	}
	if p, err := lookPath("agentphone-mcp"); err == nil {
		if abs, err := filepath.Abs(p); err == nil && SameBinary(abs, exe) {
			return abs, nil
		}
	}
	return exe, nil
}

// inTempBuild reports whether exe looks like a `go run` or `go test` build.
func inTempBuild(exe string) bool {
	dir := filepath.ToSlash(filepath.Dir(exe))
	return strings.Contains(dir, "/go-build") && strings.HasPrefix(filepath.Clean(exe), filepath.Clean(os.TempDir()))
}

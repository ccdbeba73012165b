package clientconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
)

// KeyFileMode is the key file's permission: the user alone may read or write it.
const KeyFileMode fs.FileMode = 0o600

// ReadKeyFile loads a key file with the same checks the server applies (regular file, not
// readable by group or others, one token).
func ReadKeyFile(path string) (keyguard.Secret, error) {
	return keyguard.LoadKey("", path)
}

// checkKeyText returns the key as a Secret, or an error naming what is wrong (never the key).
func checkKeyText(key, source string) (keyguard.Secret, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return keyguard.Secret{}, fmt.Errorf("no API key from %s", source)
	}
	s, err := keyguard.LoadKey(key, "")
	if err != nil {
		return keyguard.Secret{}, fmt.Errorf("the API key from %s is not usable: it must be one token without spaces", source)
	}
	return s, nil
}

// writeKeyFile stores key in path with mode 0600 (directory 0700), atomically. It reports
// whether the file changed. An existing file with the same key only has its mode repaired.
func writeKeyFile(path string, key keyguard.Secret) (changed bool, err error) {
	if cur, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(cur)) == key.Reveal() {
		fi, err := os.Stat(path)
		if err != nil {
			return false, fmt.Errorf("key file %s: %w", path, err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != KeyFileMode {
			if err := os.Chmod(path, KeyFileMode); err != nil {
				return false, fmt.Errorf("key file %s: make it private (chmod 600): %w", path, err)
			}
			return true, nil
		}
		return false, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("key file %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create %s: %w", dir, err)
	}
	st := fileState{path: path, target: path, mode: KeyFileMode}
	if cur, err := os.ReadFile(path); err == nil {
		st.data, st.exists = cur, true
	}
	if err := st.write([]byte(key.Reveal() + "\n")); err != nil {
		return false, fmt.Errorf("key file: %w", err)
	}
	return true, nil
}

package audit

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/agentphone-mcp/agentphone-mcp/fsguard"
)

// The chain key: a 32-byte secret kept apart from the log. Every new line carries an
// HMAC-SHA256 under it (the "mac" member) instead of a bare SHA-256 ("hash"), so that
// nobody without the key can rewrite the log consistently, and the anchor (anchor.go)
// is keyed the same way.

// KeyFileName is the default key file, beside the log (the state directory).
const KeyFileName = "audit.key"

// KeySize is the length of a generated key in bytes.
const KeySize = 32

// Option configures how the log's key is found.
type Option func(*options)

type options struct {
	keyFile string // operator's key file; empty: <log dir>/audit.key, created on first Open
}

// WithKeyFile uses the operator's key file (AGENTPHONE_AUDIT_KEY_FILE) instead of
// <log dir>/audit.key. The file must exist, be a regular file owned by this user and not
// readable by others; it holds 64 hex digits (a 32-byte key) or at least 32 raw bytes.
// An empty path keeps the default.
func WithKeyFile(path string) Option {
	return func(o *options) { o.keyFile = path }
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// DefaultKeyFile is where the key of the log at logPath lives unless the operator names one.
func DefaultKeyFile(logPath string) string {
	return filepath.Join(filepath.Dir(logPath), KeyFileName)
}

// keyPath returns the key file in use and whether the operator named it.
func (o options) keyPath(logPath string) (string, bool) {
	if o.keyFile != "" {
		return o.keyFile, true
	}
	return DefaultKeyFile(logPath), false
}

// loadKey reads the key of the log at logPath. A missing default key file is created
// (32 random bytes, mode 0600) when create is true, and is otherwise (nil, path, false,
// nil): a log written before keys existed verifies without one. created reports that
// this call made the key.
func loadKey(o options, logPath string, create bool) (key []byte, path string, created bool, err error) {
	path, operator := o.keyPath(logPath)
	key, err = readKey(path)
	switch {
	case err == nil:
		return key, path, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, path, false, err
	case operator:
		return nil, path, false, fmt.Errorf("audit: the key file %s (AGENTPHONE_AUDIT_KEY_FILE) does not exist; create it with: head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > %s && chmod 600 %s", path, path, path)
	case !create:
		return nil, path, false, nil
	}
	key, created, err = createKey(path)
	return key, path, created, err
}

// readKey reads a key file without following a symbolic link, refusing one others can read.
func readKey(path string) ([]byte, error) {
	f, err := fsguard.OpenFile(path, os.O_RDONLY, 0, 0o077)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("audit: key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("audit: read the key file %s: %w", path, err)
	}
	return parseKey(path, b)
}

func parseKey(path string, b []byte) ([]byte, error) {
	if t := bytes.TrimSpace(b); len(t) >= 2*KeySize {
		if k, err := hex.DecodeString(string(t)); err == nil {
			return k, nil
		}
	}
	if len(b) < KeySize {
		return nil, fmt.Errorf("audit: the key file %s holds %d bytes; a key needs 64 hex digits or at least %d raw bytes", path, len(b), KeySize)
	}
	return b, nil
}

// createKey writes a new random key to path atomically: the whole file is written and
// synced under a temporary name, then linked into place, which fails if another process
// made the key first; then that key is read instead.
func createKey(path string) ([]byte, bool, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("audit: generate a key: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".audit.key-*")
	if err != nil {
		return nil, false, fmt.Errorf("audit: create the key file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("audit: write the key file %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			k, rerr := readKey(path) // another process won
			return k, false, rerr
		}
		return nil, false, fmt.Errorf("audit: install the key file %s: %w", path, err)
	}
	syncDir(dir)
	return key, true, nil
}

// syncDir makes a rename or link in dir durable (best effort: not every system can).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

//go:build unix

package fsguard

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := CheckDir(dir); err != nil {
		t.Fatalf("a private dir: %v", err)
	}
	for _, mode := range []os.FileMode{0o770, 0o707, 0o777} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		err := CheckDir(dir)
		if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "chmod go-w") {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	_ = os.Chmod(dir, 0o755) // readable by others is fine
	if err := CheckDir(dir); err != nil {
		t.Errorf("mode 0755: %v", err)
	}
	file := filepath.Join(dir, "f")
	_ = os.WriteFile(file, nil, 0o600)
	if err := CheckDir(file); !errors.Is(err, ErrUnsafe) {
		t.Errorf("a file as a dir: %v", err)
	}
}

// TestOwnedByAnotherUser needs root to give a file away (CI runs as root).
func TestOwnedByAnotherUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(other, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(other); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "owned by user 65534") {
		t.Errorf("a dir owned by nobody: %v", err)
	}
	f := filepath.Join(dir, "policy.json")
	_ = os.WriteFile(f, []byte("{}"), 0o600)
	_ = os.Chown(f, 65534, 65534)
	if _, err := OpenFile(f, os.O_RDONLY, 0, 0o022); !errors.Is(err, ErrUnsafe) {
		t.Errorf("a file owned by nobody: %v", err)
	}
	if err := CheckStateDir(dir, "policy.json"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("a state file owned by nobody: %v", err)
	}
}

func TestSymlinksRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.db")
	_ = os.WriteFile(target, nil, 0o600)
	link := filepath.Join(dir, "state.db")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := CheckStateDir(dir, "state.db", "state.lock"); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symlinked state file: %v", err)
	}
	if _, err := OpenFile(link, os.O_RDONLY, 0, 0o022); !errors.Is(err, ErrUnsafe) {
		t.Errorf("OpenFile through a symlink: %v", err)
	}
	if _, err := OpenFile(link, os.O_WRONLY|os.O_CREATE, 0o600, 0o022); err == nil {
		t.Error("OpenFile created through a symlink")
	}
	f, err := OpenFile(target, os.O_RDONLY, 0, 0o077)
	if err != nil {
		t.Fatalf("a private regular file: %v", err)
	}
	f.Close()
	_ = os.Chmod(target, 0o640)
	if _, err := OpenFile(target, os.O_RDONLY, 0, 0o077); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a group-readable key file: %v", err)
	}
}

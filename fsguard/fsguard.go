// Package fsguard checks the local files agentphone-mcp trusts before it uses them: the state
// directory (caps, opt-outs, tokens, the audit log) and the operator's files (the policy file,
// the key file). A directory another user can write to, or a file another user owns, could be
// swapped or symlinked to make the server trust someone else's state; such paths are refused
// with a message that says how to fix them.
//
// On systems without Unix ownership and modes (Windows), the ownership and mode checks pass.
package fsguard

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrUnsafe is wrapped by every refusal of this package.
var ErrUnsafe = errors.New("unsafe local file")

// CheckDir refuses a directory that is not a directory, is writable by group or others, or is
// owned by another user (root's are accepted when this process runs as root only).
func CheckDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafe, path)
	}
	if err := checkOwner(path, fi); err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); modesApply && perm&0o022 != 0 {
		return fmt.Errorf("%w: the directory %s is writable by group or others (mode %04o), so another user could replace the state in it; run: chmod go-w %s", ErrUnsafe, path, perm, path)
	}
	return nil
}

// CheckStateDir checks dir (CheckDir) and, of the files named that exist in it, that none is a
// symbolic link, or anything but a regular file owned by this user and not writable by group
// or others.
func CheckStateDir(dir string, files ...string) error {
	if err := CheckDir(dir); err != nil {
		return err
	}
	for _, name := range files {
		if err := CheckExistingFile(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// CheckExistingFile refuses path when it exists and is a symbolic link, not a regular file,
// owned by another user, or writable by group or others. A missing file is fine.
func CheckExistingFile(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	return checkFile(path, fi, 0o022)
}

// OpenFile opens path like os.OpenFile but never through a symbolic link in its last element
// (O_NOFOLLOW), and refuses an existing file that is not regular, is owned by another user, or
// has any of the bits of deny in its mode (0o022: writable by group or others; 0o077: any access
// by them). perm is the mode of a file it creates.
func OpenFile(path string, flag int, perm, deny os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|NoFollow, perm)
	if err != nil {
		if isSymlinkError(path, err) {
			return nil, fmt.Errorf("%w: %s is a symbolic link; point the setting at the file itself", ErrUnsafe, path)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkFile(path, fi, deny)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// checkFile refuses anything but a regular file owned by this user whose mode has none of deny.
func checkFile(path string, fi fs.FileInfo, deny os.FileMode) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link; point the setting at the file itself", ErrUnsafe, path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file", ErrUnsafe, path)
	}
	if err := checkOwner(path, fi); err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); modesApply && perm&deny != 0 {
		what, fix := "is writable by group or others", "chmod go-w"
		if deny&0o044 != 0 {
			what, fix = "can be read by group or others", "chmod 600"
		}
		return fmt.Errorf("%w: %s %s (mode %04o); run: %s %s", ErrUnsafe, path, what, perm, fix, path)
	}
	return nil
}

// isSymlinkError reports an O_NOFOLLOW refusal (ELOOP) on a symbolic link.
func isSymlinkError(path string, err error) bool {
	fi, lerr := os.Lstat(path)
	return lerr == nil && fi.Mode()&fs.ModeSymlink != 0 && err != nil
}

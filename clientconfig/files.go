package clientconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// maxConfigSize bounds a config file read (~/.claude.json grows with history; 32 MiB is ample).
const maxConfigSize = 32 << 20

// errChanged: the file changed between reading and writing it (the client wrote it too).
var errChanged = errors.New("the file changed while it was being edited")

// fileState is a config file as read: its bytes, mode, and where writes go.
type fileState struct {
	path   string // the path as configured
	target string // where the bytes live (a symlink is followed, so it stays a symlink)
	data   []byte
	exists bool
	mode   fs.FileMode
}

func readConfig(path string) (fileState, error) {
	st := fileState{path: path, target: path, mode: 0o600}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		t, err := filepath.EvalSymlinks(path)
		if err != nil {
			return st, fmt.Errorf("%s is a symbolic link to a file that cannot be reached (%w); fix the link, then run this again", path, err)
		}
		st.target = t
	}
	fi, err := os.Stat(st.target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("read %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return st, fmt.Errorf("%s is not a regular file", path)
	case fi.Size() > maxConfigSize:
		return st, fmt.Errorf("%s is larger than %d MiB; this does not look like a client config file", path, maxConfigSize>>20)
	}
	b, err := os.ReadFile(st.target)
	if err != nil {
		return st, fmt.Errorf("read %s: %w", path, err)
	}
	st.data, st.exists, st.mode = b, true, fi.Mode().Perm()
	return st, nil
}

// write replaces the file with data atomically (a temporary file in the same directory,
// synced, then renamed over it) after checking that nobody changed it since it was read.
// A new file, and its directory, are created private to the user.
func (st fileState) write(data []byte) error {
	dir := filepath.Dir(st.target)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(st.target)+".agentphone-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", st.path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after a successful rename this finds nothing
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", st.path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", st.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", st.path, err)
	}
	if err := os.Chmod(tmpName, st.mode); err != nil {
		return fmt.Errorf("write %s: %w", st.path, err)
	}
	now, err := os.ReadFile(st.target)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !st.exists:
	case err != nil:
		return fmt.Errorf("re-read %s: %w", st.path, err)
	case !st.exists || !bytes.Equal(now, st.data):
		return errChanged
	}
	if err := os.Rename(tmpName, st.target); err != nil {
		return fmt.Errorf("replace %s: %w", st.path, err)
	}
	syncDir(dir)
	return nil
}

// backup copies the current contents next to the file, as <name>.agentphone-backup-<time>,
// private to the user (a config file may hold other servers' secrets). It returns the path.
func (st fileState) backup(now time.Time) (string, error) {
	if !st.exists {
		return "", nil
	}
	name := st.target + ".agentphone-backup-" + now.UTC().Format("20060102T150405Z")
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			break
		}
		name = fmt.Sprintf("%s.agentphone-backup-%s-%d", st.target, now.UTC().Format("20060102T150405Z"), i)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("back up %s: %w", st.path, err)
	}
	if _, err := f.Write(st.data); err != nil {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("back up %s: %w", st.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("back up %s: %w", st.path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("back up %s: %w", st.path, err)
	}
	return name, nil
}

// syncDir makes a rename durable where the system allows it.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

//go:build unix

package fsguard

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// NoFollow is the open flag that refuses a symbolic link as the last path element.
const NoFollow = syscall.O_NOFOLLOW

const modesApply = true

// checkOwner refuses a file or directory owned by another user. Files owned by root are
// accepted only when this process runs as root.
func checkOwner(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return fmt.Errorf("%w: %s is owned by user %d, not by this user (%d); use a path of your own or chown it", ErrUnsafe, path, st.Uid, uid)
	}
	return nil
}

//go:build unix

package campaign

import (
	"os"
	"syscall"
)

// inode is fi's inode number: a campaign file saved again is a new inode.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

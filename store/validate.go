package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
)

// bbolt's on-disk meta page, as written by go.etcd.io/bbolt v1 (native byte order):
// a 16-byte page header, then magic u32, version u32, pageSize u32, flags u32,
// root bucket {root pgid u64, sequence u64}, freelist pgid u64, high-water pgid u64,
// txid u64, checksum u64 (FNV-64a of the 56 bytes before it).
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	boltPageHeader  = 16
	boltMetaLen     = 64
	boltMetaSummed  = 56
	boltNoFreelist  = ^uint64(0)
	minBoltPageSize = 512
	maxBoltPageSize = 1 << 16
	boltMetaPages   = 2 // meta pages at page 0 and page 1
)

// boltMeta is the part of a meta page the check needs.
type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64 // high-water mark: pages [0, pgid) are in use
	txid     uint64
}

// readMeta decodes and validates the meta page at the start of b.
func readMeta(b []byte) (boltMeta, error) {
	if len(b) < boltPageHeader+boltMetaLen {
		return boltMeta{}, errors.New("short page")
	}
	m := b[boltPageHeader : boltPageHeader+boltMetaLen]
	e := binary.NativeEndian
	if e.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, errors.New("not a bbolt meta page (bad magic)")
	}
	if v := e.Uint32(m[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("unknown bbolt version %d", v)
	}
	h := fnv.New64a()
	_, _ = h.Write(m[:boltMetaSummed])
	if h.Sum64() != e.Uint64(m[boltMetaSummed:]) {
		return boltMeta{}, errors.New("meta page checksum mismatch")
	}
	return boltMeta{
		pageSize: e.Uint32(m[8:]),
		root:     e.Uint64(m[16:]),
		freelist: e.Uint64(m[32:]),
		pgid:     e.Uint64(m[40:]),
		txid:     e.Uint64(m[48:]),
	}, nil
}

// checkFile validates path's meta pages before bbolt maps the file, so that a truncated
// or overwritten file is an error instead of a SIGBUS: the meta page bbolt would use must
// be valid, and every page below its high-water mark must lie inside the file. A missing
// file is fine when write is set (Open creates it).
func checkFile(path string, write bool) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && write {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	size := fi.Size()
	if size == 0 {
		if write {
			return nil // a new file bbolt is about to initialise
		}
		return damagedError(path, "the file is empty")
	}
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, 0)
	if n < boltPageHeader+boltMetaLen {
		return damagedError(path, fmt.Sprintf("the file is only %d bytes, too short for a state file (%v)", size, err))
	}
	m0, err0 := readMeta(buf[:n])
	pageSize := int64(os.Getpagesize())
	if err0 == nil {
		pageSize = int64(m0.pageSize)
	}
	if pageSize < minBoltPageSize || pageSize > maxBoltPageSize {
		return damagedError(path, fmt.Sprintf("implausible page size %d", pageSize))
	}
	var m1 boltMeta
	err1 := errors.New("the file ends before the second meta page")
	if size >= pageSize+boltPageHeader+boltMetaLen {
		b1 := make([]byte, boltPageHeader+boltMetaLen)
		if _, err := f.ReadAt(b1, pageSize); err != nil {
			err1 = err
		} else {
			m1, err1 = readMeta(b1)
		}
	}
	// bbolt uses the valid meta with the higher transaction ID.
	var m boltMeta
	switch {
	case err0 == nil && err1 == nil:
		m = m0
		if m1.txid > m0.txid {
			m = m1
		}
	case err0 == nil:
		m = m0
	case err1 == nil:
		m = m1
	default:
		return damagedError(path, fmt.Sprintf("both meta pages are unreadable (%v; %v)", err0, err1))
	}
	if int64(m.pageSize) != pageSize {
		return damagedError(path, fmt.Sprintf("the meta pages disagree on the page size (%d, %d)", pageSize, m.pageSize))
	}
	if m.pgid < boltMetaPages || m.pgid > uint64(size/pageSize) {
		return damagedError(path, fmt.Sprintf("the file is %d bytes but its meta page says %d pages of %d bytes are in use (it was truncated)", size, m.pgid, pageSize))
	}
	if m.root >= m.pgid || (m.freelist >= m.pgid && m.freelist != boltNoFreelist) {
		return damagedError(path, "the meta page points beyond the pages in use")
	}
	return nil
}

// damagedError explains a damaged state file and the way forward.
func damagedError(path, why string) error {
	return fmt.Errorf("%w: %s: %s. Stop every agentphone-mcp using this state dir and run `agentphone-mcp state rebuild`: it moves the damaged file aside and rebuilds the state from the audit log", ErrDamaged, path, why)
}

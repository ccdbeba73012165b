package audit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
)

// maxLineLen bounds one audit line when verifying.
const maxLineLen = 4 << 20

// VerifyError names the first line (1-based) where the chain breaks.
type VerifyError struct {
	Path   string
	Line   int
	Reason string
}

// Error implements error.
func (e *VerifyError) Error() string {
	return fmt.Sprintf("audit log %s: line %d: %s", e.Path, e.Line, e.Reason)
}

// Verify recomputes every line's hash and the chain (seq 1, 2, … and each
// prev_hash equal to the previous line's hash). It returns the number of good
// lines; on a break the error is a *VerifyError naming the first bad line.
// Editing, deleting, inserting or reordering lines all break the chain.
func Verify(path string) (lines int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("audit: verify: open %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLineLen)
	prev := GenesisHash
	var seq uint64
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) == 0 {
			return n - 1, &VerifyError{Path: path, Line: n, Reason: "empty line"}
		}
		e, hash, err := parseLine(line)
		if err != nil {
			return n - 1, &VerifyError{Path: path, Line: n, Reason: err.Error()}
		}
		if e.Seq != seq+1 {
			return n - 1, &VerifyError{Path: path, Line: n, Reason: fmt.Sprintf("seq is %d, want %d (a line was deleted, inserted or moved)", e.Seq, seq+1)}
		}
		if e.PrevHash != prev {
			return n - 1, &VerifyError{Path: path, Line: n, Reason: "prev_hash does not match the previous line's hash (the chain is broken here)"}
		}
		seq, prev = e.Seq, hash
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return n, &VerifyError{Path: path, Line: n + 1, Reason: fmt.Sprintf("line longer than %d bytes", maxLineLen)}
		}
		return n, fmt.Errorf("audit: verify: read %s: %w", path, err)
	}
	return n, nil
}

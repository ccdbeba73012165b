package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/store/filelock"
)

// VerifyError names the first line (1-based) where the chain breaks.
type VerifyError struct {
	Path   string
	Line   int
	Reason string
}

// Error implements error.
func (e *VerifyError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("audit log %s: %s", e.Path, e.Reason)
	}
	return fmt.Sprintf("audit log %s: line %d: %s", e.Path, e.Line, e.Reason)
}

// Verify recomputes every line's mac (or legacy hash) and the chain (seq 1, 2, … and
// each prev_hash equal to the previous line's), and checks the log against its anchor.
// It returns the number of good lines; on a break the error is a *VerifyError naming
// the first bad line. Editing, deleting, inserting or reordering lines, rewriting them
// without the key, cutting the tail off, emptying or swapping the file all fail, and a
// torn last line (a write cut short) is named too. It never creates the key.
func Verify(path string, opts ...Option) (lines int, err error) {
	res, err := check(path, opts, nil)
	if err != nil {
		return res.good, err
	}
	if res.torn != nil {
		return res.good, tornError(path, res.torn)
	}
	return res.good, nil
}

// check scans the log with its key (if there is one) and checks the result against the
// anchor.
func check(path string, opts []Option, fn func(Entry) error) (scanned, error) {
	var raw func(Entry, string, []byte) error
	if fn != nil {
		raw = func(e Entry, _ string, _ []byte) error { return fn(e) }
	}
	return checkRaw(path, opts, raw)
}

// checkRaw is check whose fn also gets each line's mac (or hash) and bytes.
func checkRaw(path string, opts []Option, fn func(e Entry, sum string, line []byte) error) (scanned, error) {
	o := buildOptions(opts)
	key, _, _, err := loadKey(o, path, false)
	if err != nil {
		return scanned{}, err
	}
	an, err := readAnchor(path, key)
	if err != nil {
		return scanned{}, err
	}
	found, foundSum, foundEnd := false, "", int64(0)
	res, err := scan(path, key, func(e Entry, sum string, end int64, line []byte) error {
		if an != nil && e.Seq == an.Seq {
			found, foundSum, foundEnd = true, sum, end
		}
		if fn != nil {
			return fn(e, sum, line)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	switch {
	case an == nil:
		_, operator := o.keyPath(path)
		if res.good > res.legacy || (key != nil && !operator && res.size > 0) {
			return res, missingAnchorError(path)
		}
	case res.seq < an.Seq || res.size < an.Size:
		return res, truncatedError(path, an, res.seq, res.size)
	case an.Seq == 0:
		if an.Size != 0 {
			return res, differsError(path, an)
		}
	case !found || foundSum != an.Hash || foundEnd != an.Size:
		return res, differsError(path, an)
	}
	return res, nil
}

func tornError(path string, t *Torn) error {
	return &VerifyError{Path: path, Line: t.Line, Reason: fmt.Sprintf("incomplete last line (%d bytes without a newline: a write cut short, e.g. by a full disk); `agentphone-mcp audit repair` moves it aside", t.Bytes)}
}

// Report is what Inspect found.
type Report struct {
	// Lines is the number of good lines.
	Lines int
	// Open are the ledger intents that have no outcome line: actions in flight, or whose
	// process died before settling (the next start records them as unknown).
	Open []Entry
	// Legacy is how many of the good lines, at the start, were written before the chain
	// was keyed (a bare SHA-256 each): they prove order, not authorship.
	Legacy int
	// Torn is a torn last line, or nil.
	Torn *Torn
}

// Inspect verifies the chain like Verify and also lists the intents without an outcome.
// A torn last line is reported in Report.Torn, not as an error; a broken chain is a
// *VerifyError (the Report then covers the lines before the break).
func Inspect(path string, opts ...Option) (Report, error) {
	var r Report
	open := map[string]int{} // ledger ID -> index in r.Open
	res, err := check(path, opts, func(e Entry) error {
		switch e.Phase {
		case PhaseIntent:
			open[e.Ledger] = len(r.Open)
			r.Open = append(r.Open, e)
		case PhaseOutcome:
			if i, ok := open[e.Ledger]; ok {
				r.Open[i].Ledger = "" // closed
				delete(open, e.Ledger)
			}
		}
		return nil
	})
	kept := r.Open[:0]
	for _, e := range r.Open {
		if e.Ledger != "" {
			kept = append(kept, e)
		}
	}
	r.Open, r.Lines, r.Legacy, r.Torn = kept, res.good, res.legacy, res.torn
	return r, err
}

// Scan calls fn for every good line of the log at path, in order, after checking the
// chain up to it. It fails on a broken chain (*VerifyError) and on a torn last line.
func Scan(path string, fn func(Entry) error, opts ...Option) (lines int, err error) {
	res, err := check(path, opts, fn)
	if err != nil {
		return res.good, err
	}
	if res.torn != nil {
		return res.good, tornError(path, res.torn)
	}
	return res.good, nil
}

// Repaired says what Repair did.
type Repaired struct {
	Torn  Torn   // the torn line that was moved
	Moved string // the file it was moved to
}

// FindTorn reports the log's torn last line, if any, after checking that every line
// before it is good (a *VerifyError otherwise: that is not a torn write, and Repair
// leaves it alone).
func FindTorn(path string, opts ...Option) (*Torn, error) {
	res, err := check(path, opts, nil)
	return res.torn, err
}

// Repair moves a torn last line aside: the bytes go to <path>.torn-<UTC time> (mode 0600,
// fsynced) and the log is cut back to its last complete line, under the log's lock so no
// process appends meanwhile. It refuses when the chain is broken before the tail, and
// does nothing (nil) when there is no torn line.
func Repair(path string, now time.Time, opts ...Option) (*Repaired, error) {
	lock, err := filelock.OpenLocker(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer lock.Close()
	if err := lock.Lock(context.Background(), true, LockTimeout); err != nil {
		return nil, fmt.Errorf("audit: repair %s: %w", path, err)
	}
	defer func() { _ = lock.Unlock() }()
	torn, err := FindTorn(path, opts...)
	if err != nil {
		var ve *VerifyError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("audit: repair refused: %w (that is not a torn write; keep the file for inspection and move it aside to start a new chain)", err)
		}
		return nil, err
	}
	if torn == nil {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("audit: repair: %w", err)
	}
	defer f.Close()
	tail := make([]byte, torn.Bytes)
	if _, err := f.ReadAt(tail, torn.Offset); err != nil {
		return nil, fmt.Errorf("audit: repair: read the torn line: %w", err)
	}
	moved := fmt.Sprintf("%s.torn-%s", path, now.UTC().Format("20060102T150405Z"))
	if err := writeSynced(moved, tail); err != nil {
		return nil, fmt.Errorf("audit: repair: save the torn line to %s: %w", moved, err)
	}
	if err := f.Truncate(torn.Offset); err != nil {
		return nil, fmt.Errorf("audit: repair: cut %s back to line %d: %w (the torn line is saved in %s)", path, torn.Line-1, err, moved)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("audit: repair: fsync %s: %w", path, err)
	}
	return &Repaired{Torn: *torn, Moved: moved}, nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// HasHistory reports whether the log at path holds at least one line (or any bytes at
// all): the state it indexes has existed. A missing log has no history.
func HasHistory(path string) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("audit: stat %s: %w", path, err)
	}
	return fi.Size() > 0, nil
}

// Package audit writes the append-only, hash-chained audit log: one JSON line
// per write-tool decision, and for every outbound action that ran, a ledger
// intent line (written before the API call) and an outcome line (after). Each
// line carries seq, prev_hash (the previous line's hash; 64 zeros for the
// first line) and hash, the SHA-256 (hex) of the line's exact bytes with the
// trailing `,"hash":"…"` member removed. Verify recomputes the chain and names
// the first broken line; Inspect also lists intents without an outcome and a
// torn last line, which Repair moves aside.
//
// The log is the journal of the policy state: intent and outcome lines carry
// everything a rebuild of the state needs (ledger ID, recipients, events and
// their weights, known marks, token nonce), and opt-out changes are lines too.
//
// The chain (encodeLine, parseLine, scan) lives in chain.go and nowhere else.
//
// Several processes may append to one log (Claude Desktop and Claude Code
// sessions sharing a state directory): each Append takes an exclusive lock on
// <path>.lock, re-reads the last line if another process appended since, and
// writes the next line, so the chain never forks.
//
// The file is created with mode 0600. Never put an API key in an Entry; the
// body text is recorded only when the caller sets Entry.Body (the engine does
// so only when Config.AuditBodies is true).
package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/fsguard"
	"github.com/agentphone-mcp/agentphone-mcp/store/filelock"
)

// DefaultFileName is the conventional log file name inside the state directory.
const DefaultFileName = "audit.jsonl"

// GenesisHash is the prev_hash of the first line.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one audit line, minus its hash. TS, Seq and PrevHash are set by
// Log.Append; the caller fills the rest.
type Entry struct {
	TS            time.Time `json:"ts"`
	Seq           uint64    `json:"seq"`
	PrevHash      string    `json:"prev_hash"`
	Tool          string    `json:"tool"`
	Decision      string    `json:"decision"` // allow | confirm | deny | opt_out ...
	Rules         []string  `json:"rules"`
	Target        string    `json:"target,omitempty"` // normalised E.164
	BodySHA256    string    `json:"body_sha256,omitempty"`
	BodyLen       int       `json:"body_len,omitempty"`
	Segments      int       `json:"segments,omitempty"`
	ConfirmMethod string    `json:"confirm_method,omitempty"` // none | elicitation | token | otp | off
	APIID         string    `json:"api_id,omitempty"`
	APIStatus     string    `json:"api_status,omitempty"`
	Error         string    `json:"error,omitempty"`
	Principal     string    `json:"principal,omitempty"`
	// Details are the action's preview extras (agent, number, contact ids...),
	// the only record of what an "other" write touched.
	Details map[string]string `json:"details,omitempty"`
	Body    string            `json:"body,omitempty"` // only with Config.AuditBodies

	// Ledger lines: Phase is PhaseIntent (the reservation, before the API call) or
	// PhaseOutcome (the settlement); Ledger is the ledger entry ID.
	Phase string `json:"phase,omitempty"`
	// Campaign is the campaign the action belongs to (its approval, each of its sends).
	Campaign     string    `json:"campaign,omitempty"`
	Ledger       string    `json:"ledger,omitempty"`
	Kind         string    `json:"kind,omitempty"`
	CreatedAt    time.Time `json:"created_at,omitzero"` // the reservation's time
	Recipients   []string  `json:"recipients,omitempty"`
	Events       []Event   `json:"events,omitempty"`        // what the reservation counts
	MarkKnown    []string  `json:"mark_known,omitempty"`    // recipients known once sent
	ToolContacts []string  `json:"tool_contacts,omitempty"` // numbers marked as tool-written contacts
	TokenNonce   string    `json:"token_nonce,omitempty"`   // the confirmation token it used
	TokenExp     time.Time `json:"token_exp,omitzero"`
	Outcome      string    `json:"outcome,omitempty"` // sent | failed | unknown
	Note         string    `json:"note,omitempty"`    // why it settled so

	// Opt-out lines (Decision DecisionOptOut or DecisionOptOutRemoved).
	Channel string `json:"channel,omitempty"` // all | sms | call
	Source  string `json:"source,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Event is one weighted sliding-window event a reservation counts.
type Event struct {
	Key    string    `json:"key"`
	At     time.Time `json:"at"`
	Weight int       `json:"weight"`
}

// Phases of ledger lines.
const (
	PhaseIntent  = "intent"
	PhaseOutcome = "outcome"
)

// Decisions of state lines that are not tool decisions.
const (
	DecisionOptOut        = "opt_out"
	DecisionOptOutRemoved = "opt_out_removed"
)

// LockTimeout bounds how long Append and Open wait for another process's append.
const LockTimeout = 10 * time.Second

// Log is an open audit log. It is safe for concurrent use by goroutines and
// by processes: each line is written with a single write(2) on an O_APPEND
// descriptor under a mutex and an exclusive file lock, and fsynced before
// Append returns. A write that fails part-way (a full disk) is cut off again,
// so the log never keeps a torn line it could chain onto.
type Log struct {
	clock clockwork.Clock
	path  string
	opts  options
	key   []byte // the chain key; never written to the log

	qmu     sync.Mutex   // guards queue and leading (group commit)
	queue   []*appendReq // Appends waiting for the next commit
	leading bool         // an Append is committing; the others wait in queue

	mu       sync.Mutex
	f        *os.File
	lock     *filelock.Locker // <path>.lock
	size     int64            // file size after our last read or write; another size means another writer
	seq      uint64
	prevHash string
}

// Open opens (creating with mode 0600) the log at path and resumes the chain
// from its last line. It loads the chain key (creating <dir>/audit.key on first use
// unless WithKeyFile names the operator's) and checks the log against its anchor: a log
// shorter than its anchor or different from it is refused, as is a keyed log whose
// anchor is missing. A damaged or torn last line is an error that says how to go on
// (`agentphone-mcp audit verify`, then `audit repair` for a torn line).
func Open(path string, clk clockwork.Clock, opts ...Option) (*Log, error) {
	if path == "" {
		return nil, errors.New("audit: log path is empty")
	}
	if clk == nil {
		clk = clockwork.NewRealClock()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: create directory for %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|fsguard.NoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("audit: chmod %s to 0600: %w", path, err)
	}
	lock, err := filelock.OpenLocker(path + ".lock")
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("audit: %w", err)
	}
	l := &Log{clock: clk, path: path, opts: buildOptions(opts), f: f, lock: lock, size: -1, prevHash: GenesisHash}
	if err := l.withLock(true, l.start); err != nil {
		_ = f.Close()
		_ = lock.Close()
		return nil, err
	}
	return l, nil
}

// start loads (or creates) the key, resumes the chain and checks it against the anchor,
// writing the first anchor of a log that has none yet (a new log, or one from before
// keys). It runs under the exclusive file lock.
func (l *Log) start() error {
	key, _, created, err := loadKey(l.opts, l.path, true)
	if err != nil {
		return err
	}
	l.key = key
	an, err := readAnchor(l.path, key)
	if err != nil {
		return anchorAdvice(err)
	}
	keyed, err := l.resumeWith(an, true)
	if err != nil {
		return err
	}
	if an != nil {
		return nil
	}
	// No anchor: fine for an empty log, a log from before keys with a key made now or
	// given by the operator; not for keyed lines, nor for a log whose own key already
	// existed (the anchor was deleted).
	_, operator := l.opts.keyPath(l.path)
	if l.size > 0 && (keyed || (!created && !operator)) {
		return anchorAdvice(missingAnchorError(l.path))
	}
	return writeAnchor(l.path, key, l.seq, l.prevHash, l.size)
}

func anchorAdvice(err error) error {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return fmt.Errorf("audit: %w (run `agentphone-mcp audit verify` for details)", err)
	}
	return err
}

// withLock runs fn holding the log's file lock (exclusive for writers).
func (l *Log) withLock(exclusive bool, fn func() error) (err error) {
	if err := l.lock.Lock(context.Background(), exclusive, LockTimeout); err != nil {
		return fmt.Errorf("audit: %s: %w (another process is stuck appending; retry, or stop it)", l.path, err)
	}
	defer func() {
		if uerr := l.lock.Unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("audit: %w", uerr)
		}
	}()
	return fn()
}

// resume re-reads the chain head (seq and hash of the last line) when the file changed
// size since this Log last read or wrote it (another process appended, or someone cut
// it), and checks it against the anchor. It must run under the file lock.
func (l *Log) resume() error {
	fi, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("audit: stat %s: %w", l.path, err)
	}
	if fi.Size() == l.size {
		return nil
	}
	an, err := readAnchor(l.path, l.key)
	if err != nil {
		return anchorAdvice(err)
	}
	if an == nil {
		return anchorAdvice(missingAnchorError(l.path))
	}
	_, err = l.resumeWith(an, false)
	return err
}

// resumeWith reads the head and checks it against an (nil: no anchor yet). keyed
// reports whether the last line is keyed.
func (l *Log) resumeWith(an *anchor, starting bool) (keyed bool, err error) {
	fi, err := l.f.Stat()
	if err != nil {
		return false, fmt.Errorf("audit: stat %s: %w", l.path, err)
	}
	size := fi.Size()
	last, torn, err := readTail(l.path, -1)
	if err != nil {
		return false, fmt.Errorf("audit: read %s: %w", l.path, err)
	}
	if torn > 0 {
		return false, fmt.Errorf("audit: %s ends with a torn line (%d bytes without a newline: a write cut short, e.g. by a full disk); nothing more is written after it. Run `agentphone-mcp audit verify` to see it and `agentphone-mcp audit repair` to move it aside", l.path, torn)
	}
	seq, prev := uint64(0), GenesisHash
	if len(last) > 0 {
		e, sum, k, err := parseLine(last, l.key)
		if err != nil {
			return false, fmt.Errorf("audit: %s: last line is damaged (%v); run `agentphone-mcp audit verify %s` to see where, then `agentphone-mcp audit repair` to move the torn tail aside", l.path, err, l.path)
		}
		seq, prev, keyed = e.Seq, sum, k
	}
	if an != nil {
		anchoredKeyed, err := l.checkAnchor(an, size, seq, prev)
		if err != nil {
			return keyed, anchorAdvice(err)
		}
		if anchoredKeyed && !keyed {
			return keyed, fmt.Errorf("audit: %s: line %d was written without the audit key after keyed lines: an agentphone-mcp older than the keyed audit chain is still appending to this state dir (upgrade every agentphone-mcp that shares it), or the line was forged; nothing more is appended. Run `agentphone-mcp audit verify` to see it", l.path, seq)
		}
	}
	l.seq, l.prevHash, l.size = seq, prev, size
	return keyed, nil
}

// checkAnchor checks that the log (size bytes, head seq/sum) still holds the line the
// anchor recorded, ending where the anchor says; keyed reports whether that line is keyed.
func (l *Log) checkAnchor(an *anchor, size int64, seq uint64, sum string) (keyed bool, err error) {
	if size < an.Size || seq < an.Seq {
		return false, truncatedError(l.path, an, seq, size)
	}
	if an.Size == 0 {
		if an.Seq != 0 {
			return false, differsError(l.path, an)
		}
		return false, nil
	}
	line, torn, err := readTail(l.path, an.Size)
	if err != nil {
		return false, fmt.Errorf("audit: read %s: %w", l.path, err)
	}
	if torn != 0 || line == nil {
		return false, differsError(l.path, an)
	}
	e, s, k, err := parseLine(line, l.key)
	if err != nil || e.Seq != an.Seq || s != an.Hash {
		return false, differsError(l.path, an)
	}
	if an.Size == size && (seq != an.Seq || sum != an.Hash) {
		return false, differsError(l.path, an)
	}
	return k, nil
}

// Path returns the log file path.
func (l *Log) Path() string { return l.path }

// Append writes e as the next line and returns it with TS, Seq and PrevHash
// filled in, plus the line's hash, once the line is fsynced and anchored. When the write
// fails part-way the partial line is cut off again (the error says so if that fails too).
//
// Appends that arrive while another is being written are committed together (group
// commit): the next one waiting writes every queued line in one write, one fsync and one
// anchor update, so N concurrent sends cost one fsync round, not N, and each Append still
// returns only after its own line is durable.
func (l *Log) Append(e Entry) (_ Entry, hash string, _ error) {
	r := &appendReq{e: e, wake: make(chan struct{})}
	l.qmu.Lock()
	l.queue = append(l.queue, r)
	if l.leading {
		l.qmu.Unlock()
		<-r.wake
		if !r.lead {
			return r.out, r.hash, r.err
		}
		l.qmu.Lock()
	} else {
		l.leading = true
	}
	batch := l.queue
	l.queue = nil
	l.qmu.Unlock()

	l.commit(batch)

	l.qmu.Lock()
	if len(l.queue) > 0 {
		next := l.queue[0]
		next.lead = true // it commits the lines queued meanwhile
		close(next.wake)
	} else {
		l.leading = false
	}
	l.qmu.Unlock()
	for _, b := range batch {
		if b != r {
			close(b.wake)
		}
	}
	return r.out, r.hash, r.err
}

// appendReq is one Append waiting for its line to be committed.
type appendReq struct {
	e    Entry
	out  Entry
	hash string
	err  error
	lead bool          // woken to commit the queue, not because its line is done
	wake chan struct{} // closed when done, or when it must lead
}

// commit writes the batch's lines in one write under the file lock, fsyncs once and
// moves the anchor once; every request gets its line or the error.
func (l *Log) commit(batch []*appendReq) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fail := func(err error) {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
		}
	}
	if l.f == nil {
		fail(errors.New("audit: log is closed"))
		return
	}
	err := l.withLock(true, func() error {
		if err := l.resume(); err != nil {
			return err
		}
		seq, prev := l.seq, l.prevHash
		var buf []byte
		var ok []*appendReq
		for _, r := range batch {
			e := r.e
			e.TS = l.clock.Now().UTC()
			e.Seq = seq + 1
			e.PrevHash = prev
			if e.Rules == nil {
				e.Rules = []string{}
			}
			line, h, err := encodeLine(e, l.key)
			if err != nil {
				r.out, r.err = r.e, fmt.Errorf("audit: encode line %d: %w", e.Seq, err)
				continue
			}
			buf = append(buf, line...)
			r.out, r.hash = e, h
			seq, prev = e.Seq, h
			ok = append(ok, r)
		}
		if len(ok) == 0 {
			return nil
		}
		before := l.size
		if _, err := l.f.Write(buf); err != nil {
			return l.cutBack(before, fmt.Errorf("audit: write %s: %w", l.path, err))
		}
		if err := l.f.Sync(); err != nil {
			return l.cutBack(before, fmt.Errorf("audit: fsync %s: %w", l.path, err))
		}
		// The anchor moves with the lines: if it cannot (a full disk), the lines are cut
		// back too, so the log and its anchor agree and the callers know nothing was
		// recorded.
		if err := writeAnchor(l.path, l.key, seq, prev, l.size+int64(len(buf))); err != nil {
			return l.cutBack(before, err)
		}
		l.seq, l.prevHash, l.size = seq, prev, l.size+int64(len(buf))
		return nil
	})
	if err != nil {
		for _, r := range batch {
			r.out, r.hash = r.e, ""
		}
		fail(err)
	}
}

// cutBack truncates the log to size after a failed write, so that no torn or unsynced
// line stays in the chain, and returns cause (with a note when the cut fails too).
func (l *Log) cutBack(size int64, cause error) error {
	l.size = -1 // re-read the head next time
	if size < 0 {
		return cause
	}
	if err := l.f.Truncate(size); err != nil {
		return fmt.Errorf("%w; cutting the partial line off failed too (%v): run `agentphone-mcp audit repair`", cause, err)
	}
	_ = l.f.Sync()
	return cause
}

// Close closes the file. Further Appends fail.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := errors.Join(l.f.Close(), l.lock.Close())
	l.f, l.lock = nil, nil
	if err != nil {
		return fmt.Errorf("audit: close %s: %w", l.path, err)
	}
	return nil
}

// Package audit writes the append-only, hash-chained audit log: one JSON line
// per write-tool decision. Each line carries seq, prev_hash (the previous
// line's hash; 64 zeros for the first line) and hash, the SHA-256 (hex) of the
// line's exact bytes with the trailing `,"hash":"…"` member removed. Verify
// recomputes the chain and names the first broken line.
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
	"github.com/agentphone-mcp/agentphone-mcp/fsguard"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

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
}

// LockTimeout bounds how long Append and Open wait for another process's append.
const LockTimeout = 10 * time.Second

// Log is an open audit log. It is safe for concurrent use by goroutines and
// by processes: each line is written with a single write(2) on an O_APPEND
// descriptor under a mutex and an exclusive file lock, and fsynced before
// Append returns.
type Log struct {
	clock clockwork.Clock
	path  string

	mu       sync.Mutex
	f        *os.File
	lock     *os.File // <path>.lock
	size     int64    // file size after our last read or write; another size means another writer
	seq      uint64
	prevHash string
}

// Open opens (creating with mode 0600) the log at path and resumes the chain
// from its last line. A damaged last line is an error: run Verify, then move
// the file aside to start a new chain.
func Open(path string, clk clockwork.Clock) (*Log, error) {
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
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE|fsguard.NoFollow, 0o600)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("audit: open lock file: %w", err)
	}
	l := &Log{clock: clk, path: path, f: f, lock: lock, size: -1, prevHash: GenesisHash}
	if err := l.withLock(false, l.resume); err != nil {
		_ = f.Close()
		_ = lock.Close()
		return nil, err
	}
	return l, nil
}

// withLock runs fn holding the log's file lock (exclusive for writers).
func (l *Log) withLock(exclusive bool, fn func() error) (err error) {
	if err := filelock.Lock(context.Background(), l.lock, exclusive, LockTimeout); err != nil {
		return fmt.Errorf("audit: %s: %w (another process is stuck appending; retry)", l.path, err)
	}
	defer func() {
		if uerr := filelock.Unlock(l.lock); uerr != nil && err == nil {
			err = fmt.Errorf("audit: %w", uerr)
		}
	}()
	return fn()
}

// resume re-reads the chain head (seq and hash of the last line) when the
// file changed size since this Log last read or wrote it: another process
// appended. It must run under the file lock.
func (l *Log) resume() error {
	fi, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("audit: stat %s: %w", l.path, err)
	}
	if fi.Size() == l.size {
		return nil
	}
	last, err := readLastLine(l.path)
	if err != nil {
		return fmt.Errorf("audit: read %s: %w", l.path, err)
	}
	seq, prev := uint64(0), GenesisHash
	if len(last) > 0 {
		e, hash, err := parseLine(last)
		if err != nil {
			return fmt.Errorf("audit: %s: last line is damaged (%v); run `agentphone-mcp audit verify %s` to see where, then move the file aside to start a new chain", l.path, err, l.path)
		}
		seq, prev = e.Seq, hash
	}
	l.seq, l.prevHash, l.size = seq, prev, fi.Size()
	return nil
}

// Path returns the log file path.
func (l *Log) Path() string { return l.path }

// Append writes e as the next line and returns it with TS, Seq and PrevHash
// filled in, plus the line's hash.
func (l *Log) Append(e Entry) (_ Entry, hash string, _ error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return e, "", errors.New("audit: log is closed")
	}
	err := l.withLock(true, func() error {
		if err := l.resume(); err != nil {
			return err
		}
		e.TS = l.clock.Now().UTC()
		e.Seq = l.seq + 1
		e.PrevHash = l.prevHash
		if e.Rules == nil {
			e.Rules = []string{}
		}
		line, h, err := encodeLine(e)
		if err != nil {
			return fmt.Errorf("audit: encode line %d: %w", e.Seq, err)
		}
		if _, err := l.f.Write(line); err != nil {
			l.size = -1 // a short write: re-read the head next time
			return fmt.Errorf("audit: write %s: %w", l.path, err)
		}
		if err := l.f.Sync(); err != nil {
			l.size = -1
			return fmt.Errorf("audit: fsync %s: %w", l.path, err)
		}
		l.seq, l.prevHash, l.size, hash = e.Seq, h, l.size+int64(len(line)), h
		return nil
	})
	if err != nil {
		return e, "", err
	}
	return e, hash, nil
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

// hashSuffixLen is len(`,"hash":"` + 64 hex + `"}`).
const hashSuffixLen = len(`,"hash":"`) + 64 + len(`"}`)

// encodeLine renders e, hashes it, and appends the hash member and a newline.
func encodeLine(e Entry) ([]byte, string, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	line := make([]byte, 0, len(body)+hashSuffixLen+1)
	line = append(line, body[:len(body)-1]...)
	line = append(line, `,"hash":"`...)
	line = append(line, hash...)
	line = append(line, "\"}\n"...)
	return line, hash, nil
}

// parseLine checks one line's own hash and decodes it.
func parseLine(line []byte) (Entry, string, error) {
	var e Entry
	line = bytes.TrimSuffix(line, []byte("\n"))
	if len(line) < hashSuffixLen+2 {
		return e, "", errors.New("line too short to hold a hash")
	}
	suffix := string(line[len(line)-hashSuffixLen:])
	if !strings.HasPrefix(suffix, `,"hash":"`) || !strings.HasSuffix(suffix, `"}`) {
		return e, "", errors.New(`line does not end with ,"hash":"<sha256>"}`)
	}
	hash := suffix[len(`,"hash":"`) : len(suffix)-2]
	if _, err := hex.DecodeString(hash); err != nil || strings.ToLower(hash) != hash {
		return e, "", errors.New("hash is not lowercase hex")
	}
	body := make([]byte, 0, len(line)-hashSuffixLen+1)
	body = append(body, line[:len(line)-hashSuffixLen]...)
	body = append(body, '}')
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != hash {
		return e, "", errors.New("hash does not match the line's content (line was modified)")
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return e, "", fmt.Errorf("not valid JSON: %w", err)
	}
	return e, hash, nil
}

// readLastLine returns the last non-empty line of path ("" for a missing or
// empty file), reading backwards in chunks.
func readLastLine(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	const chunk = 64 << 10
	var buf []byte
	for off := size; off > 0; {
		n := int64(chunk)
		if off < n {
			n = off
		}
		off -= n
		part := make([]byte, n)
		if _, err := f.ReadAt(part, off); err != nil {
			return nil, err
		}
		buf = append(part, buf...)
		trimmed := bytes.TrimRight(buf, "\n")
		if i := bytes.LastIndexByte(trimmed, '\n'); i >= 0 {
			return trimmed[i+1:], nil
		}
		if off == 0 {
			return trimmed, nil
		}
	}
	return nil, nil
}

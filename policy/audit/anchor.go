package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/agentphone-mcp/agentphone-mcp/fsguard"
)

// The anchor: the chain's head (seq and hash of the last line) and the log's length at
// that line, written after every append under the log's lock, apart from the log and
// keyed. A log shorter than its anchor, or whose line at the anchor's seq differs, has
// lost its tail or been replaced; a key without an anchor is reported too.

// AnchorSuffix names the anchor file: <log path>.anchor.
const AnchorSuffix = ".anchor"

type anchor struct {
	V    int    `json:"v"`
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	Size int64  `json:"size"`
	MAC  string `json:"mac"`
}

func anchorPath(logPath string) string { return logPath + AnchorSuffix }

func (a anchor) sum(key []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "agentphone-mcp audit anchor v1\n%d\n%s\n%d\n", a.Seq, a.Hash, a.Size)
	return hex.EncodeToString(m.Sum(nil))
}

// readAnchor returns the anchor of the log at logPath, nil if there is none. An anchor
// whose MAC does not match key (or that cannot be checked without a key) is an error.
func readAnchor(logPath string, key []byte) (*anchor, error) {
	p := anchorPath(logPath)
	f, err := fsguard.OpenFile(p, os.O_RDONLY, 0, 0o022)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: anchor: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("audit: read the anchor %s: %w", p, err)
	}
	var a anchor
	if err := json.Unmarshal(b, &a); err != nil || a.V != 1 {
		return nil, &VerifyError{Path: logPath, Reason: fmt.Sprintf("the anchor %s is not a valid anchor (it was damaged or replaced)", p)}
	}
	if key == nil {
		return nil, &VerifyError{Path: logPath, Reason: fmt.Sprintf("the anchor %s exists but the audit key does not; restore the key file (or set AGENTPHONE_AUDIT_KEY_FILE to it)", p)}
	}
	if !hmac.Equal([]byte(a.MAC), []byte(a.sum(key))) {
		return nil, &VerifyError{Path: logPath, Reason: fmt.Sprintf("the anchor %s does not match the audit key (written with another key, or forged)", p)}
	}
	return &a, nil
}

// writeAnchor replaces the anchor atomically (temporary file, fsync, rename). The log's line
// is synced before, so the anchor never runs ahead of the log.
func writeAnchor(logPath string, key []byte, seq uint64, hash string, size int64) error {
	a := anchor{V: 1, Seq: seq, Hash: hash, Size: size}
	a.MAC = a.sum(key)
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	p := anchorPath(logPath)
	tmp, err := os.CreateTemp(filepath.Dir(p), ".audit.anchor-*")
	if err != nil {
		return fmt.Errorf("audit: write the anchor %s: %w", p, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("audit: write the anchor %s: %w", p, err)
	}
	// The directory is not fsynced: a crash that loses the rename leaves the previous
	// anchor, behind a log that has the (synced) line already, which verifies (keyed lines
	// past the anchor are accepted); the anchor is never ahead of the log.
	return nil
}

// missingAnchorError reports a keyed log, or a key with a non-empty log, that has no anchor.
func missingAnchorError(logPath string) error {
	return &VerifyError{Path: logPath, Reason: fmt.Sprintf("the anchor %s is missing although the log is keyed (or its key already existed): it was deleted, so a cut-off tail or a replaced log cannot be ruled out. Compare the log with a backup; to accept it as it is, move the log aside and start a new one", anchorPath(logPath))}
}

func truncatedError(logPath string, a *anchor, lines uint64, size int64) error {
	return &VerifyError{Path: logPath, Line: int(lines) + 1, Reason: fmt.Sprintf("the log is shorter than its anchor: it ends at line %d (%d bytes) but line %d (%d bytes) was written; its tail was cut off or the file emptied or replaced by an older copy. Restore the log from a backup; to start over, move the log and %s aside (keep them for inspection)", lines, size, a.Seq, a.Size, anchorPath(logPath))}
}

func differsError(logPath string, a *anchor) error {
	return &VerifyError{Path: logPath, Line: int(a.Seq), Reason: fmt.Sprintf("line %d is not the line the anchor recorded (other hash or length): the log was rewritten or swapped for another. Restore the log from a backup; to start over, move the log and %s aside (keep them for inspection)", a.Seq, anchorPath(logPath))}
}

package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The hash chain: how a line is encoded and keyed, how a line is checked, and how a file
// is walked. A line ends with `,"mac":"<HMAC-SHA256 of the rest under the key>"}`; lines
// written before keys existed end with `,"hash":"<SHA-256 of the rest>"}` (legacy) and are
// accepted only before the first keyed line. prev_hash is the previous line's mac or hash.

// hashSuffixLen is len(`,"hash":"` + 64 hex + `"}`); macSuffixLen the same for "mac".
const (
	hashSuffixLen = len(`,"hash":"`) + 64 + len(`"}`)
	macSuffixLen  = len(`,"mac":"`) + 64 + len(`"}`)
)

// maxLineLen bounds one audit line when reading.
const maxLineLen = 4 << 20

// lineSum is the line's MAC under key, or its bare SHA-256 when key is nil (legacy).
func lineSum(key, body []byte) string {
	if key == nil {
		sum := sha256.Sum256(body)
		return hex.EncodeToString(sum[:])
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// encodeLine renders e, keys it (a legacy hash when key is nil: tests only), and appends
// the mac (or hash) member and a newline.
func encodeLine(e Entry, key []byte) ([]byte, string, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, "", err
	}
	sum := lineSum(key, body)
	member := `,"mac":"`
	if key == nil {
		member = `,"hash":"`
	}
	line := make([]byte, 0, len(body)+hashSuffixLen+1)
	line = append(line, body[:len(body)-1]...)
	line = append(line, member...)
	line = append(line, sum...)
	line = append(line, "\"}\n"...)
	return line, sum, nil
}

// parseLine checks one line's own mac (or legacy hash) and decodes it. keyed reports a
// mac line; one cannot be checked without key.
func parseLine(line []byte, key []byte) (e Entry, sum string, keyed bool, err error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	var member string
	switch {
	case len(line) >= macSuffixLen+2 && bytes.HasPrefix(line[len(line)-macSuffixLen:], []byte(`,"mac":"`)):
		member, keyed = `,"mac":"`, true
	case len(line) >= hashSuffixLen+2 && bytes.HasPrefix(line[len(line)-hashSuffixLen:], []byte(`,"hash":"`)):
		member = `,"hash":"`
	default:
		return e, "", false, errors.New(`line does not end with ,"mac":"<hmac>"} (or a legacy ,"hash":"<sha256>"})`)
	}
	suffixLen := len(member) + 64 + 2
	suffix := string(line[len(line)-suffixLen:])
	if !strings.HasSuffix(suffix, `"}`) {
		return e, "", keyed, errors.New(`line does not end with "}`)
	}
	sum = suffix[len(member) : len(suffix)-2]
	if _, err := hex.DecodeString(sum); err != nil || strings.ToLower(sum) != sum {
		return e, "", keyed, errors.New("mac or hash is not lowercase hex")
	}
	body := make([]byte, 0, len(line)-suffixLen+1)
	body = append(body, line[:len(line)-suffixLen]...)
	body = append(body, '}')
	if keyed {
		if key == nil {
			return e, "", keyed, errors.New("the line is keyed but the audit key is missing; restore the key file (<state dir>/audit.key, or the one AGENTPHONE_AUDIT_KEY_FILE names)")
		}
		if !hmac.Equal([]byte(lineSum(key, body)), []byte(sum)) {
			return e, "", keyed, errors.New("mac does not match the line's content under the audit key (the line was modified, or written with another key)")
		}
	} else if lineSum(nil, body) != sum {
		return e, "", keyed, errors.New("hash does not match the line's content (line was modified)")
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return e, "", keyed, fmt.Errorf("not valid JSON: %w", err)
	}
	return e, sum, keyed, nil
}

// Torn describes bytes after the last newline of a log: a line whose write was cut short.
type Torn struct {
	Line   int   // its 1-based line number
	Offset int64 // where it starts: the log is whole up to here
	Bytes  int64 // how long it is
}

// scanned is what scan found: the good lines and the head they end at.
type scanned struct {
	good   int    // good lines
	legacy int    // of which unkeyed (all before the first keyed one)
	seq    uint64 // the last good line's seq (0: none)
	hash   string // its mac or hash (GenesisHash: none)
	size   int64  // bytes up to the end of the last good line
	torn   *Torn
}

// scan reads the log at path from the start, checking each line's mac (or legacy hash,
// allowed only before the first keyed line) and the chain (seq 1, 2, … and each prev_hash
// equal to the previous line's), and calls fn for every good line with its sum and the
// offset where it ends (and the line's bytes, newline included, its own). It stops at the first break with a *VerifyError. A torn tail
// (bytes after the last newline) is not a break: it is returned in torn.
func scan(path string, key []byte, fn func(e Entry, sum string, end int64, line []byte) error) (res scanned, err error) {
	res.hash = GenesisHash
	f, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("audit: open %s: %w", path, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var off int64
	keyedSeen := false
	for n := 1; ; n++ {
		line, rerr := readLine(r)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			if errors.Is(rerr, errLineTooLong) {
				return res, &VerifyError{Path: path, Line: n, Reason: fmt.Sprintf("line longer than %d bytes", maxLineLen)}
			}
			return res, fmt.Errorf("audit: read %s: %w", path, rerr)
		}
		if errors.Is(rerr, io.EOF) {
			if len(line) > 0 {
				res.torn = &Torn{Line: n, Offset: off, Bytes: int64(len(line))}
			}
			return res, nil
		}
		off += int64(len(line))
		if len(line) == 1 {
			return res, &VerifyError{Path: path, Line: n, Reason: "empty line"}
		}
		e, sum, keyed, err := parseLine(line, key)
		if err != nil {
			return res, &VerifyError{Path: path, Line: n, Reason: err.Error()}
		}
		if keyedSeen && !keyed {
			return res, &VerifyError{Path: path, Line: n, Reason: "unkeyed line after keyed lines: it was written without the audit key (a forged or rewritten line, or one from an agentphone-mcp older than the keyed chain still running on this state dir: upgrade it)"}
		}
		keyedSeen = keyedSeen || keyed
		if e.Seq != res.seq+1 {
			return res, &VerifyError{Path: path, Line: n, Reason: fmt.Sprintf("seq is %d, want %d (a line was deleted, inserted or moved)", e.Seq, res.seq+1)}
		}
		if e.PrevHash != res.hash {
			return res, &VerifyError{Path: path, Line: n, Reason: "prev_hash does not match the previous line's hash (the chain is broken here)"}
		}
		res.seq, res.hash, res.size = e.Seq, sum, off
		res.good++
		if !keyed {
			res.legacy++
		}
		if fn != nil {
			if err := fn(e, sum, off, line); err != nil {
				return res, err
			}
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line with its newline, or the bytes before EOF (with io.EOF).
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, err := r.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > maxLineLen {
			return nil, errLineTooLong
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return line, err
		}
	}
}

// readTail returns the last complete line of path before offset end (the whole file when
// end < 0; nil for a missing or empty file) and the number of bytes after it, up to end,
// that have no newline (a torn write), reading backwards in chunks.
func readTail(path string, end int64) (last []byte, torn int64, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := fi.Size()
	if end >= 0 && end < size {
		size = end
	}
	const chunk = 64 << 10
	var buf []byte
	end = -1 // offset of the last newline, once found
	for off := size; off > 0; {
		n := min(int64(chunk), off)
		off -= n
		part := make([]byte, n)
		if _, err := f.ReadAt(part, off); err != nil {
			return nil, 0, err
		}
		buf = append(part, buf...)
		if end < 0 {
			i := bytes.LastIndexByte(buf, '\n')
			if i < 0 {
				if off == 0 {
					return nil, size, nil // no complete line at all
				}
				continue
			}
			end = off + int64(i)
			torn = size - end - 1
		}
		rel := end - off // index of the last newline in buf
		if j := bytes.LastIndexByte(buf[:rel], '\n'); j >= 0 {
			return buf[j+1 : rel+1], torn, nil
		}
		if off == 0 {
			return buf[:rel+1], torn, nil
		}
	}
	return nil, torn, nil
}

package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The hash chain: how a line is encoded and hashed, how a line is checked, and how a file
// is walked. Keying the chain (an HMAC instead of a bare SHA-256) is a change here only.

// hashSuffixLen is len(`,"hash":"` + 64 hex + `"}`).
const hashSuffixLen = len(`,"hash":"`) + 64 + len(`"}`)

// maxLineLen bounds one audit line when reading.
const maxLineLen = 4 << 20

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

// Torn describes bytes after the last newline of a log: a line whose write was cut short.
type Torn struct {
	Line   int   // its 1-based line number
	Offset int64 // where it starts: the log is whole up to here
	Bytes  int64 // how long it is
}

// scan reads the log at path from the start, checking each line's hash and the chain
// (seq 1, 2, … and each prev_hash equal to the previous line's hash), and calls fn for
// every good line. It stops at the first break with a *VerifyError, after which good is
// the number of good lines. A torn tail (bytes after the last newline) is not a break:
// it is returned as torn, and everything before it is good.
func scan(path string, fn func(e Entry) error) (good int, torn *Torn, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	prev := GenesisHash
	var seq uint64
	var off int64
	for n := 1; ; n++ {
		line, rerr := readLine(r)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			if errors.Is(rerr, errLineTooLong) {
				return good, nil, &VerifyError{Path: path, Line: n, Reason: fmt.Sprintf("line longer than %d bytes", maxLineLen)}
			}
			return good, nil, fmt.Errorf("audit: read %s: %w", path, rerr)
		}
		if errors.Is(rerr, io.EOF) {
			if len(line) > 0 {
				return good, &Torn{Line: n, Offset: off, Bytes: int64(len(line))}, nil
			}
			return good, nil, nil
		}
		off += int64(len(line))
		if len(line) == 1 {
			return good, nil, &VerifyError{Path: path, Line: n, Reason: "empty line"}
		}
		e, hash, err := parseLine(line)
		if err != nil {
			return good, nil, &VerifyError{Path: path, Line: n, Reason: err.Error()}
		}
		if e.Seq != seq+1 {
			return good, nil, &VerifyError{Path: path, Line: n, Reason: fmt.Sprintf("seq is %d, want %d (a line was deleted, inserted or moved)", e.Seq, seq+1)}
		}
		if e.PrevHash != prev {
			return good, nil, &VerifyError{Path: path, Line: n, Reason: "prev_hash does not match the previous line's hash (the chain is broken here)"}
		}
		seq, prev = e.Seq, hash
		good++
		if fn != nil {
			if err := fn(e); err != nil {
				return good, nil, err
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

// readTail returns the last complete line of path (nil for a missing or empty file) and
// the number of bytes after it that have no newline (a torn write), reading backwards in
// chunks.
func readTail(path string) (last []byte, torn int64, err error) {
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
	const chunk = 64 << 10
	var buf []byte
	end := int64(-1) // offset of the last newline, once found
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

package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/store/filelock"
)

// Several logs, one account: each replica (or each state dir) keeps its own chain, and an
// export merges verified chains by time into one JSON Lines file that can be verified again
// on its own (with the chains' keys).
//
// An export starts with one header line per chain:
//
//	{"export":"agentphone-mcp audit export v1","source":"/abs/path/audit.jsonl","lines":N,"head":"<last line's mac>","mac":"<HMAC of the header under the chain's key>"}
//
// then every line of every chain, merged by time (a chain's own lines stay in seq order):
//
//	{"source":"/abs/path/audit.jsonl","seq":7,"ts":"…","line":<the log line exactly as written>}
//
// The embedded line keeps its own mac and prev_hash, so each chain is re-verified from the
// export alone; the header's head and count pin each chain's end (a line dropped from the
// export's tail is found), and the order is re-derived and compared.

// ExportFormat names the export format in each chain header.
const ExportFormat = "agentphone-mcp audit export v1"

// ChainLine is one verified line of a log, as written.
type ChainLine struct {
	Seq uint64
	TS  time.Time
	Sum string // its mac (or legacy hash)
	Raw []byte // the line without its newline
}

// Chain is one log, read and verified whole (ReadChain).
type Chain struct {
	// Source is the log's absolute path.
	Source string
	// Lines are its lines in order.
	Lines []ChainLine
	key   []byte
}

// Head is the mac (or hash) of the chain's last line, GenesisHash when it has none.
func (c *Chain) Head() string {
	if len(c.Lines) == 0 {
		return GenesisHash
	}
	return c.Lines[len(c.Lines)-1].Sum
}

// ReadChain reads and verifies the log at path like Verify (every line's mac, the chain,
// the anchor; a torn last line is an error) while holding the log's lock shared, so no
// append is half seen. Any break is a *VerifyError naming the log and the line.
func ReadChain(path string, opts ...Option) (*Chain, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	// The lock file sits beside the log; a log copied somewhere read-only is read unlocked.
	if lock, err := filelock.OpenLocker(abs + ".lock"); err == nil {
		defer lock.Close()
		if err := lock.Lock(context.Background(), false, LockTimeout); err != nil {
			return nil, fmt.Errorf("audit: %s: %w (another process is stuck appending; retry)", abs, err)
		}
		defer func() { _ = lock.Unlock() }()
	}
	key, _, _, err := loadKey(buildOptions(opts), abs, false)
	if err != nil {
		return nil, err
	}
	c := &Chain{Source: abs, key: key}
	res, err := checkRaw(abs, opts, func(e Entry, sum string, line []byte) error {
		c.Lines = append(c.Lines, ChainLine{Seq: e.Seq, TS: e.TS, Sum: sum, Raw: bytes.TrimSuffix(line, []byte("\n"))})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if res.torn != nil {
		return nil, tornError(abs, res.torn)
	}
	return c, nil
}

type exportHeader struct {
	Export string `json:"export"`
	Source string `json:"source"`
	Lines  int    `json:"lines"`
	Head   string `json:"head"`
	MAC    string `json:"mac,omitempty"`
}

type exportLine struct {
	Source string          `json:"source"`
	Seq    uint64          `json:"seq"`
	TS     time.Time       `json:"ts"`
	Line   json.RawMessage `json:"line,omitempty"`
}

// headerSum keys a chain header (empty without a key: a legacy log).
func headerSum(key []byte, h exportHeader) string {
	if key == nil {
		return ""
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s\n%s\n%d\n%s\n", ExportFormat, h.Source, h.Lines, h.Head)
	return hex.EncodeToString(m.Sum(nil))
}

// lineRef is one line of one chain in the merged order.
type lineRef struct {
	chain int
	index int
}

// mergeOrder merges the chains by time: at each step the earliest next line of any chain
// (ties by source, then the chain's own order), so every chain keeps its seq order even if
// its clock stepped back. ts[c] are chain c's line times, sources[c] its source.
func mergeOrder(sources []string, ts [][]time.Time) []lineRef {
	next := make([]int, len(ts))
	total := 0
	for _, t := range ts {
		total += len(t)
	}
	out := make([]lineRef, 0, total)
	for len(out) < total {
		best := -1
		for c := range ts {
			if next[c] >= len(ts[c]) {
				continue
			}
			if best < 0 {
				best = c
				continue
			}
			a, b := ts[c][next[c]], ts[best][next[best]]
			if a.Before(b) || (a.Equal(b) && sources[c] < sources[best]) {
				best = c
			}
		}
		out = append(out, lineRef{best, next[best]})
		next[best]++
	}
	return out
}

// Export writes the chains as one JSON Lines export: a header per chain, then every line
// merged by time. The chains must come from ReadChain (verified) and name distinct logs.
// It returns the number of log lines written.
func Export(w io.Writer, chains []*Chain) (int, error) {
	seen := map[string]bool{}
	sources := make([]string, len(chains))
	ts := make([][]time.Time, len(chains))
	for i, c := range chains {
		if seen[c.Source] {
			return 0, fmt.Errorf("audit: export: %s is named twice", c.Source)
		}
		seen[c.Source] = true
		sources[i] = c.Source
		for _, l := range c.Lines {
			ts[i] = append(ts[i], l.TS)
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, c := range chains {
		h := exportHeader{Export: ExportFormat, Source: c.Source, Lines: len(c.Lines), Head: c.Head()}
		h.MAC = headerSum(c.key, h)
		b, err := json.Marshal(h)
		if err != nil {
			return 0, err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	order := mergeOrder(sources, ts)
	for _, r := range order {
		c := chains[r.chain]
		l := c.Lines[r.index]
		// The log line is spliced in byte for byte (its mac covers those bytes).
		b, err := json.Marshal(exportLine{Source: c.Source, Seq: l.Seq, TS: l.TS})
		if err != nil {
			return 0, err
		}
		bw.Write(b[:len(b)-1])
		bw.WriteString(`,"line":`)
		bw.Write(l.Raw)
		bw.WriteString("}\n")
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	return len(order), nil
}

// IsExport reports whether the file at path is an export (its first line is a chain
// header) rather than a log.
func IsExport(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	return bytes.HasPrefix(head[:n], []byte(`{"export":`)), nil
}

// ExportChain is what VerifyExport found for one chain.
type ExportChain struct {
	Source string
	Lines  int
	// Open counts the ledger intents without an outcome line in this chain.
	Open int
}

// ExportReport is what VerifyExport found.
type ExportReport struct {
	Chains []ExportChain
	Lines  int
}

// VerifyExport checks an export on its own: each chain's header (keyed), every embedded
// line's mac and the chain (seq 1, 2, … and prev_hash), that each chain ends where its
// header says, and that the lines are in the merged order Export writes. opts gives the
// key options of a chain's source (nil: the default key beside the source). A break is a
// *VerifyError naming the export's line.
func VerifyExport(path string, opts func(source string) []Option) (ExportReport, error) {
	var rep ExportReport
	f, err := os.Open(path)
	if err != nil {
		return rep, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	type chainState struct {
		h     exportHeader
		key   []byte
		seq   uint64
		prev  string
		ts    []time.Time
		open  map[string]bool
		index int
	}
	var chains []*chainState
	bySource := map[string]*chainState{}
	var order []lineRef
	fail := func(n int, format string, args ...any) error {
		return &VerifyError{Path: path, Line: n, Reason: fmt.Sprintf(format, args...)}
	}
	r := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, rerr := readLine(r)
		if errors.Is(rerr, errLineTooLong) {
			return rep, fail(n, "line longer than %d bytes", maxLineLen)
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return rep, fmt.Errorf("audit: read %s: %w", path, rerr)
		}
		if errors.Is(rerr, io.EOF) {
			if len(line) > 0 {
				return rep, fail(n, "incomplete last line (%d bytes without a newline): the export was cut short", len(line))
			}
			break
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		if bytes.HasPrefix(line, []byte(`{"export":`)) {
			if len(order) > 0 {
				return rep, fail(n, "a chain header after the first log line (headers come first)")
			}
			var h exportHeader
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&h); err != nil || h.Export != ExportFormat || h.Source == "" || h.Lines < 0 {
				return rep, fail(n, "not a valid chain header of %q", ExportFormat)
			}
			if bySource[h.Source] != nil {
				return rep, fail(n, "the chain %s has two headers", h.Source)
			}
			var o []Option
			if opts != nil {
				o = opts(h.Source)
			}
			key, keyPath, _, err := loadKey(buildOptions(o), h.Source, false)
			if err != nil {
				return rep, err
			}
			switch {
			case key == nil && h.MAC != "":
				return rep, fail(n, "the chain %s is keyed but its key %s is missing: verify the export where the replica's key is (or set AGENTPHONE_AUDIT_KEY_FILE to it)", h.Source, keyPath)
			case !hmac.Equal([]byte(headerSum(key, h)), []byte(h.MAC)):
				return rep, fail(n, "the header of the chain %s does not match its key %s (the header was modified, or the key is another)", h.Source, keyPath)
			}
			cs := &chainState{h: h, key: key, prev: GenesisHash, open: map[string]bool{}, index: len(chains)}
			chains = append(chains, cs)
			bySource[h.Source] = cs
			continue
		}
		var el exportLine
		if err := json.Unmarshal(line, &el); err != nil || len(el.Line) == 0 {
			return rep, fail(n, "not an export line ({\"source\",\"seq\",\"ts\",\"line\"})")
		}
		cs := bySource[el.Source]
		if cs == nil {
			return rep, fail(n, "the source %s has no chain header", el.Source)
		}
		e, sum, _, err := parseLine(el.Line, cs.key)
		if err != nil {
			return rep, fail(n, "%s line %d: %v", el.Source, el.Seq, err)
		}
		switch {
		case e.Seq != cs.seq+1 || el.Seq != e.Seq:
			return rep, fail(n, "%s: seq is %d (the export says %d), want %d: a line was deleted, inserted or moved", el.Source, e.Seq, el.Seq, cs.seq+1)
		case e.PrevHash != cs.prev:
			return rep, fail(n, "%s line %d: prev_hash does not match the previous line's hash (the chain is broken here)", el.Source, e.Seq)
		case !e.TS.Equal(el.TS):
			return rep, fail(n, "%s line %d: the export's ts is not the line's", el.Source, e.Seq)
		}
		switch e.Phase {
		case PhaseIntent:
			cs.open[e.Ledger] = true
		case PhaseOutcome:
			delete(cs.open, e.Ledger)
		}
		cs.seq, cs.prev = e.Seq, sum
		cs.ts = append(cs.ts, e.TS)
		order = append(order, lineRef{cs.index, len(cs.ts) - 1})
	}
	if len(chains) == 0 {
		return rep, fail(1, "no chain header: this is not an audit export")
	}
	sources := make([]string, len(chains))
	ts := make([][]time.Time, len(chains))
	for i, cs := range chains {
		if int(cs.seq) != cs.h.Lines || cs.prev != cs.h.Head {
			return rep, fail(0, "the chain %s holds %d lines here but its header says %d ending at %s…: lines were cut from the export", cs.h.Source, cs.seq, cs.h.Lines, cs.h.Head[:12])
		}
		sources[i], ts[i] = cs.h.Source, cs.ts
		rep.Chains = append(rep.Chains, ExportChain{Source: cs.h.Source, Lines: int(cs.seq), Open: len(cs.open)})
		rep.Lines += int(cs.seq)
	}
	for i, want := range mergeOrder(sources, ts) {
		if order[i] != want {
			return rep, fail(0, "the lines are not in the merged time order Export writes (from the %d-th log line on): the export was reordered", i+1)
		}
	}
	return rep, nil
}

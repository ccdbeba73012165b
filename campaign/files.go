package campaign

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// files keeps each campaign as a snapshot, <id>.json (written whole: temp file, fsync,
// rename, so a kill -9 leaves the old or the new one, never a torn one), and a journal,
// <id>.journal: one JSON line per change since the snapshot, appended and fsynced. A send
// changes one recipient, so it appends one short line whatever the list's size; the
// snapshot is rewritten (and the journal emptied) every compactEvery lines or a quarter of
// the list, whichever is more, and when the campaign ends. Lines carry a sequence number
// and the snapshot the last one it includes, so a crash between the two leaves nothing
// replayed twice; a torn last line (a kill mid-write) is ignored and cut off by the next
// writer.
//
// Each process keeps every campaign it touched decoded in memory, keyed by the snapshot's
// identity (inode, size, modification time; every snapshot is a new inode) and the journal
// bytes it applied: another process's appended lines are read and applied, a new snapshot
// is read whole.
type files struct {
	dir   string
	cache *fileCache
}

// fileCache holds the decoded state of each campaign.
type fileCache struct {
	mu sync.Mutex
	m  map[string]*live
}

// live is a campaign as this process last read it.
type live struct {
	snap  fileIdent // the snapshot it was built from
	off   int64     // journal bytes applied
	seq   int64     // the last journal line applied
	lines int       // journal lines since the snapshot
	c     *Campaign
}

// fileIdent identifies one version of a file.
type fileIdent struct {
	ino   uint64
	size  int64
	mtime int64
}

func identOf(fi os.FileInfo) fileIdent {
	return fileIdent{ino: inode(fi), size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// compactEvery is the least number of journal lines between two snapshots.
const compactEvery = 64

// journalLine is one change: the campaign's fields other than its lists (h), one recipient
// (i, r), or one more reply (p).
type journalLine struct {
	Seq    int64           `json:"s"`
	Header json.RawMessage `json:"h,omitempty"`
	Index  *int            `json:"i,omitempty"`
	Rec    *Recipient      `json:"r,omitempty"`
	Reply  *Reply          `json:"p,omitempty"`
}

// validID is the shape of a campaign id (it names a file).
var validID = regexp.MustCompile(`^cmp_[0-9a-f]{16}$`)

// ErrNotFound: no campaign has that id.
var ErrNotFound = errors.New("no such campaign")

func (f files) path(id string) string    { return filepath.Join(f.dir, id+".json") }
func (f files) journal(id string) string { return filepath.Join(f.dir, id+".journal") }

// load returns a copy of campaign id as it stands on disk.
func (f files) load(id string) (*Campaign, error) {
	var out *Campaign
	err := f.peek(id, func(c *Campaign) { out = c.clone() })
	return out, err
}

// peek runs fn on campaign id as it stands on disk, without copying it: fn must not keep
// or change it.
func (f files) peek(id string, fn func(*Campaign)) error {
	if !validID.MatchString(id) {
		return ErrNotFound
	}
	f.cache.mu.Lock()
	defer f.cache.mu.Unlock()
	l, err := f.refresh(id, false)
	if err != nil {
		return err
	}
	fn(l.c)
	return nil
}

// refresh brings this process's copy of id up to date with the files. With cut (the
// caller holds the campaign's file lock) a torn last journal line is cut off. f.cache.mu
// must be held.
func (f files) refresh(id string, cut bool) (*live, error) {
	fi, err := os.Stat(f.path(id))
	if errors.Is(err, os.ErrNotExist) {
		delete(f.cache.m, id)
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("campaign: read %s: %w", id, err)
	}
	l := f.cache.m[id]
	if l == nil || l.snap != identOf(fi) {
		if l, err = f.readSnapshot(id); err != nil {
			return nil, err
		}
	}
	if err := f.replay(id, l, cut); err != nil {
		delete(f.cache.m, id)
		return nil, err
	}
	if f.cache.m == nil {
		f.cache.m = map[string]*live{}
	}
	f.cache.m[id] = l
	return l, nil
}

// readSnapshot decodes id's snapshot.
func (f files) readSnapshot(id string) (*live, error) {
	fh, err := os.Open(f.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("campaign: read %s: %w", id, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("campaign: read %s: %w", id, err)
	}
	raw, err := io.ReadAll(fh)
	if err != nil {
		return nil, fmt.Errorf("campaign: read %s: %w", id, err)
	}
	var c Campaign
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("campaign: %s is damaged: %w", f.path(id), err)
	}
	return &live{snap: identOf(fi), seq: c.JournalSeq, c: &c}, nil
}

// replay applies the journal lines after l.off.
func (f files) replay(id string, l *live, cut bool) error {
	fh, err := os.OpenFile(f.journal(id), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		l.off = 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("campaign: read the journal of %s: %w", id, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("campaign: read the journal of %s: %w", id, err)
	}
	if fi.Size() < l.off {
		// Emptied by a compaction whose snapshot this process read: nothing is new.
		l.off = 0
	}
	if fi.Size() == l.off {
		return nil
	}
	if _, err := fh.Seek(l.off, io.SeekStart); err != nil {
		return fmt.Errorf("campaign: read the journal of %s: %w", id, err)
	}
	rd := bufio.NewReader(fh)
	for {
		line, err := rd.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 && cut {
				// A torn last line (a writer killed mid-write): its change never completed.
				if err := fh.Truncate(l.off); err != nil {
					return fmt.Errorf("campaign: repair the journal of %s: %w", id, err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("campaign: read the journal of %s: %w", id, err)
		}
		if err := l.apply(bytes.TrimSpace(line)); err != nil {
			return fmt.Errorf("campaign: the journal of %s is damaged: %w", id, err)
		}
		l.off += int64(len(line))
		l.lines++
	}
}

// apply applies one journal line (already applied lines are skipped).
func (l *live) apply(raw []byte) error {
	var jl journalLine
	if err := json.Unmarshal(raw, &jl); err != nil {
		return err
	}
	if jl.Seq <= l.seq {
		return nil
	}
	c := l.c
	switch {
	case jl.Header != nil:
		var h Campaign
		if err := json.Unmarshal(jl.Header, &h); err != nil {
			return err
		}
		rs, ex, rp, seq := c.Recipients, c.Excluded, c.Replies, c.JournalSeq
		*c = h
		c.Recipients, c.Excluded, c.Replies, c.JournalSeq = rs, ex, rp, seq
	case jl.Index != nil && jl.Rec != nil:
		if *jl.Index < 0 || *jl.Index >= len(c.Recipients) {
			return fmt.Errorf("line %d names recipient %d of %d", jl.Seq, *jl.Index, len(c.Recipients))
		}
		c.Recipients[*jl.Index] = *jl.Rec
	case jl.Reply != nil:
		c.Replies = append(c.Replies, *jl.Reply)
	default:
		return fmt.Errorf("line %d changes nothing", jl.Seq)
	}
	l.seq = jl.Seq
	return nil
}

// header is c's fields other than its lists, as a journal line holds them.
func header(c *Campaign) ([]byte, error) {
	h := *c
	h.Recipients, h.Excluded, h.Replies, h.JournalSeq, h.dirty = nil, nil, nil, 0, nil
	return json.Marshal(&h)
}

// mutate is the one write of a campaign; the caller holds the campaign's file lock. It
// applies fn to the campaign as it stands (nil if there is none: fresh, when given, is
// then saved) and writes what fn changed: one journal line per changed recipient (fn marks
// them with Campaign.rec), one for the other fields if they changed, one per new reply. An
// error from fn (or from the write) drops this process's copy: the files are the truth.
func (f files) mutate(id string, fn func(*Campaign) error, fresh *Campaign) error {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("campaign: create %s: %w", f.dir, err)
	}
	f.cache.mu.Lock()
	defer f.cache.mu.Unlock()
	l, err := f.refresh(id, true)
	if errors.Is(err, ErrNotFound) {
		if err := fn(nil); err != nil {
			return err
		}
		if fresh == nil {
			return ErrNotFound
		}
		_ = os.Remove(f.journal(id)) // a leftover of an earlier campaign of that id, if any
		return f.snapshot(&live{c: fresh.clone()}, id)
	}
	if err != nil {
		return err
	}
	c := l.c
	before, err := header(c)
	if err != nil {
		return fmt.Errorf("campaign: encode %s: %w", id, err)
	}
	replies := len(c.Replies)
	c.dirty = nil
	if err := fn(c); err != nil {
		delete(f.cache.m, id)
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	seq := l.seq
	add := func(jl journalLine) error {
		seq++
		jl.Seq = seq
		return enc.Encode(&jl)
	}
	after, err := header(c)
	if err == nil && !bytes.Equal(before, after) {
		err = add(journalLine{Header: after})
	}
	idx := make([]int, 0, len(c.dirty))
	for i := range c.dirty {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		if err == nil {
			i := i
			err = add(journalLine{Index: &i, Rec: &c.Recipients[i]})
		}
	}
	for k := replies; k < len(c.Replies) && err == nil; k++ {
		err = add(journalLine{Reply: &c.Replies[k]})
	}
	c.dirty = nil
	if err != nil {
		delete(f.cache.m, id)
		return fmt.Errorf("campaign: encode %s: %w", id, err)
	}
	if buf.Len() == 0 {
		return nil
	}
	n := seq - l.seq
	if err := f.append(id, l, buf.Bytes()); err != nil {
		delete(f.cache.m, id)
		return err
	}
	l.seq = seq
	l.lines += int(n)
	ended := c.Status == Completed || c.Status == Canceled
	if l.lines >= max(compactEvery, len(c.Recipients)/4) || (ended && c.inFlight() == 0) {
		if err := f.snapshot(l, id); err != nil {
			// The journal holds the change: a later write compacts.
			return nil
		}
	}
	return nil
}

// append writes lines to the end of id's journal and syncs them.
func (f files) append(id string, l *live, lines []byte) error {
	fh, err := os.OpenFile(f.journal(id), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("campaign: save %s: %w", id, err)
	}
	if _, err := fh.WriteAt(lines, l.off); err != nil {
		fh.Close()
		return fmt.Errorf("campaign: save %s: %w", id, err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("campaign: save %s: %w", id, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("campaign: save %s: %w", id, err)
	}
	l.off += int64(len(lines))
	return nil
}

// snapshot writes l's campaign whole and empties the journal.
func (f files) snapshot(l *live, id string) error {
	c := l.c
	c.JournalSeq = l.seq
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("campaign: encode %s: %w", id, err)
	}
	tmp, err := os.CreateTemp(f.dir, id+".*.tmp")
	if err != nil {
		return fmt.Errorf("campaign: save %s: %w", id, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("campaign: save %s: %w", id, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("campaign: save %s: %w", id, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("campaign: save %s: %w", id, err)
	}
	if err := os.Rename(tmp.Name(), f.path(id)); err != nil {
		return fmt.Errorf("campaign: save %s: %w", id, err)
	}
	fi, err := os.Stat(f.path(id))
	if err != nil {
		delete(f.cache.m, id)
		return fmt.Errorf("campaign: save %s: %w", id, err)
	}
	// The snapshot holds every line: they may go (a crash before this leaves lines the
	// snapshot's sequence number skips).
	if err := os.Truncate(f.journal(id), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		delete(f.cache.m, id)
		return fmt.Errorf("campaign: empty the journal of %s: %w", id, err)
	}
	l.snap, l.off, l.lines = identOf(fi), 0, 0
	if f.cache.m == nil {
		f.cache.m = map[string]*live{}
	}
	f.cache.m[id] = l
	return nil
}

// ids lists the stored campaign ids, sorted.
func (f files) ids() ([]string, error) {
	ents, err := os.ReadDir(f.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("campaign: list %s: %w", f.dir, err)
	}
	var out []string
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && validID.MatchString(id) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}

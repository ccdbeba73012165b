package campaign

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	for _, c := range []struct {
		tmpl    string
		vars    map[string]string
		body    string
		missing string
	}{
		{"Hi {{name}}, at {{ time }}.", map[string]string{"name": "Ada", "time": "10:00"}, "Hi Ada, at 10:00.", ""},
		{"Hi {{name}}", nil, "Hi ", "name"},
		{"Hi {{name}} {{ other}}", map[string]string{"name": "Ada"}, "Hi Ada ", "other"},
		{"No variables {{ }} {name}", nil, "No variables {{ }} {name}", ""},
		{"{{a}}{{a}}", map[string]string{"a": "{{b}}"}, "{{b}}{{b}}", ""}, // values are not templates
	} {
		body, missing := Render(c.tmpl, c.vars)
		if body != c.body || missing != c.missing {
			t.Errorf("Render(%q) = %q, %q; want %q, %q", c.tmpl, body, missing, c.body, c.missing)
		}
	}
}

// TestFilesRoundTripAndDamage: a campaign round-trips; another writer's change is read
// afresh (not the cached copy); a damaged file is an error naming the file, never a panic;
// ids that are not campaign ids name no file.
func TestFilesRoundTripAndDamage(t *testing.T) {
	dir := t.TempDir()
	f := files{dir: dir, cache: &fileCache{}}
	c := &Campaign{ID: NewID(), Name: "n", Status: Running, CreatedAt: time.Unix(1, 0).UTC(), Recipients: []Recipient{{E164: "+16502530001", State: Queued}}}
	if err := f.mutate(c.ID, func(*Campaign) error { return nil }, c); err != nil {
		t.Fatal(err)
	}
	got, err := f.load(c.ID)
	if err != nil || got.Name != "n" || len(got.Recipients) != 1 {
		t.Fatalf("load: %+v %v", got, err)
	}
	got.Recipients[0].State = Sent // a caller's change does not reach the cache
	if again, _ := f.load(c.ID); again.Recipients[0].State != Queued {
		t.Fatal("the cache handed out a shared copy")
	}
	other := files{dir: dir, cache: &fileCache{}} // another process
	if err := other.mutate(c.ID, func(c *Campaign) error { c.Status = Paused; c.rec(0).State = Skipped; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.load(c.ID); got.Status != Paused || got.Recipients[0].State != Skipped {
		t.Fatalf("another writer's change was not seen: %s %s", got.Status, got.Recipients[0].State)
	}
	if err := os.WriteFile(filepath.Join(dir, c.ID+".json"), []byte(`{"id":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.load(c.ID); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged file: %v", err)
	}
	for _, bad := range []string{"../state", "cmp_x", "", c.ID + "/.."} {
		if _, err := f.load(bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("load(%q) = %v, want ErrNotFound", bad, err)
		}
	}
}

// TestJournal: a recipient's change appends one line of the same size whatever the list's
// size; lines are replayed by a fresh reader; a torn last line is ignored and cut by the
// next writer; the snapshot is rewritten after a quarter of the list (at least 64 lines) and
// when the campaign ends, and lines a snapshot already holds are never applied twice.
func TestJournal(t *testing.T) {
	dir := t.TempDir()
	mk := func(n int) *Campaign {
		c := &Campaign{ID: NewID(), Status: Running, Recipients: make([]Recipient, n)}
		for i := range c.Recipients {
			c.Recipients[i] = Recipient{E164: "+16502530001", Body: "Your parcel arrives today.", State: Queued}
		}
		return c
	}
	f := files{dir: dir, cache: &fileCache{}}
	journal := func(id string) int64 {
		fi, err := os.Stat(filepath.Join(dir, id+".journal"))
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	send := func(id string, i int) {
		t.Helper()
		if err := f.mutate(id, func(c *Campaign) error { p := c.rec(i); p.State, p.LedgerID = Sent, "led_1"; return nil }, nil); err != nil {
			t.Fatal(err)
		}
	}
	small, big := mk(10), mk(2000)
	for _, c := range []*Campaign{small, big} {
		if err := f.mutate(c.ID, func(*Campaign) error { return nil }, c); err != nil {
			t.Fatal(err)
		}
		send(c.ID, 1)
	}
	if a, b := journal(small.ID), journal(big.ID); a == 0 || a != b {
		t.Fatalf("one send appended %d bytes to a 10-person campaign and %d to a 2,000-person one", a, b)
	}
	snap := filepath.Join(dir, big.ID+".json")
	before, _ := os.Stat(snap)
	for i := 2; i < 400; i++ {
		send(big.ID, i)
	}
	if after, _ := os.Stat(snap); !os.SameFile(before, after) {
		t.Fatal("the snapshot was rewritten before a quarter of the list changed")
	}
	// A fresh reader (another process) replays the lines.
	if got, err := (files{dir: dir, cache: &fileCache{}}).load(big.ID); err != nil || got.Recipients[399].State != Sent || got.Recipients[400].State != Queued {
		t.Fatalf("replayed: %v", err)
	}
	// A torn last line (a kill mid-write) is ignored, then cut by the next writer.
	jf, err := os.OpenFile(filepath.Join(dir, big.ID+".journal"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = jf.WriteString(`{"s":99999,"i":500,"r":{"e164":"+1","st`)
	jf.Close()
	if got, err := (files{dir: dir, cache: &fileCache{}}).load(big.ID); err != nil || got.Recipients[500].State != Queued {
		t.Fatalf("torn line: %v", err)
	}
	send(big.ID, 400)
	if got, err := (files{dir: dir, cache: &fileCache{}}).load(big.ID); err != nil || got.Recipients[400].State != Sent {
		t.Fatalf("after the torn line was cut: %v", err)
	}
	// The 500th line since the snapshot compacts: a new snapshot, an empty journal.
	for i := 401; i < 502; i++ {
		send(big.ID, i)
	}
	if after, _ := os.Stat(snap); os.SameFile(before, after) || journal(big.ID) >= 100*int64(len("{}")) {
		t.Fatalf("no compaction after a quarter of the list (journal %d bytes)", journal(big.ID))
	}
	// A crash between the snapshot and emptying the journal: the old lines are skipped.
	old, err := os.ReadFile(filepath.Join(dir, small.ID+".journal"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.mutate(small.ID, func(c *Campaign) error { c.rec(1).State = Failed; c.Status = Completed; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if journal(small.ID) != 0 {
		t.Fatal("an ended campaign was not compacted")
	}
	if err := os.WriteFile(filepath.Join(dir, small.ID+".journal"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := (files{dir: dir, cache: &fileCache{}}).load(small.ID); err != nil || got.Recipients[1].State != Failed || got.Status != Completed {
		t.Fatalf("a stale journal was replayed onto a newer snapshot: %v %v", got.Recipients[1].State, err)
	}
}

// TestNextAndNextSendAt: the earliest due recipient goes first (list order on ties), no
// sooner than one interval after the last send or before a hold ends.
func TestNextAndNextSendAt(t *testing.T) {
	t0 := time.Date(2026, 6, 16, 20, 0, 0, 0, time.UTC)
	c := &Campaign{Status: Running, PerMinute: 2, Recipients: []Recipient{
		{State: Sent}, {State: Queued, NotBefore: t0.Add(time.Hour)}, {State: Queued}, {State: Queued},
	}}
	if i := c.next(); i != 2 {
		t.Fatalf("next = %d, want 2", i)
	}
	c.LastSendAt = t0
	if due := c.NextSendAt(); !due.Equal(t0.Add(30 * time.Second)) {
		t.Fatalf("due %v", due)
	}
	c.HoldUntil = t0.Add(5 * time.Minute)
	if due := c.NextSendAt(); !due.Equal(c.HoldUntil) {
		t.Fatalf("due %v, want the hold's end", due)
	}
	c.Status = Paused
	if !c.NextSendAt().IsZero() {
		t.Fatal("a paused campaign has a next send")
	}
}

// TestJournalTwoProcesses: one process compacts while another holds an older copy; the
// other's next read and write see every change and lose none.
func TestJournalTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	a, b := files{dir: dir, cache: &fileCache{}}, files{dir: dir, cache: &fileCache{}}
	c := &Campaign{ID: NewID(), Status: Running, Recipients: make([]Recipient, 100)}
	for i := range c.Recipients {
		c.Recipients[i] = Recipient{E164: "+16502530001", State: Queued}
	}
	if err := a.mutate(c.ID, func(*Campaign) error { return nil }, c); err != nil {
		t.Fatal(err)
	}
	if _, err := b.load(c.ID); err != nil { // b caches the first snapshot
		t.Fatal(err)
	}
	for i := range 70 { // a compacts at 64 lines
		if err := a.mutate(c.ID, func(c *Campaign) error { c.rec(i).State = Sent; return nil }, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.mutate(c.ID, func(c *Campaign) error {
		if c.Recipients[69].State != Sent {
			return errors.New("b writes on a stale copy")
		}
		c.rec(70).State = Skipped
		c.Status = Paused
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := a.load(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := got.Counts(time.Time{})
	if n.Sent != 70 || n.Skipped != 1 || got.Status != Paused {
		t.Fatalf("after two writers: %+v, %s", n, got.Status)
	}
}

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

// TestFilesRoundTripAndDamage: a campaign file round-trips; another writer's save is read
// afresh (not the cached copy); a damaged file is an error naming the file, never a panic;
// ids that are not campaign ids name no file.
func TestFilesRoundTripAndDamage(t *testing.T) {
	dir := t.TempDir()
	f := files{dir: dir, cache: &fileCache{}}
	c := &Campaign{ID: NewID(), Name: "n", Status: Running, CreatedAt: time.Unix(1, 0).UTC(), Recipients: []Recipient{{E164: "+16502530001", State: Queued}}}
	if err := f.save(c); err != nil {
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
	c.Status = Paused
	if err := other.save(c); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.load(c.ID); got.Status != Paused {
		t.Fatalf("another writer's save was not seen: %s", got.Status)
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

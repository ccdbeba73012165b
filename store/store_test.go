package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	bolt "go.etcd.io/bbolt"

	"github.com/agentphone-mcp/agentphone-mcp/store/filelock"
)

var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

func openTest(t testing.TB, dir string, clk clockwork.Clock) *Store {
	t.Helper()
	s, err := Open(dir, Options{Clock: clk, LockTimeout: 50 * time.Millisecond, MaxInbound: 5})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestOpenModeAndShare(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, clockwork.NewFakeClockAt(t0))
	defer s.Close()
	for _, name := range []string{FileName, LockFileName} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, fi.Mode().Perm())
		}
	}
	// A second Store on the same dir (as a second process would) opens and
	// sees the first one's writes at once.
	s2, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer s2.Close()
	ctx := context.Background()
	must(t, s.AddOptOut(ctx, "+15550000001", "operator", t0))
	if o, err := s2.IsOptedOut(ctx, "+15550000001"); !o || err != nil {
		t.Errorf("second store IsOptedOut = %v, %v; want true", o, err)
	}
	if _, err := Open("", Options{}); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

func TestClosed(t *testing.T) {
	s := openTest(t, t.TempDir(), clockwork.NewFakeClockAt(t0))
	must(t, s.Close())
	must(t, s.Close()) // idempotent
	if err := s.AddEvent(context.Background(), "k", t0, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("AddEvent after Close err = %v, want ErrClosed", err)
	}
	if _, err := s.IsOptedOut(context.Background(), "+1"); !errors.Is(err, ErrClosed) {
		t.Errorf("IsOptedOut after Close err = %v, want ErrClosed", err)
	}
}

// TestInUse covers the two ways the state can stay locked: another process
// stuck inside a transaction (holding state.lock), and an older
// agentphone-mcp holding state.db for its lifetime.
func TestInUse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{LockTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// A separate open file description on state.lock (flock is per description).
	lf, err := os.OpenFile(filepath.Join(dir, LockFileName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	must(t, filelock.Lock(ctx, lf, true, 0))
	if err := s.AddEvent(ctx, "k", t0, 1); !errors.Is(err, ErrInUse) {
		t.Errorf("AddEvent under a foreign exclusive lock: err = %v, want ErrInUse", err)
	}
	if _, err := s.IsOptedOut(ctx, "+15550000001"); !errors.Is(err, ErrInUse) {
		t.Errorf("IsOptedOut under a foreign exclusive lock: err = %v, want ErrInUse", err)
	}
	must(t, filelock.Unlock(lf))
	// A foreign shared lock (another reader) blocks writers but not readers.
	must(t, filelock.Lock(ctx, lf, false, 0))
	if _, err := s.IsOptedOut(ctx, "+15550000001"); err != nil {
		t.Errorf("IsOptedOut beside a foreign reader: %v", err)
	}
	if err := s.AddEvent(ctx, "k", t0, 1); !errors.Is(err, ErrInUse) {
		t.Errorf("AddEvent beside a foreign reader: err = %v, want ErrInUse", err)
	}
	must(t, filelock.Unlock(lf))
	must(t, s.AddEvent(ctx, "k", t0, 1))

	// An old-style process holding state.db itself.
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvent(ctx, "k", t0, 1); !errors.Is(err, ErrInUse) {
		t.Errorf("AddEvent beside a lifetime holder: err = %v, want ErrInUse", err)
	}
	must(t, db.Close())
	if n, err := s.SumSince(ctx, "k", t0); n != 1 || err != nil {
		t.Errorf("SumSince = %d, %v; want 1 (the failed adds must not count)", n, err)
	}
}

func TestEventsSlidingWindowAndPrune(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), clockwork.NewFakeClockAt(t0))
	defer s.Close()
	for i, w := range []int{1, 2, 3} {
		if err := s.AddEvent(ctx, "k", t0.Add(time.Duration(i)*time.Minute), w); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		since time.Time
		want  int
	}{
		{t0.Add(-time.Hour), 6},
		{t0, 6},
		{t0.Add(time.Nanosecond), 5},
		{t0.Add(time.Minute), 5},
		{t0.Add(2 * time.Minute), 3},
		{t0.Add(3 * time.Minute), 0},
	}
	for _, tt := range tests {
		got, err := s.SumSince(ctx, "k", tt.since)
		if err != nil || got != tt.want {
			t.Errorf("SumSince(%v) = %d, %v; want %d", tt.since.Sub(t0), got, err, tt.want)
		}
	}
	if got, _ := s.SumSince(ctx, "other", t0); got != 0 {
		t.Errorf("unknown key sum = %d", got)
	}
	// An event beyond the retention prunes the old ones.
	if err := s.AddEvent(ctx, "k", t0.Add(DefaultEventRetention+3*time.Minute), 1); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SumSince(ctx, "k", time.Time{}); got != 1 {
		t.Errorf("after prune sum = %d, want 1", got)
	}
	for _, bad := range []struct {
		key string
		w   int
	}{{"", 1}, {"k", 0}, {"k", -1}, {string(make([]byte, 600)), 1}} {
		if err := s.AddEvent(ctx, bad.key, t0, bad.w); err == nil {
			t.Errorf("AddEvent(%q,%d) succeeded", bad.key[:min(len(bad.key), 5)], bad.w)
		}
	}
}

func TestPersistenceAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := clockwork.NewFakeClockAt(t0)
	s := openTest(t, dir, clk)
	must(t, s.AddEvent(ctx, "sms:+1", t0, 1))
	must(t, s.MarkKnown(ctx, "+15551234567", t0))
	must(t, s.AddOptOut(ctx, "+15557654321", "inbound STOP", t0))
	if fresh, err := s.UseNonce(ctx, "n1", t0.Add(5*time.Minute)); !fresh || err != nil {
		t.Fatalf("UseNonce = %v, %v", fresh, err)
	}
	must(t, s.AppendInbound(ctx, "sms", "m1", []byte(`{"a":1}`), t0))
	must(t, s.Close())

	s = openTest(t, dir, clk)
	defer s.Close()
	if n, _ := s.SumSince(ctx, "sms:+1", t0.Add(-time.Hour)); n != 1 {
		t.Errorf("events after reopen = %d", n)
	}
	if k, at, _ := s.IsKnown(ctx, "+15551234567"); !k || !at.Equal(t0) {
		t.Errorf("known after reopen = %v %v", k, at)
	}
	if o, _ := s.IsOptedOut(ctx, "+15557654321"); !o {
		t.Error("opt-out lost on reopen")
	}
	if fresh, _ := s.UseNonce(ctx, "n1", t0.Add(5*time.Minute)); fresh {
		t.Error("nonce reusable after reopen")
	}
	if in, _ := s.RecentInbound(ctx, 10); len(in) != 1 || in[0].ID != "m1" {
		t.Errorf("inbound after reopen = %+v", in)
	}
}

func TestKnownRecipients(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), clockwork.NewFakeClockAt(t0))
	defer s.Close()
	if k, _, err := s.IsKnown(ctx, "+15550000001"); k || err != nil {
		t.Fatalf("IsKnown before = %v, %v", k, err)
	}
	must(t, s.MarkKnown(ctx, "+15550000001", t0))
	must(t, s.MarkKnown(ctx, "+15550000001", t0.Add(time.Hour)))
	if k, at, _ := s.IsKnown(ctx, "+15550000001"); !k || !at.Equal(t0) {
		t.Errorf("IsKnown = %v %v; want first time kept", k, at)
	}
	if _, _, err := s.IsKnown(ctx, ""); err == nil {
		t.Error("IsKnown(\"\") succeeded")
	}
}

func TestOptOuts(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), clockwork.NewFakeClockAt(t0))
	defer s.Close()
	must(t, s.AddOptOut(ctx, "+15550000002", "operator", t0))
	must(t, s.AddOptOut(ctx, "+15550000001", "inbound STOP", t0))
	must(t, s.AddOptOut(ctx, "+15550000001", "again", t0.Add(time.Hour)))
	list, err := s.ListOptOuts(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if list[0].E164 != "+15550000001" || list[0].Reason != "inbound STOP" || !list[0].At.Equal(t0) {
		t.Errorf("first = %+v", list[0])
	}
	if ok, _ := s.RemoveOptOut(ctx, "+15550000001"); !ok {
		t.Error("Remove existing = false")
	}
	if ok, _ := s.RemoveOptOut(ctx, "+15550000001"); ok {
		t.Error("Remove missing = true")
	}
	if o, _ := s.IsOptedOut(ctx, "+15550000001"); o {
		t.Error("still opted out after remove")
	}
}

func TestNoncesExpireAndPrune(t *testing.T) {
	ctx := context.Background()
	clk := clockwork.NewFakeClockAt(t0)
	s := openTest(t, t.TempDir(), clk)
	defer s.Close()
	if fresh, _ := s.UseNonce(ctx, "a", t0.Add(5*time.Minute)); !fresh {
		t.Fatal("first use not fresh")
	}
	if fresh, _ := s.UseNonce(ctx, "a", t0.Add(5*time.Minute)); fresh {
		t.Fatal("replay fresh")
	}
	clk.Advance(6 * time.Minute) // past expiry and past the prune interval
	if fresh, _ := s.UseNonce(ctx, "b", clk.Now().Add(5*time.Minute)); !fresh {
		t.Fatal("b not fresh")
	}
	n := countBucket(t, s, bucketNonces)
	if n != 1 {
		t.Errorf("nonces after prune = %d, want 1", n)
	}
}

func TestSeenDelivery(t *testing.T) {
	ctx := context.Background()
	clk := clockwork.NewFakeClockAt(t0)
	s := openTest(t, t.TempDir(), clk)
	defer s.Close()
	steps := []struct {
		advance time.Duration
		id      string
		want    bool
	}{
		{0, "wh_1", false},
		{0, "wh_1", true},
		{0, "wh_2", false},
		{DefaultDeliveryTTL - time.Second, "wh_1", true},
		{2 * time.Second, "wh_1", false},
		{0, "wh_1", true},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		got, err := s.SeenDelivery(ctx, st.id)
		if err != nil || got != st.want {
			t.Errorf("step %d SeenDelivery(%s) = %v, %v; want %v", i, st.id, got, err, st.want)
		}
	}
}

func TestInboundCapAndOrder(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), clockwork.NewFakeClockAt(t0))
	defer s.Close()
	for i := range 8 {
		must(t, s.AppendInbound(ctx, "sms", fmt.Sprint("m", i), []byte("{}"), t0.Add(time.Duration(i)*time.Second)))
	}
	all, err := s.RecentInbound(ctx, 100)
	if err != nil || len(all) != 5 {
		t.Fatalf("RecentInbound = %d, %v; want 5 (MaxInbound)", len(all), err)
	}
	if all[0].ID != "m3" || all[4].ID != "m7" {
		t.Errorf("order = %s..%s, want m3..m7", all[0].ID, all[4].ID)
	}
	two, _ := s.RecentInbound(ctx, 2)
	if len(two) != 2 || two[0].ID != "m6" || two[1].ID != "m7" {
		t.Errorf("RecentInbound(2) = %+v", two)
	}
	if none, _ := s.RecentInbound(ctx, 0); none != nil {
		t.Errorf("RecentInbound(0) = %v", none)
	}
	if err := s.AppendInbound(ctx, "", "x", nil, t0); err == nil {
		t.Error("empty kind accepted")
	}
}

func TestContextCancelled(t *testing.T) {
	s := openTest(t, t.TempDir(), clockwork.NewFakeClockAt(t0))
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.AddEvent(ctx, "k", t0, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("AddEvent err = %v", err)
	}
	if _, err := s.IsOptedOut(ctx, "+1"); !errors.Is(err, context.Canceled) {
		t.Errorf("IsOptedOut err = %v", err)
	}
}

func countBucket(t *testing.T, s *Store, name []byte) int {
	t.Helper()
	n := 0
	if err := s.view(context.Background(), "count", func(tx *bolt.Tx) error {
		return tx.Bucket(name).ForEach(func(_, _ []byte) error { n++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

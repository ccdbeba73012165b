package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestSweepDeletesStaleKeys: keys written once (a duplicate-SMS key per message) are
// deleted by the hourly sweep once their events leave the retention window.
func TestSweepDeletesStaleKeys(t *testing.T) {
	ctx := context.Background()
	clk := clockwork.NewFakeClockAt(time.Date(2026, 6, 16, 12, 0, 0, 0, time.UTC))
	s, err := Open(t.TempDir(), Options{Clock: clk, EventRetention: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 50 {
		if err := s.AddEvent(ctx, fmt.Sprintf("sms_dup:+1415555%04d", i), clk.Now(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.EventKeys(ctx); n != 50 {
		t.Fatalf("%d keys, want 50", n)
	}
	clk.Advance(3 * time.Hour)
	if err := s.AddEvent(ctx, "calls", clk.Now(), 1); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.EventKeys(ctx); n != 1 {
		t.Fatalf("after the sweep %d keys remain, want 1 (the fresh one)", n)
	}
	if got, _ := s.SumSince(ctx, "calls", clk.Now().Add(-time.Minute)); got != 1 {
		t.Fatalf("the fresh key lost its event: %d", got)
	}
}

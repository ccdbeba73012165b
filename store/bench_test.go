package store

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// BenchmarkView is one read transaction with the reads of one SMS decision
// (opt-out, known, four window sums): lock, open, read, close, unlock.
func BenchmarkView(b *testing.B) {
	ctx := context.Background()
	s := openTest(b, b.TempDir(), clockwork.NewFakeClockAt(t0))
	defer s.Close()
	for i := range 20 {
		if err := s.AddEvent(ctx, "sms:+15550000001", t0.Add(time.Duration(i)*time.Minute), 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		err := s.View(ctx, func(tx *Tx) error {
			if _, err := tx.IsOptedOut("+15550000001"); err != nil {
				return err
			}
			if _, _, err := tx.IsKnown("+15550000001"); err != nil {
				return err
			}
			for range 4 {
				if _, err := tx.SumSince("sms:+15550000001", t0); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/view")
}

// BenchmarkUpdate is one write transaction recording an SMS (three events and
// a known mark), including the fsync.
func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	s := openTest(b, b.TempDir(), clockwork.NewFakeClockAt(t0))
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		err := s.Update(ctx, func(tx *Tx) error {
			for _, k := range []string{"sms:+15550000001", "sms_segments", "dup"} {
				if err := tx.AddEvent(k, t0, 1); err != nil {
					return err
				}
			}
			return tx.MarkKnown("+15550000001", t0)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

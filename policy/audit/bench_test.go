package audit

import (
	"path/filepath"
	"testing"

	"github.com/jonboulle/clockwork"
)

// BenchmarkAppend measures one keyed, fsynced append with its anchor update.
func BenchmarkAppend(b *testing.B) {
	path := filepath.Join(b.TempDir(), DefaultFileName)
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	e := Entry{Tool: "send_sms", Decision: "allow", Target: "+16502530001", Segments: 1}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := l.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures Verify of a 1000-line keyed log against its anchor.
func BenchmarkVerify(b *testing.B) {
	path := filepath.Join(b.TempDir(), DefaultFileName)
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		b.Fatal(err)
	}
	for range 1000 {
		if _, _, err := l.Append(Entry{Tool: "send_sms", Decision: "allow", Target: "+16502530001"}); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	b.ResetTimer()
	for b.Loop() {
		if n, err := Verify(path); n != 1000 || err != nil {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkAppendConcurrent measures appends from 50 goroutines at once (50 sessions
// sending): group commit writes what queued meanwhile with one fsync and one anchor.
func BenchmarkAppendConcurrent(b *testing.B) {
	path := filepath.Join(b.TempDir(), DefaultFileName)
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	e := Entry{Tool: "send_sms", Decision: "allow", Target: "+16502530001", Segments: 1}
	b.SetParallelism(25) // x GOMAXPROCS goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := l.Append(e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if n, err := Verify(path); err != nil || n != b.N {
		b.Fatalf("Verify = %d, %v; want %d lines", n, err, b.N)
	}
}

package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jonboulle/clockwork"
)

// TestTwoLogsOneChain opens the same file twice (as two processes would) and
// appends from both at once: the result must be one unbroken chain.
func TestTwoLogsOneChain(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), DefaultFileName)
	clk := clockwork.NewFakeClockAt(t0)
	logs := make([]*Log, 2)
	for i := range logs {
		l, err := Open(path, clk)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		logs[i] = l
	}
	const workers, n = 3, 25 // per log
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*n)
	for li, l := range logs {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n {
					if _, _, err := l.Append(Entry{Tool: fmt.Sprintf("log%d-w%d-%d", li, w, i), Decision: "allow"}); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := Verify(path)
	if err != nil || got != 2*workers*n {
		t.Fatalf("Verify = %d, %v; want %d lines in one chain", got, err, 2*workers*n)
	}
	// Each log continues the shared chain after the other's appends.
	e0, _, err := logs[0].Append(Entry{Tool: "last0"})
	if err != nil {
		t.Fatal(err)
	}
	e1, _, err := logs[1].Append(Entry{Tool: "last1"})
	if err != nil {
		t.Fatal(err)
	}
	if e0.Seq != 2*workers*n+1 || e1.Seq != e0.Seq+1 {
		t.Errorf("seqs = %d, %d; want %d, %d", e0.Seq, e1.Seq, 2*workers*n+1, 2*workers*n+2)
	}
	if got, err := Verify(path); err != nil || got != 2*workers*n+2 {
		t.Errorf("Verify after = %d, %v", got, err)
	}
}

// TestAppendRefusesForeignDamage: when another writer leaves a damaged last
// line, Append refuses instead of chaining onto it.
func TestAppendRefusesForeignDamage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), DefaultFileName)
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, _, err := l.Append(Entry{Tool: "a"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"seq":2,"half a line` + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, _, err = l.Append(Entry{Tool: "b"})
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Append after foreign damage err = %v, want a damaged-line error", err)
	}
}

package store

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// cappedAdd is a read-modify-write that is only correct when transactions
// exclude each other: add one event under key unless limit are already there.
func cappedAdd(ctx context.Context, s *Store, key string, limit int) (added bool, err error) {
	err = s.Update(ctx, func(tx *Tx) error {
		n, err := tx.SumSince(key, time.Time{})
		if err != nil || n >= limit {
			return err
		}
		added = true
		return tx.AddEvent(key, t0, 1)
	})
	return added, err
}

// hammer runs the shared workload on s: n plain events, n capped adds, a
// known recipient and an opt-out, and an attempt on every shared nonce.
// It returns how many capped adds and nonces it won.
func hammer(ctx context.Context, s *Store, tag string, n, limit int, nonces []string) (capped, fresh int, err error) {
	for i := range n {
		if err := s.AddEvent(ctx, "all", t0, 1); err != nil {
			return capped, fresh, err
		}
		ok, err := cappedAdd(ctx, s, "capped", limit)
		if err != nil {
			return capped, fresh, err
		}
		if ok {
			capped++
		}
		if i == 0 {
			if err := s.MarkKnown(ctx, "+1555000"+tag, t0); err != nil {
				return capped, fresh, err
			}
			if err := s.AddOptOut(ctx, "+1666000"+tag, "test", t0); err != nil {
				return capped, fresh, err
			}
		}
	}
	for _, nonce := range nonces {
		ok, err := s.UseNonce(ctx, nonce, t0.Add(time.Hour))
		if err != nil {
			return capped, fresh, err
		}
		if ok {
			fresh++
		}
	}
	return capped, fresh, nil
}

// TestTwoStoresConcurrent opens the same dir twice (as two processes would:
// separate open file descriptions, so the flock really excludes) and drives
// both from several goroutines at once.
func TestTwoStoresConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := clockwork.NewFakeClockAt(t0)
	opts := Options{Clock: clk, LockTimeout: 30 * time.Second}
	stores := make([]*Store, 2)
	for i := range stores {
		s, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	const (
		workers = 4 // per store
		n       = 15
		limit   = 37
	)
	nonces := []string{"n1", "n2", "n3"}
	var capped, fresh atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for si, s := range stores {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, f, err := hammer(ctx, s, fmt.Sprint(si, w), n, limit, nonces)
				capped.Add(int64(c))
				fresh.Add(int64(f))
				if err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkShared(t, stores[1], 2*workers, n, limit, int(capped.Load()), int(fresh.Load()), len(nonces))
	for si := range stores {
		for w := range workers {
			tag := fmt.Sprint(si, w)
			if k, _, err := stores[1-si].IsKnown(ctx, "+1555000"+tag); !k || err != nil {
				t.Errorf("recipient %s marked via store %d not known via the other: %v, %v", tag, si, k, err)
			}
			if o, err := stores[1-si].IsOptedOut(ctx, "+1666000"+tag); !o || err != nil {
				t.Errorf("opt-out %s added via store %d not seen via the other: %v, %v", tag, si, o, err)
			}
		}
	}
}

// checkShared checks the totals after `parties` ran hammer.
func checkShared(t *testing.T, s *Store, parties, n, limit, capped, fresh, nonces int) {
	t.Helper()
	ctx := context.Background()
	if got, err := s.SumSince(ctx, "all", time.Time{}); got != parties*n || err != nil {
		t.Errorf("plain events = %d, %v; want %d (a write was lost)", got, err, parties*n)
	}
	if got, err := s.SumSince(ctx, "capped", time.Time{}); got != limit || err != nil {
		t.Errorf("capped events = %d, %v; want exactly %d (transactions overlapped)", got, err, limit)
	}
	if capped != limit {
		t.Errorf("capped adds won = %d, want %d", capped, limit)
	}
	if fresh != nonces {
		t.Errorf("fresh nonce uses = %d, want %d (each nonce exactly once)", fresh, nonces)
	}
}

// helperEnv names the state dir for TestHelperProcess in a child process.
const helperEnv = "AGENTPHONE_STORE_TEST_HELPER_DIR"

// TestSubprocessesShareDir runs the workload in two child processes (this
// test binary re-executed) and this process at once, on one state dir.
func TestSubprocessesShareDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const (
		children = 2
		n        = 20
		limit    = 45
	)
	s, err := Open(dir, Options{Clock: clockwork.NewFakeClockAt(t0), LockTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cmds := make([]*exec.Cmd, children)
	outs := make([]*lockedBuffer, children)
	for i := range cmds {
		outs[i] = &lockedBuffer{}
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir, "HELPER_TAG=c"+strconv.Itoa(i), "HELPER_N="+strconv.Itoa(n), "HELPER_LIMIT="+strconv.Itoa(limit))
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	capped, fresh, herr := hammer(ctx, s, "parent", n, limit, []string{"n1", "n2"})
	if herr != nil {
		t.Error(herr)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, outs[i].String())
		}
		var c, f int
		if _, err := fmt.Sscanf(lastLine(outs[i].String()), "RESULT capped=%d fresh=%d", &c, &f); err != nil {
			t.Fatalf("child %d output: %v\n%s", i, err, outs[i].String())
		}
		capped += c
		fresh += f
	}
	checkShared(t, s, children+1, n, limit, capped, fresh, 2)
	if k, _, _ := s.IsKnown(ctx, "+1555000c1"); !k {
		t.Error("recipient marked by a child is not known to the parent")
	}
}

// TestHelperProcess is the child side of TestSubprocessesShareDir; it does
// nothing unless started by it.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv("HELPER_N"))
	limit, _ := strconv.Atoi(os.Getenv("HELPER_LIMIT"))
	s, err := Open(dir, Options{Clock: clockwork.NewFakeClockAt(t0), LockTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, f, err := hammer(context.Background(), s, os.Getenv("HELPER_TAG"), n, limit, []string{"n1", "n2"})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\nRESULT capped=%d fresh=%d\n", c, f)
}

// lockedBuffer collects a child's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// lastLine returns the line starting with RESULT, or "".
func lastLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "RESULT") {
			return line
		}
	}
	return ""
}

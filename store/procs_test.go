package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// helperEnv names the state dir a child process works on; its absence makes
// TestHelperProcess a no-op in a normal run.
const helperEnv = "STORE_HELPER_DIR"

// smsQuery is what one SMS decision reads: the recipient's opt-out and known marks and the
// five windows its caps and duplicate check sum.
func smsQuery(to string, now time.Time) store.FactQuery {
	return store.FactQuery{
		OptOuts: []store.OptOutQuery{{E164: to, Channel: store.ChannelSMS}},
		Known:   []string{to},
		Windows: []store.Window{
			{Key: "sms:" + to, Since: now.Add(-time.Hour)}, {Key: "sms:" + to, Since: now.Add(-24 * time.Hour)},
			{Key: "sms_segments", Since: now.Add(-time.Hour)}, {Key: "new_recipients", Since: now.Add(-24 * time.Hour)},
			{Key: "sms_dup:" + to + ":abc", Since: now.Add(-10 * time.Minute)},
		},
	}
}

var errCap = errors.New("cap reached")

// reserveSMS reserves one SMS to `to` if fewer than limit are counted for it (limit 0: no
// cap), and settles it as sent when settle is set.
func reserveSMS(ctx context.Context, s store.Store, to string, limit int, settle bool, now time.Time) (bool, error) {
	e, err := s.Reserve(ctx, smsQuery(to, now), func(f store.Facts) (store.Entry, error) {
		if f.OptedOut[to] || (limit > 0 && f.Sums[0]+1 > limit) {
			return store.Entry{}, errCap
		}
		return store.Entry{Kind: "sms", Tool: "send_sms", Recipients: []string{to}, MarkKnown: []string{to}, CreatedAt: now,
			Events: []store.Event{{Key: "sms:" + to, At: now, Weight: 1}, {Key: "sms_segments", At: now, Weight: 1}, {Key: "sms_dup:" + to + ":abc", At: now, Weight: 1}}}, nil
	})
	if errors.Is(err, errCap) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if settle {
		if _, err := s.Settle(ctx, e.ID, store.Settlement{State: store.Sent, APIID: "msg_" + e.ID}); err != nil {
			return true, err
		}
	}
	return true, nil
}

// child starts this test binary as a helper process on dir.
func child(t testing.TB, dir, mode string, extra ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.bench=^$")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + dir, "HELPER_MODE=" + mode}, extra...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// TestProcessesHoldTheCap: four processes (this one and three children) reserve SMS to one
// recipient as fast as they can against a cap of 9: exactly 9 reservations pass in all.
func TestProcessesHoldTheCap(t *testing.T) {
	const limit, tries, children = 9, 12, 3
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{LockTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cmds := make([]*exec.Cmd, children)
	outs := make([]*lockedBuffer, children)
	for i := range cmds {
		cmds[i], outs[i] = child(t, dir, "cap", "HELPER_TRIES="+strconv.Itoa(tries), "HELPER_LIMIT="+strconv.Itoa(limit))
	}
	won := 0
	for range tries {
		ok, err := reserveSMS(context.Background(), s, "+16502530000", limit, true, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			won++
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, outs[i])
		}
		var n int
		if _, err := fmt.Sscanf(resultLine(outs[i].String()), "RESULT won=%d", &n); err != nil {
			t.Fatalf("child %d output: %v\n%s", i, err, outs[i])
		}
		won += n
	}
	if won != limit {
		t.Errorf("%d reservations passed a cap of %d across 4 processes", won, limit)
	}
	if got := sum(t, s, "sms:+16502530000", time.Now().Add(-time.Hour)); got != limit {
		t.Errorf("the recipient counts %d, want %d", got, limit)
	}
}

// TestKilledOwnerIsRecovered: a process reserves and is killed with SIGKILL before it can
// settle; the next process recovers its pending entries as unknown, and they keep counting.
func TestKilledOwnerIsRecovered(t *testing.T) {
	dir := t.TempDir()
	cmd, out := child(t, dir, "hang")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "RESERVED") {
		if time.Now().After(deadline) {
			t.Fatalf("the child never reserved:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s := openTest(t, dir, clockwork.NewRealClock())
	if got, err := s.RecoverAbandoned(context.Background()); err != nil || len(got) != 0 {
		t.Fatalf("recovered %+v, %v while the owner lives", got, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	got, err := s.RecoverAbandoned(context.Background())
	if err != nil || len(got) != 3 {
		t.Fatalf("recovered %d entries (%v), want the killed child's 3", len(got), err)
	}
	for _, e := range got {
		if e.State != store.Unknown || e.Note != store.RecoveredNote {
			t.Errorf("recovered entry %+v", e)
		}
	}
	if n := sum(t, s, "sms:+16502530000", time.Now().Add(-time.Hour)); n != 3 {
		t.Errorf("after recovery the count is %d, want 3", n)
	}
	if live, _ := store.LiveOwners(dir); len(live) != 1 || live[0] != s.Owner() {
		t.Errorf("LiveOwners = %v; the dead owner's lock file should be gone", live)
	}
}

// reserveGlobal reserves one SMS counted in the caller's own window and the shared
// global/sms window if fewer than limit are counted in the global one.
func reserveGlobal(ctx context.Context, s store.Store, limit int, now time.Time) (bool, error) {
	q := store.FactQuery{Windows: []store.Window{{Key: "global/sms", Since: now.Add(-24 * time.Hour)}, {Key: "sms_segments", Since: now.Add(-time.Hour)}}}
	_, err := s.Reserve(ctx, q, func(f store.Facts) (store.Entry, error) {
		if f.Sums[0]+1 > limit {
			return store.Entry{}, errCap
		}
		return store.Entry{Kind: "sms", CreatedAt: now, Events: []store.Event{{Key: "global/sms", At: now, Weight: 1}, {Key: "sms_segments", At: now, Weight: 1}}}, nil
	})
	if errors.Is(err, errCap) {
		return false, nil
	}
	return err == nil, err
}

// TestProcessesHoldTheGlobalCapAcrossAccounts: four processes, each serving another
// account on one state dir, reserve against one global cap of 7: exactly 7 pass in all, and
// each account's own window counts only its own.
func TestProcessesHoldTheGlobalCapAcrossAccounts(t *testing.T) {
	const limit, tries, children = 7, 6, 3
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{LockTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mine, err := s.ForAccount("acct-parent")
	if err != nil {
		t.Fatal(err)
	}
	cmds := make([]*exec.Cmd, children)
	outs := make([]*lockedBuffer, children)
	for i := range cmds {
		cmds[i], outs[i] = child(t, dir, "globalcap", "HELPER_ACCOUNT=acct-child"+strconv.Itoa(i), "HELPER_TRIES="+strconv.Itoa(tries), "HELPER_LIMIT="+strconv.Itoa(limit))
	}
	won := 0
	for range tries {
		ok, err := reserveGlobal(context.Background(), mine, limit, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			won++
		}
	}
	total := won
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, outs[i])
		}
		var n int
		if _, err := fmt.Sscanf(resultLine(outs[i].String()), "RESULT won=%d", &n); err != nil {
			t.Fatalf("child %d output: %v\n%s", i, err, outs[i])
		}
		v, err := s.ForAccount("acct-child" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if got := sum(t, v, "sms_segments", time.Now().Add(-time.Hour)); got != n {
			t.Errorf("child %d's account counts %d in its own window, it won %d", i, got, n)
		}
		total += n
	}
	if total != limit {
		t.Errorf("%d reservations passed a global cap of %d across 4 processes and accounts", total, limit)
	}
	if got := sum(t, s, "global/sms", time.Now().Add(-time.Hour)); got != limit {
		t.Errorf("the global window counts %d, want %d", got, limit)
	}
	if got := sum(t, mine, "sms_segments", time.Now().Add(-time.Hour)); got != won {
		t.Errorf("the parent's account counts %d, it won %d", got, won)
	}
}

// TestKilledOwnerInAccountIsRecovered: a process serving an account is killed mid-send;
// the next process finds the account (AccountIDs) and recovers its entry in that account.
func TestKilledOwnerInAccountIsRecovered(t *testing.T) {
	dir := t.TempDir()
	cmd, out := child(t, dir, "hang-account", "HELPER_ACCOUNT=acct-killed")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "RESERVED") {
		if time.Now().After(deadline) {
			t.Fatalf("the child never reserved:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	s := openTest(t, dir, clockwork.NewRealClock())
	recovered := map[string]int{}
	err := store.EachAccount(context.Background(), s, func(account string, v store.Store) error {
		got, err := v.RecoverAbandoned(context.Background())
		for _, e := range got {
			if e.State != store.Unknown {
				t.Errorf("recovered entry %+v", e)
			}
		}
		recovered[account] += len(got)
		return err
	})
	if err != nil || len(recovered) != 2 || recovered[""] != 0 || recovered["acct-killed"] != 1 {
		t.Fatalf("recovered %v, %v; want the killed process's one entry in its account", recovered, err)
	}
}

// TestHelperProcess is the child side of the tests and benchmarks above; it does nothing
// unless started by them.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		return
	}
	ctx := context.Background()
	s, err := store.Open(dir, store.Options{LockTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	switch os.Getenv("HELPER_MODE") {
	case "cap":
		tries, _ := strconv.Atoi(os.Getenv("HELPER_TRIES"))
		limit, _ := strconv.Atoi(os.Getenv("HELPER_LIMIT"))
		won := 0
		for range tries {
			ok, err := reserveSMS(ctx, s, "+16502530000", limit, true, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				won++
			}
		}
		fmt.Printf("\nRESULT won=%d\n", won)
	case "globalcap":
		v, err := s.ForAccount(os.Getenv("HELPER_ACCOUNT"))
		if err != nil {
			t.Fatal(err)
		}
		tries, _ := strconv.Atoi(os.Getenv("HELPER_TRIES"))
		limit, _ := strconv.Atoi(os.Getenv("HELPER_LIMIT"))
		won := 0
		for range tries {
			ok, err := reserveGlobal(ctx, v, limit, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				won++
			}
		}
		fmt.Printf("\nRESULT won=%d\n", won)
	case "hang-account":
		v, err := s.ForAccount(os.Getenv("HELPER_ACCOUNT"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reserveSMS(ctx, v, "+16502530000", 0, false, time.Now()); err != nil {
			t.Fatal(err)
		}
		fmt.Println("RESERVED")
		time.Sleep(time.Minute) // killed long before
	case "hang":
		for range 3 {
			if _, err := reserveSMS(ctx, s, "+16502530000", 0, false, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Println("RESERVED")
		time.Sleep(time.Minute) // killed long before
	case "bench":
		n, _ := strconv.Atoi(os.Getenv("HELPER_N"))
		tag := os.Getenv("HELPER_TAG")
		<-startSignal()
		lat := make([]time.Duration, 0, n)
		for i := range n {
			start := time.Now()
			if _, err := reserveSMS(ctx, s, fmt.Sprintf("+1650%s%05d", tag, i), 0, true, time.Now()); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		w := bufio.NewWriter(os.Stdout)
		for _, d := range lat {
			fmt.Fprintf(w, "LAT %d\n", d.Nanoseconds())
		}
		_ = w.Flush()
	}
}

// startSignal is closed when the parent writes a line to the child's stdin (or at once
// when stdin is not a pipe), so that the benchmark's processes start together.
func startSignal() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(ch)
	}()
	return ch
}

// BenchmarkReserveSettle is the ledger cost of one SMS in one process: a reservation that
// reads the recipient's opt-out, known mark and five windows and writes three events, then
// the settle that marks it sent. Both are durable (bbolt fsyncs each commit).
func BenchmarkReserveSettle(b *testing.B) {
	ctx := context.Background()
	s, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		if _, err := reserveSMS(ctx, s, fmt.Sprintf("+1650253%04d", i%10000), 0, true, time.Now()); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		i++
	}
	reportLatency(b, lat, 0)
}

// BenchmarkReserveSettle4Procs runs four processes on one state dir, each reserving and
// settling b.N SMS to distinct recipients at once: the latency per send each sees, and the
// sends per second all four achieve together.
func BenchmarkReserveSettle4Procs(b *testing.B) {
	const procs = 4
	dir := b.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	_ = s.Close()
	type proc struct {
		cmd   *exec.Cmd
		out   *lockedBuffer
		start *os.File
	}
	ps := make([]proc, procs)
	for i := range ps {
		out := &lockedBuffer{}
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.bench=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir, "HELPER_MODE=bench", "HELPER_N="+strconv.Itoa(b.N), "HELPER_TAG="+strconv.Itoa(200+i))
		cmd.Stdout, cmd.Stderr = out, out
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stdin = r
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		_ = r.Close()
		ps[i] = proc{cmd, out, w}
	}
	time.Sleep(300 * time.Millisecond) // let every child open the store and wait
	b.ResetTimer()
	start := time.Now()
	for _, p := range ps {
		_, _ = p.start.WriteString("go\n")
		_ = p.start.Close()
	}
	var lat []time.Duration
	for i, p := range ps {
		if err := p.cmd.Wait(); err != nil {
			b.Fatalf("child %d: %v\n%s", i, err, p.out)
		}
		for _, line := range strings.Split(p.out.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "LAT "); ok {
				ns, _ := strconv.ParseInt(v, 10, 64)
				lat = append(lat, time.Duration(ns))
			}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) != procs*b.N {
		b.Fatalf("%d latencies from the children, want %d", len(lat), procs*b.N)
	}
	reportLatency(b, lat, float64(len(lat))/elapsed.Seconds())
}

// reportLatency reports p50 and p99 in microseconds, and sends/s when given.
func reportLatency(b *testing.B, lat []time.Duration, perSecond float64) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	if perSecond > 0 {
		b.ReportMetric(perSecond, "sends/s")
	}
	b.ReportMetric(0, "ns/op")
}

// resultLine returns the line starting with RESULT, or "".
func resultLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "RESULT") {
			return line
		}
	}
	return ""
}

// lockedBuffer collects a child's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFullDisk runs the server with its state dir on a small tmpfs, then fills the disk: a
// send is refused with nothing reaching the API and an error that says the disk is full;
// the audit log keeps no torn line (audit verify passes); once space is freed, sends work
// again. It needs mount(2) (root); where the machine does not allow it, the failing-store
// test in package tools covers the same path.
func TestFullDisk(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); TestReserveFailsClosed in package tools covers a store that fails its writes", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	f := newFakeAPI(t)
	agentID, _ := f.sender(t)
	dir := filepath.Join(mnt, "state")
	env := ledgerEnv(t, f, dir)
	p := startProc(t, env)
	mustOK(t, callTool(t, p.c, "send_sms", smsArgs(agentID, numberN(6, 1), "before the disk filled")), "send_sms")

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	before := len(f.all())
	for i := range 3 {
		r := callTool(t, p.c, "send_sms", smsArgs(agentID, numberN(6, 2+i), "while the disk is full"))
		if i == 0 && testing.Verbose() {
			t.Log(r.text)
		}
		if !r.isError || r.str("status") != "not_sent" || !strings.Contains(r.text, "disk") || !strings.Contains(r.text, "full") {
			t.Fatalf("send on a full disk: %s; want not_sent saying the disk is full", r.text)
		}
	}
	if got := len(f.all()); got != before {
		t.Fatalf("%d sends reached the API while nothing could be put on the books", got-before)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustOK(t, callTool(t, p.c, "send_sms", smsArgs(agentID, numberN(6, 9), "after space was freed")), "send_sms after freeing space")
	_ = p.c.Close()
	if out, err := runCLI(t, env, "audit", "verify"); err != nil || !strings.Contains(out, "hash chain intact") {
		t.Fatalf("audit verify after the full disk: %v\n%s", err, out)
	}
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := fh.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

// TestHeldLockFailsClosed: a sibling process that holds the state lock (stuck mid-write)
// makes sends fail closed: nothing reaches the API, and the result says what to do.
func TestHeldLockFailsClosed(t *testing.T) {
	f := newFakeAPI(t)
	agentID, _ := f.sender(t)
	dir := t.TempDir()
	p := startProc(t, ledgerEnv(t, f, dir))
	mustOK(t, callTool(t, p.c, "send_sms", smsArgs(agentID, numberN(6, 20), "first")), "send_sms")
	lock, err := os.OpenFile(filepath.Join(dir, "state.lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	// A shared hold (a stuck reader) lets the preview read but blocks the reservation; an
	// exclusive one (a stuck writer) blocks the preview too. Either way nothing is sent.
	for _, hold := range []struct {
		how    int
		status string
	}{{syscall.LOCK_SH, "not_sent"}, {syscall.LOCK_EX, "policy_error"}} {
		if err := syscall.Flock(int(lock.Fd()), hold.how); err != nil {
			t.Fatal(err)
		}
		before := len(f.all())
		r := callTool(t, p.c, "send_sms", smsArgs(agentID, numberN(6, 21), "while the lock is held"))
		if !r.isError || r.str("status") != hold.status || !strings.Contains(r.text, "stuck process") || !strings.Contains(r.text, "othing was") {
			t.Fatalf("send while a sibling holds the state lock: %s; want %s naming the stuck process", r.text, hold.status)
		}
		if len(f.all()) != before {
			t.Fatal("a send reached the API without a reservation")
		}
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_UN); err != nil {
			t.Fatal(err)
		}
	}
	mustOK(t, callTool(t, p.c, "send_sms", smsArgs(agentID, numberN(6, 21), "after the lock was released")), "send_sms")
}

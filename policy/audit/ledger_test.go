package audit

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jonboulle/clockwork"
)

// TestTornTailIsNamedRefusedAndRepaired: a write cut short leaves bytes without a newline.
// Verify names the line, Open and Append refuse to chain onto it with the way forward, and
// Repair moves exactly those bytes aside, after which the log verifies and appends again.
func TestTornTailIsNamedRefusedAndRepaired(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFileName)
	writeN(t, path, 3)
	torn := []byte(`{"ts":"2026-03-10T15:00:00Z","seq":4,"prev_hash":"ab`)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write(torn)
	f.Close()

	n, err := Verify(path)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Line != 4 || n != 3 || !strings.Contains(err.Error(), "audit repair") {
		t.Fatalf("Verify = %d, %v; want line 4 named as torn with the repair command", n, err)
	}
	rep, err := Inspect(path)
	if err != nil || rep.Torn == nil || rep.Torn.Line != 4 || rep.Torn.Bytes != int64(len(torn)) || rep.Lines != 3 {
		t.Fatalf("Inspect = %+v, %v", rep, err)
	}
	if _, err := Open(path, nil); err == nil || !strings.Contains(err.Error(), "audit repair") {
		t.Fatalf("Open on a torn log = %v; want a refusal naming audit repair", err)
	}
	fixed, err := Repair(path, t0)
	if err != nil || fixed == nil {
		t.Fatalf("Repair = %+v, %v", fixed, err)
	}
	moved, err := os.ReadFile(fixed.Moved)
	if err != nil || string(moved) != string(torn) {
		t.Fatalf("moved file holds %q (%v), want the torn bytes", moved, err)
	}
	if n, err := Verify(path); n != 3 || err != nil {
		t.Fatalf("after repair Verify = %d, %v", n, err)
	}
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	if e, _, err := l.Append(Entry{Tool: "after"}); err != nil || e.Seq != 4 {
		t.Fatalf("Append after repair = %+v, %v", e, err)
	}
	l.Close()
	if again, err := Repair(path, t0); again != nil || err != nil {
		t.Errorf("Repair of a whole log = %+v, %v; want nothing done", again, err)
	}
}

// TestRepairRefusesABrokenChain: damage before the tail is not a torn write; Repair leaves it.
func TestRepairRefusesABrokenChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFileName)
	writeN(t, path, 3)
	ls := readLines(t, path)
	ls[1] = []byte(strings.Replace(string(ls[1]), "allow", "deny!", 1))
	writeLines(t, path, ls)
	if _, err := Repair(path, t0); err == nil || !strings.Contains(err.Error(), "not a torn write") {
		t.Fatalf("Repair = %v; want a refusal", err)
	}
}

// TestInspectListsOpenIntents: an intent without an outcome is listed; one with an outcome
// (even two, unknown then sent) is not.
func TestInspectListsOpenIntents(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFileName)
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Entry{
		{Tool: "send_sms", Phase: PhaseIntent, Ledger: "a"},
		{Tool: "send_sms", Phase: PhaseIntent, Ledger: "b"},
		{Tool: "send_sms", Phase: PhaseOutcome, Ledger: "a", Outcome: "unknown"},
		{Tool: "send_sms", Phase: PhaseOutcome, Ledger: "a", Outcome: "sent"},
		{Tool: "make_call", Phase: PhaseIntent, Ledger: "c"},
	} {
		if _, _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	rep, err := Inspect(path)
	if err != nil || rep.Lines != 5 || rep.Torn != nil || len(rep.Open) != 2 || rep.Open[0].Ledger != "b" || rep.Open[1].Ledger != "c" {
		t.Fatalf("Inspect = %+v, %v; want b and c open", rep, err)
	}
}

// TestFullDiskLeavesNoTornLine appends on a tiny tmpfs until the disk is full: the failed
// append is cut back, so the log verifies, and appends work again once space is freed.
func TestFullDiskLeavesNoTornLine(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	path := filepath.Join(mnt, DefaultFileName)
	spare := filepath.Join(mnt, "spare")
	if err := os.WriteFile(spare, make([]byte, 32<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	body := strings.Repeat("x", 3000)
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		_, _, full = l.Append(Entry{Tool: "send_sms", Body: body})
	}
	if !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("appends never hit a full disk: %v", full)
	}
	n, err := Verify(path)
	if err != nil {
		t.Fatalf("after a failed append on a full disk Verify = %d, %v", n, err)
	}
	// Free space (cutting the log itself would be caught as a truncation): the next
	// append works.
	if err := os.Remove(spare); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Append(Entry{Tool: "after"}); err != nil {
		t.Fatalf("append after freeing space: %v", err)
	}
}

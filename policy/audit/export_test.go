package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// twoReplicaLogs writes two logs in two state dirs (two keys), interleaved in time: replica
// A at t0+0s, +2s, +4s…, replica B at t0+1s, +3s… (B's last line at the same instant as A's).
func twoReplicaLogs(t *testing.T) (a, b string) {
	t.Helper()
	a = filepath.Join(t.TempDir(), DefaultFileName)
	b = filepath.Join(t.TempDir(), DefaultFileName)
	ca, cb := clockwork.NewFakeClockAt(t0), clockwork.NewFakeClockAt(t0.Add(time.Second))
	la, err := Open(a, ca)
	if err != nil {
		t.Fatal(err)
	}
	defer la.Close()
	lb, err := Open(b, cb)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	for i := range 4 {
		if _, _, err := la.Append(Entry{Tool: "send_sms", Decision: "allow", Phase: PhaseIntent, Ledger: fmt.Sprintf("a%d", i)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := la.Append(Entry{Tool: "send_sms", Decision: "allow", Phase: PhaseOutcome, Ledger: fmt.Sprintf("a%d", i), Outcome: "sent"}); err != nil {
			t.Fatal(err)
		}
		ca.Advance(2 * time.Second)
	}
	for i := range 3 {
		if _, _, err := lb.Append(Entry{Tool: "make_call", Decision: "allow", Target: fmt.Sprintf("+1415555%04d", i)}); err != nil {
			t.Fatal(err)
		}
		cb.Advance(2 * time.Second)
	}
	// An intent without an outcome (in flight) in B.
	if _, _, err := lb.Append(Entry{Tool: "send_sms", Decision: "allow", Phase: PhaseIntent, Ledger: "b-open"}); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func exportOf(t *testing.T, paths ...string) []byte {
	t.Helper()
	var chains []*Chain
	for _, p := range paths {
		c, err := ReadChain(p)
		if err != nil {
			t.Fatal(err)
		}
		chains = append(chains, c)
	}
	var buf bytes.Buffer
	if _, err := Export(&buf, chains); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeExport(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "export.jsonl")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExportMergesChainsByTime(t *testing.T) {
	t.Parallel()
	a, b := twoReplicaLogs(t)
	out := exportOf(t, a, b)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2+8+4 {
		t.Fatalf("export has %d lines, want 2 headers + 12:\n%s", len(lines), out)
	}
	var prev time.Time
	var got []string
	for i, l := range lines[2:] {
		var el exportLine
		if err := json.Unmarshal([]byte(l), &el); err != nil {
			t.Fatalf("line %d: %v", i+3, err)
		}
		if el.TS.Before(prev) {
			t.Fatalf("line %d goes back in time: %s", i+3, l)
		}
		prev = el.TS
		var inner Entry
		if err := json.Unmarshal(el.Line, &inner); err != nil || inner.Seq != el.Seq || !inner.TS.Equal(el.TS) {
			t.Fatalf("line %d does not embed its log line: %s", i+3, l)
		}
		src := "A"
		if el.Source == b {
			src = "B"
		}
		got = append(got, fmt.Sprintf("%s%d", src, el.Seq))
	}
	// A: 2 lines at 0s, 2s, 4s, 6s; B: 1 line at 1s, 3s, 5s, 7s (its last, the open intent).
	want := "A1 A2 B1 A3 A4 B2 A5 A6 B3 A7 A8 B4"
	if strings.Join(got, " ") != want {
		t.Fatalf("merged order %s, want %s", strings.Join(got, " "), want)
	}
	rep, err := VerifyExport(writeExport(t, out), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lines != 12 || len(rep.Chains) != 2 || rep.Chains[0].Lines != 8 || rep.Chains[1].Lines != 4 || rep.Chains[0].Open != 0 || rep.Chains[1].Open != 1 {
		t.Fatalf("report %+v", rep)
	}
}

func TestExportRefusesATamperedLog(t *testing.T) {
	t.Parallel()
	a, b := twoReplicaLogs(t)
	raw, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(raw, []byte("+14155550001"), []byte("+14155550009"), 1)
	if bytes.Equal(raw, tampered) {
		t.Fatal("nothing to tamper")
	}
	if err := os.WriteFile(b, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadChain(a); err != nil {
		t.Fatal(err)
	}
	_, err = ReadChain(b)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Path != b || ve.Line != 2 {
		t.Fatalf("ReadChain of the tampered log = %v; want a VerifyError naming %s line 2", err, b)
	}
}

func TestExportRefusesATornLog(t *testing.T) {
	t.Parallel()
	a, _ := twoReplicaLogs(t)
	f, err := os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"ts":"2026`)
	_ = f.Close()
	var ve *VerifyError
	if _, err := ReadChain(a); !errors.As(err, &ve) || ve.Line != 9 {
		t.Fatalf("ReadChain of a torn log = %v; want line 9 named", err)
	}
}

func TestVerifyExportFindsEdits(t *testing.T) {
	t.Parallel()
	a, b := twoReplicaLogs(t)
	out := exportOf(t, a, b)
	lines := strings.SplitAfter(string(out), "\n")
	lines = lines[:len(lines)-1]
	join := func(ls []string) []byte { return []byte(strings.Join(ls, "")) }
	edit := func(i int, from, to string) []byte {
		c := append([]string(nil), lines...)
		if !strings.Contains(c[i], from) {
			t.Fatalf("line %d has no %q: %s", i+1, from, c[i])
		}
		c[i] = strings.Replace(c[i], from, to, 1)
		return join(c)
	}
	swap := func(i, j int) []byte {
		c := append([]string(nil), lines...)
		c[i], c[j] = c[j], c[i]
		return join(c)
	}
	cases := map[string]struct {
		body []byte
		line int // the export line named (0: the whole export)
	}{
		"a log line edited":                           {edit(4, `"make_call"`, `"send_sms"`), 5},
		"a header's count edited":                     {edit(0, `"lines":8`, `"lines":7`), 1},
		"the last line dropped":                       {join(lines[:len(lines)-1]), 0},
		"a middle line dropped":                       {join(append(append([]string(nil), lines[:5]...), lines[6:]...)), 6},
		"two chains' lines swapped out of time order": {swap(3, 4), 0},
		"one chain's lines swapped":                   {swap(2, 3), 3},
		"cut mid-line":                                {join(lines)[:len(out)-10], len(lines)},
	}
	for name, tc := range cases {
		_, err := VerifyExport(writeExport(t, tc.body), nil)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Line != tc.line {
			t.Errorf("%s: VerifyExport = %v; want a VerifyError at line %d", name, err, tc.line)
		}
	}
	// The export without the replicas' keys cannot be checked: it says so.
	dir := t.TempDir()
	moved := filepath.Join(dir, "elsewhere.jsonl")
	if err := os.WriteFile(moved, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(DefaultKeyFile(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyExport(moved, nil); err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("VerifyExport without B's key = %v; want an error about the missing key", err)
	}
}

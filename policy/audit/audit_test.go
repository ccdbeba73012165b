package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

func writeN(t *testing.T, path string, n int) {
	t.Helper()
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range n {
		if _, _, err := l.Append(Entry{Tool: "send_sms", Decision: "allow", Rules: []string{}, Target: fmt.Sprintf("+1555000%04d", i), Segments: 1}); err != nil {
			t.Fatal(err)
		}
	}
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	var b []byte
	for _, l := range lines {
		b = append(b, l...)
		if !bytes.HasSuffix(l, []byte("\n")) {
			b = append(b, '\n')
		}
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAppendVerifyAndResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", DefaultFileName)
	writeN(t, path, 3)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if n, err := Verify(path); n != 3 || err != nil {
		t.Fatalf("Verify = %d, %v", n, err)
	}
	// Reopen resumes the chain.
	l, err := Open(path, clockwork.NewFakeClockAt(t0.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	e, hash, err := l.Append(Entry{Tool: "place_call", Decision: "deny", Rules: []string{"quiet_hours"}})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if e.Seq != 4 || e.PrevHash == GenesisHash || len(hash) != 64 {
		t.Errorf("resumed entry = %+v hash %q", e, hash)
	}
	if n, err := Verify(path); n != 4 || err != nil {
		t.Fatalf("Verify after resume = %d, %v", n, err)
	}
	lines := readLines(t, path)
	if !bytes.Contains(lines[0], []byte(`"prev_hash":"`+GenesisHash+`"`)) {
		t.Errorf("first line lacks genesis prev_hash: %s", lines[0])
	}
	if _, _, err := l.Append(Entry{}); err == nil {
		t.Error("Append after Close succeeded")
	}
}

func TestVerifyNamesBrokenLine(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(path string, ls [][]byte) [][]byte
		wantLine int
		wantGood int
	}{
		{"edit a field", func(_ string, ls [][]byte) [][]byte {
			ls[2] = bytes.Replace(ls[2], []byte(`"allow"`), []byte(`"deny"`), 1)
			return ls
		}, 3, 2},
		{"edit and rehash the line", func(path string, ls [][]byte) [][]byte {
			// Without the key only a plain SHA-256 can be recomputed: that is an
			// unkeyed line after keyed ones.
			e, _, _, err := parseLine(ls[2], keyOf(path))
			if err != nil {
				panic(err)
			}
			e.Decision = "deny"
			line, _, _ := encodeLine(e, nil)
			ls[2] = line
			return ls
		}, 3, 2},
		{"edit and re-key the line with another key", func(path string, ls [][]byte) [][]byte {
			e, _, _, err := parseLine(ls[2], keyOf(path))
			if err != nil {
				panic(err)
			}
			e.Decision = "deny"
			line, _, _ := encodeLine(e, bytes.Repeat([]byte{7}, KeySize))
			ls[2] = line
			return ls
		}, 3, 2},
		{"delete a line", func(_ string, ls [][]byte) [][]byte {
			return append(ls[:1:1], ls[2:]...)
		}, 2, 1},
		{"delete the first line", func(_ string, ls [][]byte) [][]byte { return ls[1:] }, 1, 0},
		{"reorder", func(_ string, ls [][]byte) [][]byte {
			ls[1], ls[2] = ls[2], ls[1]
			return ls
		}, 2, 1},
		{"truncated last line", func(_ string, ls [][]byte) [][]byte {
			ls[4] = ls[4][:len(ls[4])/2]
			return ls
		}, 5, 4},
		{"blank line inserted", func(_ string, ls [][]byte) [][]byte {
			return append(ls[:3:3], append([][]byte{[]byte("\n")}, ls[3:]...)...)
		}, 4, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), DefaultFileName)
			writeN(t, path, 5)
			writeLines(t, path, tt.mutate(path, readLines(t, path)))
			n, err := Verify(path)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify err = %v, want *VerifyError", err)
			}
			if ve.Line != tt.wantLine || n != tt.wantGood {
				t.Errorf("Verify = %d good, line %d (%s); want %d good, line %d", n, ve.Line, ve.Reason, tt.wantGood, tt.wantLine)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("line %d", tt.wantLine)) {
				t.Errorf("message %q does not name the line", err)
			}
		})
	}
}

func TestOpenRefusesDamagedTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFileName)
	writeN(t, path, 2)
	ls := readLines(t, path)
	ls[1] = []byte(`{"seq":2,"garbage":true}`)
	writeLines(t, path, ls)
	if _, err := Open(path, nil); err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), "agentphone-mcp audit verify "+path) {
		t.Fatalf("Open = %v, want damaged-line error naming the verify command", err)
	}
}

func TestConcurrentAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFileName)
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := l.Append(Entry{Tool: "t", Decision: "allow", APIID: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l.Close()
	if n, err := Verify(path); n != 40 || err != nil {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}

func TestReadLastLineLargeFile(t *testing.T) {
	// More than one 64 KiB chunk, with a long body in the last line.
	path := filepath.Join(t.TempDir(), DefaultFileName)
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		if _, _, err := l.Append(Entry{Tool: "send_sms", Body: strings.Repeat("x", 300)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := l.Append(Entry{Tool: "send_sms", Body: strings.Repeat("y", 100<<10)}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.seq != 301 {
		t.Errorf("resumed seq = %d, want 301", l.seq)
	}
}

func FuzzParseLine(f *testing.F) {
	key := bytes.Repeat([]byte{1}, KeySize)
	line, _, _ := encodeLine(Entry{Tool: "send_sms", Decision: "allow", Seq: 1, PrevHash: GenesisHash}, key)
	f.Add(line)
	legacy, _, _ := encodeLine(Entry{Tool: "send_sms", Decision: "allow", Seq: 1, PrevHash: GenesisHash}, nil)
	f.Add(legacy)
	f.Add([]byte(`{"hash":"00"}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, hash, _, err := parseLine(b, key)
		if err != nil {
			return
		}
		// Whatever parses must re-verify: its hash is over its own bytes.
		if len(hash) != 64 {
			t.Fatalf("hash %q", hash)
		}
		_ = e
	})
}

package audit

import (
	"bytes"
	"encoding/hex"
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

// keyOf reads the default key beside the log at path.
func keyOf(path string) []byte {
	k, err := readKey(DefaultKeyFile(path))
	if err != nil {
		panic(err)
	}
	return k
}

// writeLegacy writes n lines the way versions before the keyed chain did (a bare SHA-256
// each), continuing after the given head.
func writeLegacy(t *testing.T, path string, n int, seq uint64, prev string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range n {
		line, h, err := encodeLine(Entry{TS: t0, Seq: seq + 1, PrevHash: prev, Tool: "send_sms", Decision: "allow", Rules: []string{}, Target: fmt.Sprintf("+1555111%04d", i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(line); err != nil {
			t.Fatal(err)
		}
		seq, prev = seq+1, h
	}
}

// rewriteUnkeyed recomputes every line of ls as an attacker without the key can: plain
// SHA-256 hashes, a consistent chain.
func rewriteUnkeyed(t *testing.T, path string, ls [][]byte, edit func(*Entry)) [][]byte {
	t.Helper()
	key := keyOf(path)
	prev := GenesisHash
	out := make([][]byte, 0, len(ls))
	for _, l := range ls {
		e, _, _, err := parseLine(l, key)
		if err != nil {
			t.Fatal(err)
		}
		e.PrevHash = prev
		edit(&e)
		line, h, err := encodeLine(e, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, prev = append(out, line), h
	}
	return out
}

func TestKeyIsMadeOnceAndNeverLogged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultFileName)
	writeN(t, path, 3)
	fi, err := os.Lstat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
		t.Errorf("key file mode %v, want a regular 0600 file", fi.Mode())
	}
	key := keyOf(path)
	if len(key) != KeySize {
		t.Fatalf("key is %d bytes", len(key))
	}
	writeN(t, path, 2) // a second Open reuses the key
	if !bytes.Equal(keyOf(path), key) {
		t.Fatal("the key changed on the second Open")
	}
	log, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	anc, err := os.ReadFile(path + AnchorSuffix)
	if err != nil {
		t.Fatal(err)
	}
	hexKey := hex.EncodeToString(key)
	for _, b := range [][]byte{log, anc} {
		for i := 0; i+8 <= len(hexKey); i += 4 {
			if bytes.Contains(b, []byte(hexKey[i:i+8])) {
				t.Fatalf("a fragment of the key appears in %q", b)
			}
		}
		if bytes.Contains(b, key[:8]) {
			t.Fatal("raw key bytes appear in the log or anchor")
		}
	}
	for i, l := range readLines(t, path) {
		if !bytes.Contains(l, []byte(`,"mac":"`)) || bytes.Contains(l, []byte(`"hash"`)) {
			t.Errorf("line %d is not keyed: %s", i+1, l)
		}
	}
	if n, err := Verify(path); n != 5 || err != nil {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, path string)
		want   string
	}{
		{"truncate the tail", func(t *testing.T, path string) {
			writeLines(t, path, readLines(t, path)[:3])
		}, "shorter than its anchor"},
		{"cut the last line in half", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			_ = os.WriteFile(path, b[:len(b)-40], 0o600)
		}, "shorter than its anchor"},
		{"empty the file", func(t *testing.T, path string) {
			_ = os.WriteFile(path, nil, 0o600)
		}, "shorter than its anchor"},
		{"rewrite every line consistently without the key", func(t *testing.T, path string) {
			writeLines(t, path, rewriteUnkeyed(t, path, readLines(t, path), func(e *Entry) { e.Decision = "deny" }))
		}, "not the line the anchor recorded"},
		{"rewrite consistently and drop the last line", func(t *testing.T, path string) {
			ls := readLines(t, path)
			writeLines(t, path, rewriteUnkeyed(t, path, ls[:len(ls)-1], func(*Entry) {}))
		}, "shorter than its anchor"},
		{"delete lines in the middle", func(t *testing.T, path string) {
			ls := readLines(t, path)
			writeLines(t, path, append(ls[:1:1], ls[3:]...))
		}, "a line was deleted"},
		{"swap in another log with the same key", func(t *testing.T, path string) {
			other := filepath.Join(filepath.Dir(path), "other.jsonl")
			l, err := Open(other, clockwork.NewFakeClockAt(t0.Add(time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			for range 7 {
				if _, _, err := l.Append(Entry{Tool: "send_sms", Decision: "allow"}); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			b, _ := os.ReadFile(other)
			_ = os.WriteFile(path, b, 0o600)
		}, "not the line the anchor recorded"},
		{"swap in a log from another installation", func(t *testing.T, path string) {
			other := filepath.Join(t.TempDir(), DefaultFileName)
			writeN(t, other, 5)
			b, _ := os.ReadFile(other)
			_ = os.WriteFile(path, b, 0o600)
		}, "mac does not match"},
		{"delete the anchor", func(t *testing.T, path string) {
			_ = os.Remove(path + AnchorSuffix)
		}, "anchor"},
		{"delete the anchor and the log's content", func(t *testing.T, path string) {
			_ = os.Remove(path + AnchorSuffix)
			writeLines(t, path, rewriteUnkeyed(t, path, readLines(t, path), func(*Entry) {}))
		}, "anchor"},
		{"forge the anchor", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path + AnchorSuffix)
			_ = os.WriteFile(path+AnchorSuffix, bytes.Replace(b, []byte(`"seq":5`), []byte(`"seq":3`), 1), 0o600)
		}, "does not match the audit key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), DefaultFileName)
			writeN(t, path, 5)
			tt.tamper(t, path)
			_, err := Verify(path)
			var ve *VerifyError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want a *VerifyError saying %q", err, tt.want)
			}
			if _, err := Inspect(path); err == nil {
				t.Error("Inspect accepted the tampered log")
			}
			if l, err := Open(path, nil); err == nil {
				l.Close()
				t.Error("Open (server start) accepted the tampered log")
			}
		})
	}
}

func TestAppendNoticesTruncationByAnother(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFileName)
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 4 {
		if _, _, err := l.Append(Entry{Tool: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	writeLines(t, path, readLines(t, path)[:2])
	if _, _, err := l.Append(Entry{Tool: "b"}); err == nil || !strings.Contains(err.Error(), "shorter than its anchor") {
		t.Fatalf("Append after a cut = %v, want a refusal naming the anchor", err)
	}
}

func TestLegacyLogVerifiesThenIsKeyed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultFileName)
	writeLegacy(t, path, 3, 0, GenesisHash)
	rep, err := Inspect(path)
	if err != nil || rep.Lines != 3 || rep.Legacy != 3 {
		t.Fatalf("Inspect legacy = %+v, %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); !os.IsNotExist(err) {
		t.Fatalf("verifying made a key (stat: %v)", err)
	}
	writeN(t, path, 2) // the upgraded server: makes the key, anchors, appends keyed lines
	rep, err = Inspect(path)
	if err != nil || rep.Lines != 5 || rep.Legacy != 3 {
		t.Fatalf("Inspect mixed = %+v, %v", rep, err)
	}
	ls := readLines(t, path)
	if !bytes.Contains(ls[3], []byte(`"mac"`)) {
		t.Fatalf("line 4 is not keyed: %s", ls[3])
	}
	// An unkeyed line after keyed ones is a forgery.
	e, _, _, _ := parseLine(ls[4], keyOf(path))
	writeLegacy(t, path, 1, e.Seq, mustSum(t, ls[4], keyOf(path)))
	if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "unkeyed line after keyed lines") {
		t.Fatalf("Verify = %v, want the unkeyed line refused", err)
	}
	// The legacy part is now anchored too: cutting it is detected.
	writeLines(t, path, ls[:2])
	if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "shorter than its anchor") {
		t.Fatalf("Verify = %v, want the cut legacy log detected", err)
	}
}

func TestLegacyLogWithoutKeyAnchorsOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFileName)
	writeLegacy(t, path, 4, 0, GenesisHash)
	l, err := Open(path, nil)
	if err != nil {
		t.Fatalf("Open of a legacy log = %v", err)
	}
	l.Close()
	writeLines(t, path, readLines(t, path)[:3])
	if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "shorter than its anchor") {
		t.Fatalf("Verify = %v, want the cut detected", err)
	}
}

func mustSum(t *testing.T, line, key []byte) string {
	t.Helper()
	_, s, _, err := parseLine(line, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOperatorKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultFileName)
	keyFile := filepath.Join(t.TempDir(), "operator.key")
	if _, err := Open(path, nil, WithKeyFile(keyFile)); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Open with a missing operator key = %v", err)
	}
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("ab", KeySize)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, nil, WithKeyFile(keyFile)); err == nil || !strings.Contains(err.Error(), "read by group or others") {
		t.Fatalf("Open with a world-readable key = %v", err)
	}
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path, clockwork.NewFakeClockAt(t0), WithKeyFile(keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Append(Entry{Tool: "a"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); !os.IsNotExist(err) {
		t.Errorf("a default key was made beside the log although the operator named one (%v)", err)
	}
	if n, err := Verify(path, WithKeyFile(keyFile)); n != 1 || err != nil {
		t.Fatalf("Verify with the operator key = %d, %v", n, err)
	}
	if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("Verify without the key = %v, want an error about the key", err)
	}
	if err := os.Symlink(keyFile, keyFile+".link"); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(path, WithKeyFile(keyFile+".link")); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Verify through a symlinked key = %v", err)
	}
}

func TestConcurrentKeyCreationAgrees(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFileName)
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, err := createKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) || len(keys[i]) != KeySize {
			t.Fatalf("process %d got another key", i)
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".audit.key-*"))
	if len(left) != 0 {
		t.Errorf("temporary key files left behind: %v", left)
	}
}

func TestParseKey(t *testing.T) {
	hexKey := strings.Repeat("0f", KeySize)
	tests := []struct {
		name    string
		in      string
		wantLen int // 0: an error
	}{
		{"64 hex digits", hexKey, KeySize},
		{"64 hex digits and a newline", hexKey + "\n", KeySize},
		{"longer hex", hexKey + "abcd", KeySize + 2},
		{"32 raw bytes", strings.Repeat("k", KeySize), KeySize},
		{"too short", "0f0f", 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		k, err := parseKey("k", []byte(tt.in))
		if tt.wantLen == 0 {
			if err == nil || !strings.Contains(err.Error(), "64 hex digits") {
				t.Errorf("%s: err = %v, want a refusal saying what a key is", tt.name, err)
			}
			continue
		}
		if err != nil || len(k) != tt.wantLen {
			t.Errorf("%s: %d bytes, %v; want %d", tt.name, len(k), err, tt.wantLen)
		}
	}
}

// TestOldBinaryAppendingIsStopped: an agentphone-mcp from before the keyed chain, still
// running on the same state dir, appends an unkeyed line after keyed ones; the keyed Log
// refuses to chain onto it (it would be a forgery), and Verify names it.
func TestOldBinaryAppendingIsStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFileName)
	l, err := Open(path, clockwork.NewFakeClockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, h, err := l.Append(Entry{Tool: "a"})
	if err != nil {
		t.Fatal(err)
	}
	writeLegacy(t, path, 1, 1, h) // the old process
	if _, _, err := l.Append(Entry{Tool: "b"}); err == nil || !strings.Contains(err.Error(), "older than the keyed audit chain") {
		t.Fatalf("Append after an old process's line = %v", err)
	}
	if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "unkeyed line after keyed lines") {
		t.Fatalf("Verify = %v", err)
	}
	// Before any keyed line, an old process's lines are still legacy and fine.
	path2 := filepath.Join(t.TempDir(), DefaultFileName)
	writeLegacy(t, path2, 2, 0, GenesisHash)
	l2, err := Open(path2, clockwork.NewFakeClockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	ls := readLines(t, path2)
	writeLegacy(t, path2, 1, 2, mustSum(t, ls[1], nil))
	if _, _, err := l2.Append(Entry{Tool: "c"}); err != nil {
		t.Fatalf("Append after legacy lines = %v", err)
	}
	if rep, err := Inspect(path2); err != nil || rep.Lines != 4 || rep.Legacy != 3 {
		t.Fatalf("Inspect = %+v, %v", rep, err)
	}
}

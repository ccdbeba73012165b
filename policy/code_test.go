package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestNewCode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want int }{{3, 3}, {6, 6}, {12, 12}, {0, 6}, {-1, 6}, {13, 6}} {
		c := NewCode(tt.in)
		if len(c) != tt.want {
			t.Errorf("NewCode(%d) = %q, len %d", tt.in, c, len(c))
		}
		for _, r := range c {
			if r < '0' || r > '9' {
				t.Errorf("NewCode(%d) = %q has non-digit", tt.in, c)
			}
		}
	}
	// Rough uniformity: every digit appears in 2000 draws of 3.
	counts := map[rune]int{}
	for range 2000 {
		for _, r := range NewCode(3) {
			counts[r]++
		}
	}
	for d := '0'; d <= '9'; d++ {
		if counts[d] < 400 || counts[d] > 800 {
			t.Errorf("digit %c drawn %d times of 6000", d, counts[d])
		}
	}
	if !CodeEqual("123", "123") || CodeEqual("123", "124") || CodeEqual("123", "1234") || CodeEqual("", "1") {
		t.Error("CodeEqual wrong")
	}
}

func TestPendingCodes(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	p := NewPendingCodes(clk, 3, 5*time.Minute)
	p.Put("n1", "417")
	steps := []struct {
		key, code string
		ok        bool
		remaining int
		err       error
	}{
		{"n1", "000", false, 2, nil},
		{"n1", "111", false, 1, nil},
		{"n1", "417", true, 0, nil},
		{"n1", "417", false, 0, ErrNoPendingCode}, // single use
		{"nx", "417", false, 0, ErrNoPendingCode},
	}
	for i, s := range steps {
		ok, rem, err := p.Check(s.key, s.code)
		if ok != s.ok || rem != s.remaining || !errors.Is(err, s.err) {
			t.Errorf("step %d: Check(%s,%s) = %v %d %v; want %v %d %v", i, s.key, s.code, ok, rem, err, s.ok, s.remaining, s.err)
		}
	}
	p.Put("n2", "999")
	for range 2 {
		p.Check("n2", "000")
	}
	if _, _, err := p.Check("n2", "001"); !errors.Is(err, ErrCodeAttemptsExhausted) {
		t.Errorf("third miss err = %v", err)
	}
	if ok, _, _ := p.Check("n2", "999"); ok {
		t.Error("burned code accepted")
	}
	p.Put("n3", "555")
	clk.Advance(5 * time.Minute)
	if _, _, err := p.Check("n3", "555"); !errors.Is(err, ErrNoPendingCode) {
		t.Errorf("expired code err = %v", err)
	}
	e := newEnv(t, Config{}, nil)
	if e.eng.Codes() == nil {
		t.Error("engine has no code registry")
	}
}

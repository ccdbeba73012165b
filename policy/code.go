package policy

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// NewCode returns a uniformly random numeric code of the given length (1 to 12
// digits; other values give 6), from crypto/rand, for elicitation forms and OTPs.
func NewCode(digits int) string {
	if digits < 1 || digits > 12 {
		digits = 6
	}
	out := make([]byte, 0, digits)
	var buf [16]byte
	for len(out) < digits {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails on supported platforms (Go ≥ 1.24)
		for _, b := range buf {
			if b < 250 && len(out) < digits { // reject 250..255 to keep digits uniform
				out = append(out, '0'+b%10)
			}
		}
	}
	return string(out)
}

// CodeEqual compares a typed code with the expected one in constant time.
func CodeEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Errors from PendingCodes.Check.
var (
	// ErrNoPendingCode: no code is waiting under that key (never set, used, burned or expired).
	ErrNoPendingCode = errors.New("no confirmation code is pending for this request (it was used, expired or never issued); call again without confirmation_token to get a fresh preview")
	// ErrCodeAttemptsExhausted: the last allowed attempt failed; the code is burned.
	ErrCodeAttemptsExhausted = errors.New("too many wrong confirmation codes; the request is cancelled. Call again without confirmation_token to get a fresh preview")
)

// PendingCodes holds confirmation codes in memory, keyed by token nonce, each
// with a limited number of attempts and an expiry. Safe for concurrent use.
type PendingCodes struct {
	clock       clockwork.Clock
	ttl         time.Duration
	maxAttempts int

	mu sync.Mutex
	m  map[string]*pendingCode
}

type pendingCode struct {
	code     string
	attempts int
	exp      time.Time
}

// NewPendingCodes returns a registry allowing maxAttempts tries (default 3)
// within ttl (default TokenTTL).
func NewPendingCodes(clk clockwork.Clock, maxAttempts int, ttl time.Duration) *PendingCodes {
	if clk == nil {
		clk = clockwork.NewRealClock()
	}
	if maxAttempts <= 0 {
		maxAttempts = 3
	}
	if ttl <= 0 {
		ttl = TokenTTL
	}
	return &PendingCodes{clock: clk, ttl: ttl, maxAttempts: maxAttempts, m: map[string]*pendingCode{}}
}

// Put stores code under key (a token nonce), replacing any earlier one.
func (p *PendingCodes) Put(key, code string) {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.m {
		if !now.Before(v.exp) {
			delete(p.m, k)
		}
	}
	p.m[key] = &pendingCode{code: code, exp: now.Add(p.ttl)}
}

// Check compares code with the one pending under key. A match consumes it
// (ok=true). A miss returns ok=false and the attempts left; the last failed
// attempt burns the code and returns ErrCodeAttemptsExhausted. An unknown or
// expired key returns ErrNoPendingCode.
func (p *PendingCodes) Check(key, code string) (ok bool, remaining int, err error) {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	pc, found := p.m[key]
	if !found || !now.Before(pc.exp) {
		delete(p.m, key)
		return false, 0, ErrNoPendingCode
	}
	if CodeEqual(code, pc.code) {
		delete(p.m, key)
		return true, 0, nil
	}
	pc.attempts++
	remaining = p.maxAttempts - pc.attempts
	if remaining <= 0 {
		delete(p.m, key)
		return false, 0, ErrCodeAttemptsExhausted
	}
	return false, remaining, nil
}

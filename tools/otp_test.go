package tools

import (
	"testing"

	"github.com/jonboulle/clockwork"
)

func TestOTPTextsAreRateLimited(t *testing.T) {
	clk := clockwork.NewFakeClock()
	d := &Deps{Clock: clk}
	for i := range maxOTPs {
		if !d.allowOTP() {
			t.Fatalf("code %d refused", i+1)
		}
	}
	if d.allowOTP() {
		t.Fatalf("code %d allowed within %v", maxOTPs+1, otpRateLimit)
	}
	clk.Advance(otpRateLimit)
	if !d.allowOTP() {
		t.Fatal("no code allowed after the window passed")
	}
}

package tools

import (
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

// TestOTPTextsAreRateLimited: strict mode texts a code to the operator for each
// confirmation; the texts go through the outbound path, so the operator-code cap (5 per 10
// minutes) holds, then frees up as the window passes.
func TestOTPTextsAreRateLimited(t *testing.T) {
	e := newLedgerToolEnv(t)
	e.deps.ConfirmMode, e.deps.OperatorPhone = ConfirmStrict, "+16502530077"
	texted := func() int { return e.gate.count("+16502530077") }
	buy := map[string]any{"country": "US"}
	for i := range policy.OperatorCodesMax {
		_, data := e.ok("buy_number", buy)
		if data["status"] != "confirmation_required" || texted() != i+1 {
			t.Fatalf("code %d: %v, %d texted", i+1, data, texted())
		}
	}
	_, data := e.fails("buy_number", buy)
	if data["rule"] != "confirmation_unavailable" || texted() != policy.OperatorCodesMax {
		t.Fatalf("code %d: %v, %d texted; want refused, none texted", policy.OperatorCodesMax+1, data, texted())
	}
	e.clock.Advance(policy.OperatorCodesWindow + time.Second)
	if _, data := e.ok("buy_number", buy); data["status"] != "confirmation_required" || texted() != policy.OperatorCodesMax+1 {
		t.Fatalf("after the window: %v, %d texted", data, texted())
	}
}

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// TestOptOutLiftedByOperator: once the operator lifts an opt-out, words said before that do
// not opt the number out again; words said after it do; the operator may always add.
func TestOptOutLiftedByOperator(t *testing.T) {
	ctx := context.Background()
	clk := clockwork.NewFakeClockAt(t0)
	s := openTest(t, t.TempDir(), clk)
	defer s.Close()
	const n = "+15550003333"
	said := t0.Add(-time.Hour)
	if _, err := s.AddOptOut(ctx, store.OptOut{E164: n, Reason: "STOP", At: said, Source: "inbound_sms"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RemoveOptOut(ctx, n, ""); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if added, err := s.AddOptOut(ctx, store.OptOut{E164: n, Reason: "STOP seen again", At: said, Source: "inbound_sms"}); err != nil || added {
		t.Fatalf("the old STOP re-added the opt-out the operator lifted: %v %v", added, err)
	}
	if o, _ := s.IsOptedOut(ctx, n, store.ChannelSMS); o {
		t.Fatal("opted out again by old words")
	}
	clk.Advance(time.Minute)
	if added, err := s.AddOptOut(ctx, store.OptOut{E164: n, Reason: "new STOP", At: clk.Now(), Source: "inbound_sms"}); err != nil || !added {
		t.Fatalf("a new STOP after the lift: %v %v", added, err)
	}
	if _, err := s.RemoveOptOut(ctx, n, ""); err != nil {
		t.Fatal(err)
	}
	if added, err := s.AddOptOut(ctx, store.OptOut{E164: n, Reason: "operator", At: t0.Add(-24 * time.Hour), Source: store.SourceOperator}); err != nil || !added {
		t.Fatalf("operator add refused: %v %v", added, err)
	}
}

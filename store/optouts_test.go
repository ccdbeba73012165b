package store

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func onChannels(t *testing.T, s *Store, e164 string) (sms, call bool) {
	t.Helper()
	err := s.View(context.Background(), func(tx *Tx) error {
		var err error
		if sms, err = tx.IsOptedOutOn(e164, ChannelSMS); err != nil {
			return err
		}
		call, err = tx.IsOptedOutOn(e164, ChannelCall)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return sms, call
}

// TestOptOutChannels: a call opt-out blocks calls only; an SMS opt-out on top widens it to
// all; an opt-out of all blocks both; a bad channel is refused.
func TestOptOutChannels(t *testing.T) {
	ctx := context.Background()
	clk := clockwork.NewFakeClockAt(t0)
	s := openTest(t, t.TempDir(), clk)
	defer s.Close()
	const n = "+15550001111"
	changed, err := s.AddOptOutOn(ctx, OptOut{E164: n, Channel: ChannelCall, Reason: "said do not call", At: t0}, true)
	if err != nil || !changed {
		t.Fatalf("add call opt-out: %v %v", changed, err)
	}
	if sms, call := onChannels(t, s, n); sms || !call {
		t.Fatalf("after a call opt-out: sms=%v call=%v, want false true", sms, call)
	}
	if changed, _ := s.AddOptOutOn(ctx, OptOut{E164: n, Channel: ChannelCall, Reason: "again", At: t0}, true); changed {
		t.Fatal("the same call opt-out again changed the entry")
	}
	if changed, err := s.AddOptOutOn(ctx, OptOut{E164: n, Channel: ChannelSMS, Reason: "STOP", At: t0}, true); err != nil || !changed {
		t.Fatalf("widen by sms: %v %v", changed, err)
	}
	if sms, call := onChannels(t, s, n); !sms || !call {
		t.Fatalf("after call + sms: sms=%v call=%v, want both", sms, call)
	}
	l, err := s.ListOptOuts(ctx)
	if err != nil || len(l) != 1 || l[0].Channel != ChannelAll {
		t.Fatalf("list after widening: %+v %v", l, err)
	}
	if _, err := s.AddOptOutOn(ctx, OptOut{E164: n, Channel: "fax"}, false); err == nil {
		t.Fatal("channel fax accepted")
	}
	// The legacy entry form (no channel) reads as all.
	must(t, s.AddOptOut(ctx, "+15550002222", "operator", t0))
	if sms, call := onChannels(t, s, "+15550002222"); !sms || !call {
		t.Fatalf("AddOptOut: sms=%v call=%v, want both", sms, call)
	}
}

// TestOptOutLiftedByOperator: once the operator lifts an opt-out, words said before that do
// not opt the number out again; words said after it do; the operator may always add.
func TestOptOutLiftedByOperator(t *testing.T) {
	ctx := context.Background()
	clk := clockwork.NewFakeClockAt(t0)
	s := openTest(t, t.TempDir(), clk)
	defer s.Close()
	const n = "+15550003333"
	said := t0.Add(-time.Hour)
	if _, err := s.AddOptOutOn(ctx, OptOut{E164: n, Reason: "STOP", At: said}, true); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RemoveOptOut(ctx, n); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if changed, err := s.AddOptOutOn(ctx, OptOut{E164: n, Reason: "STOP seen again", At: said}, true); err != nil || changed {
		t.Fatalf("the old STOP re-added the opt-out the operator lifted: %v %v", changed, err)
	}
	if o, _ := s.IsOptedOut(ctx, n); o {
		t.Fatal("opted out again by old words")
	}
	clk.Advance(time.Minute)
	if changed, err := s.AddOptOutOn(ctx, OptOut{E164: n, Reason: "new STOP", At: clk.Now()}, true); err != nil || !changed {
		t.Fatalf("a new STOP after the lift: %v %v", changed, err)
	}
	must(t, s.AddOptOut(ctx, "+15550004444", "operator", t0.Add(-24*time.Hour)))
	if o, _ := s.IsOptedOut(ctx, "+15550004444"); !o {
		t.Fatal("operator add refused")
	}
}

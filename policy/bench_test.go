package policy

import (
	"context"
	"testing"
	"time"
)

// BenchmarkEvaluateSMS is one full decision for a known US recipient: number
// normalisation, content scan, quiet hours, opt-out, known-recipient and five
// sliding-window store reads, duplicate check and preview. Target < 100 µs.
func BenchmarkEvaluateSMS(b *testing.B) {
	e := newEnv(b, Config{}, nil)
	ctx := context.Background()
	e.send(b, sms(numLA, "warm-up"))
	a := sms(numLA, "Hi Bob, your table for two is confirmed for 7pm tonight. Reply STOP to opt out.")
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		d, err := e.eng.Evaluate(ctx, a)
		if err != nil || d.Outcome != Allow {
			b.Fatalf("%v %v", d.Outcome, err)
		}
		n++
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/decision")
}

// BenchmarkEvaluateTollFreeCall covers a toll-free call (no zone lookup: the
// local time of a toll-free number cannot be known).
func BenchmarkEvaluateTollFreeCall(b *testing.B) {
	e := newEnv(b, Config{Allowlist: []string{numTollFree}}, nil)
	ctx := context.Background()
	a := call(numTollFree)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.eng.Evaluate(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartup measures what the policy adds at start: New (config checks,
// list normalisation, token key) plus the first Evaluate on a fresh engine
// (time-zone loading). The store and audit log are opened outside the timer;
// phonenumbers' package init is a process cost, not counted here.
func BenchmarkStartup(b *testing.B) {
	e := newEnv(b, Config{}, nil)
	ctx := context.Background()
	cfg := Config{Allowlist: []string{numNY}, Denylist: []string{"+1900", numLA2}, OperatorPhone: numNY}
	deps := Deps{Store: e.st, Clock: e.clk, Keys: []string{testKey}}
	var total time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		eng, err := New(cfg, deps)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Evaluate(ctx, sms(numLA, "hello")); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		n++
	}
	b.ReportMetric(float64(total.Microseconds())/float64(n), "µs/start")
}

// BenchmarkTokenIssueRedeem is one mint plus one redeem (with the store write).
func BenchmarkTokenIssueRedeem(b *testing.B) {
	e := newEnv(b, Config{}, nil)
	ctx := context.Background()
	a := sms(numLA, "hello")
	for b.Loop() {
		tok, err := e.eng.IssueToken(a)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.eng.RedeemToken(ctx, a, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStartupCostFirstInProcess logs New + the very first Evaluate of a fresh
// engine, including first-use costs in phonenumbers (regex compilation,
// time-zone data) when this test runs first.
func TestStartupCostFirstInProcess(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	start := time.Now()
	eng, err := New(Config{}, Deps{Store: e.st, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	newDur := time.Since(start)
	if _, err := eng.Evaluate(context.Background(), sms(numNY, "hello")); err != nil {
		t.Fatal(err)
	}
	t.Logf("policy start-up: New %v, New + first Evaluate %v", newDur, time.Since(start))
}

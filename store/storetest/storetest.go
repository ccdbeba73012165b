// Package storetest is the behaviour every store.Store engine must show, written once:
// the bbolt engine runs it today, and a Redis engine runs the same suite unchanged.
//
//	func TestEngine(t *testing.T) {
//	    storetest.Run(t, func(t *testing.T, clk clockwork.Clock) func() store.Store {
//	        dir := t.TempDir()
//	        return func() store.Store { s, _ := store.Open(dir, store.Options{Clock: clk}); return s }
//	    })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// T0 is the suite's start time (the fake clock's).
var T0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

// Factory makes the backing state for one test (a fresh state dir, a fresh Redis database)
// and returns an opener: each call opens a new Store instance on that same state, as
// another process or replica would. The suite closes what it opens. clk is the engine's
// clock (settle times, nonce and delivery expiry).
type Factory func(t *testing.T, clk clockwork.Clock) (open func() store.Store)

// Run runs the whole suite against the engine f makes.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"ReserveSettleSent", testReserveSettleSent},
		{"FailedReleases", testFailedReleases},
		{"PendingAndUnknownCount", testPendingAndUnknownCount},
		{"SettleTransitions", testSettleTransitions},
		{"DecideErrorWritesNothing", testDecideErrorWritesNothing},
		{"DecideSeesFacts", testDecideSeesFacts},
		{"SlidingWindows", testSlidingWindows},
		{"GlobalKeysAreDistinct", testGlobalKeys},
		{"ConcurrentReservesHoldTheCap", testConcurrentCap},
		{"NoncesSingleUse", testNonces},
		{"OptOutChannels", testOptOutChannels},
		{"OptOutLiftedByOperator", testOptOutLifted},
		{"ToolContacts", testToolContacts},
		{"RecoverAbandoned", testRecover},
		{"EntriesFilter", testEntriesFilter},
		{"ReservedIDIsKept", testReservedID},
		{"SeenDelivery", testSeenDelivery},
		{"Inbound", testInbound},
		{"Closed", testClosed},
		{"SharedAcrossInstances", testShared},
	}
	tests = append(tests, accountTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clockwork.NewFakeClockAt(T0)
			h := &harness{t: t, clk: clk, open: f(t, clk), ctx: context.Background()}
			tt.fn(t, h)
		})
	}
}

type harness struct {
	t    *testing.T
	clk  *clockwork.FakeClock
	open func() store.Store
	ctx  context.Context
}

// store opens an instance that is closed when the test ends.
func (h *harness) store() store.Store {
	h.t.Helper()
	s := h.open()
	if s == nil {
		h.t.Fatal("the factory opened no store")
	}
	h.t.Cleanup(func() { _ = s.Close() })
	return s
}

// entry is a minimal SMS reservation with the given events.
func entry(to string, events ...store.Event) store.Entry {
	return store.Entry{Kind: "sms", Tool: "send_sms", Recipients: []string{to}, MarkKnown: []string{to},
		Principal: "p1", ConfirmMethod: "none", CreatedAt: T0, Events: events}
}

func ev(key string, weight int) store.Event { return store.Event{Key: key, At: T0, Weight: weight} }

// reserve reserves e unconditionally.
func (h *harness) reserve(s store.Store, e store.Entry) store.Entry {
	h.t.Helper()
	got, err := s.Reserve(h.ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return e, nil })
	if err != nil {
		h.t.Fatalf("Reserve: %v", err)
	}
	return got
}

// sum reads one window total.
func (h *harness) sum(s store.Store, key string, since time.Time) int {
	h.t.Helper()
	f, err := s.Facts(h.ctx, store.FactQuery{Windows: []store.Window{{Key: key, Since: since}}})
	if err != nil {
		h.t.Fatalf("Facts: %v", err)
	}
	if len(f.Sums) != 1 {
		h.t.Fatalf("Facts returned %d sums for one window", len(f.Sums))
	}
	return f.Sums[0]
}

func (h *harness) known(s store.Store, n string) store.KnownFact {
	h.t.Helper()
	f, err := s.Facts(h.ctx, store.FactQuery{Known: []string{n}})
	if err != nil {
		h.t.Fatalf("Facts: %v", err)
	}
	return f.Known[n]
}

func (h *harness) settle(s store.Store, id string, st store.Settlement) store.Entry {
	h.t.Helper()
	e, err := s.Settle(h.ctx, id, st)
	if err != nil {
		h.t.Fatalf("Settle(%s, %s): %v", id, st.State, err)
	}
	return e
}

const (
	numA = "+16502530000"
	numB = "+16502530001"
	numC = "+16502530002"
)

func testReserveSettleSent(t *testing.T, h *harness) {
	s := h.store()
	e := h.reserve(s, entry(numA, ev("sms:"+numA, 1), ev("sms_segments", 3)))
	if e.ID == "" || e.State != store.Pending || e.Owner == "" || !e.CreatedAt.Equal(T0) {
		t.Fatalf("reserved entry = %+v; want an ID, pending, an owner, CreatedAt kept", e)
	}
	if got := h.sum(s, "sms:"+numA, T0); got != 1 {
		t.Errorf("a pending reservation counts %d, want 1", got)
	}
	if got := h.sum(s, "sms_segments", T0); got != 3 {
		t.Errorf("segments = %d, want 3 (weights add)", got)
	}
	if k := h.known(s, numA); k.Known {
		t.Error("a pending send already vouches for its recipient")
	}
	h.clk.Advance(time.Second)
	done := h.settle(s, e.ID, store.Settlement{State: store.Sent, APIID: "msg_1", Note: "ok"})
	if done.State != store.Sent || done.APIID != "msg_1" || done.Note != "ok" || !done.SettledAt.Equal(T0.Add(time.Second)) {
		t.Errorf("settled entry = %+v", done)
	}
	if k := h.known(s, numA); !k.Known || !k.Since.Equal(T0.Add(time.Second)) {
		t.Errorf("after sent, known = %+v; want known since the settle", k)
	}
	if got := h.sum(s, "sms:"+numA, T0); got != 1 {
		t.Errorf("a sent entry counts %d, want 1", got)
	}
	again := h.settle(s, e.ID, store.Settlement{State: store.Sent, APIID: "msg_1"})
	if again.State != store.Sent || !again.SettledAt.Equal(done.SettledAt) {
		t.Errorf("a repeated settle changed the entry: %+v", again)
	}
	read, err := s.Entry(h.ctx, e.ID)
	if err != nil || read.State != store.Sent || read.APIID != "msg_1" || read.Kind != "sms" || !slices.Equal(read.Recipients, []string{numA}) || len(read.Events) != 2 {
		t.Errorf("Entry = %+v, %v", read, err)
	}
}

func testFailedReleases(t *testing.T, h *harness) {
	s := h.store()
	keep := h.reserve(s, entry(numA, ev("sms:"+numA, 1)))
	e := h.reserve(s, entry(numA, ev("sms:"+numA, 1), ev("dup:x", 1)))
	if got := h.sum(s, "sms:"+numA, T0); got != 2 {
		t.Fatalf("two reservations count %d", got)
	}
	h.settle(s, e.ID, store.Settlement{State: store.Failed, Note: "422"})
	if got := h.sum(s, "sms:"+numA, T0); got != 1 {
		t.Errorf("after failed, count = %d, want 1 (only the failed one released)", got)
	}
	if got := h.sum(s, "dup:x", T0); got != 0 {
		t.Errorf("after failed, duplicate key = %d, want 0", got)
	}
	if k := h.known(s, numA); k.Known {
		t.Error("a failed send vouches for its recipient")
	}
	h.settle(s, e.ID, store.Settlement{State: store.Failed}) // idempotent
	if got := h.sum(s, "sms:"+numA, T0); got != 1 {
		t.Errorf("a repeated failed settle released more: %d", got)
	}
	h.settle(s, keep.ID, store.Settlement{State: store.Sent})
	if got := h.sum(s, "sms:"+numA, T0); got != 1 {
		t.Errorf("count = %d, want 1", got)
	}
}

func testPendingAndUnknownCount(t *testing.T, h *harness) {
	s := h.store()
	p := h.reserve(s, entry(numA, ev("k", 1)))
	u := h.reserve(s, entry(numA, ev("k", 1)))
	h.settle(s, u.ID, store.Settlement{State: store.Unknown, Note: "answer lost"})
	if got := h.sum(s, "k", T0); got != 2 {
		t.Errorf("pending + unknown count %d, want 2", got)
	}
	if k := h.known(s, numA); k.Known {
		t.Error("an unknown send vouches for its recipient")
	}
	if !store.Pending.Counts() || !store.Unknown.Counts() || !store.Sent.Counts() || store.Failed.Counts() {
		t.Error("State.Counts disagrees with the ledger rules")
	}
	got, err := s.Entry(h.ctx, p.ID)
	if err != nil || got.State != store.Pending {
		t.Errorf("pending entry = %+v, %v", got, err)
	}
}

func testSettleTransitions(t *testing.T, h *harness) {
	s := h.store()
	u := h.reserve(s, entry(numA, ev("k", 1)))
	h.settle(s, u.ID, store.Settlement{State: store.Unknown})
	got := h.settle(s, u.ID, store.Settlement{State: store.Sent, APIID: "msg_9", Note: "reconciled"})
	if got.State != store.Sent || got.APIID != "msg_9" {
		t.Errorf("unknown -> sent = %+v", got)
	}
	if k := h.known(s, numA); !k.Known {
		t.Error("unknown reconciled to sent did not mark the recipient known")
	}
	if _, err := s.Settle(h.ctx, u.ID, store.Settlement{State: store.Failed}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("sent -> failed err = %v, want ErrConflict", err)
	}
	f := h.reserve(s, entry(numB, ev("k", 1)))
	h.settle(s, f.ID, store.Settlement{State: store.Failed})
	if _, err := s.Settle(h.ctx, f.ID, store.Settlement{State: store.Sent}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("failed -> sent err = %v, want ErrConflict", err)
	}
	u2 := h.reserve(s, entry(numC, ev("k", 1)))
	h.settle(s, u2.ID, store.Settlement{State: store.Unknown})
	h.settle(s, u2.ID, store.Settlement{State: store.Failed, Note: "operator"})
	if got := h.sum(s, "k", T0); got != 1 {
		t.Errorf("count = %d, want 1 (unknown -> failed releases)", got)
	}
	if _, err := s.Settle(h.ctx, "led_nope", store.Settlement{State: store.Sent}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id err = %v, want ErrNotFound", err)
	}
	if _, err := s.Entry(h.ctx, "led_nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Entry(unknown id) err = %v, want ErrNotFound", err)
	}
	if _, err := s.Settle(h.ctx, u.ID, store.Settlement{State: store.Pending}); err == nil {
		t.Error("settling to pending was accepted")
	}
}

// refusal is a decide error type the suite checks comes back unchanged.
type refusal struct{ why string }

func (r *refusal) Error() string { return "refused: " + r.why }

func testDecideErrorWritesNothing(t *testing.T, h *harness) {
	s := h.store()
	e := entry(numA, ev("k", 1))
	e.ToolContacts = []string{numB}
	_, err := s.Reserve(h.ctx, store.FactQuery{Windows: []store.Window{{Key: "k", Since: T0}}}, func(store.Facts) (store.Entry, error) {
		return e, &refusal{"cap"}
	})
	var r *refusal
	if !errors.As(err, &r) || r.why != "cap" {
		t.Fatalf("Reserve err = %v; want the decide error unchanged", err)
	}
	if got := h.sum(s, "k", T0); got != 0 {
		t.Errorf("a refused reservation wrote %d events", got)
	}
	if k := h.known(s, numB); k.ToolContact {
		t.Error("a refused reservation wrote its tool-contact marks")
	}
	if list, err := s.Entries(h.ctx, store.EntryFilter{}); err != nil || len(list) != 0 {
		t.Errorf("a refused reservation wrote entries: %+v, %v", list, err)
	}
	bad := entry(numA, store.Event{Key: "k", At: T0, Weight: 0})
	if _, err := s.Reserve(h.ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return bad, nil }); err == nil {
		t.Error("an event with weight 0 was accepted")
	}
	if _, err := s.Reserve(h.ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return store.Entry{}, nil }); err == nil {
		t.Error("an entry without a kind was accepted")
	}
	if got := h.sum(s, "k", T0); got != 0 {
		t.Errorf("invalid reservations wrote %d events", got)
	}
}

func testDecideSeesFacts(t *testing.T, h *harness) {
	s := h.store()
	if _, err := s.AddOptOut(h.ctx, store.OptOut{E164: numA, Channel: store.ChannelSMS, Source: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkToolContact(h.ctx, numC, T0); err != nil {
		t.Fatal(err)
	}
	sent := h.reserve(s, entry(numB, ev("w", 2)))
	h.settle(s, sent.ID, store.Settlement{State: store.Sent})
	q := store.FactQuery{
		OptOuts: []store.OptOutQuery{{E164: numA, Channel: store.ChannelSMS}, {E164: numB, Channel: store.ChannelSMS}},
		Known:   []string{numB, numC},
		Windows: []store.Window{{Key: "w", Since: T0}, {Key: "w", Since: T0.Add(time.Second)}, {Key: "none", Since: T0}},
	}
	var seen store.Facts
	_, err := s.Reserve(h.ctx, q, func(f store.Facts) (store.Entry, error) {
		seen = f
		return store.Entry{}, &refusal{"look only"}
	})
	if err == nil {
		t.Fatal("want the refusal")
	}
	if !seen.OptedOut[numA] || seen.OptedOut[numB] {
		t.Errorf("OptedOut = %v", seen.OptedOut)
	}
	if !seen.Known[numB].Known || seen.Known[numB].ToolContact || seen.Known[numC].Known || !seen.Known[numC].ToolContact {
		t.Errorf("Known = %+v", seen.Known)
	}
	if !slices.Equal(seen.Sums, []int{2, 0, 0}) {
		t.Errorf("Sums = %v, want [2 0 0] in query order", seen.Sums)
	}
	preview, err := s.Facts(h.ctx, q)
	if err != nil || !slices.Equal(preview.Sums, seen.Sums) || preview.OptedOut[numA] != seen.OptedOut[numA] {
		t.Errorf("Facts = %+v, %v; want what Reserve saw", preview, err)
	}
}

func testSlidingWindows(t *testing.T, h *harness) {
	s := h.store()
	for i, w := range []int{1, 2, 3} {
		h.reserve(s, entry(numA, store.Event{Key: "k", At: T0.Add(time.Duration(i) * time.Minute), Weight: w}))
	}
	for _, tt := range []struct {
		since time.Time
		want  int
	}{
		{T0.Add(-time.Hour), 6}, {T0, 6}, {T0.Add(time.Nanosecond), 5}, {T0.Add(time.Minute), 5},
		{T0.Add(2 * time.Minute), 3}, {T0.Add(3 * time.Minute), 0},
	} {
		if got := h.sum(s, "k", tt.since); got != tt.want {
			t.Errorf("sum since %v = %d, want %d", tt.since.Sub(T0), got, tt.want)
		}
	}
	if got := h.sum(s, "never-written", T0); got != 0 {
		t.Errorf("an unknown key sums to %d", got)
	}
}

func testGlobalKeys(t *testing.T, h *harness) {
	s := h.store()
	h.reserve(s, entry(numA, ev("global/calls", 1), ev("calls", 1), ev("calls", 1)))
	if got := h.sum(s, "global/calls", T0); got != 1 {
		t.Errorf("global/calls = %d, want 1", got)
	}
	if got := h.sum(s, "calls", T0); got != 2 {
		t.Errorf("calls = %d, want 2", got)
	}
}

// testConcurrentCap: many goroutines on two instances reserve against one cap; exactly the
// cap succeeds, whatever the interleaving.
func testConcurrentCap(t *testing.T, h *harness) {
	stores := []store.Store{h.store(), h.store()}
	const (
		limit   = 7
		workers = 6
		tries   = 4
	)
	var won atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*workers*tries)
	for _, s := range stores {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range tries {
					q := store.FactQuery{Windows: []store.Window{{Key: "capped", Since: T0}}}
					_, err := s.Reserve(h.ctx, q, func(f store.Facts) (store.Entry, error) {
						if f.Sums[0]+1 > limit {
							return store.Entry{}, &refusal{"cap reached"}
						}
						return entry(numA, ev("capped", 1)), nil
					})
					var r *refusal
					switch {
					case err == nil:
						won.Add(1)
					case !errors.As(err, &r):
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if won.Load() != limit {
		t.Errorf("%d reservations passed a cap of %d", won.Load(), limit)
	}
	if got := h.sum(stores[0], "capped", T0); got != limit {
		t.Errorf("the cap key counts %d, want %d", got, limit)
	}
}

func testNonces(t *testing.T, h *harness) {
	stores := []store.Store{h.store(), h.store()}
	var fresh atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := stores[i%2].UseNonce(h.ctx, "nonce-1", T0.Add(5*time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				fresh.Add(1)
			}
		}()
	}
	wg.Wait()
	if fresh.Load() != 1 {
		t.Errorf("nonce used fresh %d times, want exactly once", fresh.Load())
	}
	if ok, err := stores[0].UseNonce(h.ctx, "nonce-2", T0.Add(5*time.Minute)); !ok || err != nil {
		t.Errorf("another nonce = %v, %v", ok, err)
	}
	if _, err := stores[0].UseNonce(h.ctx, "", T0); err == nil {
		t.Error("an empty nonce was accepted")
	}
}

func testOptOutChannels(t *testing.T, h *harness) {
	s := h.store()
	add := func(o store.OptOut) bool {
		t.Helper()
		ok, err := s.AddOptOut(h.ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	is := func(n, ch string) bool {
		t.Helper()
		ok, err := s.IsOptedOut(h.ctx, n, ch)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !add(store.OptOut{E164: numA, Channel: store.ChannelCall, Source: "spoken", Reason: "do not call me", At: T0}) {
		t.Error("first add reported not added")
	}
	if !is(numA, store.ChannelCall) || is(numA, store.ChannelSMS) {
		t.Error("a call opt-out must stop calls and only calls")
	}
	if !add(store.OptOut{E164: numB, Source: "inbound_sms", Reason: "STOP", At: T0}) {
		t.Error("add all reported not added")
	}
	if !is(numB, store.ChannelCall) || !is(numB, store.ChannelSMS) {
		t.Error("a STOP (all channels) must stop calls and texts")
	}
	if add(store.OptOut{E164: numB, Channel: store.ChannelAll, Reason: "again", At: T0.Add(time.Hour)}) {
		t.Error("a repeated opt-out reported added")
	}
	add(store.OptOut{E164: numB, Channel: store.ChannelSMS, Reason: "sms too", At: T0})
	list, err := s.ListOptOuts(h.ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("ListOptOuts = %+v, %v", list, err)
	}
	if list[0].E164 != numA || list[0].Channel != store.ChannelCall || list[0].Reason != "do not call me" || list[0].Source != "spoken" ||
		list[1].E164 != numB || list[1].Channel != store.ChannelAll || list[1].Reason != "STOP" || !list[1].At.Equal(T0) {
		t.Errorf("list = %+v", list)
	}
	if ok, _ := s.RemoveOptOut(h.ctx, numB, store.ChannelAll); !ok {
		t.Error("remove all-scope = false")
	}
	if is(numB, store.ChannelCall) || !is(numB, store.ChannelSMS) {
		t.Error("removing the all-scope opt-out must leave the sms one")
	}
	if ok, _ := s.RemoveOptOut(h.ctx, numB, ""); !ok {
		t.Error("remove every scope = false")
	}
	if is(numB, store.ChannelSMS) {
		t.Error("still opted out after removing every scope")
	}
	if ok, _ := s.RemoveOptOut(h.ctx, numB, ""); ok {
		t.Error("remove of nothing = true")
	}
	if _, err := s.AddOptOut(h.ctx, store.OptOut{E164: numC, Channel: "fax"}); err == nil {
		t.Error("an unknown channel was accepted")
	}
	f, err := s.Facts(h.ctx, store.FactQuery{OptOuts: []store.OptOutQuery{{E164: numA, Channel: store.ChannelCall}, {E164: numC, Channel: store.ChannelSMS}}})
	if err != nil || !f.OptedOut[numA] || f.OptedOut[numC] {
		t.Errorf("Facts opt-outs = %v, %v", f.OptedOut, err)
	}
}

func testToolContacts(t *testing.T, h *harness) {
	s := h.store()
	if err := s.MarkToolContact(h.ctx, numA, T0); err != nil {
		t.Fatal(err)
	}
	e := entry(numC, ev("k", 1))
	e.ToolContacts = []string{numB}
	h.reserve(s, e)
	if !h.known(s, numA).ToolContact || !h.known(s, numB).ToolContact || h.known(s, numC).ToolContact {
		t.Error("tool-contact marks wrong: a reservation's ToolContacts are marked at once, others not")
	}
}

func testRecover(t *testing.T, h *harness) {
	dying, living := h.open(), h.store()
	mine := h.reserve(dying, entry(numA, ev("k", 1)))
	settled := h.reserve(dying, entry(numA, ev("k", 1)))
	h.settle(dying, settled.ID, store.Settlement{State: store.Sent})
	theirs := h.reserve(living, entry(numB, ev("k", 1)))
	if got, err := living.RecoverAbandoned(h.ctx); err != nil || len(got) != 0 {
		t.Fatalf("RecoverAbandoned with every owner alive = %+v, %v; want nothing", got, err)
	}
	if err := dying.Close(); err != nil { // its process is gone
		t.Fatal(err)
	}
	fresh := h.store()
	got, err := fresh.RecoverAbandoned(h.ctx)
	if err != nil || len(got) != 1 || got[0].ID != mine.ID || got[0].State != store.Unknown || got[0].Note == "" {
		t.Fatalf("RecoverAbandoned = %+v, %v; want exactly the dead owner's pending entry, now unknown with a note", got, err)
	}
	if e, _ := fresh.Entry(h.ctx, theirs.ID); e.State != store.Pending {
		t.Errorf("a live owner's pending entry became %s", e.State)
	}
	if e, _ := fresh.Entry(h.ctx, settled.ID); e.State != store.Sent {
		t.Errorf("a settled entry became %s", e.State)
	}
	if n := h.sum(fresh, "k", T0); n != 3 {
		t.Errorf("after recovery the count is %d, want 3 (unknown keeps counting)", n)
	}
	if again, err := living.RecoverAbandoned(h.ctx); err != nil || len(again) != 0 {
		t.Errorf("a second recovery = %+v, %v; want nothing", again, err)
	}
}

func testEntriesFilter(t *testing.T, h *harness) {
	s := h.store()
	var ids []string
	for i, to := range []string{numA, numB, numA} {
		e := entry(to, ev("k", 1))
		e.CreatedAt = T0.Add(time.Duration(i) * time.Minute)
		if i == 1 {
			e.Kind = "call"
		}
		h.clk.Advance(time.Millisecond) // distinct, ordered IDs
		ids = append(ids, h.reserve(s, e).ID)
	}
	h.settle(s, ids[0], store.Settlement{State: store.Sent, APIID: "msg_a"})
	all, err := s.Entries(h.ctx, store.EntryFilter{})
	if err != nil || len(all) != 3 || all[0].ID != ids[2] || all[2].ID != ids[0] {
		t.Fatalf("Entries = %+v, %v; want all three, newest first", all, err)
	}
	byTo, _ := s.Entries(h.ctx, store.EntryFilter{Recipient: numA})
	if len(byTo) != 2 {
		t.Errorf("by recipient: %d entries", len(byTo))
	}
	pending, _ := s.Entries(h.ctx, store.EntryFilter{States: []store.State{store.Pending}})
	if len(pending) != 2 {
		t.Errorf("pending: %d entries", len(pending))
	}
	calls, _ := s.Entries(h.ctx, store.EntryFilter{Kind: "call"})
	if len(calls) != 1 || calls[0].ID != ids[1] {
		t.Errorf("calls = %+v", calls)
	}
	recent, _ := s.Entries(h.ctx, store.EntryFilter{Since: T0.Add(time.Minute)})
	if len(recent) != 2 {
		t.Errorf("since: %d entries", len(recent))
	}
	one, _ := s.Entries(h.ctx, store.EntryFilter{Limit: 1})
	if len(one) != 1 || one[0].ID != ids[2] {
		t.Errorf("limit 1 = %+v", one)
	}
}

func testReservedID(t *testing.T, h *harness) {
	s := h.store()
	e := entry(numA, ev("k", 1))
	e.ID = "led_replayed_1"
	if got := h.reserve(s, e); got.ID != "led_replayed_1" {
		t.Errorf("ID = %q; a decide-given ID must be kept", got.ID)
	}
	if _, err := s.Reserve(h.ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return e, nil }); err == nil {
		t.Error("a second entry with the same ID was accepted")
	}
	if n := h.sum(s, "k", T0); n != 1 {
		t.Errorf("the refused duplicate ID wrote events: %d", n)
	}
}

func testSeenDelivery(t *testing.T, h *harness) {
	s := h.store()
	steps := []struct {
		advance time.Duration
		id      string
		want    bool
	}{
		{0, "wh_1", false}, {0, "wh_1", true}, {0, "wh_2", false},
		{store.DefaultDeliveryTTL - time.Second, "wh_1", true},
		{2 * time.Second, "wh_1", false}, {0, "wh_1", true},
	}
	for i, st := range steps {
		h.clk.Advance(st.advance)
		got, err := s.SeenDelivery(h.ctx, st.id)
		if err != nil || got != st.want {
			t.Errorf("step %d SeenDelivery(%s) = %v, %v; want %v", i, st.id, got, err, st.want)
		}
	}
}

func testInbound(t *testing.T, h *harness) {
	s := h.store()
	for i := range 3 {
		if err := s.AppendInbound(h.ctx, "sms", fmt.Sprint("m", i), []byte(`{}`), T0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RecentInbound(h.ctx, 2)
	if err != nil || len(got) != 2 || got[0].ID != "m1" || got[1].ID != "m2" {
		t.Errorf("RecentInbound(2) = %+v, %v; want m1, m2 (oldest first)", got, err)
	}
	if none, _ := s.RecentInbound(h.ctx, 0); len(none) != 0 {
		t.Errorf("RecentInbound(0) = %v", none)
	}
	if err := s.AppendInbound(h.ctx, "", "x", nil, T0); err == nil {
		t.Error("an empty kind was accepted")
	}
}

func testClosed(t *testing.T, h *harness) {
	s := h.open()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if _, err := s.Reserve(h.ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return entry(numA), nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Reserve after Close err = %v, want ErrClosed", err)
	}
	if _, err := s.IsOptedOut(h.ctx, numA, store.ChannelSMS); !errors.Is(err, store.ErrClosed) {
		t.Errorf("IsOptedOut after Close err = %v, want ErrClosed", err)
	}
}

func testShared(t *testing.T, h *harness) {
	a := h.store()
	e := h.reserve(a, entry(numA, ev("k", 1)))
	h.settle(a, e.ID, store.Settlement{State: store.Sent, APIID: "msg_1"})
	if _, err := a.AddOptOut(h.ctx, store.OptOut{E164: numB, Reason: "STOP"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.UseNonce(h.ctx, "n", T0.Add(time.Minute)); !ok || err != nil {
		t.Fatal("nonce", ok, err)
	}
	b := h.store()
	if got := h.sum(b, "k", T0); got != 1 {
		t.Errorf("another instance counts %d", got)
	}
	if !h.known(b, numA).Known {
		t.Error("another instance does not see the known recipient")
	}
	if ok, _ := b.IsOptedOut(h.ctx, numB, store.ChannelCall); !ok {
		t.Error("another instance does not see the opt-out")
	}
	if ok, _ := b.UseNonce(h.ctx, "n", T0.Add(time.Minute)); ok {
		t.Error("another instance could reuse the nonce")
	}
	if got, err := b.Entry(h.ctx, e.ID); err != nil || got.APIID != "msg_1" {
		t.Errorf("another instance reads the entry as %+v, %v", got, err)
	}
}

// testOptOutLifted: once the operator lifts an opt-out, words said before that do not opt
// the number out again; words said after it do; the operator may always add.
func testOptOutLifted(t *testing.T, h *harness) {
	s := h.store()
	const n = numC
	said := T0.Add(-time.Hour)
	if _, err := s.AddOptOut(h.ctx, store.OptOut{E164: n, Reason: "STOP", At: said, Source: "inbound_sms"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RemoveOptOut(h.ctx, n, ""); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	// Another instance (process, replica) sees the lift too.
	other := h.store()
	if added, err := other.AddOptOut(h.ctx, store.OptOut{E164: n, Reason: "STOP seen again", At: said, Source: "inbound_sms"}); err != nil || added {
		t.Fatalf("the old STOP re-added the opt-out the operator lifted: %v %v", added, err)
	}
	if o, _ := s.IsOptedOut(h.ctx, n, store.ChannelSMS); o {
		t.Fatal("opted out again by old words")
	}
	h.clk.Advance(time.Minute)
	if added, err := s.AddOptOut(h.ctx, store.OptOut{E164: n, Reason: "new STOP", At: h.clk.Now(), Source: "inbound_sms"}); err != nil || !added {
		t.Fatalf("a new STOP after the lift: %v %v", added, err)
	}
	if _, err := s.RemoveOptOut(h.ctx, n, ""); err != nil {
		t.Fatal(err)
	}
	if added, err := s.AddOptOut(h.ctx, store.OptOut{E164: n, Reason: "operator", At: T0.Add(-24 * time.Hour), Source: store.SourceOperator}); err != nil || !added {
		t.Fatalf("operator add refused: %v %v", added, err)
	}
}

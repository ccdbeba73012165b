package storetest

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// Account ids the suite uses (opaque ids, as a server would derive from a key).
const (
	acctA = "0123456789abcdef0123456789abcdef"
	acctB = "fedcba9876543210fedcba9876543210"
)

// accountTests are the account cases of the suite: every engine implements store.Accounts.
var accountTests = []struct {
	name string
	fn   func(t *testing.T, h *harness)
}{
	{"AccountsSeeNothingOfEachOther", testAccountsApart},
	{"AccountViewsShareOneEngineState", testAccountViewsShared},
	{"GlobalKeysSharedByAccounts", testAccountGlobalKeys},
	{"GlobalCapExactAcrossAccounts", testAccountGlobalCap},
	{"AccountRecoverAbandoned", testAccountRecover},
	{"EachAccountRecoversAll", testEachAccount},
	{"AccountViewClose", testAccountClose},
	{"AccountIDsChecked", testAccountIDs},
}

// accounts returns the engine e as store.Accounts, failing the test if it is not one.
func (h *harness) accounts(e store.Store) store.Accounts {
	h.t.Helper()
	a, ok := e.(store.Accounts)
	if !ok {
		h.t.Fatalf("%T does not implement store.Accounts", e)
	}
	return a
}

// view opens account's view of engine e (closed when the test ends).
func (h *harness) view(e store.Store, account string) store.Store {
	h.t.Helper()
	v, err := h.accounts(e).ForAccount(account)
	if err != nil {
		h.t.Fatalf("ForAccount(%s): %v", account, err)
	}
	h.t.Cleanup(func() { _ = v.Close() })
	return v
}

// testAccountsApart: everything account A writes is invisible to account B and to the
// default account: windows, ledger entries, known recipients, opt-outs, the operator's
// lifts, tool contacts, nonces, delivery ids, inbound events and their sequence.
func testAccountsApart(t *testing.T, h *harness) {
	eng := h.store()
	a, b := h.view(eng, acctA), h.view(eng, acctB)
	ctx := h.ctx

	sent := h.reserve(a, entry(numA, ev("sms:"+numA, 1), ev("calls", 2)))
	h.settle(a, sent.ID, store.Settlement{State: store.Sent, APIID: "msg_a"})
	pending := h.reserve(a, entry(numB, ev("calls", 1)))
	if _, err := a.AddOptOut(ctx, store.OptOut{E164: numB, Reason: "STOP", At: T0}); err != nil {
		t.Fatal(err)
	}
	// The operator lifts numC's opt-out in A: that says nothing about B.
	if _, err := a.RemoveOptOut(ctx, numC, ""); err != nil {
		t.Fatal(err)
	}
	if err := a.MarkToolContact(ctx, numC, T0); err != nil {
		t.Fatal(err)
	}
	if fresh, err := a.UseNonce(ctx, "nonce-1", T0.Add(5*time.Minute)); !fresh || err != nil {
		t.Fatalf("UseNonce in A = %v, %v", fresh, err)
	}
	if seen, err := a.SeenDelivery(ctx, "dlv-1"); seen || err != nil {
		t.Fatalf("SeenDelivery in A = %v, %v", seen, err)
	}
	for _, id := range []string{"in-a1", "in-a2"} {
		if err := a.AppendInbound(ctx, "sms", id, []byte(`{}`), T0); err != nil {
			t.Fatal(err)
		}
	}

	// A sees its own state.
	if got := h.sum(a, "calls", T0); got != 3 {
		t.Errorf("A's calls window = %d, want 3", got)
	}
	if !h.known(a, numA).Known || !h.known(a, numC).ToolContact {
		t.Errorf("A lost its known recipient or tool contact: %+v %+v", h.known(a, numA), h.known(a, numC))
	}
	if out, _ := a.IsOptedOut(ctx, numB, store.ChannelSMS); !out {
		t.Error("A's opt-out is not seen in A")
	}

	for name, other := range map[string]store.Store{"B": b, "the default account": eng} {
		if got := h.sum(other, "calls", T0); got != 0 {
			t.Errorf("%s counts %d of A's calls", name, got)
		}
		if got := h.sum(other, "sms:"+numA, T0); got != 0 {
			t.Errorf("%s counts %d of A's SMS", name, got)
		}
		if k := h.known(other, numA); k.Known {
			t.Errorf("%s knows A's recipient", name)
		}
		if k := h.known(other, numC); k.ToolContact {
			t.Errorf("%s sees A's tool contact", name)
		}
		f, err := other.Facts(ctx, store.FactQuery{OptOuts: []store.OptOutQuery{{E164: numB, Channel: store.ChannelSMS}}})
		if err != nil || f.OptedOut[numB] {
			t.Errorf("%s sees A's opt-out in its facts: %v, %v", name, f.OptedOut, err)
		}
		if out, err := other.IsOptedOut(ctx, numB, store.ChannelSMS); out || err != nil {
			t.Errorf("%s: IsOptedOut of A's opt-out = %v, %v", name, out, err)
		}
		if l, err := other.ListOptOuts(ctx); len(l) != 0 || err != nil {
			t.Errorf("%s lists A's opt-outs: %+v, %v", name, l, err)
		}
		if es, err := other.Entries(ctx, store.EntryFilter{}); len(es) != 0 || err != nil {
			t.Errorf("%s lists A's ledger entries: %+v, %v", name, es, err)
		}
		if _, err := other.Entry(ctx, sent.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s reads A's entry: err = %v, want ErrNotFound", name, err)
		}
		if _, err := other.Settle(ctx, pending.ID, store.Settlement{State: store.Failed}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s settles A's entry: err = %v, want ErrNotFound", name, err)
		}
		if in, err := other.RecentInbound(ctx, 10); len(in) != 0 || err != nil {
			t.Errorf("%s reads A's inbound events: %+v, %v", name, in, err)
		}
	}
	// Single-use things are single-use per account: B's own use is fresh.
	if fresh, err := b.UseNonce(ctx, "nonce-1", T0.Add(5*time.Minute)); !fresh || err != nil {
		t.Errorf("a nonce A used is used in B too: %v, %v", fresh, err)
	}
	if seen, err := b.SeenDelivery(ctx, "dlv-1"); seen || err != nil {
		t.Errorf("a delivery A saw is seen in B too: %v, %v", seen, err)
	}
	// The operator's lift in A does not stop an opt-out in B.
	if added, err := b.AddOptOut(ctx, store.OptOut{E164: numC, Reason: "STOP", At: T0.Add(-time.Hour), Source: "inbound_sms"}); !added || err != nil {
		t.Errorf("an opt-out in B was refused because of a lift in A: %v, %v", added, err)
	}
	// B's inbound sequence is its own.
	if err := b.AppendInbound(ctx, "sms", "in-b1", []byte(`{}`), T0); err != nil {
		t.Fatal(err)
	}
	if in, err := b.RecentInbound(ctx, 10); err != nil || len(in) != 1 || in[0].ID != "in-b1" || in[0].Seq != 1 {
		t.Errorf("B's inbound = %+v, %v; want only in-b1 with sequence 1", in, err)
	}
	if in, err := a.RecentInbound(ctx, 10); err != nil || len(in) != 2 || in[1].Seq != 2 {
		t.Errorf("A's inbound = %+v, %v; want its two events, sequence 1 and 2", in, err)
	}
	// A's entries are A's: settling the pending one in A still works and releases A's window.
	h.settle(a, pending.ID, store.Settlement{State: store.Failed})
	if got := h.sum(a, "calls", T0); got != 2 {
		t.Errorf("A's calls window after a failed settle = %d, want 2", got)
	}
}

// testAccountViewsShared: a view of an account on another engine instance (another
// process or replica) sees the same account state; two views of one account on one engine
// are interchangeable.
func testAccountViewsShared(t *testing.T, h *harness) {
	e1, e2 := h.store(), h.store()
	a1, a2, a1again := h.view(e1, acctA), h.view(e2, acctA), h.view(e1, acctA)
	got := h.reserve(a1, entry(numA, ev("k", 1)))
	h.settle(a1, got.ID, store.Settlement{State: store.Sent})
	if _, err := a1.AddOptOut(h.ctx, store.OptOut{E164: numB, Reason: "STOP"}); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := a1.UseNonce(h.ctx, "n", T0.Add(time.Minute)); !fresh {
		t.Fatal("first use of a nonce was not fresh")
	}
	for name, v := range map[string]store.Store{"another instance's view": a2, "a second view": a1again} {
		if n := h.sum(v, "k", T0); n != 1 {
			t.Errorf("%s counts %d, want 1", name, n)
		}
		if !h.known(v, numA).Known {
			t.Errorf("%s does not know the recipient", name)
		}
		if out, _ := v.IsOptedOut(h.ctx, numB, store.ChannelCall); !out {
			t.Errorf("%s misses the opt-out", name)
		}
		if fresh, _ := v.UseNonce(h.ctx, "n", T0.Add(time.Minute)); fresh {
			t.Errorf("%s could use the account's nonce again", name)
		}
		if e, err := v.Entry(h.ctx, got.ID); err != nil || e.State != store.Sent {
			t.Errorf("%s reads the entry as %+v, %v", name, e, err)
		}
	}
	ids, err := h.accounts(e2).AccountIDs(h.ctx)
	if err != nil || len(ids) != 1 || ids[0] != acctA {
		t.Errorf("AccountIDs = %v, %v; want [%s]", ids, err, acctA)
	}
}

// testAccountGlobalKeys: a "global/" window is one window for every account: a
// reservation in A counts in B's and the default account's facts, and a failed settle in
// A releases it for all.
func testAccountGlobalKeys(t *testing.T, h *harness) {
	eng := h.store()
	a, b := h.view(eng, acctA), h.view(eng, acctB)
	e := h.reserve(a, entry(numA, ev("global/sms_day", 2), ev("sms_day", 2)))
	h.reserve(b, entry(numA, ev("global/sms_day", 1)))
	h.reserve(eng, entry(numA, ev("global/sms_day", 4)))
	for name, v := range map[string]store.Store{"A": a, "B": b, "the default account": eng} {
		if n := h.sum(v, "global/sms_day", T0); n != 7 {
			t.Errorf("%s reads the global window as %d, want 7", name, n)
		}
	}
	if n := h.sum(b, "sms_day", T0); n != 0 {
		t.Errorf("B reads A's own window as %d", n)
	}
	h.settle(a, e.ID, store.Settlement{State: store.Failed})
	if n := h.sum(b, "global/sms_day", T0); n != 5 {
		t.Errorf("after A's failed settle B reads the global window as %d, want 5", n)
	}
}

// testAccountGlobalCap: 40 goroutines over two accounts on two engine instances (two
// processes or replicas) reserve against a global cap of 5 and their own windows: exactly
// 5 pass, and each account's own window counts exactly its own passes.
func testAccountGlobalCap(t *testing.T, h *harness) {
	const limit, workers = 5, 40
	e1, e2 := h.store(), h.store()
	views := map[string][]store.Store{
		acctA: {h.view(e1, acctA), h.view(e2, acctA)},
		acctB: {h.view(e1, acctB), h.view(e2, acctB)},
	}
	var wonA, wonB atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		acct, won := acctA, &wonA
		if i%2 == 1 {
			acct, won = acctB, &wonB
		}
		s := views[acct][(i/2)%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := store.FactQuery{Windows: []store.Window{{Key: "global/capped", Since: T0}, {Key: "mine", Since: T0}}}
			_, err := s.Reserve(h.ctx, q, func(f store.Facts) (store.Entry, error) {
				if f.Sums[0]+1 > limit {
					return store.Entry{}, &refusal{"global cap reached"}
				}
				return entry(numA, ev("global/capped", 1), ev("mine", 1)), nil
			})
			var r *refusal
			switch {
			case err == nil:
				won.Add(1)
			case !errors.As(err, &r):
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if total := wonA.Load() + wonB.Load(); total != limit {
		t.Errorf("%d reservations (A %d, B %d) passed a global cap of %d", total, wonA.Load(), wonB.Load(), limit)
	}
	if n := h.sum(e2, "global/capped", T0); n != limit {
		t.Errorf("the global window counts %d, want %d", n, limit)
	}
	if n := h.sum(views[acctA][1], "mine", T0); n != int(wonA.Load()) {
		t.Errorf("A's own window counts %d, A won %d", n, wonA.Load())
	}
	if n := h.sum(views[acctB][0], "mine", T0); n != int(wonB.Load()) {
		t.Errorf("B's own window counts %d, B won %d", n, wonB.Load())
	}
}

// testAccountRecover: a view recovers its own account's abandoned entries and no other's;
// the default account's recovery leaves accounts' entries alone; AccountIDs names every
// account with entries, so a server can recover them all.
func testAccountRecover(t *testing.T, h *harness) {
	dying := h.open()
	da, err := h.accounts(dying).ForAccount(acctA)
	if err != nil {
		t.Fatal(err)
	}
	lost := h.reserve(da, entry(numA, ev("k", 1), ev("global/k", 1)))
	rootLost := h.reserve(dying, entry(numA, ev("k", 1)))
	if err := dying.Close(); err != nil { // its process is gone
		t.Fatal(err)
	}
	fresh := h.store()
	got, err := fresh.RecoverAbandoned(h.ctx)
	if err != nil || len(got) != 1 || got[0].ID != rootLost.ID {
		t.Fatalf("the default account's RecoverAbandoned = %+v, %v; want only its own entry", got, err)
	}
	if got, err := h.view(fresh, acctB).RecoverAbandoned(h.ctx); err != nil || len(got) != 0 {
		t.Errorf("B recovered %+v, %v; want nothing", got, err)
	}
	ids, err := h.accounts(fresh).AccountIDs(h.ctx)
	if err != nil || !contains(ids, acctA) {
		t.Fatalf("AccountIDs = %v, %v; want it to include %s", ids, err, acctA)
	}
	a := h.view(fresh, acctA)
	got, err = a.RecoverAbandoned(h.ctx)
	if err != nil || len(got) != 1 || got[0].ID != lost.ID || got[0].State != store.Unknown {
		t.Fatalf("A's RecoverAbandoned = %+v, %v; want its pending entry, unknown", got, err)
	}
	if n := h.sum(a, "k", T0); n != 1 {
		t.Errorf("A's recovered entry counts %d, want 1", n)
	}
	if n := h.sum(fresh, "global/k", T0); n != 1 {
		t.Errorf("the recovered entry's global event counts %d, want 1", n)
	}
	if again, err := a.RecoverAbandoned(h.ctx); err != nil || len(again) != 0 {
		t.Errorf("a second recovery = %+v, %v", again, err)
	}
}

// testEachAccount: store.EachAccount visits the default account and every account with
// entries, so one walk at start recovers every account's abandoned entries (each once).
func testEachAccount(t *testing.T, h *harness) {
	dying := h.open()
	want := map[string]string{}
	want[""] = h.reserve(dying, entry(numA, ev("k", 1))).ID
	for _, id := range []string{acctA, acctB} {
		v, err := h.accounts(dying).ForAccount(id)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = h.reserve(v, entry(numA, ev("k", 1))).ID
	}
	if err := dying.Close(); err != nil {
		t.Fatal(err)
	}
	fresh := h.store()
	got := map[string]string{}
	err := store.EachAccount(h.ctx, fresh, func(account string, v store.Store) error {
		es, err := v.RecoverAbandoned(h.ctx)
		for _, e := range es {
			if _, dup := got[account]; dup {
				t.Errorf("account %q recovered twice", account)
			}
			got[account] = e.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[""] != want[""] || got[acctA] != want[acctA] || got[acctB] != want[acctB] {
		t.Errorf("recovered %v, want %v (each account's own entry)", got, want)
	}
}

// testAccountClose: closing a view ends that view only; closing the engine ends every
// view with ErrClosed (no panic), and ForAccount then fails.
func testAccountClose(t *testing.T, h *harness) {
	eng := h.open()
	a1, err := h.accounts(eng).ForAccount(acctA)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := h.accounts(eng).ForAccount(acctA)
	if err != nil {
		t.Fatal(err)
	}
	if err := a1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.IsOptedOut(h.ctx, numA, store.ChannelSMS); !errors.Is(err, store.ErrClosed) {
		t.Errorf("a closed view: err = %v, want ErrClosed", err)
	}
	h.reserve(a2, entry(numA, ev("k", 1)))
	h.reserve(eng, entry(numA, ev("k", 1)))
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Reserve(h.ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return entry(numA), nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Reserve on a view of a closed engine: err = %v, want ErrClosed", err)
	}
	if _, err := a2.Entries(h.ctx, store.EntryFilter{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Entries on a view of a closed engine: err = %v, want ErrClosed", err)
	}
	if _, err := h.accounts(eng).ForAccount(acctB); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ForAccount on a closed engine: err = %v, want ErrClosed", err)
	}
	if err := a2.Close(); err != nil {
		t.Errorf("closing a view of a closed engine: %v", err)
	}
}

// testAccountIDs: ids that could break out of an account's keys are refused.
func testAccountIDs(t *testing.T, h *harness) {
	eng := h.store()
	for _, bad := range []string{"", "a/b", "a:b", "a b", "acct/x", "{x}", "é", strings.Repeat("a", store.MaxAccountLen+1), "a\x00"} {
		if _, err := h.accounts(eng).ForAccount(bad); !errors.Is(err, store.ErrBadAccount) {
			t.Errorf("ForAccount(%q): err = %v, want ErrBadAccount", bad, err)
		}
	}
	for _, good := range []string{"a", "A-b_9", strings.Repeat("f", store.MaxAccountLen)} {
		if _, err := h.accounts(eng).ForAccount(good); err != nil {
			t.Errorf("ForAccount(%q): %v", good, err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

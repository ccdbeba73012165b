package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore"
)

const acct = "0123456789abcdef0123456789abcdef"

// TestAccountKeys: the default account keeps its keys ({p}:ledger...); an account's keys
// are {p}:acct/<id>/...; its windows {p}:ev:acct/<id>/<key>, global ones {p}:ev:global/...;
// a store opened with Options.Account and a view made with ForAccount on another replica
// agree; owner heartbeats are engine-wide, so a live replica's account entries are never
// recovered by another replica's view.
func TestAccountKeys(t *testing.T) {
	prefix := newPrefix()
	ctx := context.Background()
	root := open(t, redisstore.Options{Prefix: prefix})
	t.Cleanup(func() { _ = root.Close() })
	byOption := open(t, redisstore.Options{Prefix: prefix, Account: acct})
	t.Cleanup(func() { _ = byOption.Close() })
	rdb := root.Client()
	tag := "{" + prefix + "}:"
	now := time.Now()

	d, err := root.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
		return store.Entry{Kind: "call", Events: []store.Event{{Key: "calls", At: now, Weight: 1}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := byOption.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
		return store.Entry{Kind: "call", Events: []store.Event{{Key: "calls", At: now, Weight: 1}, {Key: "global/calls", At: now, Weight: 1}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int64{
		tag + "led:" + d.ID:                        1,
		tag + "ev:calls":                           1,
		tag + "acct/" + acct + "/led:" + e.ID:      1,
		tag + "ev:acct/" + acct + "/calls":         1,
		tag + "ev:global/calls":                    1,
		tag + "led:" + e.ID:                        0,
		tag + "acct/" + acct + "/led:" + d.ID:      0,
		tag + "owner:" + byOption.Owner():          1,
		tag + "acct/" + acct + "/owner:" + e.Owner: 0,
	} {
		if n, _ := rdb.Exists(ctx, key).Result(); n != want {
			t.Errorf("key %s exists = %d, want %d", key, n, want)
		}
	}
	v, err := root.ForAccount(acct)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.Entry(ctx, e.ID); err != nil || got.ID != e.ID {
		t.Errorf("the view does not read what Options.Account wrote: %+v, %v", got, err)
	}
	if got, err := v.RecoverAbandoned(ctx); err != nil || len(got) != 0 {
		t.Errorf("a view recovered a live replica's entry: %+v, %v", got, err)
	}
	if ids, err := root.AccountIDs(ctx); err != nil || len(ids) != 1 || ids[0] != acct {
		t.Errorf("AccountIDs = %v, %v", ids, err)
	}
	if _, err := redisstore.Open(ctx, redisstore.Conn{URL: srv.URL()}, redisstore.Options{Prefix: prefix, Account: "a}b"}); err == nil || !strings.Contains(err.Error(), "invalid account id") {
		t.Errorf("Open with a malformed Options.Account: err = %v", err)
	}
}

// TestWatchAllInbound: one subscription on replica B hears every account's inbound events
// that replica A stores, each with its account; A's own do not come back to A.
func TestWatchAllInbound(t *testing.T) {
	prefix := newPrefix()
	a, b := open(t, redisstore.Options{Prefix: prefix}), open(t, redisstore.Options{Prefix: prefix})
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type got struct {
		account string
		id      string
	}
	heardA, heardB := make(chan got, 8), make(chan got, 8)
	if err := a.WatchAllInbound(ctx, func(acct string, in store.Inbound) { heardA <- got{acct, in.ID} }); err != nil {
		t.Fatal(err)
	}
	if err := b.WatchAllInbound(ctx, func(acct string, in store.Inbound) { heardB <- got{acct, in.ID} }); err != nil {
		t.Fatal(err)
	}
	va, err := a.ForAccount(acct)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AppendInbound(ctx, "sms", "default-1", []byte(`{}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := va.AppendInbound(ctx, "sms", "acct-1", []byte(`{}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	want := map[got]bool{{"", "default-1"}: true, {acct, "acct-1"}: true}
	for range 2 {
		select {
		case g := <-heardB:
			if !want[g] {
				t.Fatalf("replica B heard %+v; want one of %v", g, want)
			}
			delete(want, g)
		case <-time.After(10 * time.Second):
			t.Fatalf("replica B never heard %v", want)
		}
	}
	vb, err := b.ForAccount(acct)
	if err != nil {
		t.Fatal(err)
	}
	if err := vb.AppendInbound(ctx, "call", "acct-2", []byte(`{}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-heardA:
		if g != (got{acct, "acct-2"}) {
			t.Fatalf("replica A heard %+v; its own events must not come back to it", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("replica A never heard B's event")
	}
}

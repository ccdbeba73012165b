package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	bolt "go.etcd.io/bbolt"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

const acct = "0123456789abcdef0123456789abcdef"

// TestAccountLayout: the default account keeps the single-account layout exactly (its
// buckets at the top level, no accounts bucket until a view exists), an account's state is
// nested under accounts/<id>/, and its events live in the shared events bucket under the
// scoped key, global keys unscoped. A Bolt opened with Options.Account and a view made
// with ForAccount agree.
func TestAccountLayout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := clockwork.NewFakeClockAt(t0)
	root := openTest(t, dir, clk)
	reserve(t, root, "calls")
	must(t, root.Close())
	inspect(t, dir, func(tx *bolt.Tx) {
		if tx.Bucket([]byte("accounts")) != nil {
			t.Error("a default-account file got an accounts bucket")
		}
		if n := tx.Bucket([]byte("ledger")).Stats().KeyN; n != 1 {
			t.Errorf("the top-level ledger holds %d entries, want 1", n)
		}
	})

	byOption, err := store.Open(dir, store.Options{Clock: clk, Account: acct})
	must(t, err)
	e := reserve(t, byOption, "calls")
	g := reserve(t, byOption, "global/calls")
	must(t, byOption.Close())
	inspect(t, dir, func(tx *bolt.Tx) {
		ab := tx.Bucket([]byte("accounts")).Bucket([]byte(acct))
		if ab == nil || ab.Bucket([]byte("ledger")).Get([]byte(e.ID)) == nil {
			t.Fatal("the account's entry is not in accounts/<id>/ledger")
		}
		if tx.Bucket([]byte("ledger")).Get([]byte(e.ID)) != nil {
			t.Error("the account's entry is in the default ledger")
		}
		ev := tx.Bucket([]byte("events"))
		if ev.Bucket([]byte("acct/"+acct+"/calls")) == nil || ev.Bucket([]byte("global/calls")) == nil {
			t.Error("the account's events are not under their scoped keys")
		}
	})

	eng := openTest(t, dir, clk)
	v, err := eng.ForAccount(acct)
	must(t, err)
	if got, err := v.Entry(ctx, g.ID); err != nil || got.ID != g.ID {
		t.Errorf("the view does not read what Options.Account wrote: %+v, %v", got, err)
	}
	if n := sum(t, v, "calls", t0); n != 1 {
		t.Errorf("the view counts %d calls, want 1", n)
	}
	if n := sum(t, eng, "calls", t0); n != 1 {
		t.Errorf("the default account counts %d calls, want its own 1", n)
	}
	if ids, err := eng.AccountIDs(ctx); err != nil || len(ids) != 1 || ids[0] != acct {
		t.Errorf("AccountIDs = %v, %v", ids, err)
	}
	if _, err := store.Open(dir, store.Options{Account: "../x"}); err == nil {
		t.Error("Open with a malformed Options.Account succeeded")
	}
}

// TestSweepEveryAccount: the hourly sweep, whichever view runs it, removes old settled
// entries of every account, and old events of every account.
func TestSweepEveryAccount(t *testing.T) {
	ctx := context.Background()
	clk := clockwork.NewFakeClockAt(t0)
	eng, err := store.Open(t.TempDir(), store.Options{Clock: clk, EventRetention: 2 * time.Hour})
	must(t, err)
	defer eng.Close()
	v, err := eng.ForAccount(acct)
	must(t, err)
	for i := range 3 {
		e, err := v.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
			return store.Entry{Kind: "sms", CreatedAt: clk.Now(), Events: []store.Event{{Key: fmt.Sprint("k", i), At: clk.Now(), Weight: 1}}}, nil
		})
		must(t, err)
		_, err = v.Settle(ctx, e.ID, store.Settlement{State: store.Sent})
		must(t, err)
	}
	clk.Advance(3 * time.Hour)
	// The default account's reservation runs the sweep.
	_, err = eng.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
		return store.Entry{Kind: "call", Events: []store.Event{{Key: "calls", At: clk.Now(), Weight: 1}}}, nil
	})
	must(t, err)
	if list, err := v.Entries(ctx, store.EntryFilter{}); err != nil || len(list) != 0 {
		t.Errorf("the account's old settled entries survived the sweep: %d, %v", len(list), err)
	}
	if n, _ := eng.EventKeys(ctx); n != 1 {
		t.Errorf("%d event keys after the sweep, want 1", n)
	}
}

func inspect(t *testing.T, dir string, fn func(tx *bolt.Tx)) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, &bolt.Options{ReadOnly: true})
	must(t, err)
	defer db.Close()
	must(t, db.View(func(tx *bolt.Tx) error { fn(tx); return nil }))
}

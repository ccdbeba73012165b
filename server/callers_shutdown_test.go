package server

import (
	"context"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// TestCallerCloseSettlesSendsStillInFlight: in caller mode a caller's send still waiting
// for the API when the App closes is settled unknown (counted) in that caller's account,
// as the operator's own sends are: nothing is left pending for the next start.
func TestCallerCloseSettlesSendsStillInFlight(t *testing.T) {
	h := newCallerHarness(t, func(c *Config) { c.ConfirmMode = "off" })
	a := h.connectAs(callerKeyA)
	agentA, _, _ := h.setupAgentWithNumber(a)
	h.front.Account(callerKeyA).SetFault("POST /v1/messages", sandbox.Fault{Latency: time.Hour})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.callErr(a, "send_sms", sms(agentA, "+14155550193", "Held at the API."))
	}()
	accounts := h.app.store.(store.Accounts)
	var pending []store.Entry
	var account string
	for deadline := time.Now().Add(10 * time.Second); len(pending) == 0; {
		ids, err := accounts.AccountIDs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			v, err := accounts.ForAccount(id)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Entries(context.Background(), store.EntryFilter{States: []store.State{store.Pending}})
			_ = v.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > 0 {
				pending, account = got, id
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the caller's send never reached the books")
		}
		time.Sleep(5 * time.Millisecond) // the call runs on its own goroutine
	}
	dir := StoreDir(h.app.cfg)
	if err := h.app.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := st.ForAccount(account)
	if err != nil {
		t.Fatal(err)
	}
	en, err := v.Entry(context.Background(), pending[0].ID)
	h.clk.Advance(2 * time.Hour) // let the held answer go (before any Fatal: cleanup waits for it)
	if err != nil || en.State != store.Unknown || !en.State.Counts() || en.Note != policy.NoteStopped {
		t.Fatalf("the caller's held send after Close: %+v, %v; want unknown (counted) with the stopped note", en, err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the held send never returned after its answer was released")
	}
}

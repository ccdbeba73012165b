package server

import (
	"context"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// TestCloseSettlesSendsStillInFlight: a send whose API call has not answered (and that
// does not stop when asked) when the App closes is settled unknown by Close itself, with an
// audit outcome line "process stopped before the answer": it stays counted, the log has no
// intent without an outcome, and the next start has nothing left to recover.
func TestCloseSettlesSendsStillInFlight(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ConfirmMode = "off" })
	c := h.connect("inprocess")
	agentID, _, _ := h.setupAgentWithNumber(c)
	h.sb.SetFault("POST /v1/messages", sandbox.Fault{Latency: time.Hour})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.callErr(c, "send_sms", sms(agentID, "+14155550191", "Held at the API."))
	}()
	var pending []store.Entry
	for deadline := time.Now().Add(10 * time.Second); len(pending) == 0; {
		var err error
		pending, err = h.app.store.Entries(context.Background(), store.EntryFilter{States: []store.State{store.Pending}})
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the send never reached the books")
		}
		time.Sleep(5 * time.Millisecond) // the call runs on its own goroutine
	}
	logPath, dir := h.app.cfg.AuditLog, StoreDir(h.app.cfg)
	if err := h.app.Close(); err != nil {
		t.Fatal(err)
	}

	rep, err := audit.Inspect(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Open) != 0 {
		t.Fatalf("%d intents without an outcome after Close", len(rep.Open))
	}
	var stopped []audit.Entry
	if _, err := audit.Scan(logPath, func(e audit.Entry) error {
		if e.Phase == audit.PhaseOutcome && e.Ledger == pending[0].ID {
			stopped = append(stopped, e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(stopped) != 1 || stopped[0].Decision != "stopped" || stopped[0].Note != policy.NoteStopped || stopped[0].Outcome != string(store.Unknown) ||
		len(stopped[0].Events) == 0 {
		t.Fatalf("outcome lines of the held send: %+v; want one unknown, stopped, carrying its events", stopped)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	en, err := st.Entry(context.Background(), pending[0].ID)
	if err != nil || en.State != store.Unknown || !en.State.Counts() || en.Note != policy.NoteStopped {
		t.Fatalf("the held send in the ledger: %+v, %v; want unknown (counted) with the note", en, err)
	}
	if got, err := st.RecoverAbandoned(context.Background()); err != nil || len(got) != 0 {
		t.Fatalf("the next start recovers %d entries (%v); want none left", len(got), err)
	}
	h.clk.Advance(2 * time.Hour) // let the held answer go; the call then finds its books closed
	<-done
}

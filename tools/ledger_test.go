package tools

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// faultyStore is a store whose Reserve or Settle fails on demand, as on a full disk.
type faultyStore struct {
	store.Store
	mu                    sync.Mutex
	reserveErr, settleErr error
}

func (f *faultyStore) set(reserve, settle error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reserveErr, f.settleErr = reserve, settle
}

func (f *faultyStore) Reserve(ctx context.Context, q store.FactQuery, decide func(store.Facts) (store.Entry, error)) (store.Entry, error) {
	f.mu.Lock()
	err := f.reserveErr
	f.mu.Unlock()
	if err != nil {
		return store.Entry{}, fmt.Errorf("store: reserve: write state.db: %w", err)
	}
	return f.Store.Reserve(ctx, q, decide)
}

func (f *faultyStore) Settle(ctx context.Context, id string, s store.Settlement) (store.Entry, error) {
	f.mu.Lock()
	err := f.settleErr
	f.mu.Unlock()
	if err != nil {
		return store.Entry{}, fmt.Errorf("store: settle: write state.db: %w", err)
	}
	return f.Store.Settle(ctx, id, s)
}

// gate is a transport in front of the sandbox that counts the messages sent per recipient
// and can hold the sends to one recipient until released (an API call that hangs).
type gate struct {
	next    http.RoundTripper
	mu      sync.Mutex
	sent    map[string]int
	hangTo  string
	held    chan struct{} // a held request arrived
	release chan struct{}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.URL.Path == "/v1/messages" && r.Body != nil {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		g.mu.Lock()
		hang := g.hangTo != "" && bytes.Contains(raw, []byte(g.hangTo))
		if !hang {
			for to := range strings.SplitSeq(string(raw), `"to_number":"`) {
				if n, _, ok := strings.Cut(to, `"`); ok && strings.HasPrefix(n, "+") {
					g.sent[n]++
				}
			}
		}
		g.mu.Unlock()
		if hang {
			g.held <- struct{}{}
			select {
			case <-g.release:
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		}
	}
	return g.next.RoundTrip(r)
}

func (g *gate) count(to string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent[to]
}

// ledgerEnv is a toolEnv (confirm mode off) whose store and API transport the test controls.
type ledgerToolEnv struct {
	*toolEnv
	st   *faultyStore
	gate *gate
	from string
}

func newLedgerToolEnv(t *testing.T) *ledgerToolEnv {
	t.Helper()
	clk := clockwork.NewFakeClockAt(time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC))
	sb := sandbox.New(sandbox.Options{Clock: clk, Seed: 1})
	t.Cleanup(sb.Close)
	g := &gate{next: sb.Transport(), sent: map[string]int{}, held: make(chan struct{}, 1), release: make(chan struct{})}
	ep, _ := keyguard.ParseBaseURL("")
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret("k"), g), Clock: clk, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	bolt, err := store.Open(t.TempDir(), store.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bolt.Close() })
	st := &faultyStore{Store: bolt}
	eng, err := policy.New(policy.Config{ConfirmMode: ConfirmOff, DefaultRegion: "US"}, policy.Deps{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	d := &Deps{API: api, Policy: eng, ConfirmMode: ConfirmOff, DefaultRegion: "US", Principal: "test", Clock: clk, Sandbox: true}
	env := &toolEnv{t: t, ctx: context.Background(), clock: clk, sb: sb, deps: d, tools: map[string]Tool{}}
	for _, tl := range All(d) {
		env.tools[tl.Def.Name] = tl
	}
	_, n := env.seed("Ledger")
	return &ledgerToolEnv{toolEnv: env, st: st, gate: g, from: n.PhoneNumber}
}

func (e *ledgerToolEnv) sms(to, body string) map[string]any {
	return map[string]any{"from_number": e.from, "to_number": to, "body": body}
}

// TestReserveFailsClosed: when the reservation cannot be written (a full disk), nothing is
// sent, and the result says why and what the operator should do.
func TestReserveFailsClosed(t *testing.T) {
	e := newLedgerToolEnv(t)
	e.st.set(syscall.ENOSPC, nil)
	text, data := e.fails("send_sms", e.sms("+14155550142", "hello"))
	if data["status"] != "not_sent" || !strings.Contains(text, "nothing was sent") || !strings.Contains(fmt.Sprint(data["operator_action"]), "disk") {
		t.Fatalf("result = %s %v; want not_sent with the full-disk advice", text, data)
	}
	if n := e.gate.count("+14155550142"); n != 0 {
		t.Fatalf("%d messages left without a reservation", n)
	}
	e.st.set(nil, nil)
	e.ok("send_sms", e.sms("+14155550142", "hello"))
	if n := e.gate.count("+14155550142"); n != 1 {
		t.Fatalf("after the disk was freed %d messages went out, want 1", n)
	}
}

// TestSettleFailureStillSaysSent: when the settlement cannot be written after the API sent
// the message, the result still says it was sent (with a note), and the entry stays counted.
func TestSettleFailureStillSaysSent(t *testing.T) {
	e := newLedgerToolEnv(t)
	e.st.set(nil, syscall.ENOSPC)
	text, data := e.ok("send_sms", e.sms("+14155550142", "hello"))
	mustContain(t, text, "Sent", "stays counted")
	if data["books_warning"] == nil {
		t.Errorf("no books_warning in %v", data)
	}
	pending, err := e.st.Entries(e.ctx, store.EntryFilter{States: []store.State{store.Pending}})
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending entries = %+v, %v; want the sent one, still counted", pending, err)
	}
	// The settlement is retried in the background: once the store takes writes again, the
	// entry becomes sent.
	e.st.set(nil, nil)
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if err := e.clock.BlockUntilContext(ctx, 1); err != nil { // the retry waits for its pause
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	for range 500 {
		if en, _ := e.st.Entry(e.ctx, pending[0].ID); en.State == store.Sent {
			break
		}
		time.Sleep(2 * time.Millisecond) // the retry runs on its own goroutine
	}
	if en, err := e.st.Entry(e.ctx, pending[0].ID); err != nil || en.State != store.Sent {
		t.Fatalf("after the store recovered the entry is %+v, %v; want sent", en, err)
	}
	f, err := e.st.Facts(e.ctx, store.FactQuery{Windows: []store.Window{{Key: "sms:+14155550142", Since: e.clock.Now().Add(-time.Hour)}}})
	if err != nil || f.Sums[0] != 1 {
		t.Fatalf("the recipient counts %v, %v; want 1", f.Sums, err)
	}
}

// TestHungSendDelaysNoOther: while one send hangs at the API, sends to other recipients in
// the same process go through (the old per-process outbound lock made them wait).
func TestHungSendDelaysNoOther(t *testing.T) {
	e := newLedgerToolEnv(t)
	e.gate.hangTo = "+14155550199"
	done := make(chan string, 1)
	go func() { done <- textOf(e.call("send_sms", e.sms("+14155550199", "this one hangs"))) }()
	<-e.gate.held
	for i := range 3 {
		to := fmt.Sprintf("+1415555014%d", i)
		e.ok("send_sms", e.sms(to, "not held up"))
		if e.gate.count(to) != 1 {
			t.Fatalf("the send to %s did not go out while another hung", to)
		}
	}
	close(e.gate.release)
	if got := <-done; !strings.Contains(got, "Sent") {
		t.Fatalf("the hung send, once released: %s", got)
	}
}

// TestMaybeSentNotFoundStaysCounted: the API fails with a 5xx without acting; the result
// says the message may have been sent and was not found, the entry stays unknown (counted),
// and the identical retry asks for the duplicate confirmation.
func TestMaybeSentNotFoundStaysCounted(t *testing.T) {
	e := newLedgerToolEnv(t)
	e.deps.ReconcileWithin = 500 * time.Millisecond // one look, no waiting on the fake clock
	e.sb.SetFault("POST /v1/messages", sandbox.Fault{Status: 502, Times: 1})
	args := e.sms("+14155550142", "hello")
	text, data := e.ok("send_sms", args)
	mustContain(t, text, "may have been sent", "does not show it yet", "Do not retry blindly")
	if data["status"] != "maybe_sent" || data["reconciled"] != false {
		t.Fatalf("result data = %v", data)
	}
	en, err := e.st.Entry(e.ctx, data["ledger_id"].(string))
	if err != nil || en.State != store.Unknown {
		t.Fatalf("entry = %+v, %v; want unknown", en, err)
	}
	e.deps.ConfirmMode = ConfirmAuto
	_, again := e.ok("send_sms", args)
	rules := fmt.Sprint(again["rules"])
	if again["status"] != "confirmation_required" || !strings.Contains(rules, "duplicate") {
		t.Fatalf("identical retry = %v; want a confirmation naming duplicate", again)
	}
}

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// fanOut runs n calls of tool on each process at once and returns the results.
func fanOut(t *testing.T, procs []*proc, n int, tool string, args func(p, i int) map[string]any) []result {
	t.Helper()
	var mu sync.Mutex
	var out []result
	var wg sync.WaitGroup
	for pi, p := range procs {
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := callTool(t, p.c, tool, args(pi, i))
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return out
}

// okCount counts results that are not errors, and fails on an error other than a cap.
func okCount(t *testing.T, rs []result) int {
	t.Helper()
	n := 0
	for _, r := range rs {
		switch {
		case !r.isError:
			n++
		case r.str("rule") != "rate_limit":
			t.Errorf("a send failed other than by the cap: %s", r.text)
		}
	}
	return n
}

// TestCapsHoldAcrossProcesses: N processes of the binary (2, 4, 8) on one state dir send at
// once; exactly the cap reaches the API that counts requests: SMS per recipient, calls per
// recipient, new recipients, and the all-recipients calls cap.
func TestCapsHoldAcrossProcesses(t *testing.T) {
	for _, n := range []int{2, 4, 8} {
		t.Run(fmt.Sprint(n, " processes"), func(t *testing.T) {
			f := newFakeAPI(t)
			agentID, _ := f.sender(t)
			dir := t.TempDir()
			pf := policyFileWith(t, map[string]any{
				"allowlist": []string{numberN(0, 1), numberN(0, 2), "+16502532"}, // block 2: the calls-cap recipients
				"limits":    map[string]int{"sms_per_recipient_hour": 3, "calls_per_recipient_10min": 1, "new_recipients_day": 3, "calls_hour": 4},
			})
			procs := make([]*proc, n)
			for i := range procs {
				procs[i] = startProc(t, ledgerEnv(t, f, dir, "AGENTPHONE_POLICY_FILE="+pf))
			}
			smsTo, callTo := numberN(0, 1), numberN(0, 2)

			rs := fanOut(t, procs, 3, "send_sms", func(p, i int) map[string]any { return smsArgs(agentID, smsTo, fmt.Sprintf("p%d m%d", p, i)) })
			if got := f.count("POST /v1/messages", smsTo); got != 3 || okCount(t, rs) != 3 {
				t.Errorf("SMS to one recipient: %d reached the API, %d reported sent; want exactly the cap of 3", got, okCount(t, rs))
			}

			rs = fanOut(t, procs, 2, "make_call", func(p, i int) map[string]any {
				return map[string]any{"agent_id": agentID, "to_number": callTo, "topic": fmt.Sprintf("p%d c%d", p, i)}
			})
			if got := f.count("POST /v1/calls", callTo); got != 1 || okCount(t, rs) != 1 {
				t.Errorf("calls to one recipient: %d reached the API, %d reported placed; want exactly 1", got, okCount(t, rs))
			}

			rs = fanOut(t, procs, 2, "send_sms", func(p, i int) map[string]any { return smsArgs(agentID, numberN(1, p*10+i), "hello") })
			newSent := 0
			for _, r := range f.all() {
				if r.route == "POST /v1/messages" && strings.HasPrefix(r.to, "+16502531") {
					newSent++
				}
			}
			if newSent != 3 || okCount(t, rs) != 3 {
				t.Errorf("new recipients: %d reached the API, %d reported sent; want exactly the cap of 3", newSent, okCount(t, rs))
			}

			rs = fanOut(t, procs, 2, "make_call", func(p, i int) map[string]any {
				return map[string]any{"agent_id": agentID, "to_number": numberN(2, p*10+i), "topic": "hi"}
			})
			if got := f.count("POST /v1/calls", ""); got != 4 || okCount(t, rs) != 3 {
				t.Errorf("calls per hour (all recipients): %d calls reached the API in all, %d more reported placed; want exactly the cap of 4 (1 + 3)", got, okCount(t, rs))
			}
		})
	}
}

// policyFileWith writes a policy file with arbitrary keys.
func policyFileWith(t testing.TB, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLostAnswersAreCounted: the fake API acts, then loses the answer (reset, timeout, 5xx,
// a non-JSON 2xx, an empty 2xx). The send is counted, the result says it may have been
// sent, reconciliation finds it in the API and settles the ledger, and the identical retry
// asks for the duplicate confirmation.
func TestLostAnswersAreCounted(t *testing.T) {
	f := newFakeAPI(t)
	agentID, _ := f.sender(t)
	dir := t.TempDir()
	pf := policyFileWith(t, map[string]any{"limits": map[string]int{"calls_per_recipient_10min": 3}})
	p := startProc(t, ledgerEnv(t, f, dir, "AGENTPHONE_CONFIRM_MODE=auto", "AGENTPHONE_API_TIMEOUT=1s", "AGENTPHONE_POLICY_FILE="+pf))
	st, err := store.Open(filepath.Join(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cases := []struct {
		route string
		fault fault
	}{
		{"POST /v1/messages", faultReset}, {"POST /v1/messages", faultTimeout}, {"POST /v1/messages", fault5xx},
		{"POST /v1/messages", faultNotJSON}, {"POST /v1/messages", faultEmpty2xx},
		{"POST /v1/calls", fault5xx}, {"POST /v1/calls", faultEmpty2xx},
	}
	for i, tc := range cases {
		t.Run(tc.route+" "+string(tc.fault), func(t *testing.T) {
			to := numberN(3, i)
			tool, args := "send_sms", smsArgs(agentID, to, "Your table is ready.")
			if tc.route == "POST /v1/calls" {
				tool, args = "make_call", map[string]any{"agent_id": agentID, "to_number": to, "topic": "confirm the booking"}
			}
			f.setFault(tc.route, tc.fault)
			defer f.setFault(tc.route, faultNone)
			r := confirmed(t, p.c, tool, args)
			if f.count(tc.route, to) != 1 {
				t.Fatalf("the API received %d requests, want 1", f.count(tc.route, to))
			}
			if !strings.Contains(r.text, "may have been sent") || r.data["reconciled"] != true || r.str("status") != "sent" {
				t.Fatalf("result after a lost answer: %s %v; want 'may have been sent', reconciled, status sent", r.text, r.data)
			}
			id := r.str("ledger_id")
			en, err := st.Entry(context.Background(), id)
			if err != nil || en.State != store.Sent || en.APIID == "" || en.APIID != r.str("id") {
				t.Fatalf("ledger entry %s = %+v, %v; want sent with the API id found", id, en, err)
			}
			f.setFault(tc.route, faultNone)
			again := callTool(t, p.c, tool, args)
			if again.str("status") != "confirmation_required" && !(tool == "make_call" && again.str("rule") == "rate_limit") {
				t.Fatalf("identical retry: %s; want a confirmation", again.text)
			}
			if again.str("status") == "confirmation_required" && !slices.Contains(anyStrings(again.data["rules"]), "duplicate") {
				t.Fatalf("identical retry asks for %v, want duplicate among them", again.data["rules"])
			}
			if f.count(tc.route, to) != 1 {
				t.Fatal("the identical retry went out unconfirmed")
			}
		})
	}
}

func anyStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestKillNineDuringBursts kills the server with SIGKILL at random points of a burst of
// sends, over and over, on one state dir. Afterwards (one more start recovers what the dead
// processes left pending): every request the API received has an audit intent and is
// counted in the state, and `audit verify` passes with every intent closed.
func TestKillNineDuringBursts(t *testing.T) {
	f := newFakeAPI(t)
	agentID, _ := f.sender(t)
	dir := t.TempDir()
	pf := policyFileWith(t, map[string]any{
		"allowlist": []string{"+16502534"},
		"limits":    map[string]int{"sms_per_recipient_hour": -1, "sms_per_recipient_day": -1, "sms_segments_hour": -1, "new_recipients_day": -1},
	})
	env := ledgerEnv(t, f, dir, "AGENTPHONE_POLICY_FILE="+pf)
	const kills, burst = 22, 6
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	for k := range kills {
		p := startProc(t, env)
		for i := range burst {
			go func() {
				req := smsArgs(agentID, numberN(4, i), fmt.Sprintf("kill %d send %d", k, i))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_, _ = callToolCtx(ctx, p.c, "send_sms", req)
			}()
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		p.kill()
	}
	t.Logf("%d kills in %v; the API received %d sends", kills, time.Since(start).Round(time.Millisecond), len(f.all()))
	if len(f.all()) == 0 {
		t.Fatal("no send reached the API: the kills came too early to test anything")
	}
	last := startProc(t, env) // recovers the dead processes' pending entries
	_ = last.c.Close()
	if !waitFor(10*time.Second, func() bool { live, _ := store.LiveOwners(dir); return len(live) == 0 }) {
		t.Fatal("the last server did not exit")
	}

	out, err := runCLI(t, env, "audit", "verify")
	if err != nil || !strings.Contains(out, "hash chain intact") || !strings.Contains(out, "Every send intent has its outcome") {
		t.Fatalf("audit verify after the kills: %v\n%s", err, out)
	}
	intents := map[string]int{} // body hash -> intent lines
	if _, err := audit.Scan(filepath.Join(dir, audit.DefaultFileName), func(e audit.Entry) error {
		if e.Phase == audit.PhaseIntent {
			intents[e.BodySHA256]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	perTo := map[string]int{}
	for _, r := range f.all() {
		sum := sha256.Sum256([]byte(r.body))
		if intents[hex.EncodeToString(sum[:])] == 0 {
			t.Errorf("the API received %q to %s, but the audit log has no intent for it", r.body, r.to)
		}
		perTo[r.to]++
	}
	for to, n := range perTo {
		facts, err := st.Facts(context.Background(), store.FactQuery{Windows: []store.Window{{Key: "sms:" + to, Since: time.Now().Add(-time.Hour)}}})
		if err != nil {
			t.Fatal(err)
		}
		if facts.Sums[0] < n {
			t.Errorf("%s: the API received %d sends but the state counts %d", to, n, facts.Sums[0])
		}
	}
	pending, err := st.Entries(context.Background(), store.EntryFilter{States: []store.State{store.Pending}})
	if err != nil || len(pending) != 0 {
		t.Errorf("%d entries still pending after recovery (%v)", len(pending), err)
	}
}

// TestDamagedStateIsRefusedAndRebuilt: an emptied, truncated or missing state.db where the
// audit log shows history is refused at start with a message naming `state rebuild` (no
// panic, no SIGBUS); `state rebuild` restores the opt-outs and the known recipients.
func TestDamagedStateIsRefusedAndRebuilt(t *testing.T) {
	f := newFakeAPI(t)
	agentID, _ := f.sender(t)
	dir := t.TempDir()
	env := ledgerEnv(t, f, dir)
	p := startProc(t, env)
	mustOK(t, callTool(t, p.c, "send_sms", smsArgs(agentID, numberN(5, 1), "hello")), "send_sms")
	_ = p.c.Close()
	if out, err := runCLI(t, env, "optout", "add", numberN(5, 2), "asked by phone"); err != nil {
		t.Fatalf("optout add: %v\n%s", err, out)
	}
	db := filepath.Join(dir, store.FileName)
	for _, damage := range []struct {
		name string
		do   func() error
	}{
		{"emptied", func() error { return os.Truncate(db, 0) }},
		{"truncated to 8 KB", func() error { return os.Truncate(db, 8<<10) }},
		{"deleted", func() error { return os.Remove(db) }},
	} {
		t.Run(damage.name, func(t *testing.T) {
			if err := damage.do(); err != nil {
				t.Fatal(err)
			}
			out, err := runCLI(t, env)
			if err == nil || !strings.Contains(out, "state rebuild") || strings.Contains(out, "panic") || strings.Contains(out, "SIGBUS") {
				t.Fatalf("start on a state file %s: err %v, output:\n%s\nwant a refusal naming state rebuild", damage.name, err, out)
			}
			out, err = runCLI(t, env, "state", "rebuild")
			if err != nil || !strings.Contains(out, "1 opt-outs") {
				t.Fatalf("state rebuild: %v\n%s", err, out)
			}
			p := startProc(t, env)
			r := callTool(t, p.c, "send_sms", smsArgs(agentID, numberN(5, 2), "are you there?"))
			if !r.isError || r.str("rule") != "opted_out" {
				t.Fatalf("after the rebuild the opted-out number was not refused: %s", r.text)
			}
			_ = p.c.Close()
		})
	}
	if n := f.count("POST /v1/messages", numberN(5, 2)); n != 0 {
		t.Errorf("the opted-out number was texted %d times", n)
	}
}

// callToolCtx is callTool with a caller's context and no test failure on a protocol error
// (the server may be killed mid-call).
func callToolCtx(ctx context.Context, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	return c.CallTool(ctx, req)
}

// TestLostGroupAnswerIsReconciled: a group message (a new iMessage group) whose answer is
// lost after the API acted is counted, reported as maybe sent, and found again by its
// members: reconciliation settles the ledger entry with the message the API shows.
func TestLostGroupAnswerIsReconciled(t *testing.T) {
	f := newFakeAPI(t)
	agentID, _ := f.sender(t)
	dir := t.TempDir()
	p := startProc(t, ledgerEnv(t, f, dir, "AGENTPHONE_CONFIRM_MODE=auto", "AGENTPHONE_API_TIMEOUT=1s"))
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// iMessage users in the sandbox: the last seven digits start with 555013.
	args := map[string]any{"agent_id": agentID, "recipients": []string{"+14155550131", "+14155550132"}, "body": "Dinner at 8?"}
	for _, x := range []fault{faultReset, faultEmpty2xx} {
		t.Run(string(x), func(t *testing.T) {
			before := f.count("POST /v1/messages", "")
			f.setFault("POST /v1/messages", x)
			defer f.setFault("POST /v1/messages", faultNone)
			r := confirmed(t, p.c, "send_sms", args)
			if got := f.count("POST /v1/messages", "") - before; got != 1 {
				t.Fatalf("the API received %d group sends, want 1", got)
			}
			if !strings.Contains(r.text, "may have been sent") || r.data["reconciled"] != true || r.str("status") != "sent" {
				t.Fatalf("result after a lost group answer: %s %v; want 'may have been sent', reconciled, status sent", r.text, r.data)
			}
			en, err := st.Entry(context.Background(), r.str("ledger_id"))
			if err != nil || en.State != store.Sent || en.APIID == "" || len(en.Recipients) != 2 {
				t.Fatalf("ledger entry = %+v, %v; want sent, with the message id found and both members", en, err)
			}
			args["body"] = "Dinner at 9?" // the next case starts its own group
		})
	}
}

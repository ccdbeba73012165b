package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// TestCampaignKillNineResumesWithoutDoubleSend kills the server (SIGKILL) while a
// campaign's third send is reserved in the ledger and held at the API, starts another
// server on the same state dir, and counts at the API: the run goes on where it stopped,
// the held recipient is not sent again (its outcome is unknown), nobody gets two messages.
func TestCampaignKillNineResumesWithoutDoubleSend(t *testing.T) {
	f := newFakeAPI(t)
	agentID, _ := f.sender(t)
	dir := t.TempDir()
	pf := policyFileWith(t, map[string]any{
		"allowlist": []string{"+16502535"},
		"limits":    map[string]int{"sms_per_recipient_hour": -1, "sms_per_recipient_day": -1, "sms_segments_hour": -1, "new_recipients_day": -1},
	})
	env := ledgerEnv(t, f, dir, "AGENTPHONE_POLICY_FILE="+pf)
	var nums []string
	var rs []any
	for i := range 5 {
		nums = append(nums, numberN(5, i))
		rs = append(rs, map[string]any{"phone_number": numberN(5, i)})
	}
	held := nums[2]
	f.mu.Lock()
	f.hangTo = held
	f.mu.Unlock()

	p := startProc(t, env)
	res := mustOK(t, callTool(t, p.c, "create_campaign", map[string]any{
		"name": "kill", "agent_id": agentID, "recipients": rs, "template": "Your parcel arrives today.", "per_minute": 60,
	}), "create_campaign")
	id := res.str("id")
	if res.str("status") != "running" || id == "" {
		t.Fatalf("create_campaign: %v", res.data)
	}
	// Wait until the held send is on the books (reserved, its request held at the API).
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reserved := waitFor(20*time.Second, func() bool {
		es, err := st.Entries(context.Background(), store.EntryFilter{Recipient: held})
		return err == nil && len(es) == 1 && es[0].CampaignID == id
	})
	_ = st.Close()
	if !reserved {
		t.Fatalf("the third send was never reserved; the API got %v", f.all())
	}
	p.kill()
	f.mu.Lock()
	f.hangTo = "" // a send of the held recipient after the restart would now reach the API
	f.mu.Unlock()
	if got := f.count("POST /v1/messages", ""); got != 2 {
		t.Fatalf("before the kill the API got %d sends, want 2", got)
	}

	p2 := startProc(t, env)
	if !waitFor(20*time.Second, func() bool { return f.count("POST /v1/messages", "") == 4 }) {
		t.Fatalf("the restarted server did not finish the run: the API got %v", f.all())
	}
	var r result
	if !waitFor(10*time.Second, func() bool {
		r = callTool(t, p2.c, "get_campaign", map[string]any{"campaign_id": id})
		return r.str("status") == "completed"
	}) {
		t.Fatalf("campaign after the restart: %s", r.text)
	}
	counts, _ := r.data["counts"].(map[string]any)
	if counts["sent"] != float64(4) || counts["maybe_sent"] != float64(1) {
		t.Fatalf("counts %v, want 4 sent and 1 maybe_sent", counts)
	}
	// Every line of the campaign carries its id: one intent per recipient, plus the approval.
	out, err := runCLI(t, env, "audit", "show", "--campaign", id)
	if err != nil {
		t.Fatalf("audit show: %v\n%s", err, out)
	}
	intents := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l struct{ Phase, Campaign, Kind, Target string }
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Campaign != id {
			t.Fatalf("audit show --campaign printed %q (%v)", line, err)
		}
		if l.Phase == "intent" {
			intents[l.Kind+" "+l.Target]++
		}
	}
	if intents["campaign "] != 1 || len(intents) != 6 {
		t.Fatalf("intents of the campaign: %v", intents)
	}
	for _, n := range nums {
		want := 1
		if n == held {
			want = 0
		}
		if got := f.count("POST /v1/messages", n); got != want {
			t.Errorf("%s: the API got %d sends, want %d", n, got, want)
		}
	}
}

// TestCampaignSteeredFromAnotherProcess: two servers share a state dir. The one that created
// the campaign runs it; the other pauses it (the runner stops), resumes it (and so takes the
// run over), and the first cancels it (the second stops). Counted at the API: nobody is
// texted twice, nothing is sent while paused or after the cancel.
func TestCampaignSteeredFromAnotherProcess(t *testing.T) {
	f := newFakeAPI(t)
	agentID, _ := f.sender(t)
	dir := t.TempDir()
	pf := policyFileWith(t, map[string]any{
		"allowlist": []string{"+16502536"},
		"limits":    map[string]int{"sms_per_recipient_hour": -1, "sms_per_recipient_day": -1, "sms_segments_hour": -1, "new_recipients_day": -1},
	})
	env := ledgerEnv(t, f, dir, "AGENTPHONE_POLICY_FILE="+pf)
	var rs []any
	for i := range 40 {
		rs = append(rs, map[string]any{"phone_number": numberN(6, i)})
	}
	a, b := startProc(t, env), startProc(t, env)
	res := mustOK(t, callTool(t, a.c, "create_campaign", map[string]any{
		"name": "steer", "agent_id": agentID, "recipients": rs, "template": "Your parcel arrives today.", "per_minute": 60,
	}), "create_campaign")
	id := res.str("id")
	sent := func() int { return f.count("POST /v1/messages", "") }
	if !waitFor(20*time.Second, func() bool { return sent() >= 2 }) {
		t.Fatalf("the run did not start: %v", f.all())
	}
	if r := callTool(t, b.c, "pause_campaign", map[string]any{"campaign_id": id}); r.str("status") != "paused" {
		t.Fatalf("pause from the other process: %s", r.text)
	}
	paused := sent()
	time.Sleep(2500 * time.Millisecond) // real processes, real clock: 2.5 send intervals
	if got := sent(); got > paused+1 {  // one send may have been on its way
		t.Fatalf("sent %d while paused (at pause %d)", got, paused)
	}
	paused = sent()
	if r := callTool(t, b.c, "resume_campaign", map[string]any{"campaign_id": id}); r.str("status") != "running" {
		t.Fatalf("resume from the other process: %s", r.text)
	}
	if !waitFor(20*time.Second, func() bool { return sent() >= paused+2 }) {
		t.Fatal("the resumed run did not go on")
	}
	if r := callTool(t, a.c, "cancel_campaign", map[string]any{"campaign_id": id}); r.str("status") != "canceled" {
		t.Fatalf("cancel from the first process: %s", r.text)
	}
	canceled := sent()
	time.Sleep(2500 * time.Millisecond)
	final := sent()
	if final > canceled+1 {
		t.Fatalf("sent %d after the cancel (at cancel %d)", final, canceled)
	}
	per := map[string]int{}
	for _, r := range f.all() {
		per[r.to]++
		if per[r.to] > 1 {
			t.Fatalf("%s texted twice", r.to)
		}
	}
	r := callTool(t, b.c, "get_campaign", map[string]any{"campaign_id": id})
	counts, _ := r.data["counts"].(map[string]any)
	if r.str("status") != "canceled" || int(counts["sent"].(float64)) != final || counts["queued"] != float64(0) {
		t.Fatalf("campaign after the cancel (API got %d): %s %v", final, r.text, counts)
	}
}

// TestCallCampaignKillNineAdoptsCallsInProgress runs a call campaign (two calls at once) in
// the built binary against a standalone simulated API, kills it (SIGKILL) while one call is
// talking and another was placed at the API but its answer never came back, and starts
// another server on the same state dir. Counted at the API: nobody is called twice, never
// more than two calls are in progress, and the restarted run records the outcome of both
// calls it found in progress (one from the ledger, one found in the API) and calls the rest.
func TestCallCampaignKillNineAdoptsCallsInProgress(t *testing.T) {
	f := newFakeAPI(t)
	agentID, _ := f.sender(t)
	dir := t.TempDir()
	pf := policyFileWith(t, map[string]any{"allowlist": []string{"+1650555"}})
	env := ledgerEnv(t, f, dir, "AGENTPHONE_POLICY_FILE="+pf)
	// The sandbox's simulated people +1 650 555-0200..0203 all answer (sandbox.PeoplePrefix).
	var nums []string
	var rs []any
	for i := range 4 {
		n := fmt.Sprintf("+1650555020%d", i)
		nums = append(nums, n)
		rs = append(rs, map[string]any{"phone_number": n, "variables": map[string]any{"name": fmt.Sprintf("P%d", i)}})
	}
	held := nums[1]
	f.mu.Lock()
	f.holdTo = held
	f.mu.Unlock()

	p := startProc(t, env)
	res := mustOK(t, callTool(t, p.c, "create_campaign", map[string]any{
		"name": "calls", "channel": "call", "agent_id": agentID, "recipients": rs, "per_minute": 60, "concurrent_calls": 2,
		"topic": "remind {{name}} of tomorrow's delivery", "initial_greeting": "Hello {{name}}.",
	}), "create_campaign")
	id := res.str("id")
	calls := func(to string) int { return f.count("POST /v1/calls", to) }
	// Kill once the second call reached the API (its answer held): the first is talking.
	if !waitFor(20*time.Second, func() bool { return calls(held) == 1 }) {
		t.Fatalf("the second call never reached the API: %v", f.all())
	}
	// The request is counted as it arrives: wait for the API to have acted on it.
	if !waitFor(10*time.Second, func() bool { now, _ := f.sb.CallsInProgress(); return now == 2 }) {
		now, _ := f.sb.CallsInProgress()
		t.Fatalf("%d calls in progress at the kill, want 2", now)
	}
	p.kill()
	if got := calls(""); got != 2 {
		t.Fatalf("before the kill the API got %d calls, want 2", got)
	}

	p2 := startProc(t, env)
	var r result
	if !waitFor(60*time.Second, func() bool {
		r = callTool(t, p2.c, "get_campaign", map[string]any{"campaign_id": id})
		return r.str("status") == "completed"
	}) {
		t.Fatalf("the restarted server did not finish the run: %s; the API got %v", r.text, f.all())
	}
	for _, n := range nums {
		if got := calls(n); got != 1 {
			t.Errorf("%s: the API got %d calls, want 1", n, got)
		}
	}
	if _, peak := f.sb.CallsInProgress(); peak > 2 {
		t.Errorf("%d calls were in progress at once, the limit is 2", peak)
	}
	counts, _ := r.data["counts"].(map[string]any)
	oc, _ := counts["outcomes"].(map[string]any)
	if counts["sent"] != float64(4) || oc["human"] != float64(4) {
		t.Fatalf("counts %v, want 4 calls answered by a person", counts)
	}
}

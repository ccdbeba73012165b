package server

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// campaignPolicy vouches for the +1650253 test block and the three time-zone numbers.
const campaignPolicy = `{"allowlist": ["+1650253", "+12127365000", "+13126651234", "+12134851234"], "limits": {"sms_per_recipient_day": 1}}`

// campaignHarness is a harness with the campaign policy file, a client, and a sender.
func campaignHarness(t *testing.T) (*harness, *client.Client, string, string) {
	t.Helper()
	return campaignHarnessWith(t, campaignPolicy)
}

func campaignHarnessWith(t *testing.T, policyFile string) (*harness, *client.Client, string, string) {
	t.Helper()
	path := writePolicyFile(t, policyFile)
	h := newHarness(t, func(c *Config) { c.PolicyFile = path })
	c := h.connect("inprocess")
	_, numberID, phone := h.setupAgentWithNumber(c)
	return h, c, numberID, phone
}

// sentTo counts, at the sandbox API, the outbound messages from numberID to each number.
func (h *harness) sentTo(numberID string) map[string]int {
	h.t.Helper()
	page, err := h.app.api.ListNumberMessages(h.ctx, numberID, apiclient.CursorParams{Limit: 200})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range page.Data {
		if m.Direction == apiclient.DirectionOutbound {
			out[m.To]++
		}
	}
	return out
}

func recipients(nums ...string) []any {
	out := make([]any, len(nums))
	for i, n := range nums {
		out[i] = map[string]any{"phone_number": n, "variables": map[string]any{"name": fmt.Sprintf("P%d", i)}}
	}
	return out
}

func campaignArgs(numberID string, perMinute int, rs []any) map[string]any {
	return map[string]any{"name": "Reminders", "number_id": numberID, "recipients": rs,
		"template": "Hi {{name}}, your appointment is tomorrow at 10.", "per_minute": perMinute}
}

// startCampaign previews, checks the preview and approves it with the token.
func (h *harness) startCampaign(c *client.Client, args map[string]any) (string, map[string]any) {
	h.t.Helper()
	first := h.call(c, "create_campaign", args)
	if first.isError || first.str("status") != "confirmation_required" {
		h.t.Fatalf("create_campaign preview: %s", first.text)
	}
	plan, _ := first.data["plan"].(map[string]any)
	if plan == nil {
		h.t.Fatalf("no plan in the preview: %v", first.data)
	}
	res := h.mustOK(h.call(c, "create_campaign", with(args, "confirmation_token", first.str("confirmation_token"))), "create_campaign approved")
	if res.str("status") != "running" || res.str("id") == "" {
		h.t.Fatalf("approved campaign: %v", res.data)
	}
	return res.str("id"), plan
}

// settle waits until the campaign's run has done everything due now.
func (h *harness) settle(id string) {
	h.t.Helper()
	if err := h.app.Campaigns().WaitIdle(h.ctx, id); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) counts(c *client.Client, id string) (string, map[string]any) {
	h.t.Helper()
	r := h.mustOK(h.call(c, "get_campaign", map[string]any{"campaign_id": id}), "get_campaign")
	n, _ := r.data["counts"].(map[string]any)
	return r.str("status"), n
}

func wantCounts(t *testing.T, n map[string]any, want map[string]int) {
	t.Helper()
	for k, v := range want {
		if got, _ := n[k].(float64); int(got) != v {
			t.Fatalf("counts[%s] = %v, want %d (all: %v)", k, n[k], v, n)
		}
	}
}

func TestCampaignPlanExclusions(t *testing.T) {
	h, c, numberID, _ := campaignHarness(t)
	// Over a cap: one SMS a day per recipient, and +16502530009 had one today.
	h.mustOK(h.call(c, "send_sms", map[string]any{"number_id": numberID, "to_number": "+16502530009", "body": "earlier"}), "send_sms")
	if _, err := h.app.store.AddOptOut(h.ctx, store.OptOut{E164: "+16502530008", At: h.clk.Now(), Source: "operator"}); err != nil {
		t.Fatal(err)
	}
	rs := recipients("+16502530001", "+16502530002", "+16502530003", "+16502530004",
		"call me maybe",   // invalid
		"911",             // emergency
		"+442071838750",   // country (GB)
		"+16502530008",    // opted out
		"+1 650 253 0001", // duplicate in the list
		"+16502530009",    // over the per-recipient cap
		"+14155550142",    // first contact: nobody vouched for it
	)
	rs = append(rs, map[string]any{"phone_number": "+16502530005"}) // no {{name}}
	args := campaignArgs(numberID, 10, rs)
	first := h.call(c, "create_campaign", args)
	if first.isError || first.str("status") != "confirmation_required" {
		t.Fatalf("preview: %s", first.text)
	}
	plan := first.data["plan"].(map[string]any)
	if plan["reach"].(float64) != 4 {
		t.Fatalf("reach %v, want 4: %v", plan["reach"], plan)
	}
	got := map[string]string{}
	for _, e := range plan["excluded"].([]any) {
		m := e.(map[string]any)
		if m["reason"] == "" {
			t.Fatalf("exclusion without a reason: %v", m)
		}
		got[m["rule"].(string)] = m["phone_number"].(string)
	}
	for rule, num := range map[string]string{"invalid_number": "call me maybe", "emergency": "911", "country": "+442071838750",
		"opted_out": "+16502530008", "duplicate_in_list": "+16502530001", "rate_limit": "+16502530009",
		"first_contact": "+14155550142", "missing_variable": "+16502530005"} {
		if got[rule] != num {
			t.Errorf("exclusion %s: got %q, want %q (all %v)", rule, got[rule], num, got)
		}
	}
	if n := len(plan["excluded"].([]any)); n != 8 {
		t.Errorf("%d exclusions, want 8", n)
	}
	samples := plan["samples"].([]any)
	s0 := samples[0].(map[string]any)
	if len(samples) != 3 || s0["body"] != "Hi P0, your appointment is tomorrow at 10." || s0["segments"].(float64) != 1 || s0["encoding"] != "GSM-7" {
		t.Fatalf("samples: %v", samples)
	}
	cost := plan["cost"].(map[string]any)
	if cost["segments"].(float64) != 4 || cost["usd"] != "0.08" {
		t.Fatalf("cost: %v", cost)
	}
	// 4 sends at 10 a minute: the last is due 3 intervals of 6 s after the start.
	if fb := plan["finish_by"].(string); fb != h.clk.Now().Add(18*time.Second).UTC().Format(time.RFC3339) {
		t.Fatalf("finish_by %s, want %s", fb, h.clk.Now().Add(18*time.Second).UTC())
	}
	if got := h.sentTo(numberID); len(got) != 1 {
		t.Fatalf("the dry run sent something: %v", got)
	}
	if list := h.mustOK(h.call(c, "list_campaigns", nil), "list_campaigns"); list.data["total"].(float64) != 0 {
		t.Fatalf("the dry run created a campaign: %v", list.data)
	}
}

func TestCampaignApprovalIsBoundToThePlan(t *testing.T) {
	h, c, numberID, _ := campaignHarness(t)
	args := campaignArgs(numberID, 10, recipients("+16502530001", "+16502530002"))
	first := h.call(c, "create_campaign", args)
	tok := first.str("confirmation_token")
	if tok == "" {
		t.Fatalf("no token: %s", first.text)
	}
	for name, changed := range map[string]map[string]any{
		"another list":     campaignArgs(numberID, 10, recipients("+16502530001", "+16502530003")),
		"a longer list":    campaignArgs(numberID, 10, recipients("+16502530001", "+16502530002", "+16502530003")),
		"another template": with(args, "template", "Hi {{name}}, pay now."),
		"another pace":     with(args, "per_minute", 60),
	} {
		r := h.call(c, "create_campaign", with(changed, "confirmation_token", tok))
		if !r.isError || r.str("status") != "confirmation_refused" {
			t.Fatalf("%s redeemed the approval of another plan: %s", name, r.text)
		}
	}
	// The plan itself changed since the preview (a recipient opted out): a new approval.
	if _, err := h.app.store.AddOptOut(h.ctx, store.OptOut{E164: "+16502530002", At: h.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := h.call(c, "create_campaign", with(args, "confirmation_token", tok)); !r.isError || r.str("status") != "confirmation_refused" {
		t.Fatalf("an approval outlived a change of the plan: %s", r.text)
	}
	if got := h.sentTo(numberID); len(got) != 0 {
		t.Fatalf("sent without approval: %v", got)
	}
	id, _ := h.startCampaign(c, args)
	h.settle(id)
	if got := h.sentTo(numberID); got["+16502530001"] != 1 || len(got) != 1 {
		t.Fatalf("sent %v", got)
	}
}

func TestCampaignPacingOptOutPauseCancel(t *testing.T) {
	h, c, numberID, phone := campaignHarness(t)
	nums := []string{"+16502530001", "+16502530002", "+16502530003", "+16502530004", "+16502530005", "+16502530006"}
	id, _ := h.startCampaign(c, campaignArgs(numberID, 2, recipients(nums...)))
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 1 {
		t.Fatalf("at the start: %v", got)
	}
	// 2 a minute: nothing more before 30 s have passed.
	h.clk.Advance(29 * time.Second)
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 1 {
		t.Fatalf("paced too fast: %v", got)
	}
	h.clk.Advance(time.Second)
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 2 {
		t.Fatalf("after 30 s: %v", got)
	}
	// The third recipient replies STOP mid-run: it is never texted; the fourth goes instead.
	if _, err := h.sb.InjectInboundSMS(nums[2], phone, "STOP"); err != nil {
		t.Fatal(err)
	}
	h.mustOK(h.call(c, "list_messages", map[string]any{"number_id": numberID}), "list_messages")
	h.clk.Advance(30 * time.Second)
	h.settle(id)
	got := h.sentTo(numberID)
	if got[nums[2]] != 0 || got[nums[3]] != 1 {
		t.Fatalf("after the opt-out: %v", got)
	}
	status, n := h.counts(c, id)
	wantCounts(t, n, map[string]int{"sent": 3, "skipped": 1, "opt_outs": 1, "queued": 2})
	if status != "running" {
		t.Fatalf("status %s", status)
	}
	// Paused: time passes, nothing is sent; resumed: it goes on.
	h.mustOK(h.call(c, "pause_campaign", map[string]any{"campaign_id": id}), "pause")
	h.settle(id)
	h.clk.Advance(5 * time.Minute)
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 3 {
		t.Fatalf("sent while paused: %v", got)
	}
	if status, _ := h.counts(c, id); status != "paused" {
		t.Fatalf("status %s", status)
	}
	h.mustOK(h.call(c, "resume_campaign", map[string]any{"campaign_id": id}), "resume")
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 4 {
		t.Fatalf("after resume: %v", got)
	}
	// Cancel: the last recipient is never texted, however long we wait.
	r := h.mustOK(h.call(c, "cancel_campaign", map[string]any{"campaign_id": id}), "cancel")
	if r.str("status") != "canceled" {
		t.Fatalf("cancel: %v", r.data)
	}
	h.settle(id)
	h.clk.Advance(time.Hour)
	h.settle(id)
	got = h.sentTo(numberID)
	if len(got) != 4 || got[nums[5]] != 0 {
		t.Fatalf("sent after cancel: %v", got)
	}
	for k, v := range got {
		if v != 1 {
			t.Fatalf("%s texted %d times", k, v)
		}
	}
	_, n = h.counts(c, id)
	wantCounts(t, n, map[string]int{"sent": 4, "skipped": 1, "canceled": 1, "queued": 0})
	if r := h.call(c, "resume_campaign", map[string]any{"campaign_id": id}); !r.isError {
		t.Fatalf("a canceled campaign resumed: %s", r.text)
	}
	// Every send of the campaign is a ledger entry carrying its id.
	es, err := h.app.store.Entries(h.ctx, store.EntryFilter{Kind: "sms"})
	if err != nil {
		t.Fatal(err)
	}
	mine := 0
	for _, e := range es {
		if e.CampaignID == id {
			mine++
		}
	}
	if mine != 4 {
		t.Fatalf("%d ledger entries carry the campaign id, want 4", mine)
	}
}

func TestCampaignQuietHoursDeferByTimeZone(t *testing.T) {
	h, c, numberID, _ := campaignHarness(t)
	// 12:30 UTC on Wednesday: 08:30 in New York (open), 07:30 in Chicago (opens 13:00 UTC),
	// 05:30 in Los Angeles (opens 15:00 UTC).
	h.clk.Advance(16*time.Hour + 30*time.Minute)
	ny, chi, la := "+12127365000", "+13126651234", "+12134851234"
	id, plan := h.startCampaign(c, campaignArgs(numberID, 60, recipients(la, chi, ny)))
	start := h.clk.Now()
	if plan["deferred"].(float64) != 2 {
		t.Fatalf("deferred %v, want 2", plan["deferred"])
	}
	if fb := plan["finish_by"].(string); fb != start.Add(150*time.Minute).UTC().Format(time.RFC3339) {
		t.Fatalf("finish_by %s, want 15:00 UTC", fb)
	}
	h.settle(id)
	if got := h.sentTo(numberID); got[ny] != 1 || len(got) != 1 {
		t.Fatalf("at 08:30 New York time: %v", got)
	}
	h.clk.Advance(29 * time.Minute)
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 1 {
		t.Fatalf("before 08:00 in Chicago: %v", got)
	}
	h.clk.Advance(time.Minute)
	h.settle(id)
	if got := h.sentTo(numberID); got[chi] != 1 || len(got) != 2 {
		t.Fatalf("at 08:00 in Chicago: %v", got)
	}
	h.clk.Advance(119 * time.Minute)
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 2 {
		t.Fatalf("before 08:00 in Los Angeles: %v", got)
	}
	h.clk.Advance(time.Minute)
	h.settle(id)
	if got := h.sentTo(numberID); got[la] != 1 || len(got) != 3 {
		t.Fatalf("at 08:00 in Los Angeles: %v", got)
	}
	if status, _ := h.counts(c, id); status != "completed" {
		t.Fatalf("status %s", status)
	}
}

// TestCampaignResumesAfterRestart stops the server mid-run and starts another on the same
// state dir and API: it goes on where it stopped, and nobody gets two messages.
func TestCampaignResumesAfterRestart(t *testing.T) {
	h, c, numberID, _ := campaignHarness(t)
	nums := []string{"+16502530001", "+16502530002", "+16502530003", "+16502530004"}
	id, _ := h.startCampaign(c, campaignArgs(numberID, 1, recipients(nums...)))
	h.settle(id)
	h.clk.Advance(time.Minute)
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 2 {
		t.Fatalf("before the restart: %v", got)
	}
	if err := h.app.Close(); err != nil {
		t.Fatal(err)
	}
	app, err := New(h.ctx, h.cfg, Options{Clock: h.clk, Sandbox: h.sb, Stderr: io.Discard,
		Logger: slog.New(slog.DiscardHandler), Version: "test", Secrets: Secrets{APIKey: keyguard.NewSecret("")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	h.app = app
	if err := app.StartCampaigns(); err != nil {
		t.Fatal(err)
	}
	h.settle(id)
	for range 3 {
		h.clk.Advance(time.Minute)
		h.settle(id)
	}
	got := h.sentTo(numberID)
	for _, n := range nums {
		if got[n] != 1 {
			t.Fatalf("%s texted %d times after the restart (all %v)", n, got[n], got)
		}
	}
	c2 := h.connect("inprocess")
	if status, _ := h.counts(c2, id); status != "completed" {
		t.Fatalf("status %s", status)
	}
}

// TestCampaignCapHoldsAndResumes: the hourly segment cap fills mid-run; the run holds (no
// send is refused or lost) and goes on when the window has room again.
func TestCampaignCapHoldsAndResumes(t *testing.T) {
	h, c, numberID, _ := campaignHarnessWith(t, `{"allowlist": ["+1650253"], "limits": {"sms_segments_hour": 3}}`)
	nums := []string{"+16502530001", "+16502530002", "+16502530003", "+16502530004", "+16502530005"}
	start := h.clk.Now()
	id, plan := h.startCampaign(c, campaignArgs(numberID, 60, recipients(nums...)))
	// The plan knows: three now, the fourth when the first leaves the window.
	if fb := plan["finish_by"].(string); fb != start.Add(time.Hour+time.Second).UTC().Format(time.RFC3339) {
		t.Fatalf("finish_by %s, want %s", fb, start.Add(time.Hour+time.Second).UTC())
	}
	for range 3 {
		h.settle(id)
		h.clk.Advance(time.Second)
	}
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 3 {
		t.Fatalf("under the cap: %v", got)
	}
	r := h.mustOK(h.call(c, "get_campaign", map[string]any{"campaign_id": id}), "get_campaign")
	if r.str("status") != "running" || r.str("held_by") != "rate_limit" {
		t.Fatalf("held run: %v", r.data)
	}
	h.clk.Advance(58 * time.Minute)
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 3 {
		t.Fatalf("sent over the cap: %v", got)
	}
	h.clk.Advance(2 * time.Minute)
	h.settle(id)
	h.clk.Advance(time.Second)
	h.settle(id)
	got := h.sentTo(numberID)
	for _, n := range nums {
		if got[n] != 1 {
			t.Fatalf("after the window: %v", got)
		}
	}
	if status, _ := h.counts(c, id); status != "completed" {
		t.Fatalf("status %s", status)
	}
}

// TestCampaignRepliesAndStopMidRun: a recipient's STOP reply mid-run is read by the run
// itself (no tool reads the inbox) and opts them out at once; replies show in get_campaign.
func TestCampaignRepliesAndStopMidRun(t *testing.T) {
	h, c, numberID, phone := campaignHarness(t)
	nums := []string{"+16502530001", "+16502530002", "+16502530003"}
	id, _ := h.startCampaign(c, campaignArgs(numberID, 1, recipients(nums...)))
	h.settle(id)
	if _, err := h.sb.InjectInboundSMS(nums[0], phone, "STOP"); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	h.settle(id)
	out, err := h.app.store.IsOptedOut(h.ctx, nums[0], store.ChannelSMS)
	if err != nil || !out {
		t.Fatalf("the STOP reply was not honoured by the run: opted out %v (%v)", out, err)
	}
	if _, err := h.sb.InjectInboundSMS(nums[1], phone, "Thanks, see you then"); err != nil {
		t.Fatal(err)
	}
	r := h.mustOK(h.call(c, "get_campaign", map[string]any{"campaign_id": id}), "get_campaign")
	wantCounts(t, r.data["counts"].(map[string]any), map[string]int{"replies": 2, "opt_outs": 1, "sent": 2})
	replies, _ := r.data["replies"].([]any)
	if len(replies) != 2 || replies[0].(map[string]any)["opt_out"] != true || replies[1].(map[string]any)["body_untrusted"] == "" {
		t.Fatalf("replies: %v", r.data["replies"])
	}
	mustDeny(t, h.call(c, "send_sms", map[string]any{"number_id": numberID, "to_number": nums[0], "body": "hello?"}), "opted_out", "after STOP")
}

// TestWaitForCampaign returns when the run completes, on the fake clock.
func TestWaitForCampaign(t *testing.T) {
	h, c, numberID, _ := campaignHarness(t)
	nums := []string{"+16502530001", "+16502530002", "+16502530003"}
	id, _ := h.startCampaign(c, campaignArgs(numberID, 60, recipients(nums...)))
	done := make(chan result, 1)
	go func() { done <- h.call(c, "wait_for_campaign", map[string]any{"campaign_id": id}) }()
	for i := 0; ; i++ {
		h.settle(id)
		var finished <-chan time.Time // once the run is over, the waiter must return: wait for it
		if cmp, err := h.app.Campaigns().Get(id); err == nil && cmp.Status == "completed" {
			finished = time.After(20 * time.Second)
		}
		select {
		case <-finished:
			t.Fatal("wait_for_campaign did not return after the run completed")
		case r := <-done:
			if r.isError || r.str("status") != "completed" {
				t.Fatalf("wait_for_campaign: %s", r.text)
			}
			wantCounts(t, r.data["counts"].(map[string]any), map[string]int{"sent": 3})
			if i < 2 {
				t.Fatalf("returned after %d s, before the run could finish", i)
			}
			return
		default:
			if finished != nil {
				select {
				case r := <-done:
					done <- r
					continue
				case <-finished:
					t.Fatal("wait_for_campaign did not return after the run completed")
				}
			}
		}
		if i > 100 {
			t.Fatal("wait_for_campaign did not return")
		}
		h.clk.Advance(time.Second)
	}
}

// TestCampaignResource: agentphone://campaigns/{id} shows the campaign, and a subscribed
// session is told each time it changes.
func TestCampaignResource(t *testing.T) {
	h, c, numberID, _ := campaignHarness(t)
	got := updates(c)
	nums := []string{"+16502530001", "+16502530002"}
	id, _ := h.startCampaign(c, campaignArgs(numberID, 60, recipients(nums...)))
	uri := "agentphone://campaigns/" + id
	h.settle(id)
	h.subscribe(c, uri)
	h.clk.Advance(time.Second)
	h.settle(id)
	select {
	case u := <-got:
		if u != uri {
			t.Fatalf("updated %q, want %q", u, uri)
		}
	case <-h.ctx.Done():
		t.Fatal("no notifications/resources/updated for the campaign")
	}
	res, err := c.ReadResource(h.ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Status string         `json:"status"`
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(res.Contents[0].(mcp.TextResourceContents).Text), &v); err != nil {
		t.Fatal(err)
	}
	if v.Status != "completed" || v.Counts["sent"] != 2 {
		t.Fatalf("resource: %+v", v)
	}
	if _, err := c.ReadResource(h.ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: "agentphone://campaigns/cmp_0000000000000000"}}); err == nil {
		t.Fatal("an unknown campaign was read")
	}
}

// TestCampaignVouching: a contact the operator added (outside the tools, as `contacts
// import` does) is reached by contact_id with its name; one the model created with
// create_contact is excluded as a first contact: the model cannot vouch.
func TestCampaignVouching(t *testing.T) {
	h, c, numberID, _ := campaignHarness(t)
	op, err := h.app.api.CreateContact(h.ctx, apiclient.CreateContactRequest{PhoneNumber: "+14155550150", Name: "Olga"})
	if err != nil {
		t.Fatal(err)
	}
	mine := h.mustOK(h.call(c, "create_contact", map[string]any{"phone_number": "+14155550151", "name": "Mallory"}), "create_contact")
	args := campaignArgs(numberID, 10, []any{map[string]any{"contact_id": op.ID}, map[string]any{"contact_id": mine.str("id")}})
	first := h.call(c, "create_campaign", args)
	plan, _ := first.data["plan"].(map[string]any)
	if plan == nil || plan["reach"].(float64) != 1 {
		t.Fatalf("plan: %s", first.text)
	}
	ex := plan["excluded"].([]any)[0].(map[string]any)
	if ex["phone_number"] != "+14155550151" || ex["rule"] != "first_contact" {
		t.Fatalf("excluded %v", ex)
	}
	if s := plan["samples"].([]any)[0].(map[string]any); s["body"] != "Hi Olga, your appointment is tomorrow at 10." {
		t.Fatalf("sample %v", s)
	}
}

// TestCampaignApprovedByElicitation: a client that declared elicitation shows the person the
// plan's figures (reach, exclusions, cost, finish, a sample, the plan hash) with a code;
// typing it starts the campaign; declining changes nothing.
func TestCampaignApprovedByElicitation(t *testing.T) {
	for _, approve := range []bool{false, true} {
		path := writePolicyFile(t, campaignPolicy)
		h := newHarness(t, func(c *Config) { c.PolicyFile = path })
		agent, err := h.app.api.CreateAgent(h.ctx, apiclient.CreateAgentRequest{Name: "Desk"})
		if err != nil {
			t.Fatal(err)
		}
		n, err := h.app.api.BuyNumber(h.ctx, apiclient.BuyNumberRequest{AreaCode: "415", AgentID: agent.ID})
		if err != nil {
			t.Fatal(err)
		}
		el := &elicitor{answer: func(code string) *mcp.ElicitationResult {
			if !approve {
				return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}}
			}
			return accept(map[string]any{"approve": true, "code": code})
		}}
		c := h.connect("inprocess", client.WithElicitationHandler(el))
		r := h.call(c, "create_campaign", campaignArgs(n.ID, 10, recipients("+16502530001", "+16502530002", "911")))
		msgs := el.shown()
		if len(msgs) != 1 {
			t.Fatalf("elicitations %q", msgs)
		}
		for _, want := range []string{"campaign", "reach: 2 of 3 recipients", "emergency 1", "cost: $0.04", "finish by", "sample 1: to +16502530001", "Hi P0,", "plan hash"} {
			if !strings.Contains(msgs[0], want) {
				t.Errorf("the person was not shown %q:\n%s", want, msgs[0])
			}
		}
		if !approve {
			if r.str("status") != "not_approved" {
				t.Fatalf("declined: %s", r.text)
			}
			if list := h.mustOK(h.call(c, "list_campaigns", nil), "list"); list.data["total"].(float64) != 0 {
				t.Fatal("a declined campaign was created")
			}
			continue
		}
		if r.isError || r.str("status") != "running" {
			t.Fatalf("approved: %s", r.text)
		}
		h.settle(r.str("id"))
		if got := h.sentTo(n.ID); got["+16502530001"] != 1 {
			t.Fatalf("sent %v", got)
		}
	}
}

// TestCampaignAuditKeepsNoMessageText: with AGENTPHONE_AUDIT_BODIES off, the approval's
// audit lines show the plan's figures but not the template or the rendered samples.
func TestCampaignAuditKeepsNoMessageText(t *testing.T) {
	h, c, numberID, _ := campaignHarness(t)
	id, _ := h.startCampaign(c, campaignArgs(numberID, 10, recipients("+16502530001")))
	h.settle(id)
	raw, err := os.ReadFile(h.app.cfg.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	log := string(raw)
	if strings.Contains(log, "appointment is tomorrow") || strings.Contains(log, "Hi P0") {
		t.Fatal("the audit log holds message text with AGENTPHONE_AUDIT_BODIES off")
	}
	if !strings.Contains(log, `"reach":"1 of 1 recipients"`) || !strings.Contains(log, `"campaign":"`+id+`"`) {
		t.Fatal("the audit log lacks the campaign's approval")
	}
}

// TestCampaignListAndSteeringErrors: list_campaigns pages newest first; steering a campaign
// in the wrong state, or one that does not exist, is a clear error that changes nothing.
func TestCampaignListAndSteeringErrors(t *testing.T) {
	h, c, numberID, _ := campaignHarness(t)
	var ids []string
	for i := range 3 {
		id, _ := h.startCampaign(c, campaignArgs(numberID, 10, recipients(fmt.Sprintf("+165025301%02d", i))))
		h.settle(id)
		ids = append(ids, id)
		h.clk.Advance(time.Minute)
	}
	page := h.mustOK(h.call(c, "list_campaigns", map[string]any{"limit": 2}), "list_campaigns")
	rows := page.data["data"].([]any)
	if page.data["total"].(float64) != 3 || page.data["has_more"] != true || len(rows) != 2 || rows[0].(map[string]any)["id"] != ids[2] {
		t.Fatalf("first page: %v", page.data)
	}
	page = h.mustOK(h.call(c, "list_campaigns", map[string]any{"limit": 2, "offset": 2}), "list_campaigns")
	if rows := page.data["data"].([]any); len(rows) != 1 || rows[0].(map[string]any)["id"] != ids[0] || page.data["has_more"] != false {
		t.Fatalf("second page: %v", page.data)
	}
	for _, tc := range []struct{ tool, id, status string }{
		{"pause_campaign", ids[0], "refused"},  // completed
		{"resume_campaign", ids[0], "refused"}, // not paused
		{"cancel_campaign", ids[0], "refused"}, // already completed
		{"get_campaign", "cmp_0000000000000000", "not_found"},
		{"cancel_campaign", "../../state", "not_found"},
	} {
		r := h.call(c, tc.tool, map[string]any{"campaign_id": tc.id})
		if !r.isError || r.str("status") != tc.status {
			t.Errorf("%s %s: %s", tc.tool, tc.id, r.text)
		}
	}
	if status, _ := h.counts(c, ids[0]); status != "completed" {
		t.Fatalf("a refused steer changed the campaign: %s", status)
	}
}

// TestCampaignGlobalLimitHoldsTheRun: the operator's cap across all callers (global_limits)
// full mid-run holds the run (held_by global_limit) instead of skipping the recipients it
// would refuse; when the window opens the run sends the rest, each exactly once.
func TestCampaignGlobalLimitHoldsTheRun(t *testing.T) {
	h, c, numberID, _ := campaignHarnessWith(t, `{"allowlist": ["+1650253"], "global_limits": {"sms_day": 3}}`)
	nums := []string{"+16502530001", "+16502530002", "+16502530003", "+16502530004", "+16502530005"}
	id, plan := h.startCampaign(c, campaignArgs(numberID, 60, recipients(nums...)))
	if ex, _ := plan["excluded"].([]any); len(ex) != 0 {
		t.Fatalf("the plan excluded %v; a cap that fills later is waited for, not an exclusion", ex)
	}
	for range 5 {
		h.settle(id)
		h.clk.Advance(time.Second)
	}
	h.settle(id)
	if got := h.sentTo(numberID); len(got) != 3 {
		t.Fatalf("under the global cap of 3: %v", got)
	}
	r := h.mustOK(h.call(c, "get_campaign", map[string]any{"campaign_id": id}), "get_campaign")
	if r.str("status") != "running" || r.str("held_by") != "global_limit" {
		t.Fatalf("held run: %v", r.data)
	}
	h.clk.Advance(24 * time.Hour)
	for range 3 {
		h.settle(id)
		h.clk.Advance(time.Second)
	}
	h.settle(id)
	got := h.sentTo(numberID)
	for _, n := range nums {
		if got[n] != 1 {
			t.Fatalf("after the window: %v", got)
		}
	}
	if status, n := h.counts(c, id); status != "completed" {
		t.Fatalf("status %s, counts %v", status, n)
	}
}

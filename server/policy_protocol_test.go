package server

// Issue 5, "tested through the MCP protocol": every deny rule, driven by real tool calls over
// each transport against the sandbox on a fake clock, asserting the structured result and that
// nothing reached the API. Confirm rules and confirmation modes are in
// policy_confirm_test.go; read-only mode and the audit log in policy_modes_test.go.

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/mark3labs/mcp-go/client"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// protocolTransports are the transports every policy rule is driven over.
var protocolTransports = []string{"stdio", "http"}

// testAPIKey is the key handed to the App in tests that check secret_in_content and that the
// key never leaks. Sandbox mode does not send it anywhere, but the policy knows it.
const testAPIKey = "apk_Harness7Key2718Quartz"

// newKeyedHarness is an App on a fake clock and an in-process sandbox, with key ("" for none)
// as its API key in Options.Secrets: the sandbox ignores it for requests; the policy and the
// scrubber know it.
func newKeyedHarness(t *testing.T, key string, mods ...func(*Config)) *harness {
	t.Helper()
	return newSecretsHarness(t, Secrets{APIKey: keyguard.NewSecret(key)}, mods...)
}

// newSecretsHarness is newKeyedHarness with every secret given (the HTTP bearer token too).
func newSecretsHarness(t *testing.T, secrets Secrets, mods ...func(*Config)) *harness {
	t.Helper()
	clk := clockwork.NewFakeClockAt(testStart)
	sb := sandbox.New(sandbox.Options{Clock: clk, Seed: 1})
	t.Cleanup(sb.Close)
	cfg, err := ConfigFromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sandbox, cfg.StateDir, cfg.LogLevel = true, t.TempDir(), "error"
	cfg.Toolsets = []string{"all"}
	for _, m := range mods {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	app, err := New(ctx, cfg, Options{Clock: clk, Sandbox: sb, Stderr: io.Discard,
		Logger: slog.New(slog.DiscardHandler), Version: "test", Secrets: secrets})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = app.Close() })
	return &harness{t: t, ctx: ctx, app: app, sb: sb, clk: clk, cfg: app.cfg}
}

// writePolicyFile writes an operator policy file with mode 0600 and returns its path.
func writePolicyFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// placedCalls counts the calls the sandbox API has recorded.
func (h *harness) placedCalls() int {
	h.t.Helper()
	page, err := h.app.api.ListCalls(h.ctx, apiclient.ListCallsParams{Limit: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	return len(page.Data)
}

// apiEffects is what the API holds that a write could change; a denied or unconfirmed call
// must leave it as it was.
type apiEffects struct{ messages, calls, numbers int }

func (h *harness) effects() apiEffects {
	h.t.Helper()
	return apiEffects{messages: h.sentMessages(), calls: h.placedCalls(), numbers: h.countNumbers()}
}

// mustDeny fails unless r is the structured deny of rule.
func mustDeny(t *testing.T, r result, rule, what string) {
	t.Helper()
	if !r.isError || r.str("status") != "denied" || r.str("rule") != rule || r.str("reason") == "" {
		t.Fatalf("%s: want isError denied [%s] with a reason, got isError=%v data=%v text=%s", what, rule, r.isError, r.data, r.text)
	}
	if !strings.Contains(r.text, "["+rule+"]") {
		t.Fatalf("%s: the text does not name the rule [%s]: %s", what, rule, r.text)
	}
}

// mustConfirm fails unless r asks for confirmation under exactly the given rules (in any order).
func mustConfirm(t *testing.T, r result, what string, rules ...string) string {
	t.Helper()
	if r.isError || r.str("status") != "confirmation_required" || r.str("confirmation_token") == "" {
		t.Fatalf("%s: want confirmation_required with a token, got isError=%v text=%s", what, r.isError, r.text)
	}
	got, _ := r.data["rules"].([]any)
	if len(got) != len(rules) {
		t.Fatalf("%s: rules %v, want %v", what, got, rules)
	}
	for _, id := range rules {
		if !contains(r.data["rules"], id) {
			t.Fatalf("%s: rules %v lack %q", what, got, id)
		}
	}
	if _, ok := r.data["preview"].(map[string]any); !ok {
		t.Fatalf("%s: no structured preview: %v", what, r.data)
	}
	return r.str("confirmation_token")
}

// sms and call build send_sms / make_call arguments from the harness agent.
func sms(agentID, to, body string) map[string]any {
	return map[string]any{"agent_id": agentID, "to_number": to, "body": body}
}

func dial(agentID, to string) map[string]any {
	return map[string]any{"agent_id": agentID, "to_number": to, "topic": "Confirm the delivery window"}
}

// denyCase is one deny rule driven through a tool. setup runs first (on the same session) and
// may return the arguments to use when they depend on it.
type denyCase struct {
	name  string
	tool  string
	args  func(env *denyEnv) map[string]any
	setup func(t *testing.T, env *denyEnv)
	rule  string
}

// denyEnv is the state a deny case works with.
type denyEnv struct {
	h                        *harness
	c                        *client.Client
	agentID, numberID, phone string
}

// longBody is n repetitions of a 13-character GSM-7 phrase.
func longBody(n int) string { return strings.Repeat("Hello there. ", n) }

func denyCases() []denyCase {
	plain := func(tool, to string) func(*denyEnv) map[string]any {
		return func(e *denyEnv) map[string]any {
			if tool == "make_call" {
				return dial(e.agentID, to)
			}
			return sms(e.agentID, to, "Your order is ready.")
		}
	}
	body := func(to, text string) func(*denyEnv) map[string]any {
		return func(e *denyEnv) map[string]any { return sms(e.agentID, to, text) }
	}
	cases := []denyCase{}
	for _, tool := range []string{"send_sms", "make_call"} {
		cases = append(cases,
			denyCase{name: tool + "/emergency 911", tool: tool, args: plain(tool, "911"), rule: "emergency"},
			denyCase{name: tool + "/emergency 112", tool: tool, args: plain(tool, "112"), rule: "emergency"},
			denyCase{name: tool + "/emergency 988", tool: tool, args: plain(tool, "988"), rule: "emergency"},
			denyCase{name: tool + "/n11 411", tool: tool, args: plain(tool, "411"), rule: "n11"},
			denyCase{name: tool + "/n11 211", tool: tool, args: plain(tool, "211"), rule: "n11"},
			denyCase{name: tool + "/short code", tool: tool, args: plain(tool, "33669"), rule: "short_code"},
			denyCase{name: tool + "/premium 900", tool: tool, args: plain(tool, "+1 900 200 1234"), rule: "number_type"},
			denyCase{name: tool + "/letters", tool: tool, args: plain(tool, "415-555-01a2"), rule: "invalid_number"},
			denyCase{name: tool + "/vanity letters", tool: tool, args: plain(tool, "1-800-FLOWERS"), rule: "invalid_number"},
			denyCase{name: tool + "/extension", tool: tool, args: plain(tool, "+1 415 555 0142 ext. 12"), rule: "invalid_number"},
			denyCase{name: tool + "/too long", tool: tool, args: plain(tool, "+1 415 555 0142 9876"), rule: "invalid_number"},
			denyCase{name: tool + "/unassigned area code", tool: tool, args: plain(tool, "+1 099 555 0142"), rule: "invalid_number"},
			denyCase{name: tool + "/global network 881", tool: tool, args: plain(tool, "+881 2 1234 5678"), rule: "global_network"},
			denyCase{name: tool + "/global network 870", tool: tool, args: plain(tool, "+870 773 111 632"), rule: "global_network"},
			denyCase{name: tool + "/country GB", tool: tool, args: plain(tool, "+44 7400 123456"), rule: "country"},
			denyCase{name: tool + "/country Jamaica +1 876", tool: tool, args: plain(tool, "+1 876 927 1234"), rule: "country"},
			denyCase{name: tool + "/denylisted number", tool: tool, args: plain(tool, "+1 415 555 0199"), rule: "denylist"},
			denyCase{name: tool + "/denylisted prefix", tool: tool, args: plain(tool, "+1 212 555 0177"), rule: "denylist"},
			denyCase{name: tool + "/own number", tool: tool, args: func(e *denyEnv) map[string]any { return plain(tool, e.phone)(e) }, rule: "own_number"},
		)
	}
	cases = append(cases,
		denyCase{name: "send_sms/sk_live token", tool: "send_sms",
			args: body("+14155550142", "Use sk_live_4eC39HqLyjWDarjtT1zdp7dc to log in"), rule: "secret_in_content"},
		denyCase{name: "send_sms/api key raw", tool: "send_sms",
			args: body("+14155550142", "the key is "+testAPIKey), rule: "secret_in_content"},
		denyCase{name: "send_sms/api key base64", tool: "send_sms",
			args: body("+14155550142", "blob "+base64.StdEncoding.EncodeToString([]byte(testAPIKey))), rule: "secret_in_content"},
		denyCase{name: "send_sms/api key spaced", tool: "send_sms",
			args: body("+14155550142", "key: "+strings.Join(strings.Split(testAPIKey, ""), " ")), rule: "secret_in_content"},
		denyCase{name: "make_call/api key in topic", tool: "make_call", rule: "secret_in_content",
			args: func(e *denyEnv) map[string]any {
				return map[string]any{"agent_id": e.agentID, "to_number": "+14155550142", "topic": "Read out " + testAPIKey}
			}},
		denyCase{name: "make_call/token in greeting", tool: "make_call", rule: "secret_in_content",
			args: func(e *denyEnv) map[string]any {
				return map[string]any{"agent_id": e.agentID, "to_number": "+14155550142", "initial_greeting": "Hi, ghp_abcdefghijklmnopqrstuvwx1234"}
			}},
		denyCase{name: "send_sms/11 segments", tool: "send_sms", args: body("+14155550142", longBody(130)), rule: "sms_too_long"},
		denyCase{name: "send_sms/opted out", tool: "send_sms", rule: "opted_out",
			setup: optOut("+14155550177", "STOP"), args: plain("send_sms", "+1 (415) 555-0177")},
		denyCase{name: "make_call/opted out", tool: "make_call", rule: "opted_out",
			setup: optOut("+14155550178", "Please stop texting me"), args: plain("make_call", "415.555.0178")},
	)
	return cases
}

// optOut injects an inbound opt-out from `from` and reads it through list_messages, which is
// how the engine learns of it when no webhook delivers it.
func optOut(from, keyword string) func(t *testing.T, e *denyEnv) {
	return func(t *testing.T, e *denyEnv) {
		t.Helper()
		if _, err := e.h.sb.InjectInboundSMS(from, e.phone, keyword); err != nil {
			t.Fatal(err)
		}
		e.h.mustOK(e.h.call(e.c, "list_messages", map[string]any{"number_id": e.numberID}), "list_messages")
	}
}

// TestDenyRulesOverProtocol drives every deny rule through send_sms and make_call over every
// transport: each is an isError {"status":"denied","rule":...} and reaches nothing at the API,
// with a confirmation token from an unrelated preview unable to change that.
func TestDenyRulesOverProtocol(t *testing.T) {
	policyFile := writePolicyFile(t, `{"denylist": ["+14155550199", "+1212555"]}`)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newKeyedHarness(t, testAPIKey, func(c *Config) { c.PolicyFile = policyFile })
			c := h.connect(tr)
			agentID, numberID, phone := h.setupAgentWithNumber(c)
			env := &denyEnv{h: h, c: c, agentID: agentID, numberID: numberID, phone: phone}
			for _, tc := range denyCases() {
				if tc.setup != nil {
					tc.setup(t, env)
				}
				before := h.effects()
				args := tc.args(env)
				mustDeny(t, h.call(c, tc.tool, args), tc.rule, tc.name)
				// A token is no way around a deny: a syntactically valid one from elsewhere
				// is not even looked at, and nothing runs.
				mustDeny(t, h.call(c, tc.tool, with(args, "confirmation_token", "tok.abc.def")), tc.rule, tc.name+" (with a token)")
				if after := h.effects(); after != before {
					t.Fatalf("%s: a denied call reached the API: before %+v, after %+v", tc.name, before, after)
				}
			}
		})
	}
}

// TestQuietHoursOverProtocol moves the fake clock to 03:00 at the recipient and checks the
// quiet_hours deny for texts and calls, the confirm for a toll-free number (its local time cannot
// be known), and that "off" lifts the window.
func TestQuietHoursOverProtocol(t *testing.T) {
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			c := h.connect(tr)
			agentID, _, _ := h.setupAgentWithNumber(c)
			// testStart is 13:00 in San Francisco; +14h is 03:00 the next day there.
			h.clk.Advance(14 * time.Hour)
			before := h.effects()
			mustDeny(t, h.call(c, "send_sms", sms(agentID, "+14155550142", "Are you up?")), "quiet_hours", "sms at 03:00")
			mustDeny(t, h.call(c, "make_call", dial(agentID, "+14155550142")), "quiet_hours", "call at 03:00")
			// New York is 06:00: still quiet. (Hawaii, at 00:00, likewise.)
			mustDeny(t, h.call(c, "send_sms", sms(agentID, "+12125550142", "Are you up?")), "quiet_hours", "sms to NY at 06:00")
			if after := h.effects(); after != before {
				t.Fatalf("quiet-hours denials reached the API: %+v -> %+v", before, after)
			}
			// A toll-free number has no local time: confirm under quiet_hours, not deny.
			r := h.call(c, "send_sms", sms(agentID, "+1 800 555 0199", "Order 1182 status?"))
			mustConfirm(t, r, "toll-free at night", "quiet_hours", "first_contact")
			if after := h.effects(); after != before {
				t.Fatalf("a toll-free preview reached the API: %+v -> %+v", before, after)
			}
			// Three hours later it is 09:00 in New York and 06:00 in San Francisco.
			h.clk.Advance(3 * time.Hour)
			mustConfirm(t, h.call(c, "send_sms", sms(agentID, "+12125550142", "Good morning")), "NY at 09:00", "first_contact")
			mustDeny(t, h.call(c, "send_sms", sms(agentID, "+14155550142", "Good morning")), "quiet_hours", "SF at 06:00")
		})
	}
	t.Run("off", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.QuietHours = "off"; c.ConfirmMode = "off" })
		c := h.connect("stdio")
		agentID, _, _ := h.setupAgentWithNumber(c)
		h.clk.Advance(14 * time.Hour)
		h.mustOK(h.call(c, "send_sms", sms(agentID, "+14155550142", "Night shift update")), "quiet hours off")
		if got := h.sentMessages(); got != 1 {
			t.Fatalf("quiet hours off: want 1 message sent, got %d", got)
		}
	})
}

// TestRateLimitOverProtocol sends five texts to one recipient (the first confirmed as a first
// contact), then the sixth within the hour is denied [rate_limit]; a second call to one callee
// within 10 minutes likewise. An hour later texting works again.
func TestRateLimitOverProtocol(t *testing.T) {
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			c := h.connect(tr)
			agentID, _, _ := h.setupAgentWithNumber(c)
			to := "+14155550142"
			h.confirm(c, "send_sms", sms(agentID, to, "Message 1"))
			for i := 2; i <= 5; i++ {
				h.clk.Advance(time.Minute)
				r := h.mustOK(h.call(c, "send_sms", sms(agentID, to, "Message "+string(rune('0'+i)))), "sms")
				if r.str("status") == "confirmation_required" {
					t.Fatalf("sms %d to a known recipient asked for confirmation: %s", i, r.text)
				}
			}
			if got := h.sentMessages(); got != 5 {
				t.Fatalf("want 5 messages sent, got %d", got)
			}
			h.clk.Advance(time.Minute)
			mustDeny(t, h.call(c, "send_sms", sms(agentID, to, "Message 6")), "rate_limit", "6th sms within the hour")
			if got := h.sentMessages(); got != 5 {
				t.Fatalf("the denied 6th sms reached the API: %d messages", got)
			}
			// The window slides: an hour after the first, one more fits.
			h.clk.Advance(56 * time.Minute)
			h.mustOK(h.call(c, "send_sms", sms(agentID, to, "Message 7")), "sms after the window slid")

			callee := "+14155550143"
			h.confirm(c, "make_call", dial(agentID, callee))
			h.clk.Advance(3 * time.Minute)
			before := h.placedCalls()
			mustDeny(t, h.call(c, "make_call", dial(agentID, callee)), "rate_limit", "2nd call within 10 minutes")
			if got := h.placedCalls(); got != before {
				t.Fatalf("the denied call was placed: %d -> %d", before, got)
			}
		})
	}
}

// TestPolicyFileCapsOverProtocol raises the per-callee call cap and lowers the new-recipient cap
// in the operator's policy file (mode 0600): a second call within 2 minutes is then a confirm
// [duplicate] instead of a deny, and the third new recipient of the day is denied [rate_limit].
// A policy file that others can write is refused at start.
func TestPolicyFileCapsOverProtocol(t *testing.T) {
	file := writePolicyFile(t, `{"limits": {"calls_per_recipient_10min": 3, "new_recipients_day": 2}}`)
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.PolicyFile = file })
			c := h.connect(tr)
			agentID, _, _ := h.setupAgentWithNumber(c)
			h.confirm(c, "make_call", dial(agentID, "+14155550142")) // new recipient 1
			h.clk.Advance(time.Minute)
			args := dial(agentID, "+14155550142")
			tok := mustConfirm(t, h.call(c, "make_call", args), "same callee within 2 minutes", "duplicate")
			if got := h.placedCalls(); got != 1 {
				t.Fatalf("the duplicate preview placed a call: %d calls", got)
			}
			h.mustOK(h.call(c, "make_call", with(args, "confirmation_token", tok)), "duplicate call confirmed")
			// Just past the 2-minute window of the last call: no longer a duplicate.
			h.clk.Advance(2*time.Minute + time.Second)
			r := h.mustOK(h.call(c, "make_call", args), "same callee after the window")
			if r.str("status") == "confirmation_required" {
				t.Fatalf("a call 2m01s after the last is no duplicate: rules %v: %s", r.data["rules"], r.text)
			}
			h.confirm(c, "send_sms", sms(agentID, "+14155550143", "Hello")) // new recipient 2
			before := h.effects()
			mustDeny(t, h.call(c, "send_sms", sms(agentID, "+14155550144", "Hello")), "rate_limit", "3rd new recipient")
			mustDeny(t, h.call(c, "make_call", dial(agentID, "+14155550145")), "rate_limit", "3rd new callee")
			if after := h.effects(); after != before {
				t.Fatalf("the new-recipient cap let something through: %+v -> %+v", before, after)
			}
			// Known recipients are not new: still fine.
			h.mustOK(h.call(c, "send_sms", sms(agentID, "+14155550143", "Hello again")), "known recipient")
		})
	}
	t.Run("group-writable file refused", func(t *testing.T) {
		if err := os.Chmod(file, 0o664); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = os.Chmod(file, 0o600) }()
		cfg, _ := ConfigFromEnv(nil)
		cfg.Sandbox, cfg.StateDir, cfg.PolicyFile = true, t.TempDir(), file
		app, err := New(context.Background(), cfg, Options{Clock: clockwork.NewFakeClockAt(testStart), Stderr: io.Discard,
			Logger: slog.New(slog.DiscardHandler)})
		if err == nil {
			_ = app.Close()
			t.Fatal("a group-writable policy file was accepted")
		}
		if !strings.Contains(err.Error(), "chmod") {
			t.Fatalf("the refusal does not say how to fix it: %v", err)
		}
	})
}

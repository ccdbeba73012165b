package policy

import (
	"context"
	"errors"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDenyRules(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 153*10+1) // 11 GSM-7 segments
	tests := []struct {
		name   string
		cfg    Config
		setup  func(t *testing.T, e *env)
		action Action
		rule   string
	}{
		{name: "emergency", action: sms("911", "hi"), rule: RuleEmergency},
		{name: "emergency call 112", action: call("112"), rule: RuleEmergency},
		{name: "n11", action: call("411"), rule: RuleN11},
		{name: "short code", action: sms("22395", "hi"), rule: RuleShortCode},
		{name: "invalid number", action: sms("+447700900123", "hi"), rule: RuleInvalidNumber},
		{name: "letters", action: sms("call me at 650 253 0000", "hi"), rule: RuleInvalidNumber},
		{name: "premium rate", action: call(numPremium), rule: RuleNumberType},
		{name: "global network", action: sms(numSat, "hi"), rule: RuleGlobalNetwork},
		{name: "country GB", action: sms(numLondon, "hi"), rule: RuleCountry},
		{name: "caribbean +1 is international", action: call(numJamaica), rule: RuleCountry},
		{name: "opted out", setup: func(t *testing.T, e *env) {
			if _, err := e.eng.OptOuts().Add(context.Background(), numLA, "", ""); err != nil {
				t.Fatal(err)
			}
		}, action: sms(numLA, "hi"), rule: RuleOptedOut},
		{name: "api key in sms", action: sms(numLA, "the key is "+testKey), rule: RuleSecretInContent},
		{name: "api key in greeting", action: Action{Tool: "place_call", Kind: KindCall, To: numLA, Texts: []string{"ok", "key " + testKey}}, rule: RuleSecretInContent},
		{name: "api key in agent prompt", action: Action{Tool: "update_agent", Kind: KindAgentChange, Texts: []string{"use " + testKey}}, rule: RuleSecretInContent},
		{name: "sms too long", action: sms(numLA, long), rule: RuleSMSTooLong},
		{name: "quiet hours", setup: func(t *testing.T, e *env) { e.clk.Advance(-10 * time.Hour) }, action: sms(numLA, "hi"), rule: RuleQuietHours},
		{name: "rate limit", cfg: Config{Limits: Limits{SMSPerRecipientHour: 1}, Allowlist: []string{numLA}},
			setup: func(t *testing.T, e *env) { e.send(t, sms(numLA, "one")) }, action: sms(numLA, "two"), rule: RuleRateLimit},
		{name: "denylist exact", cfg: Config{Denylist: []string{numLA}}, action: sms(numLA, "hi"), rule: RuleDenylist},
		{name: "denylist prefix", cfg: Config{Denylist: []string{"+1650"}}, action: call(numLA), rule: RuleDenylist},
		{name: "denylist beats allowlist", cfg: Config{Denylist: []string{numLA}, Allowlist: []string{numLA}}, action: call(numLA), rule: RuleDenylist},
		{name: "bad transfer number on call", action: Action{Tool: "place_call", Kind: KindCall, To: numLA, TransferNumber: numPremium}, rule: RuleNumberType},
		{name: "transfer to emergency", action: Action{Tool: "transfer_call", Kind: KindTransfer, TransferNumber: "911"}, rule: RuleEmergency},
		{name: "agent transfer to satellite", action: Action{Tool: "update_agent", Kind: KindAgentChange, TransferNumber: numSat}, rule: RuleGlobalNetwork},
		{name: "contact with invalid number", action: Action{Tool: "create_contact", Kind: KindContactWrite, To: "12"}, rule: RuleInvalidNumber},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.cfg, nil)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			wantDecision(t, e.eval(t, tt.action), Deny, tt.rule)
		})
	}
}

func TestDenyIsNotConfirmable(t *testing.T) {
	t.Parallel()
	// A deny stays a deny on re-evaluation after a (valid) confirmation token.
	e := newEnv(t, Config{}, nil)
	a := sms(numLA, "the key is "+testKey)
	tok, err := e.eng.IssueToken(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.eng.RedeemToken(context.Background(), a, tok); err != nil {
		t.Fatal(err)
	}
	wantDecision(t, e.eval(t, a), Deny, RuleSecretInContent)
}

func TestConfirmRules(t *testing.T) {
	t.Parallel()
	four := strings.Repeat("b", 153*3+1) // 4 segments
	pr := DefaultPrices()
	hostedCall := call(numNY)
	hostedCall.CallMode = CallHosted
	tests := []struct {
		name   string
		cfg    Config
		setup  func(t *testing.T, e *env)
		action Action
		rule   string
		cost   string
	}{
		{name: "buy number", action: Action{Tool: "buy_number", Kind: KindBuyNumber}, rule: RuleSpend, cost: DefaultPrices().NumberCost()},
		{name: "release number", action: Action{Tool: "release_number", Kind: KindReleaseNumber}, rule: RuleIrreversible},
		{name: "delete agent", action: Action{Tool: "delete_agent", Kind: KindDeleteAgent}, rule: RuleIrreversible},
		{name: "delete contact", action: Action{Tool: "delete_contact", Kind: KindDeleteContact}, rule: RuleIrreversible},
		{name: "webhook", action: Action{Tool: "set_webhook", Kind: KindWebhookChange, Texts: []string{"https://example.com/hook"}}, rule: RuleWebhookChange},
		{name: "agent change", action: Action{Tool: "update_agent", Kind: KindAgentChange, Texts: []string{"You are helpful."}, TransferNumber: numNY}, rule: RuleAgentChange},
		{name: "first contact sms", action: sms(numLA, "hi"), rule: RuleFirstContact,
			cost: "1 SMS segment × $0.02 = $0.02 (if it goes as SMS; iMessage has no segment charge)"},
		{name: "first contact call", action: call(numNY), rule: RuleFirstContact, cost: pr.CallCost("")},
		{name: "hosted call", action: hostedCall, rule: RuleFirstContact,
			cost: "$0.22/min (AgentPhone's AI runs the call), billed per second; up to $13.20 if it runs the maximum 60 min"},
		{name: "international allowed", cfg: Config{AllowedCountries: []string{"US", "GB"}, Allowlist: []string{numLondon}},
			setup:  func(t *testing.T, e *env) { e.clk.Advance(-3 * time.Hour) }, // 15:00 London
			action: sms(numLondon, "hi"), rule: RuleInternational, cost: pr.SMSCost(1) + "; an international destination costs more than this domestic price"},
		{name: "sms long", cfg: Config{Allowlist: []string{numLA}}, action: sms(numLA, four), rule: RuleSMSLong,
			cost: "4 SMS segments × $0.02 = $0.08 (if it goes as SMS; iMessage has no segment charge)"},
		{name: "prices from the policy file", cfg: Config{Allowlist: []string{numLA}, Prices: PriceOverrides{SMSPerSegment: ptrTo(0.035)}},
			action: sms(numLA, four), rule: RuleSMSLong, cost: "4 SMS segments × $0.035 = $0.14 (if it goes as SMS; iMessage has no segment charge)"},
		{name: "duplicate sms", cfg: Config{Allowlist: []string{numLA}},
			setup:  func(t *testing.T, e *env) { e.send(t, sms(numLA, "same")); e.clk.Advance(9 * time.Minute) },
			action: sms(numLA, "same"), rule: RuleDuplicate, cost: pr.SMSCost(1)},
		{name: "duplicate call", cfg: Config{Allowlist: []string{numLA}, Limits: Limits{CallsPerRecipient10Min: 5}},
			setup:  func(t *testing.T, e *env) { e.send(t, call(numLA)); e.clk.Advance(time.Minute) },
			action: call(numLA), rule: RuleDuplicate, cost: pr.CallCost("")},
		{name: "international transfer", cfg: Config{AllowedCountries: []string{"US", "GB"}},
			action: Action{Tool: "transfer_call", Kind: KindTransfer, TransferNumber: numLondon}, rule: RuleInternational},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.cfg, nil)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			d := e.eval(t, tt.action)
			wantDecision(t, d, Confirm, tt.rule)
			if d.Preview == nil || d.Preview.Cost != tt.cost {
				t.Errorf("preview = %+v, want cost %q", d.Preview, tt.cost)
			}
			if len(d.Preview.Rules) != len(d.Rules) {
				t.Errorf("preview rules %v != decision rules %v", d.Preview.Rules, d.Rules)
			}
		})
	}
}

func TestDuplicateExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Allowlist: []string{numLA}, Limits: Limits{CallsPerRecipient10Min: -1}}, nil)
	e.send(t, sms(numLA, "same"))
	e.send(t, call(numLA))
	e.clk.Advance(2*time.Minute + time.Second)
	wantDecision(t, e.eval(t, call(numLA)), Allow, "")
	wantDecision(t, e.eval(t, sms(numLA, "same")), Confirm, RuleDuplicate)
	wantDecision(t, e.eval(t, sms(numLA, "different")), Allow, "")
	e.clk.Advance(8 * time.Minute)
	wantDecision(t, e.eval(t, sms(numLA, "same")), Allow, "")
}

func TestAllowPathAndPreview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	e.send(t, sms(numLA, "first")) // now known
	d := e.eval(t, Action{Tool: "send_sms", Kind: KindSMS, To: "(650) 253-0000", Body: "Hello Bob ❤️",
		Details: map[string]string{"from": "+14155550000", "agent\u200b": "x"}})
	wantDecision(t, d, Allow, "")
	if d.Target == nil || d.Target.E164 != numLA {
		t.Fatalf("target = %+v", d.Target)
	}
	p := d.Preview
	if p == nil || p.To == nil || p.Body == nil {
		t.Fatalf("preview = %+v", p)
	}
	if p.To.E164 != numLA || p.To.Region != "US" || p.To.IsForeign || p.FirstContact {
		t.Errorf("preview.to = %+v first=%v", p.To, p.FirstContact)
	}
	if len(p.To.LocalTimes) != 1 || p.To.LocalTimes[0].Time != "Tue 11:00" || !p.To.LocalTimes[0].InsideWindow {
		t.Errorf("local times = %+v", p.To.LocalTimes)
	}
	if p.Body.Segments != 1 || p.Body.Characters == 0 || p.Body.Encoding == "" {
		t.Errorf("body = %+v", p.Body)
	}
	if p.Details["from"] != "+14155550000" || len(p.Details) != 2 {
		t.Errorf("details = %v", p.Details)
	}
	if p.Cost != DefaultPrices().SMSCost(1) {
		t.Errorf("sms cost = %q, want the price table's", p.Cost)
	}
}

func TestFirstContactSources(t *testing.T) {
	t.Parallel()
	boom := errors.New("api down")
	tests := []struct {
		name  string
		cfg   Config
		deps  func(*Deps)
		first bool
	}{
		{"nothing known", Config{}, nil, true},
		{"contact", Config{}, func(d *Deps) { d.Contacts = fakeContacts{set: map[string]bool{numLA: true}} }, false},
		{"contact lookup error", Config{}, func(d *Deps) { d.Contacts = fakeContacts{err: boom} }, true},
		{"history hook", Config{}, func(d *Deps) { d.History = fakeHistory{set: map[string]bool{numLA: true}} }, false},
		{"history error", Config{}, func(d *Deps) { d.History = fakeHistory{err: boom} }, true},
		{"allowlist", Config{Allowlist: []string{"(650) 253-0000"}}, nil, false},
		{"allowlist prefix", Config{Allowlist: []string{"+1650253"}}, nil, false},
		{"no contacts checker", Config{}, func(d *Deps) { d.Contacts = nil }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.cfg, tt.deps)
			d := e.eval(t, sms(numLA, "hi"))
			if hasRule(d, RuleFirstContact) != tt.first || d.Preview.FirstContact != tt.first {
				t.Errorf("first_contact = %v (preview %v), want %v", hasRule(d, RuleFirstContact), d.Preview.FirstContact, tt.first)
			}
		})
	}
}

func TestKnownAfterSuccessfulSendOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	ctx := context.Background()
	a := sms(numLA, "hi")
	d := e.eval(t, a)
	// A pending preview, a failed send and an unknown one: still first contact.
	if err := e.eng.Record(ctx, a, d, Result{}); err != nil {
		t.Fatal(err)
	}
	e.run(t, a, store.Failed)
	wantDecision(t, e.eval(t, a), Confirm, RuleFirstContact)
	e.run(t, sms(numLA, "other 1"), store.Unknown)
	wantDecision(t, e.eval(t, sms(numLA, "other 2")), Confirm, RuleFirstContact)
	e.run(t, a, store.Sent)
	wantDecision(t, e.eval(t, sms(numLA, "other 3")), Allow, "")
}

func TestContactWriteAndTransferSkipTimeAndCaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	e.clk.Advance(-10 * time.Hour) // 01:00 in LA: quiet hours for calls, not for transfers
	wantDecision(t, e.eval(t, Action{Tool: "create_contact", Kind: KindContactWrite, To: "650-253-0000"}), Allow, "")
	d := e.eval(t, Action{Tool: "transfer_call", Kind: KindTransfer, TransferNumber: numLA})
	wantDecision(t, d, Allow, "")
	if d.Target == nil || d.Target.E164 != numLA || d.Preview.Transfer == nil {
		t.Errorf("transfer target = %+v preview %+v", d.Target, d.Preview)
	}
	wantDecision(t, e.eval(t, Action{Tool: "send_dtmf", Kind: KindDTMF, Body: "1234#"}), Allow, "")
	wantDecision(t, e.eval(t, call(numLA)), Deny, RuleQuietHours)
}

func TestUnknownKindAndCancelledContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	if _, err := e.eng.Evaluate(context.Background(), Action{Tool: "x", Kind: "teleport"}); err == nil {
		t.Error("unknown kind accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.eng.Evaluate(ctx, sms(numLA, "hi")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx err = %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad region", Config{DefaultRegion: "USA"}, "region"},
		{"bad country", Config{AllowedCountries: []string{"U1"}}, "allowed country"},
		{"bad quiet hours", Config{QuietHours: "8-21"}, "quiet hours"},
		{"empty window", Config{QuietHours: "09:00-09:00"}, "start equals end"},
		{"bad confirm mode", Config{ConfirmMode: "maybe"}, "confirm mode"},
		{"short token key", Config{TokenKey: []byte("short")}, "token key"},
		{"bad denylist", Config{Denylist: []string{"evil"}}, "denylist"},
		{"bad allowlist", Config{Allowlist: []string{"1-800-FLOWERS"}}, "allowlist"},
		{"bad operator phone", Config{OperatorPhone: "911"}, "operator phone"},
		{"missing policy file", Config{PolicyFile: "/nonexistent/policy.json"}, "policy file"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg, Deps{Store: e.st})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want mention of %q", tt.name, err, tt.want)
		}
	}
	if _, err := New(Config{}, Deps{}); err == nil {
		t.Error("nil store accepted")
	}
	eng, err := New(Config{OperatorPhone: "(212) 736-5000", ConfirmMode: "STRICT"}, Deps{Store: e.st})
	if err != nil {
		t.Fatal(err)
	}
	if eng.OperatorPhone() != numNY || eng.ConfirmMode() != ConfirmStrict {
		t.Errorf("operator %q mode %q", eng.OperatorPhone(), eng.ConfirmMode())
	}
	c := eng.Config()
	if c.QuietHours != DefaultQuietHours || c.Limits != DefaultLimits() || c.TokenKey != nil || len(c.AllowedCountries) != 7 {
		t.Errorf("effective config = %+v", c)
	}
}

func TestLookupErrorsLoggedWithoutKey(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	e := newEnv(t, Config{}, func(d *Deps) {
		d.Contacts = fakeContacts{err: errors.New("401 for key " + testKey)}
		d.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	})
	wantDecision(t, e.eval(t, sms(numLA, "hi")), Confirm, RuleFirstContact)
	if !strings.Contains(buf.String(), "contact check failed") || strings.Contains(buf.String(), testKey) {
		t.Errorf("log = %q", buf.String())
	}
}

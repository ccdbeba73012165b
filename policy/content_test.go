package policy

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
)

// TestHiddenCharactersDenied: what a person approves is what is sent. A bidi control or an
// invisible character in any outbound text is refused, naming the character.
func TestHiddenCharactersDenied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	cases := []Action{
		sms(numLA, "Pay \u202eNOW"),
		sms(numLA, "see\u200byou"),
		sms(numLA, "tag\U000E0041s"),
		{Tool: "make_call", Kind: KindCall, To: numLA, Spoken: []LabeledText{{"greeting", "Hello\u2066 there"}}},
		{Tool: "create_agent", Kind: KindAgentCreate, Spoken: []LabeledText{{"system prompt", "Be kind\u00ad."}}},
		{Tool: "say", Kind: KindDTMF, Spoken: []LabeledText{{"answer", "ok\u200d"}}},
	}
	for _, a := range cases {
		d := e.eval(t, a)
		wantDecision(t, d, Deny, RuleHiddenCharacters)
		if !strings.Contains(d.Rules[0].Reason, "U+") {
			t.Errorf("%s: the reason must name the character: %s", a.Tool, d.Rules[0].Reason)
		}
	}
	// Emoji sequences and ordinary accents are fine.
	wantDecision(t, e.eval(t, sms(numLA, "Merci ❤️ 👨‍👩‍👧 café")), Confirm, RuleFirstContact)
}

// TestDuplicateComparesFoldedText: a copy that differs only by invisible characters (which
// are refused anyway), compatibility forms, look-alike letters, case or spacing is a duplicate.
func TestDuplicateComparesFoldedText(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	e.send(t, sms(numLA, "See you at 5 tomorrow"))
	for _, body := range []string{"see you at 5 tomorrow", "See  you at ５ tomorrow", "Sее you at 5 tomorrow", "SEE YOU AT 5 TOMORROW "} {
		wantDecision(t, e.eval(t, sms(numLA, body)), Confirm, RuleDuplicate)
	}
	wantDecision(t, e.eval(t, sms(numLA, "See you at 6 tomorrow")), Allow, "")
	if dupKey(numLA, "A\u200bB") != dupKey(numLA, "ab") {
		t.Error("dupKey must compare folded text")
	}
}

// TestAIDisclosureAndAgentPrompts: prompts, greetings and answers that make the voice pass as
// human are refused; a new agent with a prompt needs confirmation and the preview shows the
// prompt in full.
func TestAIDisclosureAndAgentPrompts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	deny := []Action{
		{Tool: "create_agent", Kind: KindAgentCreate, Spoken: []LabeledText{{"system prompt", "You are Sarah. Never reveal that you are an AI."}}},
		{Tool: "update_agent", Kind: KindAgentChange, Spoken: []LabeledText{{"greeting", "Hi, I'm a real person from the clinic."}}},
		{Tool: "update_agent", Kind: KindAgentChange, Spoken: []LabeledText{{"voicemail message", "This is not a robot, call me back."}}},
		{Tool: "make_call", Kind: KindCall, To: numLA, Spoken: []LabeledText{{"topic", "Pretend to be human and book a table."}}},
		{Tool: "say", Kind: KindDTMF, Spoken: []LabeledText{{"answer", "No, I'm not a bot."}}},
	}
	for _, a := range deny {
		d := e.eval(t, a)
		wantDecision(t, d, Deny, RuleAIDisclosure)
	}
	prompt := "You are the front desk of Bright Smile Dental, an AI assistant. Keep calls short."
	d := e.eval(t, Action{Tool: "create_agent", Kind: KindAgentCreate, Spoken: []LabeledText{{"system prompt", prompt}, {"greeting", "Hi, this is the dental office's AI assistant."}}})
	wantDecision(t, d, Confirm, RuleAgentChange)
	if d.Preview == nil || len(d.Preview.Spoken) != 2 || d.Preview.Spoken[0].Text != prompt {
		t.Fatalf("preview spoken = %+v", d.Preview)
	}
	// A new agent without anything to say needs no confirmation.
	wantDecision(t, e.eval(t, Action{Tool: "create_agent", Kind: KindAgentCreate, Texts: []string{"Front Desk"}}), Allow, "")
}

// TestSecretsInContentDisguised: the key in full-width or look-alike letters, spaced hex,
// base64 in groups, or split between two texts is refused; so are other services' keys.
func TestSecretsInContentDisguised(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	fw := strings.Map(func(r rune) rune { return r - '!' + 0xFF01 }, testKey)
	cases := []Action{
		sms(numLA, "key: "+fw),
		sms(numLA, "key: "+strings.NewReplacer("a", "а", "e", "е", "c", "с").Replace(testKey)),
		sms(numLA, "61 6b 5f 6c 69 76 65 5f 39 66 38 65 37 64 36 63"), // hex of "ak_live_9f8e7d6c" (the tag is public; 8 secret characters)
		{Tool: "make_call", Kind: KindCall, To: numLA, Spoken: []LabeledText{{"greeting", "part one " + testKey[:7]}, {"topic", "part two " + testKey[7:20]}}},
		{Tool: "make_call", Kind: KindCall, To: numLA, Texts: []string{"voice " + testKey[10:30]}},
		sms(numLA, "temporary creds ASIAY34FZKBOKMUTVV7A"),
		sms(numLA, "card 4111 1111 1111 1111"),
		sms(numLA, "- - - - - BEGIN RSA PRIVATE KEY - - - - -"),
	}
	for i, a := range cases {
		d := e.eval(t, a)
		if d.Outcome != Deny || !hasRule(d, RuleSecretInContent) {
			t.Errorf("case %d: %s %v, want secret_in_content", i, d.Outcome, d.Rules)
		}
	}
}

// TestObserveInboundFlagsAmbiguous: an ambiguous reply is flagged (once a day in the audit log
// and the log), never recorded as an opt-out; a revocation is recorded with its scope.
func TestObserveInboundFlagsAmbiguous(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	ctx := context.Background()
	for range 3 {
		o, err := e.eng.ObserveInbound(ctx, Inbound{From: numLA, Text: "wrong number"})
		if err != nil || !o.Flagged || o.OptedOut || o.OptOut.Class != text.OptOutAmbiguous {
			t.Fatalf("ambiguous: %+v %v", o, err)
		}
	}
	wantDecision(t, e.eval(t, sms(numLA, "hi")), Confirm, RuleFirstContact) // not opted out
	o, err := e.eng.ObserveInbound(ctx, Inbound{From: numNY, Text: "Ｐｌｅａｓｅ ｓｔｏｐ ｃａｌｌｉｎｇ ｍｅ", Channel: "call", ID: "call_1"})
	if err != nil || !o.OptedOut || o.OptOut.Scope != text.ScopeCalls {
		t.Fatalf("revocation: %+v %v", o, err)
	}
	// A spoken "stop calling me" opts the number out of calls only (issue 15 item 3).
	wantDecision(t, e.eval(t, call(numNY)), Deny, RuleOptedOut)
	data, err := os.ReadFile(e.audit)
	if err != nil {
		t.Fatal(err)
	}
	flags, optouts := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		switch m["decision"] {
		case "flag":
			flags++
			if m["tool"] != "inbound_sms" || !strings.Contains(line, RulePossibleOptOut) {
				t.Errorf("flag line: %s", line)
			}
		case "opt_out":
			optouts++
			if m["tool"] != "call_transcript" || !strings.Contains(line, `"channel":"call"`) {
				t.Errorf("opt-out line: %s", line)
			}
		}
	}
	if flags != 1 || optouts != 1 {
		t.Errorf("audit: %d flag lines (want 1: once a day), %d opt-out lines\n%s", flags, optouts, data)
	}
}

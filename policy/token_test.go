package policy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func tokenKind(err error) TokenErrorKind {
	var te *TokenError
	if errors.As(err, &te) {
		return te.Kind
	}
	return ""
}

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := Action{Tool: "send_sms", Principal: "alice", Kind: KindSMS, To: numLA, Body: "hello",
		Args: map[string]any{"to_number": numLA, "body": "hello", "from_number_id": "pn_1"}}
	flip := func(tok string, i int) string {
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		raw[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	with := func(f func(a *Action)) Action {
		a := base
		a.Args = map[string]any{"to_number": numLA, "body": "hello", "from_number_id": "pn_1"}
		f(&a)
		return a
	}
	tests := []struct {
		name   string
		mutate func(e *env, tok string) (Action, string)
		kind   TokenErrorKind
		field  string
	}{
		{"valid", func(e *env, tok string) (Action, string) { return base, tok }, "", ""},
		{"same number other format", func(e *env, tok string) (Action, string) {
			return with(func(a *Action) { a.To = "(650) 253-0000" }), tok
		}, "", ""},
		{"other tool", func(e *env, tok string) (Action, string) {
			return with(func(a *Action) { a.Tool = "place_call" }), tok
		}, TokenMismatch, "tool"},
		{"other principal", func(e *env, tok string) (Action, string) {
			return with(func(a *Action) { a.Principal = "mallory" }), tok
		}, TokenMismatch, "principal"},
		{"other recipient", func(e *env, tok string) (Action, string) {
			return with(func(a *Action) { a.To = numNY }), tok
		}, TokenMismatch, "arguments"},
		{"other body", func(e *env, tok string) (Action, string) {
			return with(func(a *Action) { a.Body = "hello!" }), tok
		}, TokenMismatch, "arguments"},
		{"other arg", func(e *env, tok string) (Action, string) {
			return with(func(a *Action) { a.Args["from_number_id"] = "pn_2" }), tok
		}, TokenMismatch, "arguments"},
		{"extra text", func(e *env, tok string) (Action, string) {
			return with(func(a *Action) { a.Texts = []string{"x"} }), tok
		}, TokenMismatch, "arguments"},
		{"invalid recipient", func(e *env, tok string) (Action, string) {
			return with(func(a *Action) { a.To = "911" }), tok
		}, TokenMismatch, "arguments"},
		{"flipped MAC bit", func(e *env, tok string) (Action, string) { return base, flip(tok, tokenLen-1) }, TokenWrong, ""},
		{"flipped expiry bit", func(e *env, tok string) (Action, string) { return base, flip(tok, 8) }, TokenWrong, ""},
		{"flipped nonce bit", func(e *env, tok string) (Action, string) { return base, flip(tok, 12) }, TokenWrong, ""},
		{"flipped binding bit", func(e *env, tok string) (Action, string) { return base, flip(tok, 30) }, TokenWrong, ""},
		{"version changed", func(e *env, tok string) (Action, string) { return base, flip(tok, 0) }, TokenMalformed, ""},
		{"truncated", func(e *env, tok string) (Action, string) { return base, tok[:len(tok)-4] }, TokenMalformed, ""},
		{"garbage", func(e *env, tok string) (Action, string) { return base, "not a token!" }, TokenMalformed, ""},
		{"empty", func(e *env, tok string) (Action, string) { return base, "" }, TokenMalformed, ""},
		{"huge", func(e *env, tok string) (Action, string) { return base, strings.Repeat("A", 10000) }, TokenMalformed, ""},
		{"other key (restart)", func(e *env, tok string) (Action, string) {
			other := newEnv(t, Config{}, nil)
			tok2, err := other.eng.IssueToken(base)
			if err != nil {
				t.Fatal(err)
			}
			return base, tok2
		}, TokenWrong, ""},
		{"expired", func(e *env, tok string) (Action, string) { e.clk.Advance(TokenTTL); return base, tok }, TokenExpired, ""},
		{"reused", func(e *env, tok string) (Action, string) {
			if err := e.eng.RedeemToken(ctx, base, tok); err != nil {
				t.Fatal(err)
			}
			return base, tok
		}, TokenReused, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Config{}, nil)
			tok, err := e.eng.IssueToken(base)
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(TokenTTL - time.Second) // still valid unless the case moves on
			a, tok2 := tt.mutate(e, tok)
			err = e.eng.RedeemToken(ctx, a, tok2)
			if tokenKind(err) != tt.kind || (tt.kind == "" && err != nil) {
				t.Fatalf("RedeemToken err = %v, want kind %q", err, tt.kind)
			}
			if err == nil {
				return
			}
			var te *TokenError
			errors.As(err, &te)
			if te.Field != tt.field {
				t.Errorf("field = %q, want %q", te.Field, tt.field)
			}
			if !strings.Contains(err.Error(), "call again without confirmation_token to get a fresh preview") {
				t.Errorf("message lacks the fix: %v", err)
			}
			// A token presented is spent by any action, a mismatched one included: it
			// cannot be redeemed afterwards for the action it was issued for.
			// Another principal's presentation spends nothing: it was never shown the token.
			if tt.kind == TokenMismatch && tt.field != "principal" {
				if err := e.eng.RedeemToken(ctx, base, tok); tokenKind(err) != TokenReused {
					t.Errorf("after a mismatch, redeeming for the previewed action = %v, want reused", err)
				}
			}
			if tt.field == "principal" {
				if err := e.eng.RedeemToken(ctx, base, tok); err != nil {
					t.Errorf("another principal burned the token: %v", err)
				}
			}
		})
	}
}

func TestTokenSharedKeyAcrossReplicas(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	a := newEnv(t, Config{TokenKey: key}, nil)
	b := newEnv(t, Config{TokenKey: key}, nil)
	act := sms(numLA, "hi")
	tok, err := a.eng.IssueToken(act)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.eng.RedeemToken(context.Background(), act, tok); err != nil {
		t.Fatalf("replica redeem: %v", err)
	}
	if n1, _ := a.eng.TokenNonce(tok); n1 == "" {
		t.Error("TokenNonce empty")
	}
	if _, err := a.eng.IssueToken(Action{Tool: "x", Args: map[string]any{"c": make(chan int)}}); err == nil {
		t.Error("unencodable args accepted")
	}
	if _, err := a.eng.IssueToken(sms("911", "x")); err == nil {
		t.Error("token issued for an invalid number")
	}
}

func TestTokenNoncesDiffer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	seen := map[string]bool{}
	for range 50 {
		tok, err := e.eng.IssueToken(sms(numLA, "x"))
		if err != nil {
			t.Fatal(err)
		}
		n, err := e.eng.TokenNonce(tok)
		if err != nil || seen[n] {
			t.Fatalf("nonce %q dup=%v err=%v", n, seen[n], err)
		}
		seen[n] = true
	}
	if _, err := e.eng.TokenNonce("bad"); tokenKind(err) != TokenMalformed {
		t.Errorf("TokenNonce(bad) = %v", err)
	}
}

func FuzzRedeemToken(f *testing.F) {
	e := newEnv(f, Config{}, nil)
	tok, _ := e.eng.IssueToken(sms(numLA, "x"))
	f.Add(tok)
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		err := e.eng.RedeemToken(context.Background(), sms(numLA, "y"), s)
		if err == nil {
			t.Fatalf("token %q accepted for other arguments", s)
		}
		if tokenKind(err) == "" {
			t.Fatalf("non-token error %v", err)
		}
	})
}

// TestTokenApprovesOnlyItsPreviewsRules: a token carries the confirm rules its preview
// showed, and Approve takes them from the token, not from the decision at hand. A token
// shown for [first_contact] cannot approve a [duplicate] that appeared later.
func TestTokenApprovesOnlyItsPreviewsRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, Config{}, nil)
	a := sms(numLA, "same text")
	d := e.eval(t, a)
	wantDecision(t, d, Confirm, RuleFirstContact)
	tok, err := e.eng.IssueToken(a, d.RuleIDs()...)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := e.eng.tokenRules(tok); !ok || !slices.Equal(got, d.RuleIDs()) {
		t.Fatalf("token rules = %v %v, want %v", got, ok, d.RuleIDs())
	}
	e.send(t, a) // the same text went out meanwhile: now known, and a duplicate
	d2 := e.eval(t, a)
	wantDecision(t, d2, Confirm, RuleDuplicate)
	if hasRule(d2, RuleFirstContact) {
		t.Fatalf("still first contact: %v", d2.Rules)
	}
	if err := e.eng.RedeemToken(ctx, a, tok); err != nil {
		t.Fatal(err)
	}
	ap := e.eng.Approve(d2, "token", tok)
	if !slices.Equal(ap.Rules, []string{RuleFirstContact}) || ap.TokenNonce == "" {
		t.Fatalf("approval = %+v, want only first_contact and the token's nonce", ap)
	}
	_, err = e.eng.Reserve(ctx, a, d2, ap)
	var r *Refusal
	if !errors.As(err, &r) || !r.NeedsConfirmation() || len(r.Unapproved) != 1 || r.Unapproved[0].ID != RuleDuplicate {
		t.Fatalf("Reserve with a first-contact token on a duplicate = %v; want a refusal needing the duplicate confirmation", err)
	}
	// A token issued with no rules (an allow preview) approves nothing; a forged rule list
	// fails the MAC.
	tok0, _ := e.eng.IssueToken(a)
	if got, ok := e.eng.tokenRules(tok0); !ok || len(got) != 0 {
		t.Fatalf("rules of a rule-less token = %v %v", got, ok)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	copy(raw[tokenFixedLen+1:], "duplicate,    ")
	if ap := e.eng.Approve(d2, "token", base64.RawURLEncoding.EncodeToString(raw)); len(ap.Rules) != 0 {
		t.Fatalf("a token whose rules were rewritten approves %v", ap.Rules)
	}
}

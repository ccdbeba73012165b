package policy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

// TokenTTL is how long a confirmation token is valid.
const TokenTTL = 5 * time.Minute

// Token layout (before base64url without padding):
// ver(1) | exp unix ns(8) | nonce(16) | H(tool)(16) | H(principal)(16) | H(args)(16) |
// len(1) | rule ids, comma-separated (len bytes) | HMAC-SHA256(32)
// The three truncated SHA-256 digests (domain-separated) let RedeemToken say
// which binding differs; the rule ids are the confirm rules the preview showed, the only
// ones the token approves (Approve); the MAC covers all of it.
const (
	tokenVersion  = 2
	tokenNonceLen = 16
	tokenHashLen  = 16
	tokenFixedLen = 1 + 8 + tokenNonceLen + 3*tokenHashLen // up to the rules' length byte
	tokenLen      = tokenFixedLen + 1 + sha256.Size        // a token that approves no rule
	tokenMaxRules = 255                                    // bytes of comma-separated rule ids
	tokenMaxLen   = tokenLen + tokenMaxRules
)

// TokenErrorKind says why a token was refused.
type TokenErrorKind string

// Token error kinds.
const (
	TokenMalformed TokenErrorKind = "malformed" // not decodable as a token
	TokenWrong     TokenErrorKind = "wrong"     // bad MAC: altered, or issued by another key/process
	TokenExpired   TokenErrorKind = "expired"   // older than TokenTTL
	TokenReused    TokenErrorKind = "reused"    // already redeemed once
	TokenMismatch  TokenErrorKind = "mismatch"  // issued for another tool, principal or arguments
)

// TokenError is returned by RedeemToken. Nothing may run when it is returned.
type TokenError struct {
	Kind  TokenErrorKind
	Field string // for mismatch: "tool", "principal" or "arguments"
	Msg   string // what happened and what to do
}

// Error implements error.
func (e *TokenError) Error() string { return "confirmation token " + string(e.Kind) + ": " + e.Msg }

const freshPreview = "call again without confirmation_token to get a fresh preview"

func tokenErr(kind TokenErrorKind, field, what string) *TokenError {
	return &TokenError{Kind: kind, Field: field, Msg: what + "; " + freshPreview}
}

// IssueToken returns a signed, single-use confirmation token for a, bound to
// a.Tool, a.Principal and the canonical arguments (a.Args plus the normalised
// To/TransferNumber, a.Kind, a.Body and a.Texts). It expires after TokenTTL. rules are
// the confirm rules the preview shown with it names (Decision.RuleIDs): the token
// approves those and no other (a duplicate that appears after a first-contact preview
// needs a new confirmation).
func (e *Engine) IssueToken(a Action, rules ...string) (string, error) {
	args, err := e.canonicalArgs(a)
	if err != nil {
		return "", fmt.Errorf("issue confirmation token: %w", err)
	}
	var unique []string // a group repeats rule ids per member; the token approves ids
	for _, r := range rules {
		if !slices.Contains(unique, r) {
			unique = append(unique, r)
		}
	}
	ids := strings.Join(unique, ",")
	if len(ids) > tokenMaxRules {
		return "", fmt.Errorf("issue confirmation token: %d rules are too many to bind", len(rules))
	}
	body := make([]byte, 0, tokenLen)
	body = append(body, tokenVersion)
	body = binary.BigEndian.AppendUint64(body, uint64(e.clock.Now().Add(TokenTTL).UnixNano()))
	nonce := make([]byte, tokenNonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("issue confirmation token: random nonce: %w", err)
	}
	body = append(body, nonce...)
	body = append(body, bindHash("tool", []byte(a.Tool))...)
	body = append(body, bindHash("principal", []byte(a.Principal))...)
	body = append(body, bindHash("args", args)...)
	body = append(body, byte(len(ids)))
	body = append(body, ids...)
	return base64.RawURLEncoding.EncodeToString(append(body, e.mac(body)...)), nil
}

// RedeemToken spends tok and checks it against a. It returns a *TokenError
// (malformed, wrong, expired, reused, mismatch) or a store error; only a nil
// error means the confirmed action may run, and then only for the rules the
// token names (Approve). A token this server issued, unexpired and presented by
// the principal it was issued to, is spent by any action it is presented with,
// before its tool and arguments are compared: a mismatch burns it too, so no
// token outlives the call it came with. Another principal's presentation spends
// nothing (it must not be able to burn a token it was never shown). The nonce is
// spent in the store (atomically, across processes). Call Evaluate again
// afterwards: a confirmation never overrides a deny.
func (e *Engine) RedeemToken(ctx context.Context, a Action, tok string) error {
	body, err := e.openToken(tok)
	if err != nil {
		return err
	}
	exp := time.Unix(0, int64(binary.BigEndian.Uint64(body[1:9])))
	if !e.clock.Now().Before(exp) {
		return tokenErr(TokenExpired, "", "the token expired (tokens are valid for 5 minutes)")
	}
	off := 1 + 8 + tokenNonceLen
	if !hmac.Equal(body[off+tokenHashLen:off+2*tokenHashLen], bindHash("principal", []byte(a.Principal))) {
		return tokenErr(TokenMismatch, "principal", "the token was issued to a different user or session")
	}
	nonce := hex.EncodeToString(body[9 : 9+tokenNonceLen])
	fresh, err := e.store.UseNonce(ctx, nonce, exp)
	if err != nil {
		return fmt.Errorf("redeem confirmation token: %w", err)
	}
	if !fresh {
		return tokenErr(TokenReused, "", "the token was already used; each token confirms one action once")
	}
	if !hmac.Equal(body[off:off+tokenHashLen], bindHash("tool", []byte(a.Tool))) {
		return tokenErr(TokenMismatch, "tool", "the token was issued for a different tool (it is now used up)")
	}
	off += 2 * tokenHashLen
	args, err := e.canonicalArgs(a)
	if err != nil || !hmac.Equal(body[off:off+tokenHashLen], bindHash("args", args)) {
		return tokenErr(TokenMismatch, "arguments", "the arguments differ from the ones previewed (the token is now used up); confirm exactly the previewed action")
	}
	return nil
}

// tokenRules returns the confirm rules tok approves (the ones its preview showed), after
// checking its MAC; ok is false for a token this engine did not issue.
func (e *Engine) tokenRules(tok string) (rules []string, ok bool) {
	body, err := e.openToken(tok)
	if err != nil {
		return nil, false
	}
	ids := string(body[tokenFixedLen+1:])
	if ids == "" {
		return []string{}, true
	}
	return strings.Split(ids, ","), true
}

// TokenNonce verifies tok's MAC and returns its nonce (hex), the key for
// PendingCodes. It does not check expiry, bindings or use.
func (e *Engine) TokenNonce(tok string) (string, error) {
	body, err := e.openToken(tok)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(body[9 : 9+tokenNonceLen]), nil
}

// openToken decodes tok and checks its version and MAC, returning the body.
func (e *Engine) openToken(tok string) ([]byte, error) {
	if len(tok) > 2*tokenMaxLen {
		return nil, tokenErr(TokenMalformed, "", "the token is too long to be one this server issued")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok) // strict: one spelling per token
	if err != nil || len(raw) < tokenLen || len(raw) > tokenMaxLen || len(raw) != tokenLen+int(raw[tokenFixedLen]) {
		return nil, tokenErr(TokenMalformed, "", "the token is not one this server issued (bad encoding or length)")
	}
	body, mac := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if body[0] != tokenVersion {
		return nil, tokenErr(TokenMalformed, "", fmt.Sprintf("unknown token version %d", body[0]))
	}
	if !hmac.Equal(mac, e.mac(body)) {
		return nil, tokenErr(TokenWrong, "", "the token's signature is wrong (it was altered, or issued before a server restart)")
	}
	return body, nil
}

// mac returns HMAC-SHA256(tokenKey, body).
func (e *Engine) mac(body []byte) []byte {
	m := hmac.New(sha256.New, e.tokenKey)
	m.Write(body)
	return m.Sum(nil)
}

// bindHash is a domain-separated, truncated SHA-256.
func bindHash(domain string, v []byte) []byte {
	h := sha256.New()
	h.Write([]byte("agentphone-confirm-v1\x00"))
	h.Write([]byte(domain))
	h.Write([]byte{0})
	h.Write(v)
	return h.Sum(nil)[:tokenHashLen]
}

// canonicalArgs is the JSON (sorted keys) of everything the token binds besides
// the tool and principal: the kind, body, texts, the normalised To and transfer
// numbers, and Args. The tools layer puts the arguments in Args as given, so a
// confirmation must repeat them exactly ("(415) 555-0100" then "+14155550100" is
// a mismatch): stricter than binding the normalised number alone, never looser.
func (e *Engine) canonicalArgs(a Action) ([]byte, error) {
	m := map[string]any{"kind": string(a.Kind), "body": a.Body, "texts": a.Texts, "args": a.Args}
	for key, raw := range map[string]string{"to": a.To, "transfer_number": a.TransferNumber} {
		if raw == "" {
			continue
		}
		n, err := phone.Normalize(raw, e.region)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		m[key] = n.E164
	}
	if len(a.Recipients) > 0 {
		group := make([]string, len(a.Recipients))
		for i, raw := range a.Recipients {
			n, err := phone.Normalize(raw, e.region)
			if err != nil {
				return nil, fmt.Errorf("recipients: %w", err)
			}
			group[i] = n.E164
		}
		m["recipients"] = group
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("arguments are not JSON-encodable: %w", err)
	}
	return buf.Bytes(), nil
}

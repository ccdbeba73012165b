// Package policy is the decision engine between the MCP tools and the
// AgentPhone API. Every write action is classified allow, confirm or deny, each
// decision carrying stable rule IDs and plain-language reasons (see rules.go).
// A confirmation never overrides a deny, and the tools layer evaluates again
// at execution time.
//
// The engine also issues and redeems HMAC-signed, single-use confirmation
// tokens, keeps the send ledger, sliding-window limits, known recipients and
// opt-outs in a store.Store (so a restart resets nothing, and several processes
// share one set of caps), renders previews, and writes the audit log: one line
// per decision that did not run, an intent and an outcome line per action that
// did (ledger.go).
package policy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	_ "time/tzdata" // quiet hours must load every zone, also in scratch images

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// ContactChecker tells whether a number is in the AgentPhone contact book.
type ContactChecker interface {
	IsContact(ctx context.Context, e164 string) (bool, error)
}

// HistoryChecker tells whether the account has called or texted a number
// before (e.g. from the API's conversation list). Optional.
type HistoryChecker interface {
	Contacted(ctx context.Context, e164 string) (bool, error)
}

// BulkVoucher is implemented by a ContactChecker that can answer IsContact and the
// HistoryChecker's Contacted for many numbers at once (a campaign's plan asks about hundreds
// of numbers; one by one that is two API requests each). complete false: it could not know
// for every number (too long a list to read), and each is asked one by one.
type BulkVoucher interface {
	Vouched(ctx context.Context, e164s []string) (contacts, history map[string]bool, complete bool, err error)
}

// Deps are the engine's collaborators. Store is required; a nil Clock means
// the real clock, a nil Logger discards, nil Audit/Contacts/History/OwnNumbers
// are skipped.
type Deps struct {
	Store    store.Store
	Clock    clockwork.Clock
	Audit    *audit.Log
	Contacts ContactChecker
	History  HistoryChecker
	// OwnNumbers, if set, denies SMS and calls to the account's own numbers [own_number].
	OwnNumbers OwnNumberChecker
	// Replies, if set, is asked for a recipient's latest replies before every text or call;
	// an opt-out there is recorded before the decision reads the store (see checkReplies).
	Replies RepliesReader
	// Keys are secrets that must never leave in content (the API key, webhook secrets).
	Keys   []string
	Logger *slog.Logger
	// Resolver looks up the host names of URLs a third party will be told to call (custom
	// tools); nil means net.DefaultResolver.
	Resolver Resolver
}

// Engine takes policy decisions. Create it with New; it is safe for concurrent use.
type Engine struct {
	cfg      Config
	region   string
	allowed  map[string]bool
	limits   Limits
	window   window
	allow    numberList
	deny     numberList
	operator string // normalised OperatorPhone, or ""
	tokenKey []byte

	store    store.Store
	clock    clockwork.Clock
	audit    *audit.Log
	contacts ContactChecker
	history  HistoryChecker
	own      OwnNumberChecker
	replies  RepliesReader
	keys     []string
	scrubber *keyguard.Scrubber  // removes keys (any encoding) from logged and audited text
	matcher  *text.SecretMatcher // finds the keys (any encoding, any 8-character fragment) in content
	log      *slog.Logger
	codes    *PendingCodes
	zones    zoneCache
	prices   Prices
	resolver Resolver
}

// New checks cfg, applies Config.PolicyFile if set, and returns an engine.
func New(cfg Config, deps Deps) (*Engine, error) {
	if deps.Store == nil {
		return nil, errors.New("policy: Deps.Store is required (open it with store.Open)")
	}
	if cfg.PolicyFile != "" {
		fc, err := LoadPolicyFile(cfg.PolicyFile)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		cfg = cfg.WithFile(fc)
	}
	e := &Engine{store: deps.Store, clock: deps.Clock, audit: deps.Audit, contacts: deps.Contacts, history: deps.History, own: deps.OwnNumbers, replies: deps.Replies, log: deps.Logger,
		resolver: deps.Resolver}
	if e.resolver == nil {
		e.resolver = net.DefaultResolver
	}
	if err := cfg.Prices.check(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	e.prices = DefaultPrices().overlay(cfg.Prices)
	if e.clock == nil {
		e.clock = clockwork.NewRealClock()
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, k := range deps.Keys {
		if k != "" {
			e.keys = append(e.keys, k)
		}
	}
	e.scrubber = keyguard.NewScrubber(e.keys...)
	e.matcher = text.NewSecretMatcher(e.keys...)
	e.region = strings.ToUpper(strings.TrimSpace(cfg.DefaultRegion))
	if e.region == "" {
		e.region = phone.DefaultRegion
	}
	cfg.DefaultRegion = e.region
	if !validRegion(e.region) {
		return nil, fmt.Errorf("policy: default region %q is not a two-letter region code such as \"US\"", cfg.DefaultRegion)
	}
	countries := cfg.AllowedCountries
	if len(countries) == 0 {
		countries = DefaultAllowedCountries()
	}
	e.allowed = make(map[string]bool, len(countries))
	for _, c := range countries {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !validRegion(c) {
			return nil, fmt.Errorf("policy: allowed country %q is not a region code phone numbers use, such as \"US\" or \"GB\" (AGENTPHONE_ALLOWED_COUNTRIES or the policy file's allowed_countries)", c)
		}
		e.allowed[c] = true
	}
	var err error
	if e.window, err = parseWindow(cfg.QuietHours); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	e.limits = cfg.Limits.withDefaults()
	if cfg.ConfirmMode, err = validateConfirmMode(cfg.ConfirmMode); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if e.allow, err = parseNumberList("allowlist", cfg.Allowlist, e.region); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if e.deny, err = parseNumberList("denylist", cfg.Denylist, e.region); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if cfg.OperatorPhone != "" {
		n, err := phone.Normalize(cfg.OperatorPhone, e.region)
		if err != nil {
			return nil, fmt.Errorf("policy: operator phone: %w", err)
		}
		e.operator = n.E164
	}
	switch {
	case len(cfg.TokenKey) == 0:
		e.tokenKey = make([]byte, 32)
		if _, err := rand.Read(e.tokenKey); err != nil {
			return nil, fmt.Errorf("policy: generate token key: %w", err)
		}
	case len(cfg.TokenKey) < 32:
		return nil, fmt.Errorf("policy: token key is %d bytes; use at least 32 random bytes", len(cfg.TokenKey))
	default:
		e.tokenKey = append([]byte(nil), cfg.TokenKey...)
	}
	cfg.TokenKey = nil // keep the key only in e.tokenKey; Config() never returns it
	e.cfg = cfg
	e.codes = NewPendingCodes(e.clock, 3, TokenTTL)
	return e, nil
}

// Config returns the effective configuration (policy file applied, defaults
// filled, TokenKey omitted).
func (e *Engine) Config() Config {
	c := e.cfg
	c.Limits = e.limits
	c.QuietHours = e.window.String()
	c.AllowedCountries = append([]string(nil), c.AllowedCountries...)
	if len(c.AllowedCountries) == 0 {
		c.AllowedCountries = DefaultAllowedCountries()
	}
	return c
}

// Prices returns the price table the previews quote (DefaultPrices with the policy file's
// overrides).
func (e *Engine) Prices() Prices { return e.prices }

// cost is what a text or a call costs, as the preview quotes it.
func (e *Engine) cost(a Action, info text.SMSInfo) string {
	switch a.Kind {
	case KindSMS:
		return e.prices.SMSCost(info.Segments)
	case KindCall:
		return e.prices.CallCost(a.CallMode)
	}
	return ""
}

// ConfirmMode returns auto, strict or off.
func (e *Engine) ConfirmMode() string { return e.cfg.ConfirmMode }

// OperatorPhone returns the operator's normalised phone (E.164), or "".
func (e *Engine) OperatorPhone() string { return e.operator }

// Codes returns the in-memory pending-code registry (3 attempts, TokenTTL),
// keyed by TokenNonce, for elicitation and OTP codes.
func (e *Engine) Codes() *PendingCodes { return e.codes }

// numberList holds exact E.164 entries and "+digits" prefixes.
type numberList struct {
	exact    map[string]bool
	prefixes []string
}

// parseNumberList normalises entries: a valid number is an exact entry; any
// other "+digits" string is a prefix; anything else is an error.
func parseNumberList(name string, entries []string, region string) (numberList, error) {
	l := numberList{exact: map[string]bool{}}
	for _, raw := range entries {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		if n, err := phone.Normalize(s, region); err == nil {
			l.exact[n.E164] = true
			continue
		}
		if isPlusDigits(s) {
			l.prefixes = append(l.prefixes, s)
			continue
		}
		return numberList{}, fmt.Errorf("%s entry %q: want an E.164 number such as +14155550123 or a prefix such as +1900", name, raw)
	}
	return l, nil
}

// match reports whether e164 is listed exactly or starts with a listed prefix.
func (l numberList) match(e164 string) (entry string, ok bool) {
	if l.exact[e164] {
		return e164, true
	}
	for _, p := range l.prefixes {
		if strings.HasPrefix(e164, p) {
			return p, true
		}
	}
	return "", false
}

// isPlusDigits reports "+" followed by 1 to 15 ASCII digits.
func isPlusDigits(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

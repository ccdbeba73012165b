package server

// Caller-key mode (AGENTPHONE_KEY_MODE=caller): each HTTP client's bearer token is its own
// AgentPhone API key. The guard verifies a key once against the API (cached by a keyed
// hash), and every tool call, resource read and subscription runs against that caller's
// tenant: its own API client (its key, the same pinned host), store view, policy engine,
// audit log, replies reader and tools. Nothing of one tenant is reachable from another's
// request: the tenant comes only from the verified key of the request itself.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/fsguard"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// Caller-mode bounds.
const (
	// callerVerifiedFor is how long a key the API accepted is trusted before it is asked again.
	callerVerifiedFor = 10 * time.Minute
	// callerRejectedFor is how long a key the API refused is refused without asking again.
	callerRejectedFor = time.Minute
	// callerUnverifiedFor is how long a key the API could not be asked about gets 503 without
	// asking again (the Retry-After of that answer): an outage is not hammered.
	callerUnverifiedFor = 5 * time.Second
	// callerIdle closes a tenant no request has used for this long.
	callerIdle = 15 * time.Minute
	// callerSweepEvery is how often idle tenants and expired verdicts are dropped.
	callerSweepEvery = time.Minute
	// callerVerifyTimeout bounds one verification request.
	callerVerifyTimeout = 15 * time.Second
	// callerMaxVerdicts bounds the remembered verdicts (accepted and refused keys).
	callerMaxVerdicts = 10000
	// callerMaxVerifying bounds the verifications in flight at once (distinct keys): beyond
	// it a new key gets 503 at once, so a flood of made-up keys from many addresses cannot
	// make the server hammer the API.
	callerMaxVerifying = 16
	// callerKeyMin and callerKeyMax bound a bearer accepted as an API key; anything else is
	// refused without asking the API.
	callerKeyMin, callerKeyMax = 16, 512
	// callerAccountsDir is the folder of the tenants' audit logs, in the state dir.
	callerAccountsDir = "accounts"
)

// Caller verification outcomes.
var (
	// errCallerKeyRefused: the AgentPhone API refused the key (401/403), or it is malformed.
	errCallerKeyRefused = errors.New("the AgentPhone API key was refused")
	// errCallerUnverified: the API could not be asked (unreachable, 5xx, 429): fail closed.
	errCallerUnverified = errors.New("the AgentPhone API could not be reached to verify the API key; try again shortly")
	// errCallerFull: every tenant slot is in use by a request.
	errCallerFull = errors.New("too many callers' accounts are in use at once (AGENTPHONE_CALLER_MAX_ACCOUNTS); try again shortly")
	// errNoCaller: a request reached a tool or resource without a verified caller.
	errNoCaller = errors.New("this server runs in caller-key mode and the request carries no verified AgentPhone API key")
)

// callerRef is what the guard puts in a request's context once its bearer key is verified:
// the account id (a keyed hash of the key) and the key itself, in memory only.
type callerRef struct {
	id  string
	key keyguard.Secret
}

type callerRefKey struct{}

func withCaller(ctx context.Context, ref *callerRef) context.Context {
	return context.WithValue(ctx, callerRefKey{}, ref)
}

func callerFrom(ctx context.Context) *callerRef {
	r, _ := ctx.Value(callerRefKey{}).(*callerRef)
	return r
}

// tenantKey carries the tenant a tool call runs against (set by requestMiddleware).
type tenantKey struct{}

func tenantFrom(ctx context.Context) *tenant {
	t, _ := ctx.Value(tenantKey{}).(*tenant)
	return t
}

// tenant is one caller account's world in this process.
type tenant struct {
	id        string
	principal string
	key       keyguard.Secret
	scrub     *keyguard.Scrubber // what this caller sees is scrubbed with: the operator's secrets and this key only
	api       *apiclient.Client
	view      store.Store
	audit     *audit.Log
	policy    *policy.Engine
	deps      *tools.Deps
	handlers  map[string]mcpserver.ToolHandlerFunc
	releases  []func() // scrubber holds, in the order taken
	stopped   func()   // marks this process's sends still pending in the account unknown
	closeOnce sync.Once

	// Guarded by callers.mu.
	refs     int
	lastUsed time.Time
	removed  bool          // out of the table: close when refs reach 0
	ready    chan struct{} // closed when built (err says how)
	err      error
}

// close releases what the tenant holds (once; later calls do nothing); it never touches the
// engine behind the view.
func (t *tenant) close() { t.closeOnce.Do(t.closeNow) }

func (t *tenant) closeNow() {
	if t.stopped != nil {
		t.stopped()
	}
	if t.view != nil {
		_ = t.view.Close()
	}
	if t.audit != nil {
		_ = t.audit.Close()
	}
	for i := len(t.releases) - 1; i >= 0; i-- {
		t.releases[i]()
	}
	t.releases = nil
}

// verdict is a remembered verification: ok, or the error to answer with.
type verdict struct {
	err   error
	until time.Time
}

type verifyCall struct {
	done chan struct{}
	err  error
}

// callers is the caller-mode registry: verdicts by account id and the open tenants.
type callers struct {
	app *App
	max int

	slots chan struct{} // one per verification in flight
	// verified counts the verifications sent to the API by result (valid, refused,
	// unreachable); no label names an account or a key.
	verified *prometheus.CounterVec

	// others replaces the whole key of every open account with [REDACTED] (callerOutput);
	// rebuilt whenever the table changes.
	others atomic.Pointer[strings.Replacer]

	mu        sync.Mutex
	open      map[string]*tenant
	verdicts  map[string]verdict
	verifying map[string]*verifyCall
	closed    bool
}

func newCallers(a *App) *callers {
	return &callers{app: a, max: a.cfg.CallerMaxAccounts, open: map[string]*tenant{}, slots: make(chan struct{}, callerMaxVerifying),
		verdicts: map[string]verdict{}, verifying: map[string]*verifyCall{}}
}

// accountID names the account of key: a keyed hash (the server's principal key, derived from
// the signing key, so every replica and restart names it alike). It reveals nothing of the
// key, and is a valid store account id.
func (a *App) accountID(key string) string {
	m := hmac.New(sha256.New, a.principalKey)
	m.Write([]byte("agentphone-mcp caller account\x00"))
	m.Write([]byte(key))
	return "acct-" + hex.EncodeToString(m.Sum(nil)[:16])
}

// wellFormedKey rejects bearers that cannot be API keys without asking the API.
func wellFormedKey(k string) bool {
	if len(k) < callerKeyMin || len(k) > callerKeyMax {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] >= 0x7f {
			return false
		}
	}
	return true
}

// admit verifies bearer as an AgentPhone API key: remembered verdicts first, else one
// request to the API (concurrent requests with the same key share it). It returns
// errCallerKeyRefused or errCallerUnverified, never text that carries the key.
func (c *callers) admit(ctx context.Context, bearer string) (*callerRef, error) {
	if !wellFormedKey(bearer) {
		return nil, errCallerKeyRefused
	}
	ref := &callerRef{id: c.app.accountID(bearer), key: keyguard.NewSecret(bearer)}
	for {
		c.mu.Lock()
		now := c.app.clock.Now()
		if v, ok := c.verdicts[ref.id]; ok && now.Before(v.until) {
			c.mu.Unlock()
			if v.err != nil {
				return nil, v.err
			}
			return ref, nil
		}
		if vc := c.verifying[ref.id]; vc != nil {
			c.mu.Unlock()
			select {
			case <-vc.done:
			case <-ctx.Done():
				return nil, errCallerUnverified
			}
			if vc.err != nil {
				return nil, vc.err
			}
			continue // the verdict is remembered now
		}
		// The re-verification of an open account (at most CallerMaxAccounts of them) takes no
		// slot: a flood of made-up keys filling the slots must not lock active callers out.
		slot := c.open[ref.id] == nil
		if slot {
			select {
			case c.slots <- struct{}{}:
			default:
				c.mu.Unlock()
				return nil, errCallerUnverified
			}
		}
		vc := &verifyCall{done: make(chan struct{})}
		c.verifying[ref.id] = vc
		c.mu.Unlock()

		vc.err = c.verify(ctx, ref.key)
		if slot {
			<-c.slots
		}
		switch {
		case vc.err == nil:
			c.verified.WithLabelValues("valid").Inc()
		case errors.Is(vc.err, errCallerKeyRefused):
			c.verified.WithLabelValues("refused").Inc()
		default:
			c.verified.WithLabelValues("unreachable").Inc()
		}
		c.mu.Lock()
		delete(c.verifying, ref.id)
		now = c.app.clock.Now()
		switch {
		case vc.err == nil:
			c.remember(ref.id, verdict{until: now.Add(callerVerifiedFor)})
		case errors.Is(vc.err, errCallerUnverified):
			c.remember(ref.id, verdict{err: vc.err, until: now.Add(callerUnverifiedFor)})
		default:
			c.remember(ref.id, verdict{err: errCallerKeyRefused, until: now.Add(callerRejectedFor)})
			// A key the API no longer accepts closes its tenant once its requests end.
			if t := c.open[ref.id]; t != nil {
				c.removeLocked(t)
			}
		}
		c.mu.Unlock()
		close(vc.done)
		if vc.err != nil {
			return nil, vc.err
		}
		return ref, nil
	}
}

// knownValid reports, without asking the API, whether bearer is a key this server knows to
// be valid: its remembered verdict says so, or (the verdict expired) its account is open,
// i.e. was verified and used within callerIdle, and no refusal has been remembered since.
// Only the key's holder can present it, so such a key skips its address's wrong-key wait.
func (c *callers) knownValid(bearer string) bool {
	if !wellFormedKey(bearer) {
		return false
	}
	id := c.app.accountID(bearer)
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.verdicts[id]
	if ok && c.app.clock.Now().Before(v.until) {
		return v.err == nil
	}
	return c.open[id] != nil
}

// remember stores a verdict, dropping expired ones (and then the oldest) past the bound.
func (c *callers) remember(id string, v verdict) {
	if _, ok := c.verdicts[id]; !ok && len(c.verdicts) >= callerMaxVerdicts {
		now := c.app.clock.Now()
		var oldest string
		var oldestUntil time.Time
		for k, x := range c.verdicts {
			if !now.Before(x.until) {
				delete(c.verdicts, k)
				continue
			}
			if oldest == "" || x.until.Before(oldestUntil) {
				oldest, oldestUntil = k, x.until
			}
		}
		if len(c.verdicts) >= callerMaxVerdicts {
			delete(c.verdicts, oldest)
		}
	}
	c.verdicts[id] = v
}

// verify asks the API, once, whether key is valid: GET /v1/usage, the cheapest
// authenticated read, through the pinned key guard. The key is held by the scrubber
// meanwhile, so an error that echoed it is scrubbed wherever it goes.
func (c *callers) verify(ctx context.Context, key keyguard.Secret) error {
	release, err := c.app.holdSecret(key)
	if err != nil {
		c.app.logger.Warn("caller mode: cannot verify a key", "err", err)
		return errCallerUnverified
	}
	defer release()
	hc := keyguard.NewHTTPClient(c.app.endpoint, key, c.app.apiBase)
	hc.Transport = c.app.ops.instrument(hc.Transport)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callerVerifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.app.endpoint.BaseURL+"/v1/usage", nil)
	if err != nil {
		return errCallerUnverified
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "agentphone-mcp/"+versionOr(c.app.version))
	// One request, no retry: a client is told 503 at once and may retry itself.
	resp, err := hc.Do(req)
	if err != nil {
		c.app.logger.Warn("caller mode: the AgentPhone API could not be reached to verify a key; refusing the request (503)", "err", c.app.scrubber.Scrub(err.Error()))
		return errCallerUnverified
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return errCallerKeyRefused
	default:
		c.app.logger.Warn("caller mode: the AgentPhone API could not verify a key; refusing the request (503)", "status", resp.StatusCode)
		return errCallerUnverified
	}
}

// forRequest returns the tenant of the verified caller in ctx, opening it if needed, and a
// release the caller must call when the request ends. Without a verified caller it fails.
func (c *callers) forRequest(ctx context.Context) (*tenant, func(), error) {
	ref := callerFrom(ctx)
	if ref == nil || ref.id == "" || ref.key.IsZero() {
		return nil, nil, errNoCaller
	}
	return c.acquire(ctx, ref)
}

// acquire returns the open tenant of ref (building it on first use) with one reference taken.
func (c *callers) acquire(ctx context.Context, ref *callerRef) (*tenant, func(), error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil, errShuttingDown
	}
	now := c.app.clock.Now()
	t := c.open[ref.id]
	build := false
	if t == nil {
		if len(c.open) >= c.max && !c.evictLocked() {
			c.mu.Unlock()
			return nil, nil, errCallerFull
		}
		t = &tenant{id: ref.id, key: ref.key, ready: make(chan struct{})}
		c.open[ref.id] = t
		c.refreshOthersLocked()
		build = true
	}
	t.refs++
	t.lastUsed = now
	c.mu.Unlock()
	release := c.releaser(t)
	if build {
		// Built for every request that waits on it: one client going away does not fail it.
		t.err = c.build(context.WithoutCancel(ctx), t)
		if t.err != nil {
			c.app.logger.Error("caller mode: opening an account failed; its requests are refused", "account", t.id[:13], "err", t.err)
			t.close()
			c.mu.Lock()
			c.removeLocked(t)
			c.mu.Unlock()
		}
		close(t.ready)
	}
	<-t.ready
	if t.err != nil {
		release()
		return nil, nil, t.err
	}
	return t, release, nil
}

func (c *callers) releaser(t *tenant) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			t.refs--
			t.lastUsed = c.app.clock.Now()
			closeNow := t.removed && t.refs == 0 && t.err == nil
			c.mu.Unlock()
			if closeNow {
				t.close()
			}
		})
	}
}

// removeLocked takes t out of the table; it is closed now if no request uses it, else by the
// last release.
func (c *callers) removeLocked(t *tenant) {
	if c.open[t.id] == t {
		delete(c.open, t.id)
		c.refreshOthersLocked()
	}
	if t.removed {
		return
	}
	t.removed = true
	if t.refs == 0 {
		select {
		case <-t.ready:
			if t.err == nil {
				t.close()
			}
		default:
		}
	}
}

// evictLocked closes the least recently used tenant no request uses; false when every one is
// in use.
func (c *callers) evictLocked() bool {
	var victim *tenant
	for _, t := range c.open {
		if t.refs > 0 {
			continue
		}
		if victim == nil || t.lastUsed.Before(victim.lastUsed) {
			victim = t
		}
	}
	if victim == nil {
		return false
	}
	c.removeLocked(victim)
	return true
}

// sweep closes tenants idle for callerIdle and forgets expired verdicts.
func (c *callers) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.app.clock.Now()
	for _, t := range c.open {
		if t.refs == 0 && now.Sub(t.lastUsed) >= callerIdle {
			c.removeLocked(t)
		}
	}
	for id, v := range c.verdicts {
		if !now.Before(v.until) {
			delete(c.verdicts, id)
		}
	}
}

// run sweeps until ctx ends.
func (c *callers) run(ctx context.Context) {
	tick := c.app.clock.NewTicker(callerSweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.Chan():
			c.sweep()
		}
	}
}

// closeAll closes every tenant (the App is closing: no request runs any more).
func (c *callers) closeAll() error {
	c.mu.Lock()
	c.closed = true
	var all []*tenant
	for _, t := range c.open {
		all = append(all, t)
		delete(c.open, t.id)
		t.removed = true
	}
	c.refreshOthersLocked()
	c.mu.Unlock()
	for _, t := range all {
		select {
		case <-t.ready:
			if t.err == nil {
				t.close()
			}
		default: // still building: its builder's error path or a later release closes it
		}
	}
	return nil
}

// count is the number of open tenants.
func (c *callers) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open)
}

// build makes the tenant's world: the key held by the scrubbers, its API client, its audit
// log, its store view, its policy engine (the operator's policy and global caps, its own
// state), its tools.
func (c *callers) build(ctx context.Context, t *tenant) error {
	a := c.app
	release, err := a.holdSecret(t.key)
	if err != nil {
		return fmt.Errorf("caller mode: %w", err)
	}
	t.releases = append(t.releases, release)
	t.principal = "account-" + a.keyedHash("account", t.id)
	t.scrub = a.callerScrubber(t.key)
	if t.api, err = a.newAPIClient(t.key, t.scrub); err != nil {
		return fmt.Errorf("caller mode: build the account's API client: %w", err)
	}
	if t.audit, err = a.openAccountAudit(t.id); err != nil {
		return err
	}
	accounts, ok := a.store.(store.Accounts)
	if !ok {
		return errors.New("caller mode: the policy store keeps one account only; this build cannot separate callers")
	}
	if t.view, err = accounts.ForAccount(t.id); err != nil {
		return fmt.Errorf("caller mode: open the account's policy state: %w", err)
	}
	logger := a.logger.With("account", t.id[:13]) // "acct-" and 8 hex digits: enough to tell apart, not a key
	checker := &contactChecker{api: t.api, clock: a.clock}
	replies := newRepliesReader(t.api, logger.With("component", "optouts"))
	pol, err := policy.New(a.pcfg, policy.Deps{
		Store: t.view, Clock: a.clock, Audit: t.audit, Contacts: checker, History: checker, OwnNumbers: checker,
		Replies: replies, Keys: append(append([]string(nil), a.secretValues...), t.key.Reveal()),
		Logger: logger.With("component", "policy"), Resolver: a.resolver,
	})
	if err != nil {
		return fmt.Errorf("caller mode: start the account's policy engine: %w", err)
	}
	t.policy = pol
	// Closing the account (shutdown, or idle with no request in flight) settles what this
	// process still holds pending in it, as the operator's engine does at shutdown.
	started := a.clock.Now()
	t.stopped = func() { settleStopped(pol, a.store, started, logger) }
	if got, err := pol.RecoverAbandoned(ctx); err != nil {
		return fmt.Errorf("caller mode: recover the account's sends left pending: %w", err)
	} else if len(got) > 0 {
		logger.Warn("sends left pending by a process that ended are now recorded as unknown (they may have been sent and stay counted)", "count", len(got))
	}
	td := a.deps
	t.deps = &tools.Deps{
		API: t.api, Policy: pol, ConfirmMode: pol.ConfirmMode(), OperatorPhone: pol.OperatorPhone(),
		DefaultRegion: td.DefaultRegion, Sandbox: td.Sandbox, Principal: t.principal,
		Clock: a.clock, Logger: logger.With("component", "tools"), Events: tools.NewEventHub(), Scrub: t.scrub.Scrub,
		ToolTimeout: td.ToolTimeout, ElicitTimeout: td.ElicitTimeout, SendProgress: td.SendProgress,
		ReconcileWithin: td.ReconcileWithin, CampaignMax: td.CampaignMax,
		// No Campaigns (campaigns are not offered in caller mode), no Live and no Received
		// (no webhook receiver in caller mode: waits and the inbox read the API).
	}
	t.handlers = map[string]mcpserver.ToolHandlerFunc{}
	for _, tool := range tools.All(t.deps) {
		t.handlers[tool.Def.Name] = tool.Handler
	}
	return nil
}

// callerDispatch is the handler registered for a tool in caller mode: it runs the same tool
// of the request's own tenant. Only enable_toolset, which changes the session's list and
// touches no account, runs the operator's (template) handler.
func callerDispatch(name string, template mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		t := tenantFrom(ctx)
		if t == nil {
			return mcp.NewToolResultError(name + ": " + errNoCaller.Error() + "; nothing was done."), nil
		}
		if h := t.handlers[name]; h != nil {
			return h(ctx, req)
		}
		if name == enableToolsetName {
			return template(ctx, req)
		}
		return mcp.NewToolResultError(name + ": not available in caller-key mode; nothing was done."), nil
	}
}

// depsFor returns the tools' dependencies for the request in ctx: the operator's, or in
// caller mode the caller's tenant's (with a release to call when done).
func (a *App) depsFor(ctx context.Context) (*tools.Deps, func(), error) {
	if a.callers == nil {
		return a.deps, func() {}, nil
	}
	if t := tenantFrom(ctx); t != nil {
		return t.deps, func() {}, nil
	}
	t, release, err := a.callers.forRequest(ctx)
	if err != nil {
		return nil, nil, err
	}
	return t.deps, release, nil
}

// callerScrubber is the scrubber of what a caller sees (tool results, resources, prompts,
// API error texts): the operator's secrets and the caller's own key, never another caller's.
// The process's scrubber holds every open caller's key, and it is for the operator's log
// only: were it applied to what a caller sees, a caller could send guesses (a prompt
// argument, an agent name) and learn from which came back "[REDACTED]" the 8-character runs
// of another caller's key, and with the known "sk_live_" start, the whole key.
func (a *App) callerScrubber(key keyguard.Secret) *keyguard.Scrubber {
	return keyguard.NewScrubber(append(append([]string(nil), a.secretValues...), key.Reveal())...)
}

// outputScrubber is the scrubber of what the request in ctx sends back to its client: the
// process's in operator mode; in caller mode the request's own caller's (callerOutput), and
// without a verified caller the operator's secrets only.
func (a *App) outputScrubber(ctx context.Context) outputScrub {
	if a.callers == nil {
		return a.scrubber
	}
	var own *keyguard.Scrubber
	if t := tenantFrom(ctx); t != nil && t.scrub != nil {
		own = t.scrub
	} else if ref := callerFrom(ctx); ref != nil && !ref.key.IsZero() {
		if own = a.callers.openScrubber(ref.id); own == nil {
			own = a.callerScrubber(ref.key)
		}
	} else {
		own = a.baseScrubber
	}
	return callerOutput{own: own, others: a.callers.others.Load()}
}

// outputScrub is what the tool, resource and prompt middlewares scrub with.
type outputScrub interface {
	Scrub(string) string
	Finds(string) bool
	ScrubJSON(raw []byte) ([]byte, bool)
}

// callerOutput scrubs what one caller sees: every fragment, in any disguise, of its own key
// (and the operator's secrets), and the whole key of every other open account, which only
// one who typed it could have put there. Fragments of other callers' keys are left as they
// are: redacting them would tell a caller which of its guesses match another's key; a whole
// key is as hard to guess as a valid bearer.
type callerOutput struct {
	own    *keyguard.Scrubber
	others *strings.Replacer // nil: no open account
}

func (o callerOutput) Scrub(s string) string {
	if o.others != nil {
		s = o.others.Replace(s) // first: the own-key matcher may break a whole key up
	}
	return o.own.Scrub(s)
}

func (o callerOutput) Finds(s string) bool { return o.Scrub(s) != s }

func (o callerOutput) ScrubJSON(raw []byte) ([]byte, bool) {
	if o.others != nil {
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out, err := json.Marshal(replaceStrings(v, o.others))
		if err != nil {
			return nil, false
		}
		raw = out
	}
	return o.own.ScrubJSON(raw)
}

// replaceStrings applies r to every string value and object key of v.
func replaceStrings(v any, r *strings.Replacer) any {
	switch x := v.(type) {
	case string:
		return r.Replace(x)
	case []any:
		for i := range x {
			x[i] = replaceStrings(x[i], r)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[r.Replace(k)] = replaceStrings(val, r)
		}
		return out
	}
	return v
}

// refreshOthersLocked rebuilds the whole-key replacer from the open accounts.
func (c *callers) refreshOthersLocked() {
	pairs := make([]string, 0, 2*len(c.open))
	for _, t := range c.open {
		if k := t.key.Reveal(); k != "" {
			pairs = append(pairs, k, keyguard.Redacted)
			// As it reads inside JSON text (a key may hold '"', '\', '<', '>' or '&'), so
			// that Finds sees it in a result's structured content too.
			if q, err := json.Marshal(k); err == nil && string(q[1:len(q)-1]) != k {
				pairs = append(pairs, string(q[1:len(q)-1]), keyguard.Redacted)
			}
		}
	}
	if len(pairs) == 0 {
		c.others.Store(nil)
		return
	}
	c.others.Store(strings.NewReplacer(pairs...))
}

// openScrubber is the output scrubber of account id's open, built tenant, else nil.
func (c *callers) openScrubber(id string) *keyguard.Scrubber {
	c.mu.Lock()
	t := c.open[id]
	c.mu.Unlock()
	if t == nil {
		return nil
	}
	select {
	case <-t.ready: // t.scrub and t.err are written before ready is closed
		if t.err == nil {
			return t.scrub
		}
	default:
	}
	return nil
}

// holdSecret adds a caller's key to every scrubber of the process (the App's, and the
// stderr guard's through Options.HoldSecret) until release is called.
func (a *App) holdSecret(key keyguard.Secret) (func(), error) {
	release, err := a.scrubber.Hold(key.Reveal())
	if err != nil {
		return nil, err
	}
	if a.holdStderr == nil {
		return release, nil
	}
	releaseStderr := a.holdStderr(key.Reveal())
	return func() { releaseStderr(); release() }, nil
}

// callerAuthFailure answers a request whose bearer is not a valid API key (401, with
// WWW-Authenticate) or could not be verified (503: fail closed, the client may retry).
func callerAuthFailure(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errCallerKeyRefused):
		w.Header().Set("WWW-Authenticate", `Bearer realm="agentphone-mcp", error="invalid_token", error_description="send your own AgentPhone API key as the bearer token"`)
		http.Error(w, "the AgentPhone API key was refused: send your own AgentPhone API key as the bearer token", http.StatusUnauthorized)
	case errors.Is(err, errShuttingDown):
		http.Error(w, "the server is shutting down; try again shortly", http.StatusServiceUnavailable)
	default:
		w.Header().Set("Retry-After", "5")
		http.Error(w, strings.TrimSuffix(errCallerUnverified.Error(), "."), http.StatusServiceUnavailable)
	}
}

// enableToolsetName is the session-only tool that runs the operator's handler in caller mode.
const enableToolsetName = "enable_toolset"

// checkCallerSecrets refuses the secrets caller mode has no use for: the operator's API key
// (every request uses its caller's key; a fallback to the operator's account is exactly what
// must never happen), a shared bearer token (the bearer IS the caller's key) and the webhook
// secret (no receiver). So no operator secret is in what a caller's output is scrubbed of.
func checkCallerSecrets(s Secrets) error {
	if !s.APIKey.IsZero() {
		return errors.New("AGENTPHONE_KEY_MODE=caller: remove AGENTPHONE_API_KEY (and AGENTPHONE_API_KEY_FILE): in caller mode every request acts with its own caller's key, never the operator's")
	}
	if !s.HTTPToken.IsZero() {
		return errors.New("AGENTPHONE_KEY_MODE=caller: remove AGENTPHONE_HTTP_TOKEN: in caller mode each client's bearer token is its own AgentPhone API key, verified with AgentPhone")
	}
	if !s.WebhookSecret.IsZero() {
		// Unused (no receiver), it would still be a secret every caller's output is scrubbed
		// of and every caller's texts are checked for: a redaction or a refusal would tell a
		// caller which guesses match it.
		return errors.New("AGENTPHONE_KEY_MODE=caller: remove AGENTPHONE_WEBHOOK_SECRET: caller mode runs no webhook receiver, and no operator secret may be among what callers' output is checked for")
	}
	return nil
}

// callerSelection is the operator's selection without the campaigns toolset: a campaign runs
// in the background after its request, and caller mode keeps no account open without one.
// Naming it explicitly is refused.
func callerSelection(sel tools.Selection, all []tools.Tool) (tools.Selection, error) {
	for _, ts := range sel.Toolsets {
		if strings.EqualFold(strings.TrimSpace(ts), tools.ToolsetCampaigns) {
			return sel, errors.New("AGENTPHONE_KEY_MODE=caller does not offer the campaigns toolset (a campaign runs in the background, with no caller's request to act for); remove it from AGENTPHONE_TOOLSETS")
		}
	}
	excluded := append([]string(nil), sel.Exclude...)
	for _, t := range all {
		if t.Toolset != tools.ToolsetCampaigns {
			continue
		}
		for _, name := range sel.Tools {
			if strings.TrimSpace(name) == t.Def.Name {
				return sel, fmt.Errorf("AGENTPHONE_KEY_MODE=caller does not offer campaign tools; remove %s from AGENTPHONE_TOOLS", t.Def.Name)
			}
		}
		excluded = append(excluded, t.Def.Name)
	}
	sel.Exclude = excluded
	return sel, nil
}

// refuseTransport is the operator's API transport in caller mode: no request leaves with it.
type refuseTransport struct{}

func (refuseTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return nil, errNoCaller
}

// startCallers starts the caller-mode registry and its sweeper (stopped by Close, which
// then closes every tenant).
func (a *App) startCallers(ctx context.Context) error {
	if err := a.recoverCallerAccounts(ctx); err != nil {
		return err
	}
	a.callers = newCallers(a)
	a.callers.verified = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "agentphone_caller_verifications_total",
		Help: "Caller-key mode: API keys verified with AgentPhone, by result (valid, refused, unreachable).",
	}, []string{"result"})
	a.ops.reg.MustRegister(a.callers.verified, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "agentphone_caller_accounts_open",
		Help: "Caller-key mode: callers' accounts open in this process.",
	}, func() float64 { return float64(a.callers.count()) }))
	sweepCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.callers.run(sweepCtx) }()
	a.closers = append(a.closers, a.callers.closeAll, func() error { cancel(); <-done; return nil })
	return nil
}

// callerPrincipal names who acts in caller mode: always within the caller's account (so a
// token, a form answer or a request state of one account is refused in every other), and
// per session where sessions stay on one process (without Redis); on Redis per account, so
// that a token shown through one replica is redeemed through another. Without a verified
// caller it names no one who could redeem anything.
func (a *App) callerPrincipal(ctx context.Context) string {
	ref := callerFrom(ctx)
	if ref == nil || ref.id == "" {
		return "caller-none-" + a.keyedHash("none", "")
	}
	scope := ""
	if a.cfg.RedisURL == "" {
		if s := mcpserver.ClientSessionFromContext(ctx); s != nil {
			scope = s.SessionID()
		}
	}
	return "caller-" + a.keyedHash("caller\x00"+ref.id, scope)
}

// callerErrorText is what a tool or resource request without a usable tenant is told.
func callerErrorText(err error) string {
	switch {
	case errors.Is(err, errNoCaller), errors.Is(err, errCallerFull), errors.Is(err, errShuttingDown):
		return err.Error()
	default:
		// Building the tenant failed (its state folder, audit log or store): the operator's
		// log has the cause; the caller is told only that nothing was done.
		return "the server could not open this account's policy state (the operator's log says why)"
	}
}

// openAccountAudit opens the audit log of a caller's account,
// <state dir>/accounts/<id>/audit.jsonl, chained with the operator's audit key. Several
// openers (a tenant, a recovery pass, another process on the state dir) may share it.
func (a *App) openAccountAudit(id string) (*audit.Log, error) {
	dir := filepath.Join(a.cfg.StateDir, callerAccountsDir, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("caller mode: create the account's state folder: %w; check AGENTPHONE_STATE_DIR", err)
	}
	if err := fsguard.CheckStateDir(dir, "audit.jsonl", "audit.jsonl.lock", "audit.jsonl"+audit.AnchorSuffix); err != nil {
		return nil, fmt.Errorf("caller mode: account state folder: %w", err)
	}
	log, err := audit.Open(filepath.Join(dir, "audit.jsonl"), a.clock, audit.WithKeyFile(a.auditKeyFile()))
	if err != nil {
		return nil, fmt.Errorf("caller mode: open the account's audit log: %w", err)
	}
	return log, nil
}

// recoverCallerAccounts turns the sends that processes or replicas now gone left pending,
// in every caller account of the store, into unknown (still counted), each audited in its
// own account's log: at start, and on Redis every 30 s with the operator's account. It
// needs no key: recovery only touches the books.
func (a *App) recoverCallerAccounts(ctx context.Context) error {
	return store.EachAccount(ctx, a.store, func(id string, view store.Store) error {
		if id == "" {
			return nil // the operator's own account: recovered by a.policy
		}
		log, err := a.openAccountAudit(id)
		if err != nil {
			return err
		}
		defer log.Close()
		pol, err := policy.New(a.pcfg, policy.Deps{Store: view, Clock: a.clock, Audit: log, Keys: a.secretValues,
			Logger: a.logger.With("account", id[:min(13, len(id))], "component", "policy"), Resolver: a.resolver})
		if err != nil {
			return fmt.Errorf("caller mode: recover account %s: %w", id[:min(13, len(id))], err)
		}
		got, err := pol.RecoverAbandoned(ctx)
		if err != nil {
			return fmt.Errorf("caller mode: recover the sends account %s left pending: %w", id[:min(13, len(id))], err)
		}
		if len(got) > 0 {
			a.logger.Warn("sends left pending by a process that ended are now recorded as unknown (they may have been sent and stay counted)",
				"account", id[:min(13, len(id))], "count", len(got))
		}
		return nil
	})
}

// callerSessionShare is how many of the server's open sessions one caller may hold in caller
// mode: a quarter of AGENTPHONE_HTTP_MAX_SESSIONS (at least 1), so one caller cannot take
// every session from the others.
func callerSessionShare(maxSessions int) int { return max(1, maxSessions/4) }

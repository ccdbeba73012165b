// Package server builds the agentphone-mcp MCP server from its configuration: the API client
// behind the key guard, the policy engine and its store, the enabled toolsets, resources and
// prompts, and the stdio, Streamable HTTP and SSE transports.
package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/campaign"
	"github.com/agentphone-mcp/agentphone-mcp/fsguard"
	"github.com/agentphone-mcp/agentphone-mcp/outbound"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// Name and Version identify the server in the MCP handshake.
const Name = "agentphone"

// SandboxKey is the bearer key used against the in-process sandbox when no real key is set.
const SandboxKey = "sandbox-key-not-secret"

// Options are the parts of the App that tests and the demo replace.
type Options struct {
	// Secrets are the API key and the other secrets (see LoadSecrets).
	Secrets Secrets
	// Logger receives the server's logs; nil means a text logger on Stderr at cfg.LogLevel.
	Logger *slog.Logger
	// Stderr is where the default logger writes; nil means os.Stderr.
	Stderr io.Writer
	// Clock is the time source; nil means real time (offset by Config.SandboxNow if set).
	Clock clockwork.Clock
	// Sandbox is a ready sandbox to serve against (tests); nil makes one in sandbox mode.
	Sandbox *sandbox.Sandbox
	// Version is reported in the MCP handshake.
	Version string
	// Resolver looks up the hosts of URLs the policy checks (custom tools); nil means the
	// system resolver. Tests pass a fake one: they never touch the network.
	Resolver policy.Resolver
	// APITimeout is the deadline of one AgentPhone request; zero means 30 s.
	APITimeout time.Duration
	// LookupHost resolves host names for the loopback checks; nil means the system resolver.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// HoldSecret, when set, adds a secret learned at run time (a caller's API key in caller
	// mode) to the process's other scrubbers (the stderr guard) until release is called.
	HoldSecret func(secret string) (release func())
}

// App is a configured agentphone-mcp server, ready to serve one transport.
type App struct {
	cfg     Config
	logger  *slog.Logger
	stderr  io.Writer // the scrubbed stderr: notices for the operator
	clock   clockwork.Clock
	mcp     *mcpserver.MCPServer
	tools   []tools.Tool
	toolbox *tools.Toolbox // what each session lists, and the toolsets it may add
	api     *apiclient.Client
	policy  *policy.Engine
	store   store.Store
	audit   *audit.Log
	sandbox *sandbox.Sandbox
	secrets Secrets
	events  *tools.EventHub
	live    *tools.LiveCalls // held voice turns; nil without --webhook-listen
	recv    *receiver
	hider   *operatorHider // hides the operator's phone from every API read
	replies *repliesReader // what a recipient said lately, asked before every text or call
	subs    *subscribers
	deps    *tools.Deps
	closers []func() error

	// httpTokens are the bearer tokens of the HTTP transports (AGENTPHONE_HTTP_TOKEN).
	httpTokens []string
	// lookupHost resolves host names for the loopback checks (tests replace it).
	lookupHost lookupHostFunc
	// principalKey keys the hashes that name a session or credential as a principal.
	principalKey []byte
	// calls are the tool calls in flight (graceful shutdown).
	calls *inflightCalls
	// campaigns runs approved campaigns in the background (started by Run or StartCampaigns).
	campaigns *campaign.Runner
	ops       *ops // metrics and readiness

	// What New keeps to build the callers' tenants in caller mode (callers.go).
	scrubber *keyguard.Scrubber
	// baseScrubber holds the operator's secrets only (no caller's key): what a caller-mode
	// request without a verified caller is scrubbed with.
	baseScrubber *keyguard.Scrubber
	holdStderr   func(secret string) func()
	secretValues []string
	pcfg         policy.Config
	resolver     policy.Resolver
	endpoint     keyguard.Endpoint
	apiBase      http.RoundTripper
	apiTimeout   time.Duration
	version      string
	// callers is the caller-mode registry; nil in operator mode.
	callers *callers
	// keyCheck asks the API whether it accepts the operator's key, for /readyz; nil when
	// there is no operator key to check.
	keyCheck *keyCheck
}

// New builds the App. It refuses to start on any configuration mistake, with a message that
// says what to change: an unknown base URL, no API key outside sandbox mode, a state dir in
// use, an unreadable policy file.
func New(ctx context.Context, cfg Config, opts Options) (app *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	stderr := opts.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	secretValues := []string{opts.Secrets.APIKey.Reveal(), opts.Secrets.WebhookSecret.Reveal(), opts.Secrets.HTTPToken.Reveal()}
	for _, t := range strings.Split(opts.Secrets.HTTPToken.Reveal(), ",") {
		if t = strings.TrimSpace(t); t != "" {
			secretValues = append(secretValues, t)
		}
	}
	scrubber := keyguard.NewScrubber(secretValues...)
	logger := opts.Logger
	if logger == nil {
		logger = NewLogger(stderr, cfg.LogLevel, scrubber)
	}
	a := &App{cfg: cfg, logger: logger, secrets: opts.Secrets, stderr: scrubbingWriter{w: stderr, s: scrubber},
		lookupHost: opts.LookupHost, calls: newInflightCalls(), principalKey: make([]byte, 32), ops: newOps(),
		scrubber: scrubber, baseScrubber: keyguard.NewScrubber(secretValues...), holdStderr: opts.HoldSecret, secretValues: secretValues, resolver: opts.Resolver, version: opts.Version}
	caller := cfg.KeyMode == KeyModeCaller
	if caller {
		if err := checkCallerSecrets(opts.Secrets); err != nil {
			return nil, err
		}
	}
	_, _ = rand.Read(a.principalKey)
	if a.lookupHost == nil {
		a.lookupHost = net.DefaultResolver.LookupHost
	}
	if cfg.Transport == "http" || cfg.Transport == "sse" {
		if a.httpTokens, err = ParseHTTPTokens(opts.Secrets.HTTPToken.Reveal()); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()

	a.clock = opts.Clock
	if a.clock == nil {
		a.clock, err = sandboxClock(cfg)
		if err != nil {
			return nil, err
		}
	}

	tokenKey, err := signingKey(cfg)
	if err != nil {
		return nil, err
	}
	if tokenKey != nil {
		// Replicas sharing the signing key name a session or credential the same way, so a
		// token shown through one replica is redeemable through another by the same caller.
		m := hmac.New(sha256.New, tokenKey)
		m.Write([]byte("agentphone-mcp principal key"))
		a.principalKey = m.Sum(nil)
	}

	if cfg.Sandbox && !opts.Secrets.APIKey.IsZero() {
		logger.Warn("sandbox mode: the API key is set but not used; nothing real will happen")
	}
	if !cfg.Sandbox && opts.Secrets.APIKey.IsZero() && !caller {
		return nil, errors.New("no API key: set " + EnvAPIKey + " (or AGENTPHONE_API_KEY_FILE) to your AgentPhone key, " +
			"or try everything safely with --sandbox (a simulated AgentPhone: no real calls, texts or charges)")
	}

	endpoint, err := keyguard.ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("AGENTPHONE_BASE_URL: %w", err)
	}
	key := opts.Secrets.APIKey
	var base http.RoundTripper
	if cfg.Sandbox {
		a.sandbox = opts.Sandbox
		if a.sandbox == nil {
			// Webhook events go to loopback addresses only unless the operator opted in.
			a.sandbox = sandbox.New(sandbox.Options{
				Clock: a.clock, AutoReply: true, ReplyDelay: 4 * time.Second, Logger: logger.With("component", "sandbox"),
				DeliverExternal: cfg.SandboxDeliverExternal,
			})
		}
		if opts.Sandbox == nil {
			sb := a.sandbox
			a.closers = append(a.closers, func() error { sb.Close(); return nil })
		}
		base = a.sandbox.Transport()
		key = keyguard.NewSecret(SandboxKey)
		if cfg.BaseURL == "" {
			endpoint, _ = keyguard.ParseBaseURL("")
		}
		fmt.Fprintln(a.stderr, "agentphone-mcp: SANDBOX MODE: every tool runs against a simulated AgentPhone. No real call is placed, no text is sent, no money is spent.")
		if cfg.SandboxDeliverExternal {
			fmt.Fprintln(a.stderr, "agentphone-mcp: --sandbox-deliver-external: simulated webhook events are really POSTed to the configured URLs, also on other hosts.")
		}
	} else if endpoint.Loopback {
		logger.Warn("the API base URL is a loopback address: for local testing only", "base_url", endpoint.BaseURL)
	}
	a.endpoint, a.apiBase, a.apiTimeout = endpoint, base, opts.APITimeout
	if a.apiTimeout <= 0 {
		a.apiTimeout = cfg.APITimeout
	}
	if caller {
		// The operator's own client (the template the tools are built with) carries no key
		// and reaches nothing: every request runs with its caller's client (over a.apiBase).
		base = refuseTransport{}
	}
	a.api, a.hider, err = a.apiClientWith(key, base, a.scrubber.Scrub)
	if err != nil {
		return nil, fmt.Errorf("build the API client (AGENTPHONE_SUB_ACCOUNT_ID must be a sub-account id such as sub_123): %w", err)
	}

	if cfg.Sandbox || !opts.Secrets.APIKey.IsZero() {
		a.keyCheck = newKeyCheck(func(ctx context.Context) error { _, err := a.api.GetUsage(ctx); return err }, a.clock)
	}

	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the state dir %s: %w; set AGENTPHONE_STATE_DIR to a writable folder", cfg.StateDir, err)
	}
	if err := checkStateFiles(cfg); err != nil {
		return nil, err
	}
	// The audit log is the journal, state.db its index: where the log shows history, a
	// missing or empty state file is refused instead of silently starting empty (which
	// would forget opt-outs), and a damaged one is refused before it is mapped.
	history, err := audit.HasHistory(cfg.AuditLog)
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	// The log is opened first: one cut short, rewritten or swapped (against its keyed
	// anchor) is refused before anything is rebuilt or appended from it.
	a.audit, err = audit.Open(cfg.AuditLog, a.clock, audit.WithKeyFile(cfg.AuditKeyFile))
	if err != nil {
		return nil, fmt.Errorf("open the audit log: %w", err)
	}
	a.closers = append(a.closers, a.audit.Close)
	a.store, err = a.openStore(ctx, history)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.store.Close)
	a.ops.reg.MustRegister(newLedgerCollector(a.store, a.clock.Now))

	pcfg, err := policyConfig(cfg)
	if err != nil {
		return nil, err
	}
	pcfg.TokenKey = tokenKey
	a.pcfg = pcfg
	keys := secretValues
	checker := &contactChecker{api: a.api, clock: a.clock}
	replies := newRepliesReader(a.api, logger.With("component", "optouts"))
	a.replies = replies
	a.policy, err = policy.New(pcfg, policy.Deps{
		Store: a.store, Clock: a.clock, Audit: a.audit, Contacts: checker, History: checker, OwnNumbers: checker,
		Replies: replies, Keys: keys, Logger: logger.With("component", "policy"), Resolver: opts.Resolver,
	})
	if err != nil {
		return nil, fmt.Errorf("start the policy engine: %w", err)
	}
	a.hider.setOperator(a.policy.OperatorPhone())
	// Sends left pending by a process that is gone (killed mid-send) become unknown: they
	// stay counted, and the audit log gets their outcome line.
	if got, err := a.policy.RecoverAbandoned(ctx); err != nil {
		return nil, fmt.Errorf("recover the sends of processes that ended mid-send: %w", err)
	} else if len(got) > 0 {
		logger.Warn("sends left pending by a process that ended are now recorded as unknown (they may have been sent and stay counted)", "count", len(got))
	}

	// At shutdown (Close, after the campaigns stop and before the store and the log close),
	// sends this process still holds pending become unknown with an audit line.
	started := a.clock.Now()
	a.closers = append(a.closers, func() error { a.settleStopped(started); return nil })

	a.events = tools.NewEventHub()
	deps := &tools.Deps{
		API: a.api, Policy: a.policy, ConfirmMode: a.policy.ConfirmMode(), OperatorPhone: a.policy.OperatorPhone(),
		DefaultRegion: cfg.DefaultRegion, Sandbox: cfg.Sandbox, Principal: principal(tokenKey, cfg.RedisURL != ""),
		Clock: a.clock, Logger: logger.With("component", "tools"), Events: a.events, Scrub: scrubber.Scrub,
		ToolTimeout: cfg.ToolTimeout, ElicitTimeout: cfg.ElicitTimeout,
	}
	a.campaigns = &campaign.Runner{
		Dir:   filepath.Join(StoreDir(cfg), "campaigns"),
		Path:  &outbound.Path{Policy: a.policy, API: a.api, Clock: a.clock, Logger: logger.With("component", "outbound")},
		Store: a.store, Clock: a.clock, Logger: logger.With("component", "campaign"), Region: cfg.DefaultRegion,
		OnChange: func(id string) {
			if a.mcp != nil {
				a.notifyUpdated(resourceCampaignPre + id)
			}
		},
	}
	a.closers = append(a.closers, func() error { a.campaigns.Close(); return nil })
	deps.CampaignMax, deps.CampaignsPerReplica = cfg.CampaignMax, cfg.RedisURL != ""
	if !caller {
		deps.Campaigns = a.campaigns
	}
	a.subs, a.deps = newSubscribers(), deps
	if cfg.WebhookListen != "" {
		a.live = tools.NewLiveCalls()
		deps.Live, deps.Received = a.live, receivedEvents{st: a.store, hide: a.hider}
	}
	sel := tools.Selection{
		Toolsets: cfg.Toolsets, Tools: cfg.Tools, Exclude: cfg.ExcludeTools, ReadOnly: cfg.ReadOnly,
		Receiver: cfg.WebhookListen != "",
	}
	if caller {
		if sel, err = callerSelection(sel, tools.All(deps)); err != nil {
			return nil, err
		}
	}
	a.toolbox, err = tools.NewToolbox(deps, tools.All(deps), sel)
	if err != nil {
		return nil, err
	}
	a.tools = a.toolbox.Listed()
	a.mcp = a.buildMCP(opts.Version, deps)
	a.recv = a.newReceiver()
	if caller {
		if err := a.startCallers(ctx); err != nil {
			return nil, err
		}
	} else if err := a.watchSharedInbound(); err != nil {
		return nil, err
	}
	a.startSharedRecovery()
	return a, nil
}

// StartCampaigns resumes every campaign left running, by this or an earlier process (Run
// calls it; a run another live process holds is left to it).
func (a *App) StartCampaigns() error {
	if a.callers != nil {
		return nil // caller mode offers no campaigns (callers.go)
	}
	return a.campaigns.ResumeAll()
}

// Campaigns returns the campaign runner.
func (a *App) Campaigns() *campaign.Runner { return a.campaigns }

// MCP returns the MCP server (for in-process clients in tests and the demo).
func (a *App) MCP() *mcpserver.MCPServer { return a.mcp }

// Deps returns what the tools were built with (tests and the demo add tools with it).
func (a *App) Deps() *tools.Deps { return a.deps }

// Sandbox returns the in-process sandbox, or nil outside sandbox mode.
func (a *App) Sandbox() *sandbox.Sandbox { return a.sandbox }

// Policy returns the policy engine.
func (a *App) Policy() *policy.Engine { return a.policy }

// Tools returns the tools a new session lists (enable_toolset adds more per session; see
// tools.Toolbox).
func (a *App) Tools() []tools.Tool { return a.tools }

// Close releases the store, the audit log and the sandbox.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// settleStopped marks the ledger entries this process still holds pending (created since
// it started) unknown, each with an audit outcome line: the process stops before their
// answer came. Other processes' entries are theirs.
func (a *App) settleStopped(since time.Time) { settleStopped(a.policy, a.store, since, a.logger) }

// settleStopped is App.settleStopped for one policy engine (the operator's, or a caller
// account's in caller mode) over st, the engine's store.
func settleStopped(pol *policy.Engine, st store.Store, since time.Time, logger *slog.Logger) {
	o, ok := st.(interface{ Owner() string })
	if !ok || pol == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := pol.SettleStopped(ctx, o.Owner(), since.Add(-time.Minute))
	if err != nil {
		logger.Error("shutdown: could not settle every send still in flight", "err", err)
	}
	if len(got) > 0 {
		logger.Warn("shutdown: sends still in flight are recorded as unknown (they may have been sent and stay counted)", "count", len(got))
	}
}

// StoreDir is where the policy store lives. The sandbox keeps its own, so trying things out
// never uses real quota or marks real recipients as known.
func StoreDir(cfg Config) string {
	if cfg.Sandbox {
		return filepath.Join(cfg.StateDir, "sandbox")
	}
	return cfg.StateDir
}

// checkStateFiles refuses a state dir (or audit log folder) that another user owns or can
// write to, and state files that are symbolic links or belong to someone else: caps, opt-outs,
// used tokens and the audit chain must be this user's alone (fsguard).
func checkStateFiles(cfg Config) error {
	dirs := []string{cfg.StateDir}
	if sd := StoreDir(cfg); sd != cfg.StateDir {
		if err := os.MkdirAll(sd, 0o700); err != nil {
			return fmt.Errorf("create the state dir %s: %w", sd, err)
		}
		dirs = append(dirs, sd)
	}
	for _, d := range dirs {
		if err := fsguard.CheckStateDir(d, store.FileName, store.LockFileName); err != nil {
			return fmt.Errorf("state dir: %w", err)
		}
	}
	if cfg.AuditLog != "" {
		dir := filepath.Dir(cfg.AuditLog)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create the audit log folder %s: %w", dir, err)
		}
		if err := fsguard.CheckStateDir(dir, filepath.Base(cfg.AuditLog), filepath.Base(cfg.AuditLog)+".lock", filepath.Base(cfg.AuditLog)+audit.AnchorSuffix, audit.KeyFileName); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
	}
	return nil
}

// policyConfig merges the environment's settings with the operator's policy file.
func policyConfig(cfg Config) (policy.Config, error) {
	pc := policy.Config{
		DefaultRegion: cfg.DefaultRegion, AllowedCountries: cfg.AllowedCountries, QuietHours: cfg.QuietHours,
		ConfirmMode: cfg.ConfirmMode, AuditBodies: cfg.AuditBodies, Limits: policy.DefaultLimits(),
	}
	if cfg.OperatorPhone != "" {
		n, err := phone.Normalize(cfg.OperatorPhone, cfg.DefaultRegion)
		if err != nil {
			return pc, fmt.Errorf("AGENTPHONE_OPERATOR_PHONE: %w", err)
		}
		pc.OperatorPhone = n.E164
	}
	pc.PolicyFile = cfg.PolicyFile
	return pc, nil
}

// principal names who acts, for token binding and the audit log. One process is one
// principal; replicas sharing a Redis and a signing key are one deployment and so one
// principal (derived from the key, which it does not reveal), so that a confirmation token
// issued by one replica is accepted by another.
func principal(signingKey []byte, shared bool) string {
	if shared && len(signingKey) > 0 {
		m := hmac.New(sha256.New, signingKey)
		m.Write([]byte("agentphone-mcp principal"))
		return "deployment-" + hex.EncodeToString(m.Sum(nil)[:8])
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "local-" + hex.EncodeToString(b)
}

func versionOr(v string) string {
	if v == "" {
		return "dev"
	}
	return v
}

// sandboxClock is real time, or real time shifted so that "now" starts at SandboxNow (only
// honoured in sandbox mode, so demos and tests run inside calling hours whenever they run).
func sandboxClock(cfg Config) (clockwork.Clock, error) {
	if cfg.SandboxNow == "" {
		return clockwork.NewRealClock(), nil
	}
	if !cfg.Sandbox {
		return nil, errors.New("AGENTPHONE_SANDBOX_NOW is honoured only in sandbox mode")
	}
	start, err := time.Parse(time.RFC3339, cfg.SandboxNow)
	if err != nil {
		return nil, fmt.Errorf("AGENTPHONE_SANDBOX_NOW %q is not an RFC 3339 time: %w", cfg.SandboxNow, err)
	}
	return newOffsetClock(start), nil
}

// apiClientWith builds an AgentPhone client for key over base (nil: the network), behind the
// key guard pinned to the configured host, the operator filter and the metrics. redact
// scrubs the API's error bodies, which reach tool results: in caller mode the tenant's own
// scrubber (callers.go, outputScrubber), never one that holds other callers' keys.
func (a *App) apiClientWith(key keyguard.Secret, base http.RoundTripper, redact func(string) string) (*apiclient.Client, *operatorHider, error) {
	hc := keyguard.NewHTTPClient(a.endpoint, key, base)
	// Every API answer passes the operator filter (hide.go): the strict-mode code texted to
	// the operator's phone is readable by no tool, resource, wait or inbox.
	hider := newOperatorHider(hc.Transport)
	if a.policy != nil {
		hider.setOperator(a.policy.OperatorPhone())
	}
	hc.Transport = a.ops.instrument(hider)
	api, err := apiclient.New(apiclient.Options{
		BaseURL: a.endpoint.BaseURL, HTTPClient: hc, Clock: a.clock,
		Timeout: a.apiTimeout, LongPollTimeout: 11 * time.Minute, SubAccountID: a.cfg.SubAccountID,
		UserAgent: "agentphone-mcp/" + versionOr(a.version), Logger: a.logger.With("component", "apiclient"),
		Redact: redact,
	})
	return api, hider, err
}

// newAPIClient is a caller's own client: its key, the configured host and transport, its
// error bodies scrubbed with scrub.
func (a *App) newAPIClient(key keyguard.Secret, scrub *keyguard.Scrubber) (*apiclient.Client, error) {
	api, _, err := a.apiClientWith(key, a.apiBase, scrub.Scrub)
	return api, err
}

// auditKeyFile is the audit key every audit log of this server uses.
func (a *App) auditKeyFile() string {
	if a.cfg.AuditKeyFile != "" {
		return a.cfg.AuditKeyFile
	}
	return filepath.Join(filepath.Dir(a.cfg.AuditLog), audit.KeyFileName)
}

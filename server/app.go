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
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
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
}

// App is a configured agentphone-mcp server, ready to serve one transport.
type App struct {
	cfg     Config
	logger  *slog.Logger
	clock   clockwork.Clock
	mcp     *mcpserver.MCPServer
	tools   []tools.Tool
	api     *apiclient.Client
	policy  *policy.Engine
	store   store.Store
	audit   *audit.Log
	sandbox *sandbox.Sandbox
	secrets Secrets
	events  *tools.EventHub
	live    *tools.LiveCalls // held voice turns; nil without --webhook-listen
	recv    *receiver
	subs    *subscribers
	deps    *tools.Deps
	closers []func() error
	ops     *ops // metrics and readiness
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
	scrubber := keyguard.NewScrubber(opts.Secrets.APIKey.Reveal(), opts.Secrets.WebhookSecret.Reveal(), opts.Secrets.HTTPToken.Reveal())
	logger := opts.Logger
	if logger == nil {
		logger = NewLogger(stderr, cfg.LogLevel, scrubber)
	}
	a := &App{cfg: cfg, logger: logger, secrets: opts.Secrets, ops: newOps()}
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

	if cfg.Sandbox && !opts.Secrets.APIKey.IsZero() {
		logger.Warn("sandbox mode: the API key is set but not used; nothing real will happen")
	}
	if !cfg.Sandbox && opts.Secrets.APIKey.IsZero() {
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
			a.sandbox = sandbox.New(sandbox.Options{
				Clock: a.clock, AutoReply: true, ReplyDelay: 4 * time.Second, Logger: logger.With("component", "sandbox"),
				WebhookClient: loopbackOnlyClient(45 * time.Second),
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
		fmt.Fprintln(stderr, "agentphone-mcp: SANDBOX MODE: every tool runs against a simulated AgentPhone. No real call is placed, no text is sent, no money is spent.")
	} else if endpoint.Loopback {
		logger.Warn("the API base URL is a loopback address: for local testing only", "base_url", endpoint.BaseURL)
	}
	hc := keyguard.NewHTTPClient(endpoint, key, base)
	hc.Transport = a.ops.instrument(hc.Transport)
	a.api, err = apiclient.New(apiclient.Options{
		BaseURL: endpoint.BaseURL, HTTPClient: hc, Clock: a.clock,
		Timeout: 30 * time.Second, LongPollTimeout: 11 * time.Minute,
		UserAgent: "agentphone-mcp/" + versionOr(opts.Version), Logger: logger.With("component", "apiclient"),
	})
	if err != nil {
		return nil, fmt.Errorf("build the API client: %w", err)
	}

	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the state dir %s: %w; set AGENTPHONE_STATE_DIR to a writable folder", cfg.StateDir, err)
	}
	// The audit log is the journal, state.db its index: where the log shows history, a
	// missing or empty state file is refused instead of silently starting empty (which
	// would forget opt-outs), and a damaged one is refused before it is mapped.
	history, err := audit.HasHistory(cfg.AuditLog)
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	a.store, err = a.openStore(ctx, history)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.store.Close)
	a.ops.reg.MustRegister(newLedgerCollector(a.store, a.clock.Now))
	a.audit, err = audit.Open(cfg.AuditLog, a.clock)
	if err != nil {
		return nil, fmt.Errorf("open the audit log: %w", err)
	}
	a.closers = append(a.closers, a.audit.Close)

	pcfg, err := policyConfig(cfg)
	if err != nil {
		return nil, err
	}
	pcfg.TokenKey = tokenKey
	keys := []string{opts.Secrets.APIKey.Reveal(), opts.Secrets.WebhookSecret.Reveal(), opts.Secrets.HTTPToken.Reveal()}
	checker := &contactChecker{api: a.api, clock: a.clock}
	a.policy, err = policy.New(pcfg, policy.Deps{
		Store: a.store, Clock: a.clock, Audit: a.audit, Contacts: checker, History: checker, OwnNumbers: checker,
		Keys: keys, Logger: logger.With("component", "policy"),
	})
	if err != nil {
		return nil, fmt.Errorf("start the policy engine: %w", err)
	}
	// Sends left pending by a process that is gone (killed mid-send) become unknown: they
	// stay counted, and the audit log gets their outcome line.
	if got, err := a.policy.RecoverAbandoned(ctx); err != nil {
		return nil, fmt.Errorf("recover the sends of processes that ended mid-send: %w", err)
	} else if len(got) > 0 {
		logger.Warn("sends left pending by a process that ended are now recorded as unknown (they may have been sent and stay counted)", "count", len(got))
	}

	a.events = tools.NewEventHub()
	deps := &tools.Deps{
		API: a.api, Policy: a.policy, ConfirmMode: a.policy.ConfirmMode(), OperatorPhone: a.policy.OperatorPhone(),
		DefaultRegion: cfg.DefaultRegion, Sandbox: cfg.Sandbox, Principal: principal(tokenKey, cfg.RedisURL != ""),
		Clock: a.clock, Logger: logger.With("component", "tools"), Events: a.events,
	}
	a.subs, a.deps = newSubscribers(), deps
	if cfg.WebhookListen != "" {
		a.live = tools.NewLiveCalls()
		deps.Live, deps.Received = a.live, receivedEvents{st: a.store}
	}
	a.tools, err = tools.Select(tools.All(deps), tools.Selection{
		Toolsets: cfg.Toolsets, Tools: cfg.Tools, Exclude: cfg.ExcludeTools, ReadOnly: cfg.ReadOnly,
		Receiver: cfg.WebhookListen != "",
	})
	if err != nil {
		return nil, err
	}
	a.mcp = a.buildMCP(opts.Version, scrubber, deps)
	a.recv = a.newReceiver()
	if err := a.watchSharedInbound(); err != nil {
		return nil, err
	}
	a.startSharedRecovery()
	return a, nil
}

// MCP returns the MCP server (for in-process clients in tests and the demo).
func (a *App) MCP() *mcpserver.MCPServer { return a.mcp }

// Deps returns what the tools were built with (tests and the demo add tools with it).
func (a *App) Deps() *tools.Deps { return a.deps }

// Sandbox returns the in-process sandbox, or nil outside sandbox mode.
func (a *App) Sandbox() *sandbox.Sandbox { return a.sandbox }

// Policy returns the policy engine.
func (a *App) Policy() *policy.Engine { return a.policy }

// Tools returns the enabled tools.
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

// StoreDir is where the policy store lives. The sandbox keeps its own, so trying things out
// never uses real quota or marks real recipients as known.
func StoreDir(cfg Config) string {
	if cfg.Sandbox {
		return filepath.Join(cfg.StateDir, "sandbox")
	}
	return cfg.StateDir
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

// loopbackOnlyClient is the sandbox's webhook client in sandbox mode: simulated events may
// reach the local webhook receiver, never another host.
func loopbackOnlyClient(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("sandbox webhooks are delivered to loopback addresses only, not %s", host)
		}
		return nil
	}}
	return &http.Client{
		Timeout:       timeout,
		Transport:     &http.Transport{DialContext: dialer.DialContext, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

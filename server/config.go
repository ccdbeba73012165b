package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is everything the operator can set. It is read from the environment with
// caarlos0/env; the command line then overrides single fields. Secrets (the API key, the
// webhook secret, the HTTP bearer token) are deliberately not fields here: they are read
// into keyguard.Secret values by LoadSecrets so that no Config value can print them.
// Each field's comment is its row in the README's configuration table (a test generates
// the table from this file): what the variable does, and a "Default:" line when the
// envDefault tag does not show the default.
type Config struct {
	// The API host. Only `api.agentphone.to`, `api.agentphone.ai` (https, port 443) or a
	// loopback `http://127.0.0.1:PORT` for local testing are accepted.
	// Default: `https://api.agentphone.to`
	BaseURL string `env:"AGENTPHONE_BASE_URL"`
	// A file (mode 0600) holding the API key, instead of the variable.
	APIKeyFile string `env:"AGENTPHONE_API_KEY_FILE"`
	// Region assumed for numbers typed without a country code.
	DefaultRegion string `env:"AGENTPHONE_DEFAULT_REGION" envDefault:"US"`
	// Policy state (caps, known recipients, opt-outs, used tokens) and the audit log.
	// Default: `$XDG_STATE_HOME/agentphone-mcp` or `~/.local/state/agentphone-mcp`
	StateDir string `env:"AGENTPHONE_STATE_DIR"`
	// `stdio`, `http` (Streamable HTTP at `/mcp`) or `sse`.
	Transport string `env:"AGENTPHONE_TRANSPORT" envDefault:"stdio"`
	// Listen address for `http` and `sse`.
	Listen string `env:"AGENTPHONE_HTTP_LISTEN" envDefault:"127.0.0.1:8080"`
	// `debug`, `info`, `warn`, `error`. Logs are JSON on stderr.
	LogLevel string `env:"AGENTPHONE_LOG_LEVEL" envDefault:"info"`
	// Serve against the simulated AgentPhone.
	Sandbox bool `env:"AGENTPHONE_SANDBOX"`
	// Comma-separated toolsets listed from the start, `default` or `all`. Under `default` a
	// session may add the on-request toolsets with `enable_toolset`; naming toolsets lists
	// exactly those (add `default` to keep the rest on request).
	// Default: `default` (see [Toolsets](#toolsets))
	Toolsets []string `env:"AGENTPHONE_TOOLSETS" envSeparator:","`
	// Extra single tools to list from the start.
	Tools []string `env:"AGENTPHONE_TOOLS" envSeparator:","`
	// Tools to disable.
	ExcludeTools []string `env:"AGENTPHONE_EXCLUDE_TOOLS" envSeparator:","`
	// Offer read tools only. Wins over every other setting, `enable_toolset` included.
	ReadOnly bool `env:"AGENTPHONE_READ_ONLY"`
	// `auto`, `strict` or `off` (see [Confirmation](#confirmation)).
	ConfirmMode string `env:"AGENTPHONE_CONFIRM_MODE" envDefault:"auto"`
	// Destination regions calls and texts may reach.
	AllowedCountries []string `env:"AGENTPHONE_ALLOWED_COUNTRIES" envSeparator:"," envDefault:"US,CA,PR,VI,GU,AS,MP"`
	// The recipient's local window for calls and texts, or `off`.
	QuietHours string `env:"AGENTPHONE_QUIET_HOURS" envDefault:"08:00-21:00"`
	// The operator's policy file: allowlist, denylist, caps, hours, countries.
	PolicyFile string `env:"AGENTPHONE_POLICY_FILE"`
	// The hash-chained audit log.
	// Default: `<state dir>/audit.jsonl`
	AuditLog string `env:"AGENTPHONE_AUDIT_LOG"`
	// The key of the audit chain (64 hex digits), kept apart from the log.
	// Default: `<audit log dir>/audit.key`, made on first use
	AuditKeyFile string `env:"AGENTPHONE_AUDIT_KEY_FILE"`
	// Store message bodies in the audit log (otherwise only their hash).
	AuditBodies bool `env:"AGENTPHONE_AUDIT_BODIES"`
	// The operator's own phone, for one-time codes in `strict` mode.
	OperatorPhone string `env:"AGENTPHONE_OPERATOR_PHONE"`
	// Serve the signed-webhook receiver at this address.
	// Default: (off)
	WebhookListen string `env:"AGENTPHONE_WEBHOOK_LISTEN"`
	// Sandbox mode only: start the clock at this RFC 3339 time (it then runs at real speed),
	// so demos and tests fall inside calling hours whenever they run.
	// Default: (real time)
	SandboxNow string `env:"AGENTPHONE_SANDBOX_NOW"`
	// Sandbox mode only: let the simulated AgentPhone POST webhook and test events to hosts
	// other than this machine (by default it delivers to loopback addresses only).
	SandboxDeliverExternal bool `env:"AGENTPHONE_SANDBOX_DELIVER_EXTERNAL"`
	// Scope every AgentPhone request to this sub-account (`X-Sub-Account-Id`).
	// Default: (the key's master account)
	SubAccountID string `env:"AGENTPHONE_SUB_ACCOUNT_ID"`
	// Bound every tool call, so clients that stop a call after 60 s never lose one; longer
	// waits return "still in progress" and resume on the next call.
	ToolTimeout time.Duration `env:"AGENTPHONE_TOOL_TIMEOUT" envDefault:"50s"`
	// Bound the wait for the user's answer to a confirmation form; without an answer the
	// confirmation falls back to the two-step token (auto) or is refused (strict).
	ElicitTimeout time.Duration `env:"AGENTPHONE_ELICIT_TIMEOUT" envDefault:"2m"`
	// One AgentPhone API request's deadline (long polls have their own bound). A send whose
	// answer does not come in time may have gone out: it is counted and looked up.
	APITimeout time.Duration `env:"AGENTPHONE_API_TIMEOUT" envDefault:"30s"`
	// The most recipients one campaign may have.
	CampaignMax int `env:"AGENTPHONE_CAMPAIGN_MAX" envDefault:"200"`
	// Put the policy state in a Redis (`redis://` or `rediss://`) shared by several replicas
	// instead of the state file (see "Running it for a team").
	RedisURL string `env:"AGENTPHONE_REDIS_URL"`
	// A file holding the Redis password (instead of the URL's).
	RedisPasswordFile string `env:"AGENTPHONE_REDIS_PASSWORD_FILE"`
	// A PEM bundle of the CAs that sign the Redis server's certificate (`rediss://` only).
	// Default: (the system's roots)
	RedisCAFile string `env:"AGENTPHONE_REDIS_CA_FILE"`
	// A file holding the key (at least 32 bytes) that signs confirmation tokens; replicas on one
	// Redis must share it. Required with `AGENTPHONE_REDIS_URL`.
	SigningKeyFile string `env:"AGENTPHONE_SIGNING_KEY_FILE"`
	// Serve `/metrics` on its own address (no token) instead of on the HTTP listener behind the
	// bearer token.
	MetricsListen string `env:"AGENTPHONE_METRICS_LISTEN"`
	// Allow a non-loopback listen address (requires `AGENTPHONE_HTTP_TOKEN`, or caller-key
	// mode, where each client's own API key is its bearer).
	AllowRemote bool `env:"AGENTPHONE_HTTP_ALLOW_REMOTE"`
	// End a Streamable HTTP session after this long without a request or an open stream; its id then gets 404 and the client initializes again.
	SessionIdle time.Duration `env:"AGENTPHONE_HTTP_SESSION_IDLE" envDefault:"30m"`
	// The most open Streamable HTTP sessions plus SSE connections; an initialize beyond it
	// gets HTTP 503 with a message saying so.
	MaxSessions int `env:"AGENTPHONE_HTTP_MAX_SESSIONS" envDefault:"100"`
	// The time one HTTP request's headers, and then its body, may take to arrive.
	ReadTimeout time.Duration `env:"AGENTPHONE_HTTP_READ_TIMEOUT" envDefault:"10s"`
	// On SIGTERM/SIGINT, how long tool calls in flight may run on before they are cancelled; the process exits (code 0) within about a second more.
	ShutdownGrace time.Duration `env:"AGENTPHONE_SHUTDOWN_GRACE" envDefault:"5s"`
	// `operator` (every client acts with the server's `AGENTPHONE_API_KEY`) or `caller`
	// (HTTP and SSE only: each client sends its own AgentPhone API key as its bearer token
	// and gets its own account's state; see "Running it for a team").
	KeyMode string `env:"AGENTPHONE_KEY_MODE" envDefault:"operator"`
	// Caller mode: the most callers' accounts kept open at once (the least recently used
	// idle one is closed to make room; beyond it new callers get HTTP 503).
	CallerMaxAccounts int `env:"AGENTPHONE_CALLER_MAX_ACCOUNTS" envDefault:"100"`
}

// maxCallerAccounts bounds AGENTPHONE_CALLER_MAX_ACCOUNTS: each open account's key is held
// by the scrubbers (keyguard.MaxHeldSecrets, with room for keys being verified).
const maxCallerAccounts = 500

// Key modes (AGENTPHONE_KEY_MODE).
const (
	// KeyModeOperator: every client acts with the server's own API key.
	KeyModeOperator = "operator"
	// KeyModeCaller: each HTTP client's bearer token is its own AgentPhone API key.
	KeyModeCaller = "caller"
)

// Environment variable names of the secrets, read by LoadSecrets and never by env.Parse. Each
// comment is its row in the README's configuration table.
const (
	// The AgentPhone API key. Without it the server refuses to start unless `--sandbox` is
	// given.
	EnvAPIKey = "AGENTPHONE_API_KEY"
	// The webhook signing secret for the receiver.
	// Default: read from the API
	EnvWebhookSecret = "AGENTPHONE_WEBHOOK_SECRET"
	// Bearer token HTTP clients must send, at least 32 characters (`openssl rand -hex 32`);
	// several, comma-separated, give each client its own. Required with
	// `AGENTPHONE_HTTP_ALLOW_REMOTE`.
	EnvHTTPToken = "AGENTPHONE_HTTP_TOKEN"
)

// ConfigFromEnv reads Config from the environment (environ is os.Environ()-shaped so tests
// can pass their own).
func ConfigFromEnv(environ []string) (Config, error) {
	var cfg Config
	envMap := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			envMap[k] = v
		}
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: envMap}); err != nil {
		return Config{}, fmt.Errorf("read configuration from the environment: %w", err)
	}
	return cfg, nil
}

// Validate checks the values that have a fixed set of choices and fills derived defaults.
func (c *Config) Validate() error {
	var errs []error
	switch c.Transport {
	case "stdio", "http", "sse":
	default:
		errs = append(errs, fmt.Errorf("transport %q is not one of stdio, http, sse", c.Transport))
	}
	switch c.ConfirmMode {
	case "auto", "strict", "off":
	default:
		errs = append(errs, fmt.Errorf("AGENTPHONE_CONFIRM_MODE %q is not one of auto, strict, off", c.ConfirmMode))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q is not one of debug, info, warn, error", c.LogLevel))
	}
	if c.SandboxDeliverExternal && !c.Sandbox {
		errs = append(errs, errors.New("AGENTPHONE_SANDBOX_DELIVER_EXTERNAL (--sandbox-deliver-external) is honoured only in sandbox mode"))
	}
	c.SubAccountID = strings.TrimSpace(c.SubAccountID)
	if c.ToolTimeout < time.Second || c.ToolTimeout > 10*time.Minute {
		errs = append(errs, fmt.Errorf("AGENTPHONE_TOOL_TIMEOUT %s is not between 1s and 10m (default 50s: under the 60 s many clients allow a call)", c.ToolTimeout))
	}
	if c.ElicitTimeout < time.Second || c.ElicitTimeout > 30*time.Minute {
		errs = append(errs, fmt.Errorf("AGENTPHONE_ELICIT_TIMEOUT %s is not between 1s and 30m (default 2m)", c.ElicitTimeout))
	}
	if c.SessionIdle < time.Second {
		errs = append(errs, fmt.Errorf("AGENTPHONE_HTTP_SESSION_IDLE %s is too short; use a duration such as 30m", c.SessionIdle))
	}
	if c.MaxSessions < 1 {
		errs = append(errs, fmt.Errorf("AGENTPHONE_HTTP_MAX_SESSIONS %d must be at least 1", c.MaxSessions))
	}
	if c.ReadTimeout <= 0 {
		errs = append(errs, fmt.Errorf("AGENTPHONE_HTTP_READ_TIMEOUT %s must be positive, such as 10s", c.ReadTimeout))
	}
	if c.ShutdownGrace < 0 {
		errs = append(errs, fmt.Errorf("AGENTPHONE_SHUTDOWN_GRACE %s must not be negative", c.ShutdownGrace))
	}
	if c.CampaignMax < 1 {
		errs = append(errs, fmt.Errorf("AGENTPHONE_CAMPAIGN_MAX %d must be 1 or more", c.CampaignMax))
	}
	if c.APITimeout <= 0 {
		errs = append(errs, fmt.Errorf("AGENTPHONE_API_TIMEOUT %v must be positive, such as 30s", c.APITimeout))
	}
	errs = append(errs, c.validateKeyMode()...)
	c.DefaultRegion = strings.ToUpper(strings.TrimSpace(c.DefaultRegion))
	if len(c.DefaultRegion) != 2 {
		errs = append(errs, fmt.Errorf("AGENTPHONE_DEFAULT_REGION %q is not a two-letter region code such as US", c.DefaultRegion))
	}
	for i, cc := range c.AllowedCountries {
		c.AllowedCountries[i] = strings.ToUpper(strings.TrimSpace(cc))
	}
	c.AllowedCountries = slices.DeleteFunc(c.AllowedCountries, func(s string) bool { return s == "" })
	if c.StateDir == "" {
		dir, err := DefaultStateDir()
		if err != nil {
			errs = append(errs, err)
		}
		c.StateDir = dir
	}
	if c.AuditLog == "" && c.StateDir != "" {
		c.AuditLog = filepath.Join(c.StateDir, "audit.jsonl")
		if c.Sandbox {
			c.AuditLog = filepath.Join(c.StateDir, "sandbox", "audit.jsonl")
		}
	}
	return errors.Join(errs...)
}

// DefaultStateDir is $XDG_STATE_HOME/agentphone-mcp, else ~/.local/state/agentphone-mcp.
func DefaultStateDir() (string, error) {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "agentphone-mcp"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find a state directory: %w; set AGENTPHONE_STATE_DIR", err)
	}
	return filepath.Join(home, ".local", "state", "agentphone-mcp"), nil
}

// validateKeyMode refuses the settings caller mode cannot honour safely: a transport that
// carries no per-client credential, a shared bearer token (the bearer IS the caller's key),
// the operator's webhook receiver (it serves one account), the sandbox (it has one account)
// and a sub-account of the operator's.
func (c *Config) validateKeyMode() []error {
	if c.KeyMode == "" {
		c.KeyMode = KeyModeOperator
	}
	switch c.KeyMode {
	case KeyModeOperator:
		return nil
	case KeyModeCaller:
	default:
		return []error{fmt.Errorf("AGENTPHONE_KEY_MODE %q is not one of operator, caller", c.KeyMode)}
	}
	var errs []error
	if c.Transport != "http" && c.Transport != "sse" {
		errs = append(errs, fmt.Errorf("AGENTPHONE_KEY_MODE=caller needs the http or sse transport (each HTTP client sends its own API key as its bearer token); %s has no per-client credential: use operator mode with AGENTPHONE_API_KEY", c.Transport))
	}
	if c.WebhookListen != "" {
		errs = append(errs, errors.New("AGENTPHONE_KEY_MODE=caller cannot run the webhook receiver (AGENTPHONE_WEBHOOK_LISTEN / --webhook-listen): it serves one account's webhooks; remove it (waits poll the API, so wait_for_reply and wait_for_call still work)"))
	}
	if c.Sandbox {
		errs = append(errs, errors.New("AGENTPHONE_KEY_MODE=caller does not run on the built-in sandbox (one simulated account); start `agentphone-mcp sandbox --keys-file FILE` (one simulated account per key) and point AGENTPHONE_BASE_URL at it"))
	}
	if strings.TrimSpace(c.SubAccountID) != "" {
		errs = append(errs, errors.New("AGENTPHONE_KEY_MODE=caller cannot use AGENTPHONE_SUB_ACCOUNT_ID: each caller's key names its own account"))
	}
	if c.SigningKeyFile == "" {
		errs = append(errs, errors.New("AGENTPHONE_KEY_MODE=caller needs AGENTPHONE_SIGNING_KEY_FILE: each caller's account is named by a keyed hash of its key, which must stay the same across restarts and replicas (or its caps and opt-outs would start over); create it once (head -c 48 /dev/urandom | base64 > signing.key; chmod 600 signing.key)"))
	}
	if c.CallerMaxAccounts < 1 || c.CallerMaxAccounts > maxCallerAccounts {
		errs = append(errs, fmt.Errorf("AGENTPHONE_CALLER_MAX_ACCOUNTS %d must be between 1 and %d", c.CallerMaxAccounts, maxCallerAccounts))
	}
	return errs
}

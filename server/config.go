package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Config is everything the operator can set. It is read from the environment with
// caarlos0/env; the command line then overrides single fields. Secrets (the API key, the
// webhook secret, the HTTP bearer token) are deliberately not fields here: they are read
// into keyguard.Secret values by LoadSecrets so that no Config value can print them.
type Config struct {
	// BaseURL is the AgentPhone API base URL; empty means https://api.agentphone.to.
	BaseURL string `env:"AGENTPHONE_BASE_URL"`
	// APIKeyFile names a file (mode 0600) that holds the API key, instead of AGENTPHONE_API_KEY.
	APIKeyFile string `env:"AGENTPHONE_API_KEY_FILE"`
	// DefaultRegion is the region assumed for numbers typed without a country code.
	DefaultRegion string `env:"AGENTPHONE_DEFAULT_REGION" envDefault:"US"`
	// StateDir holds the policy store and the audit log.
	StateDir string `env:"AGENTPHONE_STATE_DIR"`
	// Transport is stdio, http (Streamable HTTP at /mcp) or sse (legacy SSE).
	Transport string `env:"AGENTPHONE_TRANSPORT" envDefault:"stdio"`
	// Listen is the HTTP listen address for the http and sse transports.
	Listen string `env:"AGENTPHONE_HTTP_LISTEN" envDefault:"127.0.0.1:8080"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"AGENTPHONE_LOG_LEVEL" envDefault:"info"`
	// Sandbox serves every tool against the built-in simulated AgentPhone API.
	Sandbox bool `env:"AGENTPHONE_SANDBOX"`
	// Toolsets lists the enabled toolsets; empty means the default set, "all" means all.
	Toolsets []string `env:"AGENTPHONE_TOOLSETS" envSeparator:","`
	// Tools adds single tools by name on top of the toolsets.
	Tools []string `env:"AGENTPHONE_TOOLS" envSeparator:","`
	// ExcludeTools removes single tools by name.
	ExcludeTools []string `env:"AGENTPHONE_EXCLUDE_TOOLS" envSeparator:","`
	// ReadOnly hides and refuses every write tool, whatever else is set.
	ReadOnly bool `env:"AGENTPHONE_READ_ONLY"`
	// ConfirmMode is auto, strict or off.
	ConfirmMode string `env:"AGENTPHONE_CONFIRM_MODE" envDefault:"auto"`
	// AllowedCountries are the destination regions calls and texts may reach.
	AllowedCountries []string `env:"AGENTPHONE_ALLOWED_COUNTRIES" envSeparator:"," envDefault:"US,CA,PR,VI,GU,AS,MP"`
	// QuietHours is the local-time window for calls and texts ("08:00-21:00"), or "off".
	QuietHours string `env:"AGENTPHONE_QUIET_HOURS" envDefault:"08:00-21:00"`
	// PolicyFile names the operator's policy file (allowlist, denylist, caps).
	PolicyFile string `env:"AGENTPHONE_POLICY_FILE"`
	// AuditLog overrides the audit log path (default <StateDir>/audit.jsonl).
	AuditLog string `env:"AGENTPHONE_AUDIT_LOG"`
	// AuditBodies stores message bodies in the audit log (off: only their hash).
	AuditBodies bool `env:"AGENTPHONE_AUDIT_BODIES"`
	// OperatorPhone receives one-time confirmation codes in strict mode.
	OperatorPhone string `env:"AGENTPHONE_OPERATOR_PHONE"`
	// WebhookListen serves the signed-webhook receiver at this address (off when empty).
	WebhookListen string `env:"AGENTPHONE_WEBHOOK_LISTEN"`
	// SandboxNow pins the sandbox clock's start (RFC 3339); for demos and tests only.
	SandboxNow string `env:"AGENTPHONE_SANDBOX_NOW"`
	// RedisURL (redis:// or rediss://) puts the policy state in a Redis shared by several
	// replicas instead of the state file (see "Running it for a team").
	RedisURL string `env:"AGENTPHONE_REDIS_URL"`
	// RedisPasswordFile names a file holding the Redis password (instead of the URL's).
	RedisPasswordFile string `env:"AGENTPHONE_REDIS_PASSWORD_FILE"`
	// RedisCAFile names a PEM bundle of the CAs that sign the Redis server's certificate
	// (rediss:// only; default: the system's roots).
	RedisCAFile string `env:"AGENTPHONE_REDIS_CA_FILE"`
	// SigningKeyFile names a file holding the key (at least 32 bytes) that signs
	// confirmation tokens; replicas on one Redis must share it. Required with RedisURL.
	SigningKeyFile string `env:"AGENTPHONE_SIGNING_KEY_FILE"`
	// MetricsListen serves /metrics on its own address (no token) instead of on the HTTP
	// listener behind the bearer token.
	MetricsListen string `env:"AGENTPHONE_METRICS_LISTEN"`
	// AllowRemote lets the HTTP transports listen on a non-loopback address (requires
	// AGENTPHONE_HTTP_TOKEN).
	AllowRemote bool `env:"AGENTPHONE_HTTP_ALLOW_REMOTE"`
}

// Environment variable names of the secrets, read by LoadSecrets and never by env.Parse.
const (
	EnvAPIKey        = "AGENTPHONE_API_KEY"
	EnvWebhookSecret = "AGENTPHONE_WEBHOOK_SECRET"
	EnvHTTPToken     = "AGENTPHONE_HTTP_TOKEN"
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

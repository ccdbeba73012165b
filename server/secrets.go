package server

import (
	"fmt"
	"os"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
)

// Secrets are the values that must never be printed. Each is a keyguard.Secret, which
// redacts itself in every format, log and JSON encoding.
type Secrets struct {
	// APIKey authenticates to AgentPhone; it is attached only by the pinned transport.
	APIKey keyguard.Secret
	// WebhookSecret verifies deliveries to the webhook receiver.
	WebhookSecret keyguard.Secret
	// HTTPToken, when set, is the bearer token HTTP clients of this server must present.
	HTTPToken keyguard.Secret
}

// LoadSecrets reads the secrets from the environment (and the key file named in cfg), then
// removes them from this process's environment so no child process or crash dump inherits
// them.
func LoadSecrets(environ []string, cfg Config) (Secrets, error) {
	get := func(name string) string {
		for _, kv := range environ {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
		return ""
	}
	key, err := keyguard.LoadKey(get(EnvAPIKey), cfg.APIKeyFile)
	if err != nil {
		return Secrets{}, fmt.Errorf("read the API key: %w", err)
	}
	s := Secrets{
		APIKey:        key,
		WebhookSecret: keyguard.NewSecret(strings.TrimSpace(get(EnvWebhookSecret))),
		HTTPToken:     keyguard.NewSecret(strings.TrimSpace(get(EnvHTTPToken))),
	}
	for _, name := range []string{EnvAPIKey, EnvWebhookSecret, EnvHTTPToken} {
		_ = os.Unsetenv(name)
	}
	return s, nil
}

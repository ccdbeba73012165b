package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// secretVars are the environment variables that hold secrets. They are handed to the
// re-executed process over a pipe, never left in its environment (see handOffSecrets).
var secretVars = []string{server.EnvAPIKey, server.EnvWebhookSecret, server.EnvHTTPToken}

// handoffEnv names the inherited file descriptor the secrets arrive on in the re-executed
// process. It holds a number, never a secret.
const handoffEnv = "AGENTPHONE_SECRETS_FD"

// maxHandoff bounds the secrets payload (a pipe buffer holds 64 KiB; the writer must not block).
const maxHandoff = 32 << 10

// envValue returns the value of name in environ.
func envValue(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// withoutVars returns environ without the variables named.
func withoutVars(environ []string, names ...string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// takenSecrets returns the non-empty secret variables of environ.
func takenSecrets(environ []string) map[string]string {
	out := map[string]string{}
	for _, name := range secretVars {
		if v := envValue(environ, name); v != "" {
			out[name] = v
		}
	}
	return out
}

// encodeHandoff is the payload written to the pipe.
func encodeHandoff(secrets map[string]string) ([]byte, error) {
	b, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	if len(b) > maxHandoff {
		return nil, fmt.Errorf("the secrets are larger than %d bytes", maxHandoff)
	}
	return b, nil
}

// readHandoff reads the secrets from the inherited descriptor named by AGENTPHONE_SECRETS_FD
// and returns environ with them put back (in this process's memory only) and the marker gone.
func readHandoff(environ []string) ([]string, error) {
	fd, err := strconv.Atoi(envValue(environ, handoffEnv))
	if err != nil || fd < 3 {
		return withoutVars(environ, handoffEnv), fmt.Errorf("%s is not a file descriptor", handoffEnv)
	}
	f := os.NewFile(uintptr(fd), "secrets")
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxHandoff+1))
	if err != nil {
		return withoutVars(environ, handoffEnv), fmt.Errorf("read the secrets handed over: %w", err)
	}
	var secrets map[string]string
	if err := json.Unmarshal(data, &secrets); err != nil {
		return withoutVars(environ, handoffEnv), fmt.Errorf("the secrets handed over are not readable: %w", err)
	}
	_ = os.Unsetenv(handoffEnv)
	out := withoutVars(environ, append([]string{handoffEnv}, secretVars...)...)
	for _, name := range secretVars {
		if v, ok := secrets[name]; ok {
			out = append(out, name+"="+v)
		}
	}
	return out, nil
}

// stderrSecrets lists what the stderr guard must never print: the secret variables' values and
// the value of any other AGENTPHONE_ variable that looks like a credential (a key pasted into
// the wrong variable).
func stderrSecrets(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		isSecret := false
		for _, name := range secretVars {
			isSecret = isSecret || k == name
		}
		if isSecret {
			out = append(out, strings.TrimSpace(v))
			continue
		}
		// Only credential shapes (sk_live_..., whsec_..., AKIA...): a random-looking path is no
		// key, and scrubbing it would eat ordinary words of the logs.
		if strings.HasPrefix(k, "AGENTPHONE_") || k == "XDG_STATE_HOME" {
			if text.RedactCredentials(v, "") != v {
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	return out
}

// stderrScrubber is the stderr guard's scrubber for the known secrets.
func stderrScrubber(secrets []string) *keyguard.Scrubber {
	return keyguard.NewScrubber(secrets...).WithCredentials()
}

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// secretRefreshEvery bounds how often a failed verification may re-read the secrets.
const secretRefreshEvery = time.Minute

// maxHookAgents bounds how many agents' webhooks are read for their secrets and timeouts.
const maxHookAgents = 200

// hookConfig is what the receiver learns from the API about the configured webhooks.
type hookConfig struct {
	project        string            // the project webhook's secret ("" when none)
	agents         map[string]string // agent id -> the secret of the agent's own webhook
	projectTimeout time.Duration
	agentTimeouts  map[string]time.Duration
}

// secretSet holds the signing secrets a delivery may be signed with. A pinned secret
// (AGENTPHONE_WEBHOOK_SECRET) is the only one accepted; otherwise each delivery is verified
// with the secret of the webhook that receives its events: the webhook of the agent it names
// when that agent has its own, else the project webhook (AgentPhone routes an event to one or
// the other, never both). An event for agent A signed with agent B's secret is refused. The
// secrets are re-read from the API after a failed verification at most once a minute (a
// webhook set after start gets a new secret).
type secretSet struct {
	pinned string
	load   func(ctx context.Context) (hookConfig, error)
	clock  clockwork.Clock
	logger *slog.Logger

	mu        sync.Mutex
	cfg       hookConfig
	attempted time.Time // the last read started (success or not): bounds the rate
	loading   bool      // a read is under way; others do not start a second one
}

// refresh re-reads the webhook configuration unless a read started less than a minute ago
// (force ignores that bound, for the load at start). It reports whether it read.
//
// The read runs outside the lock, with its own context: a delivery in progress never waits
// for it, and the client whose forged delivery triggered it cannot cancel it by hanging up.
func (s *secretSet) refresh(_ context.Context, force bool) bool {
	s.mu.Lock()
	now := s.clock.Now()
	if s.loading || (!force && !s.attempted.IsZero() && now.Sub(s.attempted) < secretRefreshEvery) {
		s.mu.Unlock()
		return false
	}
	s.loading, s.attempted = true, now
	s.mu.Unlock()

	cfg, err := s.load(context.Background())

	s.mu.Lock()
	defer s.mu.Unlock()
	s.loading = false
	if err != nil {
		s.logger.Warn("reading the webhook configuration from the API failed; deliveries signed with a new secret are refused until it works", "err", err)
		return false
	}
	s.cfg = cfg
	return true
}

// verify checks a delivery against every known secret. A bad signature re-reads the secrets
// (rate-limited) and tries once more. Errors never contain a secret.
func (s *secretSet) verify(ctx context.Context, h http.Header, body []byte) error {
	err := s.try(h, body)
	if s.pinned != "" || !(errors.Is(err, apiclient.ErrBadSignature) || errors.Is(err, apiclient.ErrNoSecret)) {
		return err
	}
	if !s.refresh(ctx, false) {
		return err
	}
	return s.try(h, body)
}

func (s *secretSet) try(h http.Header, body []byte) error {
	now := s.clock.Now()
	if s.pinned != "" {
		return apiclient.VerifyWebhook(s.pinned, h, body, now)
	}
	agentID := namedAgent(body)
	s.mu.Lock()
	secret, own := s.cfg.agents[agentID]
	if !own || agentID == "" {
		secret = s.cfg.project
	}
	s.mu.Unlock()
	if secret == "" {
		return apiclient.ErrNoSecret
	}
	return apiclient.VerifyWebhook(secret, h, body, now)
}

// namedAgent reads the agentId an (unverified) delivery names, only to choose the secret that
// must have signed it.
func namedAgent(body []byte) string {
	var env struct {
		AgentID string `json:"agentId"`
	}
	if json.Unmarshal(body, &env) != nil {
		return ""
	}
	return env.AgentID
}

// timeout is the voice webhook timeout for an agent (the API default is 30 s).
func (s *secretSet) timeout(agentID string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.cfg.agentTimeouts[agentID]; ok && t > 0 {
		return t
	}
	if s.cfg.projectTimeout > 0 {
		return s.cfg.projectTimeout
	}
	return 30 * time.Second
}

// loadHookConfig reads the project webhook and every agent's own webhook.
func loadHookConfig(api *apiclient.Client) func(ctx context.Context) (hookConfig, error) {
	return func(ctx context.Context) (hookConfig, error) {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		cfg := hookConfig{agents: map[string]string{}, agentTimeouts: map[string]time.Duration{}}
		project, err := api.GetWebhook(ctx)
		if err != nil {
			return cfg, fmt.Errorf("read the project webhook: %w", err)
		}
		if project != nil {
			cfg.project = project.Secret
			cfg.projectTimeout = time.Duration(project.Timeout) * time.Second
		}
		n := 0
		for agent, err := range apiclient.Paginate(ctx, 100, api.ListAgents) {
			if err != nil {
				return cfg, fmt.Errorf("list agents for their webhooks: %w", err)
			}
			if n++; n > maxHookAgents {
				break
			}
			hook, err := api.GetAgentWebhook(ctx, agent.ID)
			if err != nil {
				return cfg, fmt.Errorf("read agent %s's webhook: %w", agent.ID, err)
			}
			if hook != nil {
				cfg.agents[agent.ID] = hook.Secret
				cfg.agentTimeouts[agent.ID] = time.Duration(hook.Timeout) * time.Second
			}
		}
		return cfg, nil
	}
}

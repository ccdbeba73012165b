package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore"
)

// Redis key prefixes: the sandbox keeps its own state, as it keeps its own state dir, so
// trying things out never uses real quota or marks real recipients as known.
const (
	redisPrefix        = "agentphone"
	redisSandboxPrefix = "agentphone-sandbox"
)

// openStore opens the policy store: the Redis at AGENTPHONE_REDIS_URL when set (shared by
// every replica on it), else the state file in the state dir. history (the audit log shows
// past sends) makes a missing state file an error instead of a fresh start.
func (a *App) openStore(ctx context.Context, history bool) (store.Store, error) {
	st, err := OpenStore(ctx, a.cfg, a.clock, history)
	if err == nil && a.cfg.RedisURL != "" {
		a.logger.Info("policy state is shared in Redis")
	}
	return st, err
}

// OpenStore opens the store a server with cfg uses (the admin commands use it too, so that
// `optout add` on a Redis deployment reaches every replica). clock nil means real time.
func OpenStore(ctx context.Context, cfg Config, clock clockwork.Clock, history bool) (store.Store, error) {
	if cfg.RedisURL == "" {
		return store.Open(StoreDir(cfg), store.Options{Clock: clock, RequireExisting: history})
	}
	prefix := redisPrefix
	if cfg.Sandbox {
		prefix = redisSandboxPrefix
	}
	st, err := redisstore.Open(ctx, redisstore.Conn{URL: cfg.RedisURL, PasswordFile: cfg.RedisPasswordFile, CAFile: cfg.RedisCAFile}, redisstore.Options{Clock: clock, Prefix: prefix})
	if err != nil {
		return nil, fmt.Errorf("open the shared state in Redis (AGENTPHONE_REDIS_URL): %w", err)
	}
	return st, nil
}

// minSigningKey is the shortest signing key accepted, in bytes.
const minSigningKey = 32

// signingKey reads AGENTPHONE_SIGNING_KEY_FILE. Replicas on one Redis must share the key
// that signs confirmation tokens, or a token issued by one replica fails on another; so
// with Redis a key file is required. Without Redis and without a file, nil lets the policy
// engine make a random per-process key.
func signingKey(cfg Config) ([]byte, error) {
	if cfg.SigningKeyFile == "" {
		if cfg.RedisURL != "" {
			return nil, errors.New("AGENTPHONE_REDIS_URL is set but AGENTPHONE_SIGNING_KEY_FILE is not: replicas sharing a Redis must " +
				"sign confirmation tokens with one shared key; create it once (head -c 48 /dev/urandom | base64 > signing.key; chmod 600 signing.key) " +
				"and point every replica at it")
		}
		return nil, nil
	}
	b, err := os.ReadFile(cfg.SigningKeyFile)
	if err != nil {
		return nil, fmt.Errorf("AGENTPHONE_SIGNING_KEY_FILE: %w", err)
	}
	key := []byte(strings.TrimRight(string(b), "\r\n"))
	if len(key) < minSigningKey {
		return nil, fmt.Errorf("AGENTPHONE_SIGNING_KEY_FILE %s holds %d bytes; use at least %d random bytes (head -c 48 /dev/urandom | base64)", cfg.SigningKeyFile, len(key), minSigningKey)
	}
	return key, nil
}

// watchSharedInbound hands the inbound events other replicas receive (webhooks delivered
// to them) to this replica's waiting tools and resource subscribers, as if they had come
// here. Only engines shared by replicas (Redis) offer it.
func (a *App) watchSharedInbound() error {
	w, ok := a.store.(store.InboundWatcher)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.closers = append(a.closers, func() error { cancel(); return nil })
	err := w.WatchInbound(ctx, func(in store.Inbound) {
		var e storedEvent
		if err := json.Unmarshal(in.Payload, &e); err != nil {
			a.logger.Warn("an inbound event from another replica does not decode", "seq", in.Seq, "err", err)
			return
		}
		a.events.Publish(e.event())
		a.notifyUpdated(ResourceInbox)
	})
	if err != nil {
		return fmt.Errorf("subscribe to the inbound events of the other replicas: %w", err)
	}
	return nil
}

// recoverEvery is how often a replica on a shared store looks for sends left pending by
// replicas that died (their heartbeat key expired), so they become unknown (still counted,
// audited) while the others keep running, not only when one restarts.
const recoverEvery = 30 * time.Second

// startSharedRecovery runs the periodic recovery on a shared store (Redis). Several
// replicas may run it at once: each entry is recovered, and audited, by exactly one.
func (a *App) startSharedRecovery() {
	if a.cfg.RedisURL == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.closers = append(a.closers, func() error { cancel(); <-done; return nil })
	ticker := a.clock.NewTicker(recoverEvery)
	go func() {
		defer close(done)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.Chan():
				got, err := a.policy.RecoverAbandoned(ctx)
				if err != nil && ctx.Err() == nil {
					a.logger.Warn("recovering the sends of replicas that ended mid-send failed; retrying later", "err", err)
				}
				if len(got) > 0 {
					a.logger.Warn("sends left pending by a replica that ended are now recorded as unknown (they may have been sent and stay counted)", "count", len(got))
				}
				if a.callers != nil {
					// Caller mode: every caller's account, each audited in its own log.
					if err := a.recoverCallerAccounts(ctx); err != nil && ctx.Err() == nil {
						a.logger.Warn("recovering the callers' sends of replicas that ended mid-send failed; retrying later", "err", err)
					}
				}
			}
		}
	}()
}

package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// Readiness and the API key: /readyz asks the AgentPhone API (GET /v1/usage, an
// authenticated read that changes nothing) whether it accepts the operator's key, at most
// once per keyCheckEvery whatever the probe rate, and remembers the answer.
//   - 401 or 403: the key is rejected; not ready until a check succeeds again.
//   - no answer, a timeout, 429 or 5xx: the API is unreachable, not the key's fault; the
//     replica stays ready (the body says so) for keyCheckGrace after the first such failure,
//     then is not ready, so a replica cut off from the API is routed around.
//
// The body never holds the key or any of the API's words: only fixed text and the status.
const (
	keyCheckEvery   = 30 * time.Second
	keyCheckGrace   = 2 * time.Minute
	keyCheckTimeout = 3 * time.Second
)

// keyCheck caches whether the API accepts the key. The zero value is not usable: newKeyCheck.
type keyCheck struct {
	probe func(context.Context) error // one authenticated read of the API
	clock clockwork.Clock

	mu        sync.Mutex // held across a check, so concurrent probes share one
	checked   time.Time  // when the last check ended (zero: never)
	rejected  int        // the status of a rejection (401/403), 0 when not rejected
	failing   time.Time  // when the API stopped answering (zero: it answers)
	lastError string     // fixed text describing the last transient failure
	checks    int        // checks made (tests)
}

func newKeyCheck(probe func(context.Context) error, clock clockwork.Clock) *keyCheck {
	return &keyCheck{probe: probe, clock: clock}
}

// status reports whether the key lets this replica serve, and a line for /readyz's body.
// It asks the API only when the last answer is older than keyCheckEvery.
func (k *keyCheck) status(ctx context.Context) (ready bool, note string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.clock.Now()
	if k.checked.IsZero() || now.Sub(k.checked) >= keyCheckEvery {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyCheckTimeout)
		err := k.probe(ctx)
		cancel()
		k.checks++
		now = k.clock.Now()
		k.checked = now
		k.record(err, now)
	}
	age := now.Sub(k.checked).Round(time.Second)
	switch {
	case k.rejected != 0:
		return false, fmt.Sprintf("api key rejected: AgentPhone answered HTTP %d to an authenticated read (checked %s ago); fix AGENTPHONE_API_KEY", k.rejected, age)
	case !k.failing.IsZero():
		down := now.Sub(k.failing).Round(time.Second)
		if down >= keyCheckGrace {
			return false, fmt.Sprintf("api unreachable for %s (%s); not ready after %s", down, k.lastError, keyCheckGrace)
		}
		return true, fmt.Sprintf("api unreachable for %s (%s); still ready for up to %s", down, k.lastError, keyCheckGrace)
	default:
		return true, fmt.Sprintf("api key accepted (checked %s ago)", age)
	}
}

// record keeps what one check found.
func (k *keyCheck) record(err error, now time.Time) {
	var ae *apiclient.Error
	if errors.As(err, &ae) && ae.Status >= 200 && ae.Status < 300 {
		err = nil // answered 2xx with a body it could not read: the key was accepted
	}
	if err == nil {
		k.rejected, k.failing, k.lastError = 0, time.Time{}, ""
		return
	}
	if errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
		k.rejected, k.failing, k.lastError = ae.Status, time.Time{}, ""
		return
	}
	k.rejected = 0
	if k.failing.IsZero() {
		k.failing = now
	}
	switch {
	case errors.As(err, &ae) && ae.Status > 0:
		k.lastError = fmt.Sprintf("HTTP %d", ae.Status)
	case errors.Is(err, context.DeadlineExceeded):
		k.lastError = fmt.Sprintf("no answer within %s", keyCheckTimeout)
	default:
		k.lastError = "no answer"
	}
}

package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// Webhook receiver settings.
const (
	// WebhookPath is where the receiver accepts AgentPhone deliveries.
	WebhookPath = "/webhooks/agentphone"
	// maxWebhookBody bounds one delivery.
	maxWebhookBody = 256 << 10
	// interimLead is how long before the webhook timeout a held voice turn gets a filler.
	interimLead = 5 * time.Second
	// liveMaxInterims is how many fillers a held turn gets before it is ended politely.
	liveMaxInterims = 2
	// InterimFiller is spoken while the model is still thinking.
	InterimFiller = "One moment, please."
	// LiveGoodbye ends a held turn the model never answered.
	LiveGoodbye = "I'm sorry, I can't continue this call right now. Goodbye."
)

// receiver verifies and dispatches webhook deliveries.
type receiver struct {
	app     *App
	secrets *secretSet
}

// newReceiver builds the receiver; it reads nothing until load is called.
func (a *App) newReceiver() *receiver {
	return &receiver{app: a, secrets: &secretSet{
		pinned: a.secrets.WebhookSecret.Reveal(), load: loadHookConfig(a.api), clock: a.clock,
		logger: a.logger.With("component", "webhooks"),
	}}
}

// WebhookHandler serves POST /webhooks/agentphone: signed AgentPhone deliveries. It reads the
// webhook secrets from the API on its first use when AGENTPHONE_WEBHOOK_SECRET is unset.
func (a *App) WebhookHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(WebhookPath, a.recv.serve)
	return mux
}

func (a *App) startWebhookReceiver(ctx context.Context) (func(), error) {
	if a.recv == nil {
		return nil, errors.New("the webhook receiver is not configured")
	}
	a.recv.secrets.refresh(ctx, true)
	if a.secrets.WebhookSecret.IsZero() {
		a.recv.secrets.mu.Lock()
		n := len(a.recv.secrets.cfg.agents)
		if a.recv.secrets.cfg.project != "" {
			n++
		}
		a.recv.secrets.mu.Unlock()
		if n == 0 {
			a.logger.Warn("no webhook is configured and AGENTPHONE_WEBHOOK_SECRET is unset: every delivery is refused until a webhook points here (set_webhook) or the secret is set")
		}
	}
	ln, err := net.Listen("tcp", a.cfg.WebhookListen)
	if err != nil {
		return nil, fmt.Errorf("listen for webhooks on %s: %w; pick another address with --webhook-listen", a.cfg.WebhookListen, err)
	}
	// Deliveries are small and answered at once: the whole request, body included, must
	// arrive within the read timeout, so a slow sender cannot hold a handler.
	srv := &http.Server{Handler: a.WebhookHandler(), ReadHeaderTimeout: a.cfg.ReadTimeout, ReadTimeout: a.cfg.ReadTimeout,
		IdleTimeout: 2 * time.Minute}
	a.logger.Info("receiving AgentPhone webhooks", "url", "http://"+ln.Addr().String()+WebhookPath)
	fmt.Fprintf(a.stderr, "agentphone-mcp: webhook receiver on http://%s%s (point a tunnel at it)\n", ln.Addr(), WebhookPath)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("webhook receiver stopped", "err", err)
		}
	}()
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}, nil
}

// serve verifies one delivery (signature, timestamp, size, replay) and dispatches it.
func (rv *receiver) serve(w http.ResponseWriter, r *http.Request) {
	log := rv.app.logger.With("component", "webhooks")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "delivery too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the delivery", http.StatusBadRequest)
		return
	}
	if err := rv.secrets.verify(r.Context(), r.Header, body); err != nil {
		log.Warn("webhook delivery refused", "reason", err.Error(), "remote", r.RemoteAddr)
		rv.app.ops.webhooks.WithLabelValues("rejected").Inc()
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	ev, err := apiclient.ParseWebhookEvent(body)
	if err != nil {
		log.Warn("signed webhook delivery is not an event", "err", err)
		http.Error(w, "not a webhook event", http.StatusBadRequest)
		return
	}
	if err := validateEvent(ev, rv.app.cfg.DefaultRegion); err != nil {
		log.Warn("signed webhook delivery refused: a field is malformed", "reason", err.Error())
		http.Error(w, "malformed event: "+err.Error(), http.StatusBadRequest)
		return
	}
	// De-duplicate on the delivery id and on what was signed. The id is not signed, so a
	// replay of a captured delivery under a fresh id would pass an id check alone.
	id := r.Header.Get(apiclient.HeaderWebhookID)
	if id == "" {
		http.Error(w, "missing "+apiclient.HeaderWebhookID, http.StatusBadRequest)
		return
	}
	// The signed content itself is the key: a signature header can be re-spelled (upper-case
	// hex, a list of candidates) without the secret, the timestamp and body cannot.
	signed := sha256.Sum256([]byte(r.Header.Get(apiclient.HeaderTimestamp) + "." + string(body)))
	for _, key := range []string{"id:" + id, "signed:" + hex.EncodeToString(signed[:])} {
		seen, err := rv.app.store.SeenDelivery(r.Context(), key)
		if errors.Is(err, store.ErrUnavailable) {
			// The shared store (Redis) is down: de-duplication across replicas and the
			// opt-out check cannot be recorded. Refuse, so that AgentPhone delivers again
			// later, rather than act on a delivery that may be a duplicate.
			log.Error("webhook delivery refused: the shared state store is unavailable", "err", err)
			rv.app.ops.webhooks.WithLabelValues("unavailable").Inc()
			http.Error(w, "state store unavailable; deliver again later", http.StatusServiceUnavailable)
			return
		}
		if err != nil {
			log.Error("recording a webhook delivery failed", "err", err)
			continue
		}
		if seen {
			rv.app.ops.webhooks.WithLabelValues("duplicate").Inc()
			log.Info("duplicate webhook delivery ignored", "delivery", id)
			writeJSON(w, map[string]any{"ok": true, "duplicate": true})
			return
		}
	}
	// The operator's phone is the confirmation channel: nothing about it is stored, published
	// or held for the model (a call from it is ended politely).
	if rv.app.hider.mentionsOperator(body) {
		log.Info("webhook event about the operator's phone dropped", "event", ev.Event)
		if ev.Voice != nil {
			writeJSON(w, apiclient.VoiceResponse{Text: LiveGoodbye, Hangup: true})
			return
		}
		writeJSON(w, map[string]any{"ok": true})
		return
	}
	rv.app.ops.webhooks.WithLabelValues("accepted").Inc()
	switch {
	case ev.Voice != nil:
		if rv.spokenOptOut(r.Context(), w, ev) {
			return
		}
		rv.holdTurn(w, r, ev)
		return
	case ev.Message != nil:
		rv.message(r.Context(), ev)
	case ev.CallEnded != nil:
		rv.callEnded(r.Context(), ev)
	default:
		log.Debug("webhook event ignored", "event", ev.Event, "channel", ev.Channel)
	}
	writeJSON(w, map[string]any{"ok": true})
}

// message stores an inbound text, checks it for an opt-out and wakes waiting tools.
func (rv *receiver) message(ctx context.Context, ev *apiclient.WebhookEvent) {
	m := ev.Message
	if m.Direction != "" && m.Direction != apiclient.DirectionInbound {
		return
	}
	at := m.ReceivedAt.Time
	if at.IsZero() {
		at = rv.app.clock.Now()
	}
	e := tools.Event{Kind: tools.EventMessage, ID: m.MessageID, ConversationID: m.ConversationID, AgentID: ev.AgentID,
		NumberID: m.NumberID, From: m.From, To: m.To, Body: m.Message, At: at}
	o, err := rv.app.policy.ObserveInbound(ctx, policy.Inbound{From: m.From, Text: m.Message, ID: m.MessageID, At: at})
	if err != nil {
		rv.app.logger.Warn("checking an inbound message for an opt-out failed", "err", err)
	}
	e.OptedOut, e.PossibleOptOut = o.OptedOut, o.Flagged
	rv.record(ctx, e)
}

// callEnded stores an ended call and wakes wait_for_call and listen_call. The event's Body
// carries the call summary.
func (rv *receiver) callEnded(ctx context.Context, ev *apiclient.WebhookEvent) {
	c := ev.CallEnded
	at := c.EndedAt.Time
	if at.IsZero() {
		at = rv.app.clock.Now()
	}
	e := tools.Event{Kind: tools.EventCallEnded, ID: c.CallID, CallID: c.CallID, AgentID: ev.AgentID, NumberID: c.NumberID,
		From: c.From, To: c.To, Body: c.Summary, At: at}
	if rv.app.live != nil {
		rv.app.live.Ended(c.CallID, string(c.Status))
	}
	party := c.To
	if c.Direction == apiclient.DirectionInbound {
		party = c.From
	}
	var said []string
	for _, t := range c.Transcript {
		if t.Role != apiclient.RoleAgent && t.Content != "" {
			said = append(said, t.Content)
		}
	}
	if _, err := rv.app.policy.ObserveCall(ctx, party, c.CallID, said, at); err != nil {
		rv.app.logger.Warn("checking a call for a spoken opt-out failed", "call", c.CallID, "err", err)
	}
	rv.record(ctx, e)
}

// OptOutGoodbye ends a webhook-mode call at once when the caller asks not to be called again.
const OptOutGoodbye = "Understood. You will not be called again. Goodbye."

// spokenOptOut checks one caller utterance of a webhook-mode call: a do-not-call request is
// recorded at the time it is made and the call ends with a confirmation, without waiting for
// the model. It reports whether it answered the turn.
func (rv *receiver) spokenOptOut(ctx context.Context, w http.ResponseWriter, ev *apiclient.WebhookEvent) bool {
	v := ev.Voice
	party := v.To
	if v.Direction == apiclient.DirectionInbound {
		party = v.From
	}
	ch, err := rv.app.policy.ObserveCall(ctx, party, v.CallID, []string{v.Transcript}, rv.app.clock.Now())
	if err != nil {
		rv.app.logger.Warn("checking a caller turn for a spoken opt-out failed", "call", v.CallID, "err", err)
		return false
	}
	if ch == "" || ch == policy.OptOutSMS {
		return false
	}
	writeJSON(w, apiclient.VoiceResponse{Text: OptOutGoodbye, Hangup: true})
	return true
}

func (rv *receiver) record(ctx context.Context, e tools.Event) {
	payload, err := json.Marshal(storeForm(e))
	if err == nil {
		err = rv.app.store.AppendInbound(ctx, string(e.Kind), e.ID, payload, e.At)
	}
	if err != nil {
		rv.app.logger.Error("storing an inbound event failed; it is still handed to waiting tools", "kind", e.Kind, "err", err)
	}
	rv.app.events.Publish(e)
	rv.app.notifyUpdated(ResourceInbox)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

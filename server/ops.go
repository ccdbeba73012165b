package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// Operating endpoints on the HTTP listener, next to /mcp.
const (
	HealthPath  = "/healthz" // alive: the process serves HTTP
	ReadyPath   = "/readyz"  // ready: the store answers, the API accepts the key, and the server is not draining
	MetricsPath = "/metrics" // Prometheus text format
)

// ops holds the server's metrics (one registry per App: no global state) and its
// readiness.
type ops struct {
	reg       *prometheus.Registry
	toolCalls *prometheus.CounterVec
	apiCalls  *prometheus.HistogramVec
	webhooks  *prometheus.CounterVec
	decisions *prometheus.CounterVec
	sessions  prometheus.Gauge
	draining  atomic.Bool
}

func newOps() *ops {
	o := &ops{
		reg: prometheus.NewRegistry(),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentphone_tool_calls_total",
			Help: "MCP tool calls by tool and outcome (ok, tool_error: a result the model sees as an error, error: a protocol error).",
		}, []string{"tool", "outcome"}),
		apiCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agentphone_api_request_duration_seconds",
			Help:    "AgentPhone API requests by method, endpoint (IDs replaced by {id}) and HTTP status (error: no answer).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "endpoint", "status"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentphone_webhook_deliveries_total",
			Help: "Webhook deliveries by result (accepted, duplicate, rejected, unavailable: the shared store could not record it).",
		}, []string{"result"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentphone_policy_decisions_total",
			Help: "Policy decisions that stopped or held a tool call, by decision (deny, confirm: a confirmation was asked, reconfirm: approved but a fresh check needs another) and rule. Allowed writes show as agentphone_tool_calls_total outcome ok.",
		}, []string{"decision", "rule"}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agentphone_open_sessions",
			Help: "MCP sessions open on this replica.",
		}),
	}
	o.reg.MustRegister(o.toolCalls, o.apiCalls, o.webhooks, o.decisions, o.sessions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return o
}

// ledgerCollector reports the ledger entries of the last 24 hours by state, read from the
// store at each scrape (so every replica reports the shared ledger).
type ledgerCollector struct {
	st   store.Store
	now  func() time.Time
	desc *prometheus.Desc
}

func newLedgerCollector(st store.Store, now func() time.Time) *ledgerCollector {
	return &ledgerCollector{st: st, now: now, desc: prometheus.NewDesc("agentphone_ledger_entries",
		"Send-ledger entries created in the last 24 hours, by state (pending, sent, failed, unknown).", []string{"state"}, nil)}
}

func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts := map[store.State]int{store.Pending: 0, store.Sent: 0, store.Failed: 0, store.Unknown: 0}
	// Every account of the store (in caller-key mode each caller's), summed: no label
	// names an account.
	err := store.EachAccount(ctx, c.st, func(_ string, view store.Store) error {
		list, err := view.Entries(ctx, store.EntryFilter{Since: c.now().Add(-24 * time.Hour)})
		for _, e := range list {
			counts[e.State]++
		}
		return err
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), string(s))
	}
}

// toolMiddleware counts tool calls by tool and outcome.
func (o *ops) toolMiddleware() mcpserver.ToolHandlerMiddleware {
	return func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := next(ctx, req)
			outcome := "ok"
			switch {
			case err != nil:
				outcome = "error"
			case res != nil && res.IsError:
				outcome = "tool_error"
			}
			o.toolCalls.WithLabelValues(req.Params.Name, outcome).Inc()
			if res != nil {
				o.countDecision(res.StructuredContent)
			}
			return res, err
		}
	}
}

// countDecision counts the policy decision a tool result reports in its structured
// content: {"status":"denied","rule":...}, {"status":"confirmation_required","rules":[...]}
// or {"status":"needs_confirmation","rules":[...]}. The tools build those as maps; any
// other content (every read's result) is not a decision and costs nothing here.
func (o *ops) countDecision(content any) {
	m, ok := content.(map[string]any)
	if !ok {
		return
	}
	status, _ := m["status"].(string)
	switch status {
	case "denied":
		if rule, _ := m["rule"].(string); rule != "" {
			o.decisions.WithLabelValues("deny", rule).Inc()
		}
	case "confirmation_required":
		for _, id := range ruleIDsOf(m["rules"]) {
			o.decisions.WithLabelValues("confirm", id).Inc()
		}
	case "needs_confirmation":
		for _, id := range ruleIDsOf(m["rules"]) {
			o.decisions.WithLabelValues("reconfirm", id).Inc()
		}
	}
}

// ruleIDsOf reads the rule ids of a decision's "rules": ids, or objects with an "id".
func ruleIDsOf(v any) []string {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var rules []json.RawMessage
	if json.Unmarshal(raw, &rules) != nil {
		return nil
	}
	var ids []string
	for _, r := range rules {
		var id string
		if json.Unmarshal(r, &id) != nil {
			var hit struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(r, &hit)
			id = hit.ID
		}
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// addHooks counts open sessions.
func (o *ops) addHooks(h *mcpserver.Hooks) {
	h.AddOnRegisterSession(func(context.Context, mcpserver.ClientSession) { o.sessions.Inc() })
	h.AddOnUnregisterSession(func(context.Context, mcpserver.ClientSession) { o.sessions.Dec() })
}

// instrument times the API requests made through next. It reads only the method, the path
// and the status: never a header (the key travels in one).
func (o *ops) instrument(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(r)
		status := "error"
		if err == nil {
			status = strconv.Itoa(resp.StatusCode)
		}
		o.apiCalls.WithLabelValues(r.Method, endpointLabel(r.URL.Path), status).Observe(time.Since(start).Seconds())
		return resp, err
	})
}

// apiPathWords are the fixed words of the AgentPhone API's paths (apiclient): every other
// path segment names an object.
var apiPathWords = map[string]bool{
	"v1": true, "agents": true, "voices": true, "calls": true, "contacts": true, "capabilities": true,
	"contact-card": true, "conversations": true, "messages": true, "numbers": true, "reactions": true,
	"register": true, "status": true, "sub-accounts": true, "usage": true, "by-agent": true,
	"by-number": true, "daily": true, "monthly": true, "webhooks": true, "webhook": true,
	"deliveries": true, "all-time": true, "stats": true, "test": true, "transcript": true,
	"stream": true, "recording": true, "end": true,
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// endpointLabel keeps a path's fixed words (apiPathWords) and replaces every other segment
// with {id}, so labels stay few: the ids are the caller's to pick (in caller mode any
// AgentPhone customer), and one made of letters only must not add a series per request.
func endpointLabel(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if i > 0 && !apiPathWords[s] {
			segs[i] = "{id}"
		}
	}
	if len(segs) > 6 {
		segs = append(segs[:6], "...")
	}
	return "/" + strings.Join(segs, "/")
}

// healthHandler answers /healthz: the process is alive.
func healthHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyHandler answers /readyz: 200 when the store answers, the API accepts the key (see
// keyCheck) and the server is not draining, else 503 with the reason (a load balancer then
// routes around this replica). The body's further lines say how the API check stands.
func (a *App) readyHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if a.ops.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("draining: shutting down\n"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.pingStore(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		msg := "state store unavailable"
		if errors.Is(err, store.ErrUnavailable) {
			msg = "state store unavailable: Redis does not answer"
		}
		_, _ = w.Write([]byte(msg + "\n"))
		a.logger.Warn("not ready", "err", err)
		return
	}
	ready, note := a.apiKeyReady(r.Context())
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(note + "\n"))
		a.logger.Warn("not ready", "reason", note)
		return
	}
	body := "ready\n"
	if note != "" {
		body += note + "\n"
	}
	_, _ = w.Write([]byte(body))
}

// apiKeyReady is the API key's part of readiness: always ready (no note) when there is no
// operator key to check.
func (a *App) apiKeyReady(ctx context.Context) (bool, string) {
	if a.keyCheck == nil {
		return true, ""
	}
	return a.keyCheck.status(ctx)
}

// pingStore checks that the store answers: Ping where the engine has it, else a read.
func (a *App) pingStore(ctx context.Context) error {
	if p, ok := a.store.(store.Pinger); ok {
		return p.Ping(ctx)
	}
	_, err := a.store.IsOptedOut(ctx, "+10000000000", store.ChannelSMS)
	return err
}

// metricsHandler serves the registry in the Prometheus text format.
func (a *App) metricsHandler() http.Handler {
	return promhttp.HandlerFor(a.ops.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// MetricsHandler is /metrics (for AGENTPHONE_METRICS_LISTEN and tests).
func (a *App) MetricsHandler() http.Handler { return a.metricsHandler() }

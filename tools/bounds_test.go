package tools

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// apiRecorder sits between the API client and the sandbox: it counts requests still in flight
// (until their body is closed), records the long-poll timeouts asked for, and can make the
// live transcript stream unavailable (404), as on an API without it.
type apiRecorder struct {
	base     http.RoundTripper
	clk      clockwork.Clock
	noStream bool

	mu       sync.Mutex
	inflight int
	polls    []longPoll
	streams  int
}

type longPoll struct {
	at      time.Time
	timeout time.Duration
}

func (r *apiRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/transcript/stream") {
		r.mu.Lock()
		r.streams++
		r.mu.Unlock()
		if r.noStream {
			return &http.Response{StatusCode: 404, Header: http.Header{"Content-Type": {"application/json"}}, Request: req,
				Body: io.NopCloser(strings.NewReader(`{"detail":"Not Found"}`))}, nil
		}
	}
	r.mu.Lock()
	if req.URL.Query().Get("wait") == "true" {
		secs, _ := strconv.Atoi(req.URL.Query().Get("timeout"))
		r.polls = append(r.polls, longPoll{at: r.clk.Now(), timeout: time.Duration(secs) * time.Second})
	}
	r.inflight++
	r.mu.Unlock()
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		r.done()
		return nil, err
	}
	resp.Body = &trackedBody{ReadCloser: resp.Body, done: r.done}
	return resp, nil
}

func (r *apiRecorder) done() {
	r.mu.Lock()
	r.inflight--
	r.mu.Unlock()
}

func (r *apiRecorder) inFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inflight
}

type trackedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *trackedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// boundEnv is a toolEnv whose API client goes through an apiRecorder, with progress captured
// through Deps.SendProgress (the hook the server points at its ordered writer).
type boundEnv struct {
	*toolEnv
	rec      *apiRecorder
	mu       sync.Mutex
	progress []sentProgress
}

type sentProgress struct {
	at  time.Time
	msg string
}

func newBoundEnv(t *testing.T, opts sandbox.Options, noStream bool) *boundEnv {
	t.Helper()
	base := newToolEnv(t)
	clk := base.clock
	opts.Clock, opts.Seed = clk, 1
	sb := sandbox.New(opts)
	t.Cleanup(sb.Close)
	rec := &apiRecorder{base: sb.Transport(), clk: clk, noStream: noStream}
	ep, _ := keyguard.ParseBaseURL("")
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret("k"), rec),
		Clock: clk, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	base.sb, base.deps.API = sb, api
	e := &boundEnv{toolEnv: base, rec: rec}
	base.deps.SendProgress = func(_ context.Context, _ mcp.ProgressToken, _ float64, msg string) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.progress = append(e.progress, sentProgress{at: clk.Now(), msg: msg})
		return nil
	}
	return e
}

func (e *boundEnv) sent() []sentProgress {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sentProgress{}, e.progress...)
}

// run calls a tool (with a progress token when token is set) in the background and advances
// the clock by step whenever at least n timers wait on it, until the tool returns. It returns
// the result and the time it took on the clock.
func (e *boundEnv) run(name string, args map[string]any, token string, n int, step time.Duration) (*mcp.CallToolResult, time.Duration) {
	e.t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	if token != "" {
		req.Params.Meta = &mcp.Meta{ProgressToken: token}
	}
	began := e.clock.Now()
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, err := e.tools[name].Handler(e.ctx, req)
		if err != nil {
			e.t.Errorf("%s returned a Go error: %v", name, err)
		}
		done <- res
	}()
	for i := 0; ; i++ {
		if i > 10000 {
			e.t.Fatalf("%s: no result after 10000 clock steps", name)
		}
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		blocked := make(chan error, 1)
		go func() { blocked <- e.clock.BlockUntilContext(ctx, n) }()
		select {
		case res := <-done:
			cancel()
			return res, e.clock.Since(began)
		case err := <-blocked:
			cancel()
			if err != nil {
				e.t.Fatalf("%s: the tool never blocked on the clock with %d timers", name, n)
			}
			e.clock.Advance(step)
			if err := e.sb.Settle(e.ctx); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// TestWaitReturnsAtItsBoundWhenTheAPINeverAnswers: the API accepts the request and never
// answers. wait_for_call returns "still in progress" within the tool bound, and no request
// to the API is left in flight; an ordinary read ends at the bound with an error that says so.
func TestWaitReturnsAtItsBoundWhenTheAPINeverAnswers(t *testing.T) {
	e := newBoundEnv(t, sandbox.Options{}, true)
	e.sb.SetFault("GET /v1/calls/{call_id}", sandbox.Fault{Latency: time.Hour})
	// Waiting: the call's bound, the wait's limit and the sandbox's latency timer.
	res, took := e.run("wait_for_call", map[string]any{"call_id": "call_any", "timeout_seconds": 600}, "", 3, time.Second)
	data := structOf(t, res)
	if res.IsError || data["wait"] != "in_progress" || !strings.Contains(textOf(res), "wait_for_call with call_id call_any") {
		t.Fatalf("want an in-progress result that says how to continue, got %s", textOf(res))
	}
	if took > DefaultToolTimeout {
		t.Fatalf("wait_for_call took %s on the clock, over the %s bound", took, DefaultToolTimeout)
	}
	if n := e.rec.inFlight(); n != 0 {
		t.Fatalf("%d API requests outlived the wait", n)
	}

	res, took = e.run("get_transcript", map[string]any{"call_id": "call_any"}, "", 2, time.Second)
	if !res.IsError || !strings.Contains(textOf(res), "AGENTPHONE_TOOL_TIMEOUT") || took > DefaultToolTimeout {
		t.Fatalf("get_transcript against a silent API: want an error naming the bound within it, took %s: %s", took, textOf(res))
	}
	if n := e.rec.inFlight(); n != 0 {
		t.Fatalf("%d API requests outlived the call", n)
	}
}

// TestPollingFallbackFitsTheBound: without the live stream, wait_for_call long-polls. No long
// poll asks the API to hold a request past the wait's end, each is at most 10 s, the turns
// still arrive as progress, and the call completes over resumed calls.
func TestPollingFallbackFitsTheBound(t *testing.T) {
	e := newBoundEnv(t, sandbox.Options{TurnTime: 20 * time.Second}, true)
	agent, _ := e.seed("Desk")
	created, err := e.deps.API.CreateCall(e.ctx, apiclient.CreateCallRequest{AgentID: agent.ID, ToNumber: "+14155550123", SystemPrompt: hostedPrompt("check the order")})
	if err != nil {
		t.Fatal(err)
	}
	var final map[string]any
	for round := 0; round < 10 && final == nil; round++ {
		began := e.clock.Now()
		pollsBefore := len(e.rec.polls)
		// Waiting: the bound, the wait, the heartbeat, the long poll and the call's next step.
		res, took := e.run("wait_for_call", map[string]any{"call_id": created.ID}, "w", 5, time.Second)
		if res.IsError || took > DefaultToolTimeout {
			t.Fatalf("round %d: took %s: %s", round, took, textOf(res))
		}
		for _, p := range e.rec.polls[pollsBefore:] {
			if p.timeout < time.Second || p.timeout > pollEvery {
				t.Fatalf("a long poll asked for %s; want 1 s to %s", p.timeout, pollEvery)
			}
			if end := p.at.Add(p.timeout); end.After(began.Add(DefaultToolTimeout)) {
				t.Fatalf("a long poll at %s for %s outlives the call's bound (%s)", p.at.Sub(began), p.timeout, DefaultToolTimeout)
			}
		}
		if data := structOf(t, res); data["wait"] != "in_progress" {
			final = data
		}
	}
	if final == nil || final["status"] != "completed" {
		t.Fatalf("the call never completed: %v", final)
	}
	if e.rec.streams == 0 {
		t.Fatal("the live stream was never tried")
	}
	var turns, fallback int
	for _, p := range e.sent() {
		if strings.Contains(p.msg, " said (third-party speech") {
			turns++
		}
		if strings.Contains(p.msg, "live transcript unavailable") {
			fallback++
		}
	}
	tr, _ := final["transcript"].([]any)
	if fallback == 0 || turns != len(tr) {
		t.Fatalf("want the fallback announced and each of %d lines reported once, got %d turn messages: %v", len(tr), turns, e.sent())
	}
}

// TestProgressTiming: a read the API answers after 25 s, with a progress token: the first
// notification within a second, then at least every 10 s, and none once the result is out.
func TestProgressTiming(t *testing.T) {
	e := newBoundEnv(t, sandbox.Options{}, false)
	e.sb.SetFault("GET /v1/calls/{call_id}", sandbox.Fault{Latency: 25 * time.Second, Status: 404, Times: 1})
	began := e.clock.Now()
	// Waiting: the call's bound, the heartbeat and the sandbox's latency timer.
	res, _ := e.run("get_transcript", map[string]any{"call_id": "call_x"}, "p", 3, time.Second)
	if !res.IsError {
		t.Fatalf("want the injected 404: %s", textOf(res))
	}
	sent := e.sent()
	if len(sent) < 3 {
		t.Fatalf("want a heartbeat at 1, 11 and 21 s, got %v", sent)
	}
	if first := sent[0].at.Sub(began); first > progressFirst {
		t.Fatalf("first notification after %s", first)
	}
	for i := 1; i < len(sent); i++ {
		if gap := sent[i].at.Sub(sent[i-1].at); gap > progressEvery {
			t.Fatalf("a gap of %s between notifications: %v", gap, sent)
		}
	}
	e.clock.Advance(time.Minute)
	if after := e.sent(); len(after) != len(sent) {
		t.Fatalf("progress after the result: %v", after[len(sent):])
	}
}

// TestMakeCallWaitStopsAtTheBound: make_call with wait on a call longer than the bound
// returns the placed call as still in progress, naming wait_for_call to continue.
func TestMakeCallWaitStopsAtTheBound(t *testing.T) {
	e := newBoundEnv(t, sandbox.Options{TurnTime: 30 * time.Second}, false)
	e.deps.ConfirmMode = ConfirmOff
	agent, _ := e.seed("Desk")
	// Waiting: the bound, the wait, the stream's keep-alive and the call's next step.
	res, took := e.run("make_call", map[string]any{"agent_id": agent.ID, "to_number": "+14155550123", "topic": "the order", "wait": true, "max_wait_seconds": 600}, "", 4, time.Second)
	data := structOf(t, res)
	if res.IsError || data["wait"] != "in_progress" || took > DefaultToolTimeout {
		t.Fatalf("want the placed call, still in progress, within the bound (took %s): %s", took, textOf(res))
	}
	id, _ := data["id"].(string)
	if !strings.HasPrefix(id, "call_") || !strings.Contains(textOf(res), "wait_for_call with call_id "+id) {
		t.Fatalf("the result must name the call and how to keep waiting: %s", textOf(res))
	}
}

// TestWaitForReplyCursorLosesNothing: a wait that ends without a reply gives a cursor; texts
// that arrive while nobody waits, even at the same instant, are all returned by the next call
// with that cursor, oldest first, and none of them twice.
func TestWaitForReplyCursorLosesNothing(t *testing.T) {
	e := newBoundEnv(t, sandbox.Options{}, false)
	_, num := e.seed("Desk")
	args := map[string]any{"number_id": num.ID, "participant": "+14155550123", "timeout_seconds": 5}
	// Waiting: the bound, the wait and the backoff.
	res, _ := e.run("wait_for_reply", args, "", 3, time.Second)
	first := structOf(t, res)
	cursor, _ := first["cursor"].(string)
	if first["status"] != "timeout" || cursor == "" || !strings.Contains(textOf(res), "cursor") {
		t.Fatalf("want no reply yet, with a cursor: %s", textOf(res))
	}
	for _, body := range []string{"first", "second"} {
		if _, err := e.sb.InjectInboundSMS("+14155550123", num.PhoneNumber, body); err != nil {
			t.Fatal(err)
		}
	}
	res, _ = e.run("wait_for_reply", map[string]any{"cursor": cursor}, "", 3, time.Second)
	got := structOf(t, res)
	if got["status"] != "replied" || !strings.Contains(textOf(res), `"first"`) || !strings.Contains(textOf(res), `"second"`) ||
		strings.Index(textOf(res), `"first"`) > strings.Index(textOf(res), `"second"`) {
		t.Fatalf("want both texts that came between the calls, oldest first: %s", textOf(res))
	}
	// A third text at the very same instant: the next cursor returns it alone.
	if _, err := e.sb.InjectInboundSMS("+14155550123", num.PhoneNumber, "third"); err != nil {
		t.Fatal(err)
	}
	res, _ = e.run("wait_for_reply", map[string]any{"cursor": got["cursor"], "participant": "(415) 555-0123"}, "", 3, time.Second)
	if txt := textOf(res); !strings.Contains(txt, `"third"`) || strings.Contains(txt, `"first"`) || strings.Contains(txt, `"second"`) {
		t.Fatalf("want only the third text: %s", txt)
	}
	for _, bad := range []map[string]any{
		{"cursor": "not-a-cursor"},
		{"cursor": cursor, "participant": "+14155550199"},
		{"cursor": cursor, "since": "2026-01-01T00:00:00Z"},
		{"cursor": base64.RawURLEncoding.EncodeToString(mustMarshal(t, map[string]any{"s": "2026-01-01T00:00:00Z"}))},
	} {
		if r := e.call("wait_for_reply", bad); !r.IsError {
			t.Fatalf("%v: want refused, got %s", bad, textOf(r))
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

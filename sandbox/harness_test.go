package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

var testStart = time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)

const testKey = "sk_test_sandbox_key"

// harness is one sandbox on a fake clock plus a client reaching it over real HTTP or the
// in-process transport.
type harness struct {
	t    *testing.T
	sb   *Sandbox
	clk  *clockwork.FakeClock
	base string
	hc   *http.Client
}

type mode struct {
	name  string
	setup func(t *testing.T, sb *Sandbox) (base string, hc *http.Client)
}

var modes = []mode{
	{"httptest", func(t *testing.T, sb *Sandbox) (string, *http.Client) {
		srv := httptest.NewServer(sb)
		t.Cleanup(srv.Close)
		return srv.URL, srv.Client()
	}},
	{"transport", func(t *testing.T, sb *Sandbox) (string, *http.Client) {
		return "http://sandbox.invalid", &http.Client{Transport: sb.Transport()}
	}},
}

func newHarness(t *testing.T, m mode, opts Options) *harness {
	t.Helper()
	clk := clockwork.NewFakeClockAt(testStart)
	opts.Clock = clk
	sb := New(opts)
	t.Cleanup(sb.Close)
	base, hc := m.setup(t, sb)
	return &harness{t: t, sb: sb, clk: clk, base: base, hc: hc}
}

// eachMode runs f once over httptest and once over Transport().
func eachMode(t *testing.T, opts Options, f func(t *testing.T, h *harness)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f(t, newHarness(t, m, opts))
		})
	}
}

type resp struct {
	status int
	header http.Header
	raw    []byte
}

func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.raw, &m); err != nil {
		t.Fatalf("response is not a JSON object (status %d): %v: %s", r.status, err, r.raw)
	}
	return m
}

func (r resp) list(t *testing.T) []any {
	t.Helper()
	var l []any
	if err := json.Unmarshal(r.raw, &l); err != nil {
		t.Fatalf("response is not a JSON array (status %d): %v: %s", r.status, err, r.raw)
	}
	return l
}

// do sends a request with the test key. body may be nil, a string (raw) or a value to encode.
func (h *harness) do(method, path string, body any) resp {
	h.t.Helper()
	return h.doCtx(context.Background(), method, path, body, map[string]string{"Authorization": "Bearer " + testKey})
}

func (h *harness) doCtx(ctx context.Context, method, path string, body any, headers map[string]string) resp {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, rd)
	if err != nil {
		h.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, raw: raw}
}

// must checks the status and returns the object body.
func (h *harness) must(status int, method, path string, body any) map[string]any {
	h.t.Helper()
	r := h.do(method, path, body)
	if r.status != status {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.raw)
	}
	return r.obj(h.t)
}

// settle waits for due background work.
func (h *harness) settle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.sb.Settle(ctx); err != nil {
		h.t.Fatalf("settle: %v", err)
	}
}

// advance moves the fake clock and waits for the work that became due.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.clk.Advance(d)
	h.settle()
}

// steps advances n times by d.
func (h *harness) steps(n int, d time.Duration) {
	h.t.Helper()
	for i := 0; i < n; i++ {
		h.advance(d)
	}
}

// agent creates an agent and returns its id.
func (h *harness) agent(fields map[string]any) string {
	h.t.Helper()
	body := map[string]any{"name": "Test Agent"}
	for k, v := range fields {
		body[k] = v
	}
	return h.must(200, "POST", "/v1/agents", body)["id"].(string)
}

// number buys a number for agentID and returns (id, E.164).
func (h *harness) number(agentID string) (string, string) {
	h.t.Helper()
	body := map[string]any{}
	if agentID != "" {
		body["agentId"] = agentID
	}
	n := h.must(200, "POST", "/v1/numbers", body)
	return n["id"].(string), n["phoneNumber"].(string)
}

func keysOf(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// wantKeys fails unless m has exactly the keys want.
func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	sort.Strings(want)
	got := keysOf(m)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s keys:\n got %v\nwant %v", what, got, want)
	}
}

// hook is a webhook receiver that records requests and answers with reply.
type hook struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []hookReq
	reply func(n int, r hookReq) (status int, contentType, body string)
}

type hookReq struct {
	header http.Header
	body   []byte
}

func newHook(t *testing.T, reply func(n int, r hookReq) (int, string, string)) *hook {
	t.Helper()
	hk := &hook{reply: reply}
	if hk.reply == nil {
		hk.reply = func(int, hookReq) (int, string, string) { return 200, "application/json", `{"ok":true}` }
	}
	hk.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := hookReq{header: r.Header.Clone(), body: body}
		hk.mu.Lock()
		hk.reqs = append(hk.reqs, req)
		n := len(hk.reqs)
		hk.mu.Unlock()
		status, ct, out := hk.reply(n, req)
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(hk.srv.Close)
	return hk
}

func (hk *hook) received() []hookReq {
	hk.mu.Lock()
	defer hk.mu.Unlock()
	return append([]hookReq{}, hk.reqs...)
}

func (hk *hook) events(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range hk.received() {
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("webhook body is not JSON: %v", err)
		}
		out = append(out, m)
	}
	return out
}

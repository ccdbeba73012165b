package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
)

// testToken is an HTTP bearer token long enough to be accepted.
const testToken = "s3cret-token-value-0123456789abcdef"

// fakeResolver answers host lookups from a table (unknown names do not resolve).
func fakeResolver(table map[string][]string) lookupHostFunc {
	return func(_ context.Context, host string) ([]string, error) {
		if addrs, ok := table[host]; ok {
			return addrs, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
}

func TestHTTPGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	cases := []struct {
		name         string
		token        string
		allowRemote  bool
		origin, auth string
		want         int
	}{
		{"no token configured, no origin", "", false, "", "", http.StatusNoContent},
		{"loopback origin", "", false, "http://localhost:6274", "", http.StatusNoContent},
		{"foreign origin", "", false, "https://evil.example", "", http.StatusForbidden},
		{"token required, missing", testToken, false, "", "", http.StatusUnauthorized},
		{"token required, wrong", testToken, false, "", "Bearer nope", http.StatusUnauthorized},
		{"token required, right", testToken, false, "", "Bearer " + testToken, http.StatusNoContent},
		{"remote allowed, foreign origin with token", testToken, true, "https://app.example", "Bearer " + testToken, http.StatusNoContent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader("{}"))
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			g := &guard{next: ok, allowRemote: tc.allowRemote, localhostLoopback: true, limiter: newAuthLimiter(clockwork.NewFakeClock())}
			if tc.token != "" {
				g.tokens = []string{tc.token}
			}
			g.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			if strings.Contains(rec.Body.String(), testToken) {
				t.Fatal("the answer echoes the token")
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	cases := []struct {
		addr               string
		allowRemote, token bool
		ok                 bool
	}{
		{"127.0.0.1:8080", false, false, true},
		{"localhost:8080", false, false, true},
		{"[::1]:8080", false, false, true},
		{"0.0.0.0:8080", false, false, false},
		{"0.0.0.0:8080", true, false, false},
		{"0.0.0.0:8080", true, true, true},
		{"no-port", false, false, false},
	}
	for _, tc := range cases {
		err := checkListen(context.Background(), fakeResolver(map[string][]string{"localhost": {"127.0.0.1", "::1"}}), tc.addr, tc.allowRemote, tc.token)
		if (err == nil) != tc.ok {
			t.Errorf("checkListen(%q, remote=%v, token=%v) = %v", tc.addr, tc.allowRemote, tc.token, err)
		}
	}
}

func TestParseHTTPTokens(t *testing.T) {
	t.Parallel()
	if toks, err := ParseHTTPTokens(""); err != nil || toks != nil {
		t.Fatalf("no token: %v %v", toks, err)
	}
	toks, err := ParseHTTPTokens(" " + tokenA + " , " + tokenB + " ")
	if err != nil || len(toks) != 2 || toks[0] != tokenA || toks[1] != tokenB {
		t.Fatalf("two tokens: %v %v", toks, err)
	}
	short := "only-31-characters-long-token-x"
	for _, raw := range []string{short, tokenA + "," + short} {
		_, err := ParseHTTPTokens(raw)
		if err == nil || !strings.Contains(err.Error(), "at least 32") || strings.Contains(err.Error(), short) {
			t.Fatalf("%d-character token: %v (must refuse, say the minimum, and not echo the token)", len(short), err)
		}
	}
}

func TestShortHTTPTokenRefusesToStart(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sandbox, cfg.StateDir, cfg.Transport = true, t.TempDir(), "http"
	_, err = New(context.Background(), cfg, Options{Stderr: io.Discard, Secrets: Secrets{HTTPToken: keyguard.NewSecret("short-token")}})
	if err == nil || !strings.Contains(err.Error(), "AGENTPHONE_HTTP_TOKEN is too short") || strings.Contains(err.Error(), "short-token") {
		t.Fatalf("a short token must stop the server with a clear message: %v", err)
	}
}

func TestWrongTokenBackOff(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(testStart)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	g := &guard{next: ok, tokens: []string{testToken}, localhostLoopback: true, limiter: newAuthLimiter(clk)}
	try := func(from, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader("{}"))
		req.RemoteAddr = from
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		return rec
	}
	const attacker, neighbour = "192.0.2.7:5555", "192.0.2.8:5555"
	for i := 1; i <= 2; i++ {
		if rec := try(attacker, "guess"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d", i, rec.Code)
		}
	}
	// From the third wrong token on, the address waits 1 s, 2 s, 4 s... before its next try
	// is even checked, the right token included.
	waits := []int{1, 2, 4, 8}
	for i, wait := range waits {
		rec := try(attacker, "guess")
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != strconv.Itoa(wait) {
			t.Fatalf("wrong token %d: %d Retry-After %q, want 429 after %d s", i+3, rec.Code, rec.Header().Get("Retry-After"), wait)
		}
		if rec := try(attacker, testToken); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("inside the wait the right token must not be checked either: %d", rec.Code)
		}
		if rec := try(neighbour, testToken); rec.Code != http.StatusNoContent {
			t.Fatalf("another address is not affected: %d", rec.Code)
		}
		clk.Advance(time.Duration(wait) * time.Second)
	}
	if rec := try(attacker, testToken); rec.Code != http.StatusNoContent {
		t.Fatalf("after the wait the right token works: %d", rec.Code)
	}
	if rec := try(attacker, "guess"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("the right token cleared the record, so a new mistake is a plain 401: %d", rec.Code)
	}
	// IPv6 clients are counted by their /64.
	if clientKey("[2001:db8::1]:443") != clientKey("[2001:db8::ffff]:443") || clientKey("[2001:db8::1]:443") == clientKey("[2001:db8:0:1::1]:443") {
		t.Fatal("IPv6 addresses are not grouped by /64")
	}
}

func TestSlowBodyIsCutOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.ReadTimeout = 300 * time.Millisecond })
	c := h.serveRaw("http")
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers promise 200 bytes; 20 arrive, then nothing.
	fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"jsonrpc\":\"2.0\",\"i")
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound, not the expectation
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "not received within 300ms") {
		t.Fatalf("stalled body: %d %s", resp.StatusCode, body)
	}
}

func TestOversizedBodyIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.serveRaw("http")
	resp, body := c.request(http.MethodPost, "/mcp", nil, `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`+strings.Repeat("x", maxRequestBody)+`"}}`)
	mustStatus(t, resp, body, http.StatusRequestEntityTooLarge, "a body over 1 MiB")
}

func TestLocalhostIsLoopbackOnlyIfItResolvesOnlyToLoopback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good := fakeResolver(map[string][]string{"localhost": {"127.0.0.1", "::1"}, "devbox": {"127.0.1.1"}})
	bad := fakeResolver(map[string][]string{"localhost": {"127.0.0.1", "192.168.1.20"}})
	none := fakeResolver(nil)
	cases := []struct {
		lookup lookupHostFunc
		host   string
		want   bool
	}{
		{good, "localhost", true},
		{good, "devbox", true},
		{good, "127.0.0.1", true},
		{good, "::1", true},
		{good, "[::1]", true},
		{bad, "localhost", false},
		{none, "localhost", false},
		{none, "127.0.0.1", true},
		{good, "0.0.0.0", false},
		{good, "10.0.0.1", false},
	}
	for _, tc := range cases {
		if got := loopbackOnly(ctx, tc.lookup, tc.host); got != tc.want {
			t.Errorf("loopbackOnly(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
	if err := checkListen(ctx, bad, "localhost:8080", false, false); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("listening on a localhost that resolves elsewhere must need remote access: %v", err)
	}
	// The Origin check trusts a localhost origin only when localhost is loopback-only.
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, loop := range []bool{true, false} {
		g := &guard{next: ok, localhostLoopback: loop, limiter: newAuthLimiter(clockwork.NewFakeClock())}
		req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader("{}"))
		req.Header.Set("Origin", "http://localhost:6274")
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if want := map[bool]int{true: http.StatusNoContent, false: http.StatusForbidden}[loop]; rec.Code != want {
			t.Errorf("Origin localhost with localhost loopback-only=%v: %d, want %d", loop, rec.Code, want)
		}
	}
}

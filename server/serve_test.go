package server

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
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

package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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
		{"token required, missing", "s3cret-token-value", false, "", "", http.StatusUnauthorized},
		{"token required, wrong", "s3cret-token-value", false, "", "Bearer nope", http.StatusUnauthorized},
		{"token required, right", "s3cret-token-value", false, "", "Bearer s3cret-token-value", http.StatusNoContent},
		{"remote allowed, foreign origin with token", "s3cret-token-value", true, "https://app.example", "Bearer s3cret-token-value", http.StatusNoContent},
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
			guard(ok, tc.token, tc.allowRemote).ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			if strings.Contains(rec.Body.String(), "s3cret-token-value") {
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
		err := checkListen(tc.addr, tc.allowRemote, tc.token)
		if (err == nil) != tc.ok {
			t.Errorf("checkListen(%q, remote=%v, token=%v) = %v", tc.addr, tc.allowRemote, tc.token, err)
		}
	}
}

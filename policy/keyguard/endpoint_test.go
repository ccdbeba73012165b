package keyguard

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		base     string
		host     string
		loopback bool
		errPart  string
	}{
		{in: "", base: "https://api.agentphone.to", host: "api.agentphone.to"},
		{in: "  ", base: "https://api.agentphone.to", host: "api.agentphone.to"},
		{in: "https://api.agentphone.to", base: "https://api.agentphone.to", host: "api.agentphone.to"},
		{in: "https://api.agentphone.to/", base: "https://api.agentphone.to", host: "api.agentphone.to"},
		{in: "https://api.agentphone.to/v1", base: "https://api.agentphone.to", host: "api.agentphone.to"},
		{in: "https://api.agentphone.to/v1/", base: "https://api.agentphone.to", host: "api.agentphone.to"},
		{in: "https://api.agentphone.to:443/v1", base: "https://api.agentphone.to", host: "api.agentphone.to"},
		{in: "HTTPS://API.AgentPhone.TO", base: "https://api.agentphone.to", host: "api.agentphone.to"},
		{in: "https://api.agentphone.ai", base: "https://api.agentphone.ai", host: "api.agentphone.ai"},
		{in: "http://127.0.0.1:8080", base: "http://127.0.0.1:8080", host: "127.0.0.1:8080", loopback: true},
		{in: "http://localhost:3000/v1", base: "http://localhost:3000", host: "localhost:3000", loopback: true},
		{in: "http://[::1]:9000/", base: "http://[::1]:9000", host: "[::1]:9000", loopback: true},
		{in: "https://127.0.0.1:8443", base: "https://127.0.0.1:8443", host: "127.0.0.1:8443", loopback: true},

		{in: "http://api.agentphone.to", errPart: "over https"},
		{in: "https://api.agentphone.to:8443", errPart: "port 443"},
		{in: "https://api.agentphone.to:", errPart: "empty port"},
		{in: "https://api.agentphone.to.evil.example", errPart: "not an AgentPhone API host"},
		{in: "https://sub.api.agentphone.to", errPart: "not an AgentPhone API host"},
		{in: "https://api.agentphone.to.", errPart: "not an AgentPhone API host"},
		{in: "https://evil.example", errPart: "not an AgentPhone API host"},
		{in: "https://user:pw@api.agentphone.to", errPart: "user information"},
		{in: "https://api.agentphone.to@evil.example", errPart: "user information"},
		{in: "https://api.agentphone.to/v2", errPart: "path"},
		{in: "https://api.agentphone.to/v1/agents", errPart: "path"},
		{in: "https://api.agentphone.to/%2e%2e", errPart: "path"},
		{in: "https://api.agentphone.to?x=1", errPart: "query"},
		{in: "https://api.agentphone.to/?", errPart: "query"},
		{in: "https://api.agentphone.to#frag", errPart: "fragment"},
		{in: "https://api.agentphone.to/#", errPart: "fragment"},
		{in: "api.agentphone.to", errPart: "no host"},
		{in: "//api.agentphone.to", errPart: "over https"},
		{in: "ftp://api.agentphone.to", errPart: "over https"},
		{in: "http://127.0.0.1", errPart: "explicit port"},
		{in: "http://127.0.0.2:80", errPart: "not an AgentPhone API host"},
		{in: "http://0.0.0.0:8080", errPart: "not an AgentPhone API host"},
		{in: "http://localhost.evil.example:80", errPart: "not an AgentPhone API host"},
		{in: "http://127.0.0.1:99999", errPart: "port"},
		{in: "http://127.0.0.1:0", errPart: "port"},
		{in: "ws://127.0.0.1:80", errPart: "scheme"},
		{in: "mailto:x@api.agentphone.to", errPart: "no host"},
		{in: "https://api.agentphone.to\n", base: "https://api.agentphone.to", host: "api.agentphone.to"},
		{in: "https://api.agent\nphone.to", errPart: "not a valid URL"},
	}
	for _, tc := range tests {
		ep, err := ParseBaseURL(tc.in)
		if tc.errPart != "" {
			if err == nil {
				t.Errorf("ParseBaseURL(%q) = %+v, want error containing %q", tc.in, ep, tc.errPart)
				continue
			}
			if !strings.Contains(err.Error(), tc.errPart) || !strings.Contains(err.Error(), "allowed: https://api.agentphone.to") {
				t.Errorf("ParseBaseURL(%q) error %q: want %q and the allowed shapes", tc.in, err, tc.errPart)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseBaseURL(%q): %v", tc.in, err)
			continue
		}
		if ep.BaseURL != tc.base || ep.Host != tc.host || ep.Loopback != tc.loopback {
			t.Errorf("ParseBaseURL(%q) = %+v, want {%s %s %v}", tc.in, ep, tc.base, tc.host, tc.loopback)
		}
	}
}

// FuzzParseBaseURL: never panics, and anything accepted is one of the allowed shapes.
func FuzzParseBaseURL(f *testing.F) {
	for _, s := range []string{"", "https://api.agentphone.to/v1", "http://[::1]:9000/", "https://user@api.agentphone.ai",
		"http://localhost:1", "https://api.agentphone.to.evil.example", "https://API.agentphone.ai:443/v1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ep, err := ParseBaseURL(raw)
		if err != nil {
			if ep != (Endpoint{}) {
				t.Fatalf("error with non-zero endpoint %+v", ep)
			}
			return
		}
		switch {
		case ep.BaseURL == "https://api.agentphone.to" && ep.Host == "api.agentphone.to" && !ep.Loopback:
		case ep.BaseURL == "https://api.agentphone.ai" && ep.Host == "api.agentphone.ai" && !ep.Loopback:
		case ep.Loopback:
			u, perr := url.Parse(ep.BaseURL)
			if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" || u.User != nil ||
				!isLoopbackName(u.Hostname()) || u.Port() == "" || u.Host != ep.Host {
				t.Fatalf("accepted loopback endpoint of the wrong shape: %q -> %+v", raw, ep)
			}
		default:
			t.Fatalf("accepted %q as %+v", raw, ep)
		}
		again, err := ParseBaseURL(ep.BaseURL)
		if err != nil || again != ep {
			t.Fatalf("BaseURL %q does not re-parse to itself: %+v %v", ep.BaseURL, again, err)
		}
	})
}

package keyguard

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// The API hosts the key may be sent to.
const (
	DefaultHost = "api.agentphone.to" // used when no base URL is configured
	AltHost     = "api.agentphone.ai" // the newer domain of the same API; operator opt-in
)

// DefaultBaseURL is the base URL used when none is configured.
const DefaultBaseURL = "https://" + DefaultHost

// allowedShapes is quoted in every ParseBaseURL error.
const allowedShapes = "allowed: https://api.agentphone.to or https://api.agentphone.ai (port 443, optional /v1 path), or for local testing http://127.0.0.1:PORT, http://localhost:PORT or http://[::1]:PORT"

// Endpoint is the one API origin the key may be sent to.
type Endpoint struct {
	BaseURL  string // scheme://host[:port], no path: "https://api.agentphone.to"
	Host     string // host[:port] as in a request URL: "api.agentphone.to", "127.0.0.1:8080"
	Loopback bool   // a local test server; the caller must warn on stderr
}

// ParseBaseURL checks a configured base URL. "" means DefaultBaseURL. Accepted: https on port
// 443 to DefaultHost or AltHost, or http/https to 127.0.0.1, localhost or [::1] with an explicit
// port (Loopback is then true). The path may be empty, "/", "/v1" or "/v1/"; userinfo, a query,
// a fragment or any other path is refused. The error says what is allowed.
func ParseBaseURL(raw string) (Endpoint, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Endpoint{BaseURL: DefaultBaseURL, Host: DefaultHost}, nil
	}
	refuse := func(why string) (Endpoint, error) {
		return Endpoint{}, fmt.Errorf("API base URL refused: %s; %s", why, allowedShapes)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return refuse("it is not a valid URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return refuse("it has no host (write it as https://host)")
	}
	if u.User != nil {
		return refuse("it contains user information (user@ or user:password@)")
	}
	if u.RawQuery != "" || u.ForceQuery {
		return refuse("it contains a query (?...)")
	}
	if u.Fragment != "" || u.RawFragment != "" || strings.Contains(raw, "#") {
		return refuse("it contains a fragment (#...)")
	}
	switch u.EscapedPath() {
	case "", "/", "/v1", "/v1/":
	default:
		return refuse("its path must be empty, / or /v1")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return refuse("it has an empty port")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return refuse("its port is not a number from 1 to 65535")
		}
	}
	switch {
	case host == DefaultHost || host == AltHost:
		if scheme != "https" {
			return refuse("the API host must be reached over https")
		}
		if port != "" && port != "443" {
			return refuse("the API host must be reached on port 443")
		}
		return Endpoint{BaseURL: "https://" + host, Host: host}, nil
	case isLoopbackName(host):
		if scheme != "http" && scheme != "https" {
			return refuse("the scheme must be http or https")
		}
		if port == "" {
			return refuse("a loopback base URL needs an explicit port")
		}
		hp := net.JoinHostPort(host, port)
		return Endpoint{BaseURL: scheme + "://" + hp, Host: hp, Loopback: true}, nil
	default:
		return refuse(fmt.Sprintf("host %q is not an AgentPhone API host", host))
	}
}

// isLoopbackName reports whether host is one of the accepted loopback names.
func isLoopbackName(host string) bool {
	return host == "127.0.0.1" || host == "localhost" || host == "::1"
}

// scheme returns the endpoint's URL scheme ("https" or "http").
func (e Endpoint) scheme() string {
	if i := strings.Index(e.BaseURL, "://"); i > 0 {
		return e.BaseURL[:i]
	}
	return ""
}

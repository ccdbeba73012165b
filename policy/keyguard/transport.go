package keyguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// ErrHostNotAllowed is wrapped by every refusal of the pinned transport.
var ErrHostNotAllowed = errors.New("host not allowed for the AgentPhone API key")

// pinnedTransport attaches the key to requests for exactly one origin and refuses all others.
type pinnedTransport struct {
	scheme, hostname, port string // the pinned origin; port is explicit ("443")
	hostField              string // Endpoint.Host, for messages
	baseURL                string
	configErr              error // a bad Endpoint: every request is refused
	key                    Secret
	base                   http.RoundTripper
}

// NewTransport returns the only RoundTripper that ever sees the API key. It sets
// "Authorization: Bearer <key>" on a clone of each request whose scheme, host and port equal
// ep's, that has no userinfo and whose req.Host override (if any) names the same host; any
// Authorization header the caller set is removed. Every other request is refused with an error
// wrapping ErrHostNotAllowed (the error names the host, never the key) and nothing is sent.
// ep is re-validated with ParseBaseURL; an invalid ep refuses everything. A zero key sends no
// Authorization header. base nil means a clone of http.DefaultTransport (which keeps
// ProxyFromEnvironment: over https a proxy only sees a CONNECT tunnel).
func NewTransport(ep Endpoint, key Secret, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			base = dt.Clone()
		} else {
			base = http.DefaultTransport
		}
	}
	t := &pinnedTransport{key: key, base: base}
	parsed, err := ParseBaseURL(ep.BaseURL)
	switch {
	case ep.BaseURL == "":
		t.configErr = errors.New("the endpoint has no base URL; build it with keyguard.ParseBaseURL")
	case err != nil:
		t.configErr = err
	case !strings.EqualFold(parsed.Host, ep.Host) || parsed.Loopback != ep.Loopback:
		t.configErr = errors.New("the endpoint's Host or Loopback does not match its BaseURL; build it with keyguard.ParseBaseURL")
	}
	if t.configErr == nil {
		t.scheme = parsed.scheme()
		t.hostname, t.port = splitHostPort(parsed.Host, t.scheme)
		t.hostField, t.baseURL = parsed.Host, parsed.BaseURL
	}
	return t
}

// NewHTTPClient returns an http.Client whose transport is NewTransport(ep, key, base) and which
// never follows a redirect: a 3xx answer is returned as an error "refusing to follow redirect
// from API host to <host>" and no second request is made.
func NewHTTPClient(ep Endpoint, key Secret, base http.RoundTripper) *http.Client {
	secret := key.Reveal()
	return &http.Client{
		Transport: NewTransport(ep, key, base),
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("refusing to follow redirect from API host to %s", redactIn(req.URL.Host, secret))
		},
	}
}

// RoundTrip implements http.RoundTripper.
func (t *pinnedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.check(req); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, refusal{err}
	}
	out := req.Clone(req.Context())
	out.Header.Del("Authorization")
	if k := t.key.Reveal(); k != "" {
		out.Header.Set("Authorization", "Bearer "+k)
	}
	return t.base.RoundTrip(out)
}

// check returns nil when req targets the pinned origin.
func (t *pinnedTransport) check(req *http.Request) error {
	if t.configErr != nil {
		return fmt.Errorf("keyguard: refusing every request: %v: %w", t.configErr, ErrHostNotAllowed)
	}
	if req == nil || req.URL == nil {
		return fmt.Errorf("keyguard: request has no URL: %w", ErrHostNotAllowed)
	}
	u := req.URL
	target := redactIn(strings.ToLower(u.Scheme)+"://"+u.Host, t.key.Reveal())
	refuse := func(why string) error {
		return fmt.Errorf("keyguard: refusing to send the API key to %s (%s; only %s is allowed): %w", target, why, t.baseURL, ErrHostNotAllowed)
	}
	if !strings.EqualFold(u.Scheme, t.scheme) {
		return refuse("wrong scheme")
	}
	if u.User != nil {
		return refuse("URL has user information")
	}
	if h, p := splitHostPort(u.Host, t.scheme); h != t.hostname || p != t.port {
		return refuse("wrong host or port")
	}
	if req.Host != "" {
		if h, p := splitHostPort(req.Host, t.scheme); h != t.hostname || p != t.port {
			return refuse(fmt.Sprintf("Host header override %q", redactIn(req.Host, t.key.Reveal())))
		}
	}
	return nil
}

// splitHostPort lower-cases the host and makes the port explicit (443 for https, 80 for http).
func splitHostPort(hostport, scheme string) (host, port string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.Trim(hostport, "[]"), ""
	}
	if port == "" {
		switch strings.ToLower(scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(host), port
}

// redactIn replaces secret in s (when secret is non-empty).
func redactIn(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, Redacted)
}

// refusal is a request the guard refused before anything left the process.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

// RequestNotSent reports that nothing was sent, so a refused POST is known not to have
// reached the server (apiclient then does not call it "may have been sent").
func (refusal) RequestNotSent() bool { return true }

package apiclient

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// DefaultBaseURL is the production API host (paths add /v1/...).
const DefaultBaseURL = "https://api.agentphone.ai"

// Defaults used when Options leave a field zero.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultLongPollTimeout = 11 * time.Minute
	DefaultUserAgent       = "agentphone-mcp-go/1"
)

// Retry limits: at most maxTries attempts and retryBudget in all.
const (
	maxTries    = 3
	retryBudget = 30 * time.Second
)

// Options configure a Client.
type Options struct {
	// BaseURL is scheme://host[:port]; a trailing "/" or "/v1" is removed.
	// Empty means DefaultBaseURL.
	BaseURL string
	// HTTPClient carries every request. It must attach the API key (the
	// key guard's client does); this package never sets Authorization.
	// Nil means a plain client. Redirects are never followed either way.
	HTTPClient *http.Client
	// Clock is used for retry waits and the retry budget. Nil means the
	// real clock.
	Clock clockwork.Clock
	// Timeout is the deadline of one ordinary request (default 30 s).
	Timeout time.Duration
	// LongPollTimeout is the deadline of GET call with wait and POST call
	// with waitForCompletion (default 11 min); it is raised to the
	// requested wait plus a margin when that is longer.
	LongPollTimeout time.Duration
	// UserAgent is sent on every request (default DefaultUserAgent).
	UserAgent string
	// Logger receives debug lines about retries (nil = discard).
	Logger *slog.Logger
	// StreamIdleTimeout abandons a transcript stream that sends nothing, not
	// even a heartbeat, for this long on Clock (default 45 s).
	StreamIdleTimeout time.Duration
	// SubAccountID, when set, scopes every request to that sub-account (the
	// X-Sub-Account-Id header); empty means the master account.
	SubAccountID string
	// Redact, when set, is applied to every error body before it is parsed or cut to size,
	// so a secret the API echoes is removed whole, not left as a fragment by a cut (the
	// server passes the key guard's scrubber).
	Redact func(string) string
}

// SubAccountHeader is the header that scopes a request to a sub-account.
const SubAccountHeader = "X-Sub-Account-Id"

// Client is a typed AgentPhone REST client. It is safe for concurrent use.
type Client struct {
	base      string
	hc        *http.Client
	clock     clockwork.Clock
	timeout   time.Duration
	longPoll  time.Duration
	userAgent string
	log       *slog.Logger
	sub       string
	// streamIdle is the transcript stream's silence limit.
	streamIdle time.Duration
	redact     func(string) string
}

// New returns a Client, or an error when BaseURL is not scheme://host[:port].
func New(o Options) (*Client, error) {
	base, err := normalizeBaseURL(o.BaseURL)
	if err != nil {
		return nil, err
	}
	sub := strings.TrimSpace(o.SubAccountID)
	if o.SubAccountID != "" && !validSubAccountID(sub) {
		return nil, fmt.Errorf("apiclient: sub-account id %q is not an id (letters, digits, '_' and '-', at most 128)", bound(o.SubAccountID, 40))
	}
	c := &Client{
		base:      base,
		hc:        o.HTTPClient,
		clock:     o.Clock,
		timeout:   o.Timeout,
		longPoll:  o.LongPollTimeout,
		userAgent: o.UserAgent,
		log:       o.Logger,
		sub:       sub,
		redact:    o.Redact,
	}
	// Never follow a redirect (a 3xx becomes an *Error naming the target
	// host): a shallow copy keeps the caller's transport and timeout.
	hc := http.Client{}
	if o.HTTPClient != nil {
		hc = *o.HTTPClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	if c.clock == nil {
		c.clock = clockwork.NewRealClock()
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.longPoll <= 0 {
		c.longPoll = DefaultLongPollTimeout
	}
	c.streamIdle = o.StreamIdleTimeout
	if c.streamIdle <= 0 {
		c.streamIdle = DefaultStreamIdleTimeout
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// SubAccountID returns the sub-account every request is scoped to ("" = the
// master account).
func (c *Client) SubAccountID() string { return c.sub }

// validSubAccountID accepts the characters ids are made of.
func validSubAccountID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// BaseURL returns the normalised base URL (scheme://host[:port]).
func (c *Client) BaseURL() string { return c.base }

// RecordingURL returns the public recording URL of a call
// (BaseURL/v1/calls/{id}/recording; no auth needed, the call id is the
// token, so treat the URL as sensitive).
func (c *Client) RecordingURL(callID string) string {
	return c.base + "/v1/calls/" + url.PathEscape(callID) + "/recording"
}

func normalizeBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("apiclient: base URL %q is not a URL: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("apiclient: base URL %q must start with https:// (or http:// for a local sandbox)", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("apiclient: base URL %q has no host", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("apiclient: base URL must be scheme://host[:port] without credentials, query or fragment")
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/v1")
	if p != "" {
		return "", fmt.Errorf("apiclient: base URL path %q is not supported: give scheme://host[:port] (the client adds /v1/...)", u.Path)
	}
	return u.Scheme + "://" + u.Host, nil
}

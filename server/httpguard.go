package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// maxRequestBody bounds one HTTP request to the MCP endpoints.
const maxRequestBody = 1 << 20

// MinHTTPTokenLength is the shortest AGENTPHONE_HTTP_TOKEN accepted: 32 characters, such as
// the output of `openssl rand -hex 16` (or -hex 32 for 64).
const MinHTTPTokenLength = 32

// ParseHTTPTokens splits AGENTPHONE_HTTP_TOKEN into its tokens: one, or several separated by
// commas (one per client, so sessions and confirmations can tell clients apart). Each must be
// at least MinHTTPTokenLength characters; the error says which is short without showing it.
func ParseHTTPTokens(raw string) ([]string, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var tokens []string
	for i, t := range strings.Split(raw, ",") {
		t = strings.TrimSpace(t)
		if len(t) < MinHTTPTokenLength {
			which := ""
			if strings.Contains(raw, ",") {
				which = fmt.Sprintf(" (token %d of the comma-separated list)", i+1)
			}
			return nil, fmt.Errorf("%s is too short%s: %d characters, at least %d are required; generate one with `openssl rand -hex 32`",
				EnvHTTPToken, which, len(t), MinHTTPTokenLength)
		}
		tokens = append(tokens, t)
	}
	return tokens, nil
}

// tokenFingerprint identifies a token without revealing it (sessions are bound to it).
func tokenFingerprint(token string) string {
	sum := sha256.Sum256([]byte("agentphone-http-token\x00" + token))
	return hex.EncodeToString(sum[:12])
}

// lookupHostFunc resolves a host name to its addresses (net.DefaultResolver.LookupHost).
type lookupHostFunc func(ctx context.Context, host string) ([]string, error)

// loopbackOnly reports whether host is a loopback IP literal, or a name (such as localhost)
// every address of which is loopback. A name that does not resolve, or resolves to any other
// address, is not loopback: an /etc/hosts that maps localhost elsewhere must not open the
// server to the network.
func loopbackOnly(ctx context.Context, lookup lookupHostFunc, host string) bool {
	host = strings.Trim(host, "[]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.IsLoopback()
	}
	if host == "" || lookup == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := lookup(ctx, host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// checkListen refuses a non-loopback address unless the operator allowed remote access and
// set a bearer token.
func checkListen(ctx context.Context, lookup lookupHostFunc, addr string, allowRemote, haveToken bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q is not host:port: %w", addr, err)
	}
	if loopbackOnly(ctx, lookup, host) {
		return nil
	}
	if !allowRemote {
		return fmt.Errorf("listen address %q is not a loopback address (a host name counts only if every address it resolves to is loopback); "+
			"the HTTP transports listen on 127.0.0.1 unless AGENTPHONE_HTTP_ALLOW_REMOTE=true and AGENTPHONE_HTTP_TOKEN are set", addr)
	}
	if !haveToken {
		return errors.New("remote HTTP access needs AGENTPHONE_HTTP_TOKEN, the bearer token every client must send")
	}
	return nil
}

// Wrong-token back-off: after authFreeAttempts wrong tokens from one client address, that
// address must wait authBaseDelay, then twice as long after each further wrong token (up to
// authMaxDelay), before another attempt is even checked; attempts inside the wait get 429
// with Retry-After. A right token clears the record (not in caller mode, where any caller's
// own key is a right token: there a key known valid skips the wait instead); records expire
// after authForget.
const (
	authFreeAttempts = 3
	authBaseDelay    = time.Second
	authMaxDelay     = 5 * time.Minute
	authForget       = time.Hour
	authMaxClients   = 10000
)

type authFailures struct {
	count int
	until time.Time // no attempt is checked before this
	last  time.Time
}

// authLimiter keeps the wrong-token record per client address (an IPv6 client by its /64).
type authLimiter struct {
	clock   clockwork.Clock
	mu      sync.Mutex
	clients map[string]*authFailures
}

func newAuthLimiter(clock clockwork.Clock) *authLimiter {
	return &authLimiter{clock: clock, clients: map[string]*authFailures{}}
}

// clientKey is the address a request's failures are counted under.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// wait is how long the client must still wait before its next attempt is checked (0: now).
func (l *authLimiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.clients[key]
	if f == nil {
		return 0
	}
	return max(f.until.Sub(l.clock.Now()), 0)
}

// failed records a wrong token and returns the wait now imposed.
func (l *authLimiter) failed(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	f := l.clients[key]
	if f == nil || now.Sub(f.last) > authForget {
		if len(l.clients) >= authMaxClients {
			l.evict(now)
		}
		f = &authFailures{}
		l.clients[key] = f
	}
	f.count++
	f.last = now
	if f.count < authFreeAttempts {
		return 0
	}
	shift := min(f.count-authFreeAttempts, 20)
	d := time.Duration(math.Min(float64(authBaseDelay)*math.Pow(2, float64(shift)), float64(authMaxDelay)))
	f.until = now.Add(d)
	return d
}

// succeeded clears the client's record.
func (l *authLimiter) succeeded(key string) {
	l.mu.Lock()
	delete(l.clients, key)
	l.mu.Unlock()
}

// evict drops expired records, and the oldest half if that is not enough.
func (l *authLimiter) evict(now time.Time) {
	for k, f := range l.clients {
		if now.Sub(f.last) > authForget {
			delete(l.clients, k)
		}
	}
	if len(l.clients) < authMaxClients {
		return
	}
	var cutoff time.Time
	for _, f := range l.clients {
		if cutoff.IsZero() || f.last.Before(cutoff) {
			cutoff = f.last
		}
	}
	for k, f := range l.clients {
		if !f.last.After(cutoff.Add(authForget / 2)) {
			delete(l.clients, k)
		}
	}
}

// guard wraps the MCP endpoints:
//   - a browser page on another origin is refused (unless remote access is allowed);
//   - a configured bearer token is required, with a growing wait after repeated wrong ones;
//   - a POST body is read whole, within readTimeout and maxRequestBody, before any handler
//     sees it (a slow body cannot hold a handler);
//   - the request's context carries the fingerprint of the token it presented;
//   - in caller mode (callers set) the bearer is the caller's own AgentPhone API key: it is
//     verified (callers.admit: remembered verdicts, else one request to the API), a refused
//     key gets 401 and counts as a wrong token, an unverifiable one 503, and the request's
//     context carries the verified caller (its account id is the credential).
type guard struct {
	next              http.Handler
	tokens            []string
	allowRemote       bool
	localhostLoopback bool // "localhost" resolves only to loopback addresses
	readTimeout       time.Duration
	limiter           *authLimiter
	callers           *callers
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && !g.allowRemote && !g.loopbackOrigin(origin) {
		http.Error(w, "forbidden origin", http.StatusForbidden)
		return
	}
	cred := ""
	ctx := r.Context()
	if g.callers != nil {
		// Callers may share an address (a NAT, a proxy): a key already verified is not held
		// back by the wrong keys of others there, and a valid key does not wipe out the wrong
		// ones counted from its address (its owner could otherwise try made-up keys without
		// end by slipping its own in between); they are forgotten after authForget.
		key := clientKey(r.RemoteAddr)
		bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		bearer = strings.TrimSpace(bearer)
		if wait := g.limiter.wait(key); wait > 0 && !g.callers.knownValid(bearer) {
			tooManyAttempts(w, wait)
			return
		}
		ref, err := g.callers.admit(ctx, bearer)
		if err != nil {
			if errors.Is(err, errCallerKeyRefused) {
				if wait := g.limiter.failed(key); wait > 0 {
					tooManyAttempts(w, wait)
					return
				}
			}
			callerAuthFailure(w, err)
			return
		}
		cred = ref.id
		// Requests without a session share enable_toolset choices within the account only.
		ctx = tools.WithScope(withCaller(ctx, ref), "caller-"+ref.id)
	} else if len(g.tokens) > 0 {
		key := clientKey(r.RemoteAddr)
		if wait := g.limiter.wait(key); wait > 0 {
			tooManyAttempts(w, wait)
			return
		}
		token, ok := g.match(r.Header.Get("Authorization"))
		if !ok {
			if wait := g.limiter.failed(key); wait > 0 {
				tooManyAttempts(w, wait)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="agentphone-mcp"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		g.limiter.succeeded(key)
		cred = tokenFingerprint(token)
	}
	if r.Method == http.MethodPost && r.Body != nil {
		body, status, err := readBody(w, r, g.readTimeout)
		if err != nil {
			if status == http.StatusRequestTimeout {
				w.Header().Set("Connection", "close")
			}
			http.Error(w, err.Error(), status)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	g.next.ServeHTTP(w, r.WithContext(withCredential(ctx, cred)))
}

// match compares the Authorization header with every token in constant time.
func (g *guard) match(header string) (string, bool) {
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return "", false
	}
	found := ""
	for _, t := range g.tokens {
		if subtle.ConstantTimeCompare([]byte(got), []byte(t)) == 1 {
			found = t
		}
	}
	return found, found != ""
}

func tooManyAttempts(w http.ResponseWriter, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	http.Error(w, fmt.Sprintf("too many wrong bearer tokens from this address; try again in %d s", secs), http.StatusTooManyRequests)
}

// readBody reads a request body within timeout (a read deadline on the connection) and the
// size bound, then clears the deadline so the response can stream for as long as it needs.
func readBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) ([]byte, int, error) {
	rc := http.NewResponseController(w)
	if timeout > 0 {
		_ = rc.SetReadDeadline(time.Now().Add(timeout)) // not supported by test recorders; harmless
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		var tooBig *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &tooBig):
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body over %d bytes", maxRequestBody)
		case errors.As(err, &ne) && ne.Timeout():
			return nil, http.StatusRequestTimeout, fmt.Errorf("request body not received within %s", timeout)
		default:
			return nil, http.StatusBadRequest, fmt.Errorf("read request body: %v", err)
		}
	}
	return body, 0, nil
}

func (g *guard) loopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return g.localhostLoopback
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

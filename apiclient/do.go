package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Body size limits.
const (
	maxBody      = 8 << 20  // a JSON answer
	maxErrorBody = 64 << 10 // an error answer (only the start matters)
)

// longPollMargin is added to a requested server-side wait.
const longPollMargin = time.Minute

// call describes one API request.
type call struct {
	method string
	path   string // already escaped, starts with /v1/
	query  url.Values
	body   any           // JSON-encoded when non-nil
	wait   time.Duration // >0: a long poll; the deadline becomes LongPollTimeout
	accept string        // default application/json
	stream bool          // the deadline covers only the response headers
	// nullable: a read whose JSON null answer means "none" (GET webhook).
	nullable bool
}

// NotSent is implemented by transport errors that are known to have
// happened before any byte of the request left the process (for example a
// key guard refusing a host). Such requests are safe to retry and are never
// reported as MaybeSent.
type NotSent interface {
	RequestNotSent() bool
}

func (r call) idempotent() bool {
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func (c *Client) deadline(r call) time.Duration {
	if r.wait > 0 {
		return max(c.longPoll, r.wait+longPollMargin)
	}
	return c.timeout
}

// do sends r and decodes a 2xx JSON answer into out (when out is non-nil).
// A read (GET) whose 2xx answer is empty, JSON null (unless r.nullable) or not
// the expected JSON is an *Error of KindUnreadable, never an empty success.
func (c *Client) do(ctx context.Context, r call, out any) error {
	resp, cancel, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer cancel()
	defer resp.Body.Close()
	data, err := readLimited(resp.Body, maxBody)
	if err != nil {
		// The server answered 2xx: the request took effect.
		return c.bodyError(ctx, r, resp, err)
	}
	if r.read() {
		if out == nil {
			return nil
		}
		return decodeRead(r, resp.StatusCode, data, out)
	}
	if out != nil && !r.idempotent() {
		// A POST that acts (send, call, buy) was accepted, but without a readable answer
		// its result is unknown: it may have taken effect.
		if err := unreadableAnswer(r, resp.StatusCode, data, out); err != nil {
			return err
		}
		return nil
	}
	if out == nil || resp.StatusCode == http.StatusNoContent || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("agentphone %s %s: the answer is not the expected JSON (%v): %q", r.method, r.path, err, bound(string(data), maxRawError))
	}
	return nil
}

// read reports a request that only reads (GET).
func (r call) read() bool { return r.method == http.MethodGet }

// decodeRead decodes a read's 2xx answer, refusing a body that is empty, null
// (unless the endpoint answers null for "none") or not the expected JSON.
func decodeRead(r call, status int, data []byte, out any) error {
	unreadable := func(msg string) error {
		return &Error{Kind: KindUnreadable, Status: status, Method: r.method, Path: r.path, Message: msg}
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return unreadable("the body is empty")
	case string(trimmed) == "null" && !r.nullable:
		return unreadable("the body is JSON null")
	}
	if err := json.Unmarshal(trimmed, out); err != nil {
		return unreadable(fmt.Sprintf("not the expected JSON (%v): %q", err, bound(string(trimmed), maxRawError)))
	}
	return nil
}

// bodyError reports a failure while reading a 2xx answer's body.
func (c *Client) bodyError(ctx context.Context, r call, resp *http.Response, err error) *Error {
	e := &Error{Kind: classifyTransport(err), Method: r.method, Path: r.path, Err: fmt.Errorf("reading the answer: %w", err),
		MaybeSent: !r.idempotent()}
	if ctx.Err() != nil {
		e.Kind = KindCancelled
	}
	switch e.Kind {
	case KindTimeout:
		e.Deadline = c.deadline(r)
	case KindTooLarge:
		e.Limit = maxBody
	}
	return e
}

// send performs r with retries and returns a 2xx response whose body the
// caller must read and close, then call cancel.
func (c *Client) send(ctx context.Context, r call) (*http.Response, context.CancelFunc, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, nil, fmt.Errorf("agentphone %s %s: encoding the request body: %w", r.method, r.path, err)
		}
	}
	start := c.clock.Now()
	for attempt := 1; ; attempt++ {
		resp, cancel, sent, err := c.attempt(ctx, r, payload)
		var apiErr *Error
		if err != nil {
			apiErr = c.transportError(ctx, r, resp, err, sent)
			if sent || ctx.Err() != nil || apiErr.Status != 0 {
				return nil, nil, apiErr
			}
		} else if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, cancel, nil
		} else {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			resp.Body.Close()
			cancel()
			apiErr = c.statusError(r, resp, body)
			if !r.idempotent() || !retriable(apiErr) {
				return nil, nil, apiErr
			}
		}
		if attempt >= maxTries {
			return nil, nil, apiErr
		}
		wait := apiErr.RetryAfter
		if wait <= 0 {
			wait = time.Duration(attempt) * time.Second
		}
		if c.clock.Since(start)+wait > retryBudget {
			return nil, nil, apiErr
		}
		c.log.DebugContext(ctx, "agentphone: retrying", "method", r.method, "path", r.path,
			"status", apiErr.Status, "attempt", attempt, "wait", wait)
		if err := c.sleep(ctx, wait); err != nil {
			apiErr.Err = errors.Join(apiErr.Err, err)
			return nil, nil, apiErr
		}
	}
}

func retriable(e *Error) bool {
	switch e.Status {
	case http.StatusTooManyRequests:
		return !nonRetriable429[e.Code]
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return nil
	}
}

// attempt performs one HTTP exchange. sent reports whether the request may
// have reached the server.
func (c *Client) attempt(ctx context.Context, r call, payload []byte) (resp *http.Response, cancel context.CancelFunc, sent bool, err error) {
	d := c.deadline(r)
	var actx context.Context
	var stop func() bool
	if r.stream {
		// Only the wait for the response headers is bounded.
		var cancelFn context.CancelFunc
		actx, cancelFn = context.WithCancel(ctx)
		timer := time.AfterFunc(d, cancelFn)
		stop = timer.Stop
		cancel = cancelFn
	} else {
		actx, cancel = context.WithTimeout(ctx, d)
	}
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	})
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, r.method, u, body)
	if err != nil {
		cancel()
		return nil, nil, false, fmt.Errorf("building the request: %w", err)
	}
	accept := r.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.sub != "" {
		req.Header.Set(SubAccountHeader, c.sub)
	}
	resp, err = c.hc.Do(req)
	if stop != nil {
		if !stop() && err == nil {
			// The header deadline fired just as the answer arrived.
			err = context.DeadlineExceeded
		}
	}
	if err != nil {
		cancel()
		return resp, nil, wrote.Load() || !provablyNotSent(err), err
	}
	return resp, cancel, true, nil
}

// provablyNotSent reports errors that happened before the request left:
// dial and DNS failures, or a transport error implementing NotSent.
func provablyNotSent(err error) bool {
	var ns NotSent
	if errors.As(err, &ns) && ns.RequestNotSent() {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return false
}

func (c *Client) transportError(ctx context.Context, r call, resp *http.Response, err error, sent bool) *Error {
	e := &Error{Method: r.method, Path: r.path}
	if resp != nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// A CheckRedirect refusal still returns the 3xx answer.
		e.Kind = KindRedirect
		e.Status = resp.StatusCode
		e.Location = locationHost(resp.Header.Get("Location"))
		e.Err = unwrapURLError(err)
		return e
	}
	inner := unwrapURLError(err)
	e.Kind = classifyTransport(inner)
	switch {
	case ctx.Err() != nil:
		e.Kind = KindCancelled
		e.Err = fmt.Errorf("cancelled: %w", ctx.Err())
	case e.Kind == KindTimeout:
		e.Deadline = c.deadline(r)
		e.Err = fmt.Errorf("no answer within %s: %w", humanDuration(e.Deadline), inner)
	default:
		e.Err = inner
	}
	if !sent && e.Kind != KindCancelled && e.Kind != KindTimeout {
		// Nothing left this process (a dial or DNS failure, or a guard refusal).
		e.Kind = KindUnreachable
	}
	e.MaybeSent = sent && !r.idempotent()
	return e
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

func (c *Client) statusError(r call, resp *http.Response, body []byte) *Error {
	e := &Error{Kind: KindStatus, Method: r.method, Path: r.path, Status: resp.StatusCode}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Kind = KindRedirect
		e.Location = locationHost(resp.Header.Get("Location"))
		return e
	}
	if c.redact != nil {
		body = []byte(c.redact(string(body))) // before any cut: see Options.Redact
	}
	e.Code, e.Type, e.Message, e.Details = ParseErrorBody(resp.StatusCode, body)
	if e.Message == "" {
		e.Message = strings.ToLower(http.StatusText(resp.StatusCode))
	}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
	// A server error after a POST may hide a completed action.
	e.MaybeSent = !r.idempotent() && resp.StatusCode >= 500
	return e
}

// locationHost returns the host of a Location header (or a bounded raw
// value when it does not parse).
func locationHost(loc string) string {
	if loc == "" {
		return ""
	}
	if u, err := url.Parse(loc); err == nil {
		if u.Host != "" {
			return u.Host
		}
		return "(same host) " + bound(u.Path, 100)
	}
	return bound(loc, 100)
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n <= 0 || n > 86400*7 {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func readLimited(r io.Reader, n int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, n+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > n {
		return nil, &tooLargeError{limit: n}
	}
	return data, nil
}

package apiclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// maxRawError bounds how much of a non-JSON error body is kept.
const maxRawError = 200

// Kind says in one word what went wrong with an API call.
type Kind string

// Failure kinds. Every *Error has one; Error() and What() put it in words.
const (
	// KindStatus: AgentPhone answered with a non-2xx status (Status, Code, Message say which).
	KindStatus Kind = "status"
	// KindRedirect: AgentPhone answered 3xx; redirects are never followed (Location names the host).
	KindRedirect Kind = "redirect"
	// KindTimeout: no complete answer arrived within the deadline (Deadline).
	KindTimeout Kind = "timeout"
	// KindReset: the connection was reset or closed before the answer was complete.
	KindReset Kind = "reset"
	// KindUnreachable: the host could not be reached (DNS failure, connection refused), or the
	// request was refused before it left this process.
	KindUnreachable Kind = "unreachable"
	// KindTLS: the TLS handshake failed (certificate or protocol).
	KindTLS Kind = "tls"
	// KindTooLarge: the answer was larger than the client reads (Limit bytes).
	KindTooLarge Kind = "too_large"
	// KindUnreadable: a 2xx answer whose body is empty, JSON null, or not the expected JSON.
	KindUnreadable Kind = "unreadable"
	// KindCancelled: the caller cancelled the request.
	KindCancelled Kind = "cancelled"
	// KindTransport: any other failure of the connection.
	KindTransport Kind = "transport"
)

// Error is every failure of an API call: a non-2xx answer (Status > 0), a
// transport failure (Status 0, Err set) or a 2xx answer that cannot be read
// (Kind KindUnreadable, Status 2xx). Message and Details are third-party
// text: bounded here, to be sanitised before display.
type Error struct {
	Kind       Kind          // what went wrong; see the Kind constants
	Status     int           // HTTP status; 0 when no answer was received
	Code       string        // e.g. "RATE_LIMIT_EXCEEDED" (envelope shape only)
	Type       string        // e.g. "rate_limit_error"
	Message    string        // the API's message or a bounded raw body; for KindUnreadable and KindTimeout, what was wrong
	Details    []FieldError  // per-field validation problems
	RetryAfter time.Duration // from the Retry-After header, when present
	Method     string        // e.g. "POST"
	Path       string        // e.g. "/v1/messages" (no query)
	// MaybeSent is true for a non-idempotent request (POST, PATCH) that
	// may have reached the server: it was not retried, and the caller
	// must check what happened before trying again.
	MaybeSent bool
	// Location is the redirect target of a 3xx answer.
	Location string
	// Deadline is the time waited, for KindTimeout.
	Deadline time.Duration
	// Limit is the size limit in bytes, for KindTooLarge.
	Limit int64
	// Err is the underlying transport or context error, if any.
	Err error
}

// FieldError is one validation problem. Field is the dotted location
// ("body.agent_id" becomes "agent_id").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Type    string `json:"type,omitempty"`
}

// Error is one clear sentence plus what to do.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "agentphone %s %s: %s", e.Method, e.Path, e.What())
	if e.kind() == KindStatus {
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
		for i, d := range e.Details {
			if i == 0 {
				b.WriteString(" (")
			} else {
				b.WriteString("; ")
			}
			if d.Field != "" {
				b.WriteString(d.Field)
				b.WriteString(": ")
			}
			b.WriteString(d.Message)
			if i == len(e.Details)-1 {
				b.WriteString(")")
			}
		}
	}
	if advice := e.Advice(); advice != "" {
		b.WriteString("; ")
		b.WriteString(advice)
	}
	if e.MaybeSent {
		b.WriteString("; the request may have reached AgentPhone and was NOT retried, to avoid doing it twice: ")
		b.WriteString(checkHint(e.Path))
	}
	return b.String()
}

// kind returns e.Kind, inferring it for an Error built without one.
func (e *Error) kind() Kind {
	switch {
	case e.Kind != "":
		return e.Kind
	case e.Status >= 300 && e.Status < 400:
		return KindRedirect
	case e.Status > 0:
		return KindStatus
	}
	return classifyTransport(e.Err)
}

// What says in one phrase what happened, without the API's own message (which is
// third-party text: show it separately, sanitised). It never reads "HTTP 0".
func (e *Error) What() string {
	switch e.kind() {
	case KindStatus:
		s := fmt.Sprintf("AgentPhone answered HTTP %d %s", e.Status, http.StatusText(e.Status))
		if e.Code != "" {
			s += " [" + e.Code + "]"
		}
		return s
	case KindRedirect:
		s := fmt.Sprintf("AgentPhone answered with a redirect (%d), which is refused", e.Status)
		if e.Location != "" {
			s += fmt.Sprintf(" (to host %q)", e.Location)
		}
		return s
	case KindTimeout:
		if e.Message != "" {
			return e.Message
		}
		if e.Deadline > 0 {
			return "no answer from AgentPhone within " + humanDuration(e.Deadline)
		}
		return "no answer from AgentPhone in time"
	case KindReset:
		return "the connection to AgentPhone was reset before the answer was complete"
	case KindUnreachable:
		if cause := errorCause(e.Err); cause != "" {
			return "AgentPhone could not be reached (" + cause + ")"
		}
		return "AgentPhone could not be reached"
	case KindTLS:
		return "the secure (TLS) connection to AgentPhone failed (" + errorCause(e.Err) + ")"
	case KindTooLarge:
		return "AgentPhone's answer is larger than " + humanBytes(e.Limit) + ", so it was not read"
	case KindUnreadable:
		s := fmt.Sprintf("AgentPhone answered HTTP %d but the body is unusable", e.Status)
		if e.Message != "" {
			s += ": " + e.Message
		}
		return s
	case KindCancelled:
		return "the request was cancelled before AgentPhone answered"
	}
	if cause := errorCause(e.Err); cause != "" {
		return "the request to AgentPhone failed (" + cause + ")"
	}
	return "the request to AgentPhone failed"
}

// Advice says what to do next ("" when there is nothing useful to add).
func (e *Error) Advice() string {
	switch e.kind() {
	case KindStatus:
		return statusHint(e)
	case KindRedirect:
		return "check the base URL (AGENTPHONE_BASE_URL)"
	case KindTimeout:
		if strings.Contains(e.Path, "/transcript/stream") {
			return "the live stream stopped: follow the call by polling instead, or try again"
		}
		return "AgentPhone may be slow or unreachable: try again in a minute"
	case KindReset:
		return "a network or proxy problem, usually brief: try again in a minute"
	case KindUnreachable:
		return "check the network connection and the base URL (AGENTPHONE_BASE_URL), then try again"
	case KindTLS:
		return "check the base URL and the system's certificates; do not disable certificate checks"
	case KindTooLarge:
		return "ask for less (a smaller limit or a shorter time range)"
	case KindUnreadable:
		return "this is not a valid answer: try again, and if it persists report it to AgentPhone support"
	case KindCancelled:
		return ""
	}
	return "try again in a minute"
}

// Unwrap returns the underlying transport or context error.
func (e *Error) Unwrap() error { return e.Err }

func statusHint(e *Error) string {
	if hint, ok := codeHints[e.Code]; ok {
		return hint
	}
	switch e.Status {
	case http.StatusUnauthorized:
		return "check the API key (AGENTPHONE_API_KEY)"
	case http.StatusForbidden:
		return "the API key may not do this (or the sub-account in AGENTPHONE_SUB_ACCOUNT_ID is not yours)"
	case http.StatusNotFound:
		return "check the id (list the resource to find valid ids)"
	case http.StatusConflict:
		return "it conflicts with what exists (a duplicate, a limit, or a busy line): check the current state before trying again"
	case http.StatusPaymentRequired:
		return "the account balance is too low: the operator adds credit in the AgentPhone dashboard"
	case http.StatusTooManyRequests:
		if e.RetryAfter > 0 {
			return "rate limited: retry after " + humanDuration(e.RetryAfter)
		}
		return "rate limited: wait a minute before retrying"
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return "AgentPhone is temporarily unavailable: try again later"
	}
	if e.Status >= 500 {
		return "AgentPhone had a server error: try again in a minute"
	}
	return ""
}

// codeHints are what to do for the API's error codes whose meaning is known. The 429 codes
// among them are the non-retriable outreach limits (see nonRetriable429).
var codeHints = map[string]string{
	"OUTBOUND_LIMIT_REACHED":         "the account's outbound limit is reached; do not retry now (the limit resets later; the AgentPhone dashboard shows it)",
	"NEW_CONVERSATION_LIMIT_REACHED": "the line's daily limit of new conversations is reached; do not retry now: write only to people who already wrote, or wait until tomorrow",
	"CONVERSATION_STREAK_LIMIT":      "too many messages were sent in this conversation without a reply; do not retry now: wait for the recipient to answer",
	"CONVERSATION_AWAITING_REPLY":    "this conversation is waiting for the recipient's reply; do not retry now: send again only after they answer",
	"CONVERSATION_INACTIVE":          "this conversation is inactive and takes no more outreach; do not retry now: wait for the recipient to write first",
	"INBOUND_ONLY":                   "this line can only answer people who wrote to it first; it cannot start a conversation: do not retry",
	"INSUFFICIENT_BALANCE":           "the account balance is too low: the operator adds credit in the AgentPhone dashboard",
	"VALIDATION_ERROR_NUMBER_LIMIT":  "the account holds as many numbers as it may: release one first, or ask AgentPhone to raise the limit",
	"RATE_LIMIT_EXCEEDED":            "rate limited: wait before retrying",
}

// humanDuration renders d as "30 s", "2 min" or "1 h 5 min" (whole units).
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < 2*time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	}
	h := int(d / time.Hour)
	m := int((d % time.Hour).Round(time.Minute) / time.Minute)
	if m == 0 {
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

// humanBytes renders n as "8 MB", "64 KB" or "512 bytes" (binary units).
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkHint says how to find out whether a maybe-sent request took effect.
func checkHint(path string) string {
	switch {
	case strings.HasPrefix(path, "/v1/messages"):
		return "list the recent messages of the number or conversation before retrying"
	case strings.HasPrefix(path, "/v1/calls"):
		return "list recent calls (GET /v1/calls) before retrying"
	case strings.HasPrefix(path, "/v1/numbers"):
		return "list your numbers (GET /v1/numbers) before retrying"
	case strings.Contains(path, "/webhook"):
		return "get the webhook configuration before retrying"
	case strings.HasPrefix(path, "/v1/agents"):
		return "list agents (GET /v1/agents) before retrying"
	case strings.HasPrefix(path, "/v1/contacts"):
		return "list contacts (GET /v1/contacts) before retrying"
	case strings.HasPrefix(path, "/v1/conversations"):
		return "get the conversation before retrying"
	}
	return "check the resource's current state before retrying"
}

// nonRetriable429 are 429 codes that must not be retried automatically.
var nonRetriable429 = map[string]bool{
	"CONVERSATION_STREAK_LIMIT":      true,
	"CONVERSATION_AWAITING_REPLY":    true,
	"CONVERSATION_INACTIVE":          true,
	"OUTBOUND_LIMIT_REACHED":         true,
	"NEW_CONVERSATION_LIMIT_REACHED": true,
}

// ParseErrorBody fills Code, Type, Message and Details from an error body
// in either known shape ({"detail": [...] | "msg"} or {"error": {...}}).
// A body that is neither yields a bounded raw Message. It never panics.
func ParseErrorBody(status int, body []byte) (code, typ, message string, details []FieldError) {
	trimmed := bytes.TrimSpace(body)
	var env struct {
		Detail  json.RawMessage `json:"detail"`
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &env) == nil {
		// Envelope: {"error":{message,code,type,details}} or {"error":"text"}.
		if len(env.Error) > 0 {
			var inner struct {
				Message string       `json:"message"`
				Code    string       `json:"code"`
				Type    string       `json:"type"`
				Details []FieldError `json:"details"`
			}
			if json.Unmarshal(env.Error, &inner) == nil {
				code, typ, message = inner.Code, inner.Type, inner.Message
				details = inner.Details
			} else if s, ok := jsonString(env.Error); ok {
				message = s
			}
		}
		// FastAPI: {"detail":"msg"} or {"detail":[{loc,msg,type}]}.
		if len(env.Detail) > 0 {
			if s, ok := jsonString(env.Detail); ok {
				if message == "" {
					message = s
				}
			} else {
				var items []struct {
					Loc  []any  `json:"loc"`
					Msg  string `json:"msg"`
					Type string `json:"type"`
				}
				if json.Unmarshal(env.Detail, &items) == nil && len(details) == 0 {
					for _, it := range items {
						details = append(details, FieldError{Field: locField(it.Loc), Message: it.Msg, Type: it.Type})
					}
					if message == "" && len(items) > 0 {
						message = "validation failed"
					}
				}
			}
		}
		if message == "" {
			if s, ok := jsonString(env.Message); ok {
				message = s
			}
		}
		if message != "" || code != "" || len(details) > 0 {
			return code, typ, bound(message, 1000), boundDetails(details)
		}
	}
	if len(trimmed) == 0 {
		return "", "", "", nil
	}
	return "", "", "unexpected response body: " + bound(string(trimmed), maxRawError), nil
}

func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// locField turns ["body","agent_id"] into "agent_id" and ["query","limit",0]
// into "limit.0"; the leading body/query/path part is dropped.
func locField(loc []any) string {
	parts := make([]string, 0, len(loc))
	for i, p := range loc {
		s := fmt.Sprint(p)
		if i == 0 && len(loc) > 1 && (s == "body" || s == "query" || s == "path" || s == "header") {
			continue
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ".")
}

// bound cuts s to at most n bytes on a rune boundary, marking the cut.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func boundDetails(d []FieldError) []FieldError {
	const maxDetails = 20
	if len(d) > maxDetails {
		d = d[:maxDetails]
	}
	for i := range d {
		d[i].Field = bound(d[i].Field, 200)
		d[i].Message = bound(d[i].Message, 500)
		d[i].Type = bound(d[i].Type, 100)
	}
	return d
}

// asError returns the *Error inside err, if any.
func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// StatusOf returns the HTTP status of an API error, or 0.
func StatusOf(err error) int {
	if e, ok := asError(err); ok {
		return e.Status
	}
	return 0
}

// IsNotFound reports a 404 (not found or not yours).
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsUnauthorized reports a 401 (missing or invalid API key).
func IsUnauthorized(err error) bool { return StatusOf(err) == http.StatusUnauthorized }

// IsForbidden reports a 403.
func IsForbidden(err error) bool { return StatusOf(err) == http.StatusForbidden }

// IsConflict reports a 409 (duplicate contact, number limit, busy line).
func IsConflict(err error) bool { return StatusOf(err) == http.StatusConflict }

// IsValidation reports a 422 or a VALIDATION_ERROR code.
func IsValidation(err error) bool {
	e, ok := asError(err)
	return ok && (e.Status == http.StatusUnprocessableEntity || strings.HasPrefix(e.Code, "VALIDATION_ERROR"))
}

// IsRateLimited reports a 429.
func IsRateLimited(err error) bool { return StatusOf(err) == http.StatusTooManyRequests }

// IsInsufficientBalance reports a 402 or INSUFFICIENT_BALANCE.
func IsInsufficientBalance(err error) bool {
	e, ok := asError(err)
	return ok && (e.Status == http.StatusPaymentRequired || e.Code == "INSUFFICIENT_BALANCE")
}

// IsMaybeSent reports a non-idempotent request that may have taken effect.
func IsMaybeSent(err error) bool {
	e, ok := asError(err)
	return ok && e.MaybeSent
}

// IsRedirect reports a refused 3xx answer.
func IsRedirect(err error) bool {
	s := StatusOf(err)
	return s >= 300 && s < 400
}

// IsTemporary reports an error worth retrying later by the caller: 429
// (except the outreach-limit codes), 502, 503, 504, or a transport error
// that is known not to have reached the server.
func IsTemporary(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	switch e.Status {
	case http.StatusTooManyRequests:
		return !nonRetriable429[e.Code]
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return !e.MaybeSent
	case 0:
		return !e.MaybeSent && e.Err != nil && e.kind() != KindCancelled
	}
	return false
}

// IsOutreachLimit reports a 429 whose code says an outreach limit is reached
// (OUTBOUND_LIMIT_REACHED and the iMessage conversation limits): retrying
// soon cannot succeed.
func IsOutreachLimit(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == http.StatusTooManyRequests && nonRetriable429[e.Code]
}

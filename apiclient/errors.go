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

// Error is every failure of an API call: a non-2xx answer (Status > 0) or
// a transport failure (Status 0, Err set). Message and Details are
// third-party text: bounded here, to be sanitised before display.
type Error struct {
	Status     int           // HTTP status; 0 when no answer was received
	Code       string        // e.g. "RATE_LIMIT_EXCEEDED" (envelope shape only)
	Type       string        // e.g. "rate_limit_error"
	Message    string        // the API's message, or a bounded raw body
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
	fmt.Fprintf(&b, "agentphone %s %s", e.Method, e.Path)
	switch {
	case e.Status >= 300 && e.Status < 400:
		fmt.Fprintf(&b, ": redirect (%d) refused", e.Status)
		if e.Location != "" {
			fmt.Fprintf(&b, " (to host %q)", e.Location)
		}
		b.WriteString("; check the base URL")
	case e.Status > 0:
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
		if e.Code != "" {
			fmt.Fprintf(&b, " [%s]", e.Code)
		}
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
		if hint := statusHint(e); hint != "" {
			b.WriteString("; ")
			b.WriteString(hint)
		}
	default:
		b.WriteString(": request failed")
		if e.Err != nil {
			b.WriteString(": ")
			b.WriteString(e.Err.Error())
		}
	}
	if e.MaybeSent {
		b.WriteString("; the request may have reached AgentPhone and was NOT retried, to avoid doing it twice: ")
		b.WriteString(checkHint(e.Path))
	}
	return b.String()
}

// Unwrap returns the underlying transport or context error.
func (e *Error) Unwrap() error { return e.Err }

func statusHint(e *Error) string {
	switch e.Status {
	case http.StatusUnauthorized:
		return "check the API key (AGENTPHONE_API_KEY)"
	case http.StatusNotFound:
		return "check the id (list the resource to find valid ids)"
	case http.StatusTooManyRequests:
		if e.RetryAfter > 0 {
			return fmt.Sprintf("rate limited: retry after %s", e.RetryAfter.Round(time.Second))
		}
		if nonRetriable429[e.Code] {
			return "an outreach limit was reached: do not retry now"
		}
		return "rate limited: wait before retrying"
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return "AgentPhone is temporarily unavailable: try again later"
	}
	return ""
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
		return !e.MaybeSent && e.Err != nil
	}
	return false
}

package apiclient

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestErrorResponses(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000)
	cases := []struct {
		name       string
		status     int
		body       string
		fixture    string
		header     map[string]string
		wantCode   string
		wantType   string
		wantMsg    string // substring of Message
		wantFields []FieldError
		wantRetry  time.Duration
		helper     func(error) bool
		inError    []string // substrings of Error()
	}{
		{name: "422 FastAPI detail list", status: 422, fixture: "error_validation.json",
			wantMsg: "validation failed",
			wantFields: []FieldError{{Field: "agent_id", Message: "field required", Type: "value_error.missing"},
				{Field: "limit", Message: "ensure this value is less than or equal to 100", Type: "value_error.number.not_le"}},
			helper: IsValidation, inError: []string{"422", "agent_id: field required", "POST /v1/messages"}},
		{name: "404 detail string", status: 404, fixture: "error_detail_string.json",
			wantMsg: "Agent not found", helper: IsNotFound, inError: []string{"404 Not Found", "Agent not found", "check the id"}},
		{name: "envelope", status: 400, fixture: "error_envelope.json",
			wantCode: "RATE_LIMIT_EXCEEDED", wantType: "rate_limit_error", wantMsg: "Rate limit exceeded. Limit: 5 requests per 3600s",
			wantFields: []FieldError{{Field: "country", Message: "unsupported", Type: "value_error"}},
			inError:    []string{"[RATE_LIMIT_EXCEEDED]", "country: unsupported"}},
		{name: "both shapes", status: 402, body: `{"detail":"Need $3.00","error":{"message":"Need $3.00","code":"INSUFFICIENT_BALANCE","type":"billing"}}`,
			wantCode: "INSUFFICIENT_BALANCE", wantType: "billing", wantMsg: "Need $3.00", helper: IsInsufficientBalance},
		{name: "401 empty body", status: 401, body: "", wantMsg: "unauthorized", helper: IsUnauthorized,
			inError: []string{"check the API key"}},
		{name: "502 html", status: 502, body: "<html><body>Bad gateway</body></html>",
			wantMsg: "unexpected response body: <html><body>Bad gateway</body></html>"},
		{name: "malformed JSON bounded", status: 500, body: `{"detail": ` + long,
			wantMsg: "unexpected response body: {\"detail\": xxx"},
		{name: "message key only", status: 409, body: `{"message":"Contact exists"}`, wantMsg: "Contact exists", helper: IsConflict},
		{name: "error string", status: 403, body: `{"error":"WHATSAPP_NOT_ENABLED"}`, wantMsg: "WHATSAPP_NOT_ENABLED", helper: IsForbidden},
		{name: "429 retry-after", status: 429, body: `{"detail":"slow down"}`, header: map[string]string{"Retry-After": "120"},
			wantMsg: "slow down", wantRetry: 120 * time.Second, helper: IsRateLimited, inError: []string{"retry after 2 min"}},
		{name: "429 non-retriable", status: 429, body: `{"error":{"code":"CONVERSATION_AWAITING_REPLY","message":"wait for reply"}}`,
			wantCode: "CONVERSATION_AWAITING_REPLY", wantMsg: "wait for reply", inError: []string{"do not retry"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tc.body)
			if tc.fixture != "" {
				body = fixture(t, tc.fixture)
			}
			c, _ := newTestClient(t, nil, reply{status: tc.status, body: body, header: tc.header})
			_, err := c.SendMessage(t.Context(), SendMessageRequest{AgentID: "agt_1", ToNumber: "+15550001111", Body: "x"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			eq(t, "status", e.Status, tc.status)
			eq(t, "code", e.Code, tc.wantCode)
			eq(t, "type", e.Type, tc.wantType)
			if !strings.Contains(e.Message, tc.wantMsg) {
				t.Errorf("message %q does not contain %q", e.Message, tc.wantMsg)
			}
			if len(e.Message) > 1100 {
				t.Errorf("message not bounded: %d bytes", len(e.Message))
			}
			eq(t, "details", len(e.Details), len(tc.wantFields))
			for i := range tc.wantFields {
				if i < len(e.Details) && e.Details[i] != tc.wantFields[i] {
					t.Errorf("detail %d = %+v, want %+v", i, e.Details[i], tc.wantFields[i])
				}
			}
			eq(t, "retryAfter", e.RetryAfter, tc.wantRetry)
			eq(t, "method", e.Method, "POST")
			eq(t, "path", e.Path, "/v1/messages")
			eq(t, "maybeSent", e.MaybeSent, tc.status >= 500)
			if tc.helper != nil && !tc.helper(err) {
				t.Errorf("helper does not recognise %v", err)
			}
			msg := err.Error()
			for _, s := range tc.inError {
				if !strings.Contains(msg, s) {
					t.Errorf("Error() %q lacks %q", msg, s)
				}
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"5", 5 * time.Second}, {"1.5", 1500 * time.Millisecond}, {"-3", 0}, {"abc", 0},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0},
		{"99999999", 0},
	}
	for _, tc := range cases {
		eq(t, "Retry-After "+tc.in, parseRetryAfter(tc.in, now), tc.want)
	}
}

func TestRedirectIsError(t *testing.T) {
	t.Parallel()
	c, srv := newTestClient(t, nil, reply{status: 302, header: map[string]string{"Location": "https://evil.example.net/steal"}})
	_, err := c.GetAgent(t.Context(), "agt_1")
	if !IsRedirect(err) {
		t.Fatalf("err = %v, want a redirect error", err)
	}
	if !strings.Contains(err.Error(), "evil.example.net") {
		t.Errorf("error %q does not name the Location host", err)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("%d requests, want 1 (no follow, no retry)", n)
	}
}

func TestErrorsAsThroughWrapping(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, nil, reply{status: 404, body: []byte(`{"detail":"nope"}`)})
	_, err := c.GetNumber(t.Context(), "num_1")
	wrapped := errors.Join(errors.New("tool failed"), err)
	if !IsNotFound(wrapped) {
		t.Errorf("IsNotFound does not see through wrapping: %v", wrapped)
	}
	if IsTemporary(wrapped) || IsRateLimited(wrapped) {
		t.Errorf("404 classified as temporary/rate limited")
	}
}

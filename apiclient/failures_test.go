package apiclient

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestReadsRefuseUnusableBodies: a read's 2xx answer that is empty, null or not the expected
// JSON is an *Error of KindUnreadable, never an empty success.
func TestReadsRefuseUnusableBodies(t *testing.T) {
	t.Parallel()
	reads := map[string]func(context.Context, *Client) error{
		"ListNumberMessages": func(ctx context.Context, c *Client) error {
			_, err := c.ListNumberMessages(ctx, "num_1", CursorParams{})
			return err
		},
		"ListConversationMessages": func(ctx context.Context, c *Client) error {
			_, err := c.ListConversationMessages(ctx, "conv_1", CursorParams{})
			return err
		},
		"ListAgents": func(ctx context.Context, c *Client) error { _, err := c.ListAgents(ctx, ListParams{}); return err },
		"ListCalls":  func(ctx context.Context, c *Client) error { _, err := c.ListCalls(ctx, ListCallsParams{}); return err },
		"GetUsage":   func(ctx context.Context, c *Client) error { _, err := c.GetUsage(ctx); return err },
		"GetAgent":   func(ctx context.Context, c *Client) error { _, err := c.GetAgent(ctx, "agt_1"); return err },
		"ListVoices": func(ctx context.Context, c *Client) error { _, err := c.ListVoices(ctx); return err },
		"GetUsageByNumber": func(ctx context.Context, c *Client) error {
			_, err := c.GetUsageByNumber(ctx)
			return err
		},
	}
	bodies := map[string]struct {
		status int
		body   string
		lists  bool // only list answers can tell {} from a real answer
	}{
		"empty":         {200, "", false},
		"whitespace":    {200, " \n", false},
		"null":          {200, "null", false},
		"html":          {200, "<html>maintenance</html>", false},
		"truncated":     {200, `{"data":[{"id":"x"`, false},
		"no content":    {204, "", false},
		"empty object":  {200, "{}", true},
		"data null":     {200, `{"data":null}`, true},
		"data not list": {200, `{"data":{"id":"x"}}`, true},
	}
	for name, read := range reads {
		for bname, b := range bodies {
			list := strings.HasPrefix(name, "List") || name == "GetUsage" || name == "GetUsageByNumber"
			if b.lists && !list {
				continue
			}
			t.Run(name+"/"+bname, func(t *testing.T) {
				t.Parallel()
				c, _ := newTestClient(t, nil, reply{status: b.status, body: []byte(b.body)})
				err := read(t.Context(), c)
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v (%T), want *Error", err, err)
				}
				eq(t, "kind", e.Kind, KindUnreadable)
				if e.MaybeSent {
					t.Error("a read is never MaybeSent")
				}
				msg := err.Error()
				for _, want := range []string{"body is unusable", "try again"} {
					if !strings.Contains(msg, want) {
						t.Errorf("error %q lacks %q", msg, want)
					}
				}
				if strings.Contains(msg, "HTTP 0") || strings.HasSuffix(e.What(), `: ""`) {
					t.Errorf("error %q is not a sentence", msg)
				}
			})
		}
	}
	// JSON null stays "none" where the API means it (no webhook configured).
	c, _ := newTestClient(t, nil, reply{body: []byte("null")})
	if w, err := c.GetWebhook(t.Context()); err != nil || w != nil {
		t.Errorf("GetWebhook null = %v, %v; want nil, nil", w, err)
	}
	c, _ = newTestClient(t, nil, reply{body: []byte("")})
	if _, err := c.GetWebhook(t.Context()); StatusOf(err) != 0 && !errors.As(err, new(*Error)) {
		t.Errorf("GetWebhook empty body: %v", err)
	} else if err == nil {
		t.Error("GetWebhook with an empty body succeeded")
	}
}

// TestTransportFailuresSayWhatHappened drives real connection failures and checks the words.
func TestTransportFailuresSayWhatHappened(t *testing.T) {
	t.Parallel()
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST
		}
		conn.Close()
	}))
	t.Cleanup(reset.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(slow.Close)
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat(" ", 1<<16))
		for written := 0; written <= maxBody; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(huge.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	cases := []struct {
		name    string
		base    string
		timeout time.Duration
		kind    Kind
		words   []string
	}{
		{"reset", reset.URL, time.Minute, KindReset, []string{"connection to AgentPhone was reset", "try again in a minute"}},
		{"timeout", slow.URL, 300 * time.Millisecond, KindTimeout, []string{"no answer from AgentPhone within 300 ms", "try again in a minute"}},
		{"too large", huge.URL, time.Minute, KindTooLarge, []string{"larger than 8 MB", "ask for less"}},
		{"refused", refused, time.Minute, KindUnreachable, []string{"could not be reached (connection refused)", "check the network"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fc := clockwork.NewFakeClockAt(testEpoch)
			c, err := New(Options{BaseURL: tc.base, Timeout: tc.timeout, Clock: fc})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); _, err = c.GetUsage(t.Context()) }()
			drive(t, fc, done) // retry waits (a refused connection is retried) run on the fake clock
			<-done
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			eq(t, "kind", e.Kind, tc.kind)
			msg := err.Error()
			for _, w := range tc.words {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "HTTP 0") || strings.Contains(e.What(), `""`) {
				t.Errorf("error %q is not a sentence", msg)
			}
		})
	}
}

// TestOutreachLimitTexts: each non-retriable 429 code says what happened and not to retry.
func TestOutreachLimitTexts(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"OUTBOUND_LIMIT_REACHED":         "the account's outbound limit is reached; do not retry now",
		"NEW_CONVERSATION_LIMIT_REACHED": "daily limit of new conversations is reached; do not retry now",
		"CONVERSATION_STREAK_LIMIT":      "without a reply; do not retry now",
		"CONVERSATION_AWAITING_REPLY":    "waiting for the recipient's reply; do not retry now",
		"CONVERSATION_INACTIVE":          "inactive and takes no more outreach; do not retry now",
	}
	for code, want := range cases {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			c, srv := newTestClient(t, nil, reply{status: 429, header: map[string]string{"Retry-After": "2"},
				body: []byte(`{"error":{"code":"` + code + `","message":"limit","type":"rate_limit_error"}}`)})
			_, err := c.ListCalls(t.Context(), ListCallsParams{})
			if !IsOutreachLimit(err) || IsTemporary(err) {
				t.Errorf("IsOutreachLimit=%v IsTemporary=%v, want true/false", IsOutreachLimit(err), IsTemporary(err))
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
			if strings.Contains(err.Error(), "retry after") {
				t.Errorf("error %q tells to retry after a wait", err)
			}
			eq(t, "tries (never retried)", len(srv.requests()), 1)
		})
	}
	c, _ := newTestClient(t, nil, reply{status: 400, body: []byte(`{"error":{"code":"INBOUND_ONLY","message":"inbound only"}}`)})
	if _, err := c.ListCalls(t.Context(), ListCallsParams{}); err == nil || !strings.Contains(err.Error(), "can only answer people who wrote to it first") {
		t.Errorf("INBOUND_ONLY: %v", err)
	}
}

func TestSubAccountHeader(t *testing.T) {
	t.Parallel()
	f := &fakeServer{replies: []reply{{body: []byte(`{"data":[],"hasMore":false}`)}}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL, SubAccountID: "sub_42"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "SubAccountID", c.SubAccountID(), "sub_42")
	if _, err := c.ListNumbers(t.Context(), ListParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCall(t.Context(), CreateCallRequest{AgentID: "a", ToNumber: "+15550001111"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.requests() {
		eq(t, r.Method+" "+r.Path+" header", r.Header.Get(SubAccountHeader), "sub_42")
	}
	for _, bad := range []string{"sub 1", "sub\n1", strings.Repeat("a", 200), "süb"} {
		if _, err := New(Options{SubAccountID: bad}); err == nil {
			t.Errorf("sub-account id %q accepted", bad)
		}
	}
	plain, _ := New(Options{BaseURL: srv.URL})
	if _, err := plain.ListNumbers(t.Context(), ListParams{}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	eq(t, "master account sends no header", reqs[len(reqs)-1].Header.Get(SubAccountHeader), "")
}

package apiclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestStreamTranscript(t *testing.T) {
	t.Parallel()
	c, srv := newTestClient(t, nil, reply{body: fixture(t, "transcript_stream.sse"), header: map[string]string{"Content-Type": "text/event-stream"}})
	var got []StreamEvent
	for ev, err := range c.StreamTranscript(t.Context(), "call_ghi012") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	eq(t, "events", len(got), 4) // connected, turn, turn, ended; nothing after ended
	eq(t, "type0", got[0].Type, StreamConnected)
	eq(t, "agentName", got[0].Connected.AgentName, "Support Bot")
	eq(t, "turn role", got[1].Turn.Role, RoleAgent)
	eq(t, "turn content", got[2].Turn.Content, "Where is my order?")
	eq(t, "ended status", got[3].Ended.Status, CallCompleted)
	eq(t, "ended duration", *got[3].Ended.DurationSeconds, 330)
	r := srv.requests()[0]
	eq(t, "path", r.Path, "/v1/calls/call_ghi012/transcript/stream")
	eq(t, "accept", r.Header.Get("Accept"), "text/event-stream")
}

func TestStreamTranscriptFunc(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, nil, reply{body: fixture(t, "transcript_stream.sse"), header: sseHeader})
	var turns []string
	err := c.StreamTranscriptFunc(t.Context(), "call_1", func(ev StreamEvent) error {
		if ev.Turn != nil {
			turns = append(turns, ev.Turn.Content)
			return ErrStopStream
		}
		return nil
	})
	if err != nil || len(turns) != 1 {
		t.Errorf("stop early: err=%v turns=%v", err, turns)
	}
	boom := errors.New("boom")
	err = c.StreamTranscriptFunc(t.Context(), "call_1", func(StreamEvent) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("callback error not returned: %v", err)
	}
}

var sseHeader = map[string]string{"Content-Type": "text/event-stream"}

func TestStreamTranscriptHTTPError(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, nil, reply{status: 404, body: []byte(`{"detail":"Call not found"}`)})
	n := 0
	for _, err := range c.StreamTranscript(t.Context(), "call_x") {
		n++
		if !IsNotFound(err) {
			t.Errorf("err = %v, want 404", err)
		}
	}
	eq(t, "yields", n, 1)
}

func TestParseSSE(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		in      string
		types   []StreamEventType
		wantErr bool
	}{
		{"crlf and multi-line data", "event: turn\r\ndata: {\"role\":\"user\",\r\ndata: \"content\":\"hi\"}\r\n\r\n", []StreamEventType{StreamTurn}, false},
		{"only heartbeats", ": heartbeat\n\n: heartbeat\n\n", nil, false},
		{"unknown event passes through", "event: ping\ndata: 1\n\n", []StreamEventType{"ping"}, false},
		{"bad json", "event: turn\ndata: {nope\n\n", nil, true},
		{"no trailing blank line", "event: ended\ndata: {\"callId\":\"c\"}\n", nil, false},
		{"id and retry ignored", "id: 7\nretry: 100\nevent: connected\ndata: {\"callId\":\"c\"}\n\n", []StreamEventType{StreamConnected}, false},
		{"too long line", "data: " + strings.Repeat("a", maxSSELine+10) + "\n\n", nil, true},
	}
	for _, tc := range cases {
		var types []StreamEventType
		var gotErr error
		for ev, err := range ParseSSE(strings.NewReader(tc.in)) {
			if err != nil {
				gotErr = err
				break
			}
			types = append(types, ev.Type)
		}
		if (gotErr != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", tc.name, gotErr, tc.wantErr)
		}
		if fmt.Sprint(types) != fmt.Sprint(tc.types) {
			t.Errorf("%s: types = %v, want %v", tc.name, types, tc.types)
		}
	}
}

func TestPaginate(t *testing.T) {
	t.Parallel()
	total := func(n int) *int { return &n }
	cases := []struct {
		name  string
		pages []Page[int]
		want  []int
		calls int
	}{
		{"hasMore", []Page[int]{{Data: []int{1, 2}, HasMore: true}, {Data: []int{3}}}, []int{1, 2, 3}, 2},
		{"total only (agents)", []Page[int]{{Data: []int{1, 2}, Total: total(3)}, {Data: []int{3}, Total: total(3)}}, []int{1, 2, 3}, 2},
		{"empty page stops", []Page[int]{{Data: []int{1}, HasMore: true}, {HasMore: true}}, []int{1}, 2},
		{"single", []Page[int]{{Data: []int{9}}}, []int{9}, 1},
	}
	for _, tc := range cases {
		calls := 0
		var offsets []int
		fetch := func(_ context.Context, p ListParams) (*Page[int], error) {
			offsets = append(offsets, p.Offset)
			pg := tc.pages[calls]
			calls++
			return &pg, nil
		}
		var got []int
		for v, err := range Paginate(t.Context(), 2, fetch) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || calls != tc.calls {
			t.Errorf("%s: got %v in %d calls (offsets %v), want %v in %d", tc.name, got, calls, offsets, tc.want, tc.calls)
		}
	}
	// An error is yielded once and ends the walk; a consumer break stops fetching.
	boom := errors.New("boom")
	n := 0
	for _, err := range Paginate(t.Context(), 2, func(context.Context, ListParams) (*Page[int], error) { return nil, boom }) {
		n++
		if !errors.Is(err, boom) {
			t.Errorf("err = %v", err)
		}
	}
	eq(t, "error yields", n, 1)
	calls := 0
	for range Paginate(t.Context(), 1, func(context.Context, ListParams) (*Page[int], error) {
		calls++
		return &Page[int]{Data: []int{1}, HasMore: true}, nil
	}) {
		break
	}
	eq(t, "fetches after break", calls, 1)
}

func TestPaginateAgainstServer(t *testing.T) {
	t.Parallel()
	c, srv := newTestClient(t, nil,
		reply{body: []byte(`{"data":[{"id":"num_1"},{"id":"num_2"}],"hasMore":true,"total":3}`)},
		reply{body: []byte(`{"data":[{"id":"num_3"}],"hasMore":false,"total":3}`)})
	var ids []string
	for n, err := range Paginate(t.Context(), 2, c.ListNumbers) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	eq(t, "ids", strings.Join(ids, ","), "num_1,num_2,num_3")
	reqs := srv.requests()
	eq(t, "q1", reqs[0].Query, "limit=2")
	eq(t, "q2", reqs[1].Query, "limit=2&offset=2")
}

func TestParseSSELineEndings(t *testing.T) {
	t.Parallel()
	in := "\ufeffevent: turn\rdata: {\"role\":\"user\",\"content\":\"cr\"}\r\revent: turn\r\ndata: {\"role\":\"agent\",\"content\":\"crlf\"}\r\n\r\nevent: ended\ndata: {\"callId\":\"c\"}\n\n"
	var got []string
	for ev, err := range ParseSSE(strings.NewReader(in)) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Turn != nil {
			got = append(got, ev.Turn.Content)
		} else {
			got = append(got, string(ev.Type))
		}
	}
	eq(t, "events", strings.Join(got, ","), "cr,crlf,ended")
}

// sseScript serves one scripted body per connection to the stream route; after the body it
// either closes the connection or, with hang, waits for the client to go away.
type sseScript struct {
	mu    sync.Mutex
	conns [][]string // per connection: the events to send
	hang  bool
	n     int
}

func (s *sseScript) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := min(s.n, len(s.conns)-1)
	s.n++
	body := s.conns[i]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for _, ev := range body {
		fmt.Fprint(w, ev)
		w.(http.Flusher).Flush()
	}
	if s.hang {
		<-r.Context().Done()
	}
}

func (s *sseScript) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func sseEvent(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }

func streamClient(t *testing.T, h http.Handler) (*Client, *clockwork.FakeClock) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	fc := clockwork.NewFakeClockAt(testEpoch)
	c, err := New(Options{BaseURL: srv.URL, Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	return c, fc
}

func TestStreamIdleTimeoutOnClock(t *testing.T) {
	t.Parallel()
	script := &sseScript{conns: [][]string{{sseEvent("connected", `{"callId":"call_1","status":"in-progress"}`)}}, hang: true}
	c, fc := streamClient(t, script)
	first := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		var last error
		for ev, err := range c.StreamTranscript(t.Context(), "call_1") {
			if err != nil {
				last = err
				break
			}
			if ev.Type == StreamConnected {
				close(first)
			}
		}
		done <- last
	}()
	<-first
	if err := fc.BlockUntilContext(t.Context(), 1); err != nil { // the idle watchdog
		t.Fatal(err)
	}
	fc.Advance(DefaultStreamIdleTimeout - time.Second)
	select {
	case err := <-done:
		t.Fatalf("stream ended before the idle limit: %v", err)
	default:
	}
	fc.Advance(2 * time.Second)
	err := <-done
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTimeout {
		t.Fatalf("err = %v, want a KindTimeout *Error", err)
	}
	if !strings.Contains(err.Error(), "sent nothing, not even a heartbeat, for 45 s") {
		t.Errorf("error %q does not say the stream went silent", err)
	}
}

func TestStreamRefusesNonEventStream(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, nil, reply{body: []byte(`{"data":[]}`), header: map[string]string{"Content-Type": "application/json"}})
	err := c.StreamTranscriptFunc(t.Context(), "call_1", func(StreamEvent) error { return nil })
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindUnreadable || !strings.Contains(err.Error(), "not an event stream") {
		t.Errorf("err = %v, want KindUnreadable naming the content type", err)
	}
}

func TestFollowTranscriptReconnects(t *testing.T) {
	t.Parallel()
	conn := sseEvent("connected", `{"callId":"call_1","status":"in-progress"}`)
	turn := func(role, text string) string {
		return sseEvent("turn", `{"role":"`+role+`","content":"`+text+`","createdAt":"2025-01-15T14:00:01Z"}`)
	}
	script := &sseScript{conns: [][]string{
		{conn, turn("agent", "Hello"), turn("user", "Hi")},                    // dropped before "ended"
		{conn, turn("agent", "Hello"), turn("user", "Hi"), ": heartbeat\n\n"}, // replay only, dropped again
		{conn, turn("agent", "Hello"), turn("user", "Hi"), turn("agent", "Bye"), sseEvent("ended", `{"callId":"call_1","status":"completed"}`)},
	}}
	c, fc := streamClient(t, script)
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- c.FollowTranscript(t.Context(), "call_1", func(ev StreamEvent) error {
			if ev.Turn != nil {
				got = append(got, ev.Turn.Content)
			} else {
				got = append(got, string(ev.Type))
			}
			return nil
		})
	}()
	finished := make(chan struct{})
	var err error
	go func() { err = <-done; close(finished) }()
	drive(t, fc, finished)
	<-finished
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "events, each once", strings.Join(got, ","), "connected,Hello,Hi,Bye,ended")
	eq(t, "connections", script.count(), 3)
}

func TestFollowTranscriptGivesUp(t *testing.T) {
	t.Parallel()
	script := &sseScript{conns: [][]string{{sseEvent("connected", `{"callId":"call_1"}`)}}}
	c, fc := streamClient(t, script)
	finished := make(chan struct{})
	var err error
	go func() {
		defer close(finished)
		err = c.FollowTranscript(t.Context(), "call_1", func(StreamEvent) error { return nil })
	}()
	drive(t, fc, finished)
	<-finished
	if err == nil || !strings.Contains(err.Error(), "gave up after 5 reconnections") {
		t.Fatalf("err = %v, want giving up", err)
	}
	eq(t, "connections", script.count(), 6)

	// A 404 is not retried.
	c404, srv := newTestClient(t, nil, reply{status: 404, body: []byte(`{"detail":"Call not found"}`)})
	if err := c404.FollowTranscript(t.Context(), "call_x", func(StreamEvent) error { return nil }); !IsNotFound(err) {
		t.Errorf("404: err = %v", err)
	}
	eq(t, "404 requests", len(srv.requests()), 1)
}

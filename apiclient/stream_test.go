package apiclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
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
	c, _ := newTestClient(t, nil, reply{body: fixture(t, "transcript_stream.sse")})
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

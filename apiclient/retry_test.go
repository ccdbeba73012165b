package apiclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// step is one scripted transport outcome.
type step struct {
	status int
	body   string
	header map[string]string
	err    error
}

// scriptRT answers from a script (the last step repeats) and records the
// fake-clock time of every attempt.
type scriptRT struct {
	mu    sync.Mutex
	clock clockwork.Clock
	steps []step
	at    []time.Time
}

func (s *scriptRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	s.mu.Lock()
	s.at = append(s.at, s.clock.Now())
	st := s.steps[0]
	if len(s.steps) > 1 {
		s.steps = s.steps[1:]
	}
	s.mu.Unlock()
	if st.err != nil {
		return nil, st.err
	}
	h := http.Header{}
	for k, v := range st.header {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: st.status, Header: h, Body: io.NopCloser(strings.NewReader(st.body)), Request: r}, nil
}

func (s *scriptRT) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.at...)
}

// drive advances the fake clock in small steps whenever the client waits,
// until done is closed.
func drive(t *testing.T, fc *clockwork.FakeClock, done <-chan struct{}) {
	for {
		ctx, cancel := context.WithCancel(t.Context())
		blocked := make(chan error, 1)
		go func() { blocked <- fc.BlockUntilContext(ctx, 1) }()
		select {
		case <-done:
			cancel()
			return
		case err := <-blocked:
			cancel()
			if err != nil {
				return
			}
			fc.Advance(250 * time.Millisecond)
		}
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	ok := step{status: 200, body: `{"id":"agt_1","name":"A"}`}
	s503 := step{status: 503, body: `{"detail":"unavailable"}`}
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	cases := []struct {
		name      string
		post      bool
		steps     []step
		wantTries int
		wantGaps  []time.Duration // waits between attempts (±250ms)
		wantErr   bool
		maybeSent bool
		status    int
		retryAft  time.Duration
	}{
		{name: "GET 503 then ok", steps: []step{s503, s503, ok}, wantTries: 3, wantGaps: []time.Duration{time.Second, 2 * time.Second}},
		{name: "GET 502 504 then ok", steps: []step{{status: 502}, {status: 504}, ok}, wantTries: 3, wantGaps: []time.Duration{time.Second, 2 * time.Second}},
		{name: "GET 429 Retry-After", steps: []step{{status: 429, header: map[string]string{"Retry-After": "7"}}, ok}, wantTries: 2, wantGaps: []time.Duration{7 * time.Second}},
		{name: "GET 429 Retry-After date", steps: []step{{status: 429, header: map[string]string{"Retry-After": testEpoch.Add(4 * time.Second).Format(http.TimeFormat)}}, ok},
			wantTries: 2, wantGaps: []time.Duration{4 * time.Second}},
		{name: "GET at most 3 tries", steps: []step{s503}, wantTries: 3, wantGaps: []time.Duration{time.Second, 2 * time.Second}, wantErr: true, status: 503},
		{name: "GET Retry-After beyond budget", steps: []step{{status: 429, header: map[string]string{"Retry-After": "45"}}, ok},
			wantTries: 1, wantErr: true, status: 429, retryAft: 45 * time.Second},
		{name: "GET budget 30s in all", steps: []step{{status: 429, header: map[string]string{"Retry-After": "20"}}, {status: 429, header: map[string]string{"Retry-After": "20"}}, ok},
			wantTries: 2, wantGaps: []time.Duration{20 * time.Second}, wantErr: true, status: 429, retryAft: 20 * time.Second},
		{name: "GET non-retriable 429", steps: []step{{status: 429, body: `{"error":{"code":"OUTBOUND_LIMIT_REACHED","message":"limit"}}`}, ok},
			wantTries: 1, wantErr: true, status: 429},
		{name: "GET 500 not retried", steps: []step{{status: 500}, ok}, wantTries: 1, wantErr: true, status: 500},
		{name: "GET 404 not retried", steps: []step{{status: 404}, ok}, wantTries: 1, wantErr: true, status: 404},
		{name: "GET dial error retried", steps: []step{{err: dialErr}, ok}, wantTries: 2, wantGaps: []time.Duration{time.Second}},
		{name: "GET error after send not retried", steps: []step{{err: io.ErrUnexpectedEOF}, ok}, wantTries: 1, wantErr: true},
		{name: "POST 503 never retried", post: true, steps: []step{s503, ok}, wantTries: 1, wantErr: true, maybeSent: true, status: 503},
		{name: "POST timeout never retried", post: true, steps: []step{{err: context.DeadlineExceeded}, ok}, wantTries: 1, wantErr: true, maybeSent: true},
		{name: "POST reset never retried", post: true, steps: []step{{err: io.ErrUnexpectedEOF}, ok}, wantTries: 1, wantErr: true, maybeSent: true},
		{name: "POST 429 not retried not sent", post: true, steps: []step{{status: 429, header: map[string]string{"Retry-After": "1"}}, ok},
			wantTries: 1, wantErr: true, status: 429, retryAft: time.Second},
		{name: "POST dial error retried", post: true, steps: []step{{err: dialErr}, {status: 200, body: `{"id":"msg_1"}`}}, wantTries: 2, wantGaps: []time.Duration{time.Second}},
		{name: "POST NotSent error retried", post: true, steps: []step{{err: notSentErr{}}, {status: 200, body: `{"id":"msg_1"}`}}, wantTries: 2, wantGaps: []time.Duration{time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fc := clockwork.NewFakeClockAt(testEpoch)
			rt := &scriptRT{clock: fc, steps: tc.steps}
			c, err := New(Options{BaseURL: "https://api.test", HTTPClient: &http.Client{Transport: rt}, Clock: fc})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			var callErr error
			go func() {
				defer close(done)
				if tc.post {
					_, callErr = c.SendMessage(t.Context(), SendMessageRequest{AgentID: "agt_1", ToNumber: "+15550001111", Body: "hi"})
				} else {
					_, callErr = c.GetAgent(t.Context(), "agt_1")
				}
			}()
			drive(t, fc, done)
			<-done
			at := rt.times()
			eq(t, "tries", len(at), tc.wantTries)
			for i, want := range tc.wantGaps {
				if i+1 >= len(at) {
					break
				}
				gap := at[i+1].Sub(at[i])
				if gap < want || gap >= want+250*time.Millisecond {
					t.Errorf("wait %d = %v, want %v", i, gap, want)
				}
			}
			if total := fc.Since(testEpoch); total > retryBudget {
				t.Errorf("spent %v on the clock, budget %v", total, retryBudget)
			}
			if (callErr != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", callErr, tc.wantErr)
			}
			if callErr == nil {
				return
			}
			var e *Error
			if !errors.As(callErr, &e) {
				t.Fatalf("%T is not *Error: %v", callErr, callErr)
			}
			eq(t, "maybeSent", e.MaybeSent, tc.maybeSent)
			eq(t, "status", e.Status, tc.status)
			eq(t, "retryAfter", e.RetryAfter, tc.retryAft)
			if tc.maybeSent {
				msg := callErr.Error()
				for _, s := range []string{"may have reached", "NOT retried", "recent messages"} {
					if !strings.Contains(msg, s) {
						t.Errorf("MaybeSent error %q lacks %q", msg, s)
					}
				}
			}
		})
	}
}

type notSentErr struct{}

func (notSentErr) Error() string        { return "host not allowed" }
func (notSentErr) RequestNotSent() bool { return true }

func TestRetryWaitHonoursCancel(t *testing.T) {
	t.Parallel()
	fc := clockwork.NewFakeClockAt(testEpoch)
	rt := &scriptRT{clock: fc, steps: []step{{status: 503}}}
	c, _ := New(Options{BaseURL: "https://api.test", HTTPClient: &http.Client{Transport: rt}, Clock: fc})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := c.ListNumbers(ctx, ListParams{}); done <- err }()
	if err := fc.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || StatusOf(err) != 503 {
		t.Errorf("err = %v, want the 503 joined with context.Canceled", err)
	}
	eq(t, "tries", len(rt.times()), 1)
}

func TestLongPollDeadline(t *testing.T) {
	t.Parallel()
	c, _ := New(Options{Timeout: 5 * time.Second, LongPollTimeout: 2 * time.Minute})
	eq(t, "plain", c.deadline(call{}), 5*time.Second)
	eq(t, "short wait", c.deadline(call{wait: 30 * time.Second}), 2*time.Minute)
	eq(t, "long wait", c.deadline(call{wait: 5 * time.Minute}), 6*time.Minute)
}

// blockingRT waits for the request context and reports its deadline.
type blockingRT struct{ deadline chan time.Duration }

func (b blockingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	d, _ := r.Context().Deadline()
	b.deadline <- time.Until(d)
	return nil, context.DeadlineExceeded
}

func TestRequestsCarryDeadline(t *testing.T) {
	t.Parallel()
	rt := blockingRT{deadline: make(chan time.Duration, 1)}
	c, _ := New(Options{BaseURL: "https://api.test", HTTPClient: &http.Client{Transport: rt}, Timeout: 5 * time.Second, LongPollTimeout: 20 * time.Minute})
	go c.CreateCall(t.Context(), CreateCallRequest{AgentID: "a", ToNumber: "+1", WaitForCompletion: true, MaxWaitSeconds: 600})
	if d := <-rt.deadline; d < 19*time.Minute || d > 20*time.Minute {
		t.Errorf("waited call deadline %v, want ~20m", d)
	}
	_, err := c.GetAgent(t.Context(), "a")
	if d := <-rt.deadline; d < 4*time.Second || d > 5*time.Second {
		t.Errorf("plain deadline %v, want ~5s", d)
	}
	if err == nil || !strings.Contains(err.Error(), "no answer from AgentPhone within 5 s") {
		t.Errorf("timeout error %v does not say so", err)
	}
}

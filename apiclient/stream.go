package apiclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
)

// maxSSELine bounds one line of the transcript stream.
const maxSSELine = 1 << 20

// ErrStopStream may be returned by a StreamTranscriptFunc callback to stop
// reading early without an error.
var ErrStopStream = errors.New("apiclient: stop stream")

// Transcript stream limits. The server sends a heartbeat comment every 15 s,
// so a stream silent for three heartbeats is dead.
const (
	DefaultStreamIdleTimeout = 45 * time.Second
	// maxStreamRetries is how many reconnections in a row FollowTranscript
	// makes without receiving anything new before it gives up.
	maxStreamRetries = 5
	// maxStreamBackoff caps the wait between reconnections.
	maxStreamBackoff = 8 * time.Second
)

// StreamTranscript follows a call's transcript live over one connection
// (GET /v1/calls/{id}/transcript/stream, SSE). It yields the stored turns,
// then live turns, and ends after the "ended" event (or when the server
// closes the stream, or ctx ends). Heartbeat comments are skipped. Only the
// wait for the response headers is bounded by Timeout; after that, a stream
// that stays silent (not even a heartbeat) for StreamIdleTimeout on the
// client's clock is abandoned with a KindTimeout *Error. A 2xx answer that is
// not an event stream is a KindUnreadable *Error. An error is yielded at most
// once, as the last element. FollowTranscript adds reconnection.
func (c *Client) StreamTranscript(ctx context.Context, callID string) iter.Seq2[StreamEvent, error] {
	return func(yield func(StreamEvent, error) bool) {
		p, err := pathOf("calls", callID, "transcript", "stream")
		if err != nil {
			yield(StreamEvent{}, err)
			return
		}
		r := call{method: http.MethodGet, path: p, accept: "text/event-stream", stream: true}
		resp, cancel, err := c.send(ctx, r)
		if err != nil {
			yield(StreamEvent{}, err)
			return
		}
		defer cancel()
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "text/event-stream") {
			yield(StreamEvent{}, &Error{Kind: KindUnreadable, Status: resp.StatusCode, Method: r.method, Path: r.path,
				Message: fmt.Sprintf("the answer is %q, not an event stream", bound(ct, 60))})
			return
		}
		body := newIdleReader(resp.Body, c.clock, c.streamIdle, cancel)
		defer body.stop()
		for ev, err := range ParseSSE(body) {
			if err != nil {
				yield(StreamEvent{}, c.streamError(ctx, r, body, err))
				return
			}
			if !yield(ev, nil) || ev.Type == StreamEnded {
				return
			}
		}
		if body.idle() {
			yield(StreamEvent{}, c.streamError(ctx, r, body, io.ErrUnexpectedEOF))
		}
	}
}

// streamError turns a failure while reading the stream into an *Error.
func (c *Client) streamError(ctx context.Context, r call, body *idleReader, err error) error {
	switch {
	case ctx.Err() != nil:
		return &Error{Kind: KindCancelled, Method: r.method, Path: r.path, Err: fmt.Errorf("transcript stream: %w", ctx.Err())}
	case body.idle():
		msg := fmt.Sprintf("the transcript stream sent nothing, not even a heartbeat, for %s", humanDuration(c.streamIdle))
		return &Error{Kind: KindTimeout, Method: r.method, Path: r.path, Deadline: c.streamIdle, Message: msg, Err: errors.New(msg)}
	}
	var se *sseError
	if errors.As(err, &se) {
		return &Error{Kind: KindUnreadable, Status: http.StatusOK, Method: r.method, Path: r.path, Message: se.Error()}
	}
	return &Error{Kind: classifyTransport(err), Method: r.method, Path: r.path, Err: fmt.Errorf("transcript stream: %w", err)}
}

// StreamTranscriptFunc calls fn for each transcript stream event of one
// connection (see StreamTranscript). Returning ErrStopStream from fn stops
// without error; any other error stops and is returned.
func (c *Client) StreamTranscriptFunc(ctx context.Context, callID string, fn func(StreamEvent) error) error {
	for ev, err := range c.StreamTranscript(ctx, callID) {
		if err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			if errors.Is(err, ErrStopStream) {
				return nil
			}
			return err
		}
	}
	return nil
}

// FollowTranscript follows a call's transcript until the "ended" event,
// reconnecting when the stream drops (closed before "ended", reset, silent
// past StreamIdleTimeout, or a temporary server error), with a backoff on the
// client's clock (1 s doubling to 8 s). Each new connection replays the
// stored turns first; those already delivered are skipped, so fn sees each
// turn once, in order, and "connected" once. It gives up, returning the last
// error, after 5 reconnections in a row that brought nothing new, and at once
// on an error a retry cannot fix (404, 401, an unreadable stream). fn's
// ErrStopStream stops without error; another error from fn is returned.
func (c *Client) FollowTranscript(ctx context.Context, callID string, fn func(StreamEvent) error) error {
	var (
		delivered int // turns passed to fn
		connected bool
		failures  int
	)
	for {
		var (
			streamErr error
			turns     int
			fresh     bool
		)
		for ev, err := range c.StreamTranscript(ctx, callID) {
			if err != nil {
				streamErr = err
				break
			}
			switch ev.Type {
			case StreamConnected:
				if connected {
					continue
				}
				connected = true
			case StreamTurn:
				turns++
				if turns <= delivered {
					continue // replayed after a reconnection
				}
				delivered++
			}
			fresh = true
			if err := fn(ev); err != nil {
				if errors.Is(err, ErrStopStream) {
					return nil
				}
				return err
			}
			if ev.Type == StreamEnded {
				return nil
			}
		}
		if ctx.Err() != nil {
			return &Error{Kind: KindCancelled, Method: http.MethodGet, Path: "/v1/calls/" + callID + "/transcript/stream",
				Err: fmt.Errorf("transcript stream: %w", ctx.Err())}
		}
		if streamErr != nil && !reconnectable(streamErr) {
			return streamErr
		}
		if fresh {
			failures = 0
		}
		failures++
		if failures > maxStreamRetries {
			if streamErr == nil {
				streamErr = &Error{Kind: KindReset, Method: http.MethodGet, Path: "/v1/calls/" + callID + "/transcript/stream",
					Err: errors.New("the transcript stream kept closing before the call ended")}
			}
			return fmt.Errorf("transcript stream: gave up after %d reconnections: %w", maxStreamRetries, streamErr)
		}
		wait := min(time.Duration(1<<(failures-1))*time.Second, maxStreamBackoff)
		c.log.DebugContext(ctx, "agentphone: transcript stream dropped, reconnecting", "call", callID, "attempt", failures, "wait", wait, "err", streamErr)
		if err := c.sleep(ctx, wait); err != nil {
			return &Error{Kind: KindCancelled, Method: http.MethodGet, Path: "/v1/calls/" + callID + "/transcript/stream",
				Err: fmt.Errorf("transcript stream: %w", err)}
		}
	}
}

// reconnectable reports stream failures a new connection may fix.
func reconnectable(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	switch e.kind() {
	case KindTimeout, KindReset, KindTransport, KindUnreachable:
		return true
	case KindStatus:
		return retriable(e)
	}
	return false
}

// idleReader cancels the stream when no byte arrives for d on the clock.
type idleReader struct {
	r       io.Reader
	timer   clockwork.Timer
	d       time.Duration
	expired atomic.Bool
}

func newIdleReader(r io.Reader, clock clockwork.Clock, d time.Duration, cancel context.CancelFunc) *idleReader {
	ir := &idleReader{r: r, d: d}
	ir.timer = clock.AfterFunc(d, func() {
		ir.expired.Store(true)
		cancel()
	})
	return ir
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 && !ir.expired.Load() {
		ir.timer.Reset(ir.d)
	}
	return n, err
}

func (ir *idleReader) idle() bool { return ir.expired.Load() }
func (ir *idleReader) stop()      { ir.timer.Stop() }

// ParseSSE reads server-sent events from r and decodes the transcript
// stream payloads. Lines may end in LF, CRLF or CR; a leading byte-order mark
// is ignored. Comments (": heartbeat") are skipped, as are the id and retry
// fields. A "data" field that is not valid JSON for a known event type is an
// error. Events of unknown type are yielded with only Type and Data set.
func ParseSSE(r io.Reader) iter.Seq2[StreamEvent, error] {
	return func(yield func(StreamEvent, error) bool) {
		lr := &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
		var typ string
		var data bytes.Buffer
		hasData := false
		first := true
		for {
			line, err := lr.next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return // stream closed by the server
				}
				var se *sseError
				if !errors.As(err, &se) {
					err = fmt.Errorf("transcript stream: %w", err)
				}
				yield(StreamEvent{}, err)
				return
			}
			if first {
				line = strings.TrimPrefix(line, "\ufeff")
				first = false
			}
			if line == "" { // dispatch
				if hasData || typ != "" {
					ev, derr := decodeStreamEvent(typ, data.Bytes())
					if !yield(ev, derr) || derr != nil {
						return
					}
				}
				typ, hasData = "", false
				data.Reset()
				continue
			}
			if strings.HasPrefix(line, ":") {
				continue // comment / heartbeat
			}
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				typ = value
			case "data":
				if hasData {
					data.WriteByte('\n')
				}
				data.WriteString(value)
				hasData = true
			}
		}
	}
}

// sseError is a malformed stream (as opposed to a failed connection).
type sseError struct{ msg string }

func (e *sseError) Error() string { return "transcript stream: " + e.msg }

// lineReader splits a stream into lines ended by LF, CRLF or CR, each at most
// maxSSELine bytes.
type lineReader struct {
	br *bufio.Reader
}

func (l *lineReader) next() (string, error) {
	var buf []byte
	for {
		b, err := l.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(buf) > 0 {
				return string(buf), nil
			}
			return "", err
		}
		switch b {
		case '\n':
			return string(buf), nil
		case '\r':
			if nb, err := l.br.Peek(1); err == nil && nb[0] == '\n' {
				_, _ = l.br.ReadByte()
			}
			return string(buf), nil
		}
		buf = append(buf, b)
		if len(buf) > maxSSELine {
			return "", &sseError{msg: fmt.Sprintf("an event line is longer than %d bytes", maxSSELine)}
		}
	}
}

func decodeStreamEvent(typ string, data []byte) (StreamEvent, error) {
	if typ == "" {
		typ = "message"
	}
	ev := StreamEvent{Type: StreamEventType(typ), Data: json.RawMessage(bytes.Clone(data))}
	var target any
	switch ev.Type {
	case StreamConnected:
		ev.Connected = new(StreamConnectedData)
		target = ev.Connected
	case StreamTurn:
		ev.Turn = new(StreamTurnData)
		target = ev.Turn
	case StreamEnded:
		ev.Ended = new(StreamEndedData)
		target = ev.Ended
	default:
		return ev, nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return ev, nil
	}
	if err := json.Unmarshal(data, target); err != nil {
		return StreamEvent{}, &sseError{msg: fmt.Sprintf("the %q event is not the expected JSON (%v)", typ, err)}
	}
	return ev, nil
}

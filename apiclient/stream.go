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
)

// maxSSELine bounds one line of the transcript stream.
const maxSSELine = 1 << 20

// ErrStopStream may be returned by a StreamTranscriptFunc callback to stop
// reading early without an error.
var ErrStopStream = errors.New("apiclient: stop stream")

// StreamTranscript follows a call's transcript live
// (GET /v1/calls/{id}/transcript/stream, SSE). It yields the stored turns,
// then live turns, and ends after the "ended" event (or when the server
// closes the stream, or ctx ends). Heartbeat comments are skipped. Only the
// wait for the response headers is bounded by Timeout; ctx bounds the rest.
// An error is yielded at most once, as the last element.
func (c *Client) StreamTranscript(ctx context.Context, callID string) iter.Seq2[StreamEvent, error] {
	return func(yield func(StreamEvent, error) bool) {
		p, err := pathOf("calls", callID, "transcript", "stream")
		if err != nil {
			yield(StreamEvent{}, err)
			return
		}
		resp, cancel, err := c.send(ctx, call{method: http.MethodGet, path: p, accept: "text/event-stream", stream: true})
		if err != nil {
			yield(StreamEvent{}, err)
			return
		}
		defer cancel()
		defer resp.Body.Close()
		for ev, err := range ParseSSE(resp.Body) {
			if err != nil {
				if ctx.Err() != nil {
					err = fmt.Errorf("transcript stream: %w", ctx.Err())
				}
				yield(StreamEvent{}, err)
				return
			}
			if !yield(ev, nil) || ev.Type == StreamEnded {
				return
			}
		}
	}
}

// StreamTranscriptFunc calls fn for each transcript stream event (see
// StreamTranscript). Returning ErrStopStream from fn stops without error;
// any other error stops and is returned.
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

// ParseSSE reads server-sent events from r and decodes the transcript
// stream payloads. Comments (": heartbeat") are skipped; a "data" field
// that is not valid JSON for a known event type is an error. Events of
// unknown type are yielded with only Type and Data set.
func ParseSSE(r io.Reader) iter.Seq2[StreamEvent, error] {
	return func(yield func(StreamEvent, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		var typ string
		var data bytes.Buffer
		hasData := false
		for {
			line, err := readLine(br)
			if err != nil {
				if errors.Is(err, io.EOF) {
					return // stream closed by the server
				}
				yield(StreamEvent{}, fmt.Errorf("transcript stream: %w", err))
				return
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

// readLine returns one line without its terminator; a line longer than
// maxSSELine is an error.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			if len(buf) > 0 && errors.Is(err, io.EOF) {
				return string(buf), nil
			}
			return "", err
		}
		buf = append(buf, chunk...)
		if len(buf) > maxSSELine {
			return "", fmt.Errorf("event line longer than %d bytes", maxSSELine)
		}
		if !isPrefix {
			return string(buf), nil
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
		return StreamEvent{}, fmt.Errorf("transcript stream: %q event is not the expected JSON: %w", typ, err)
	}
	return ev, nil
}

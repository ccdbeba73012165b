package apiclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestClassifyPOSTOutcomes sends a real POST /v1/messages to a server on loopback that acts
// in each way, and checks what Classify makes of the result.
func TestClassifyPOSTOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    Outcome
	}{
		{"201 with the message", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":"msg_1","status":"sent"}`))
		}, OutcomeSent},
		{"200 empty body", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }, OutcomeMaybeSent},
		{"200 null", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("null")) }, OutcomeMaybeSent},
		{"200 not JSON", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>OK</html>")) }, OutcomeMaybeSent},
		{"204", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, OutcomeMaybeSent},
		{"500", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"detail":"boom"}`, http.StatusInternalServerError)
		}, OutcomeMaybeSent},
		{"503", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"detail":"busy"}`, http.StatusServiceUnavailable)
		}, OutcomeMaybeSent},
		{"422", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"detail":"bad number"}`, http.StatusUnprocessableEntity)
		}, OutcomeNotSent},
		{"429", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"detail":"slow down"}`, http.StatusTooManyRequests)
		}, OutcomeNotSent},
		{"reset after reading the request", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.(*net.TCPConn).SetLinger(0)
				_ = conn.Close()
			}
		}, OutcomeMaybeSent},
		{"no answer in time", func(_ http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body) // the server notices the client leaving only once the body is read
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, OutcomeMaybeSent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c, err := New(Options{BaseURL: srv.URL, HTTPClient: srv.Client(), Timeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			msg, err := c.SendMessage(context.Background(), SendMessageRequest{AgentID: "agt_1", ToNumber: "+14155550142", Body: "hi"})
			if got := Classify(err); got != tt.want {
				t.Fatalf("Classify(%v) = %s, want %s", err, got, tt.want)
			}
			if tt.want == OutcomeSent && (msg == nil || msg.ID != "msg_1") {
				t.Fatalf("message = %+v", msg)
			}
			if tt.want == OutcomeMaybeSent {
				var e *Error
				if !errors.As(err, &e) || !e.MaybeSent || !IsMaybeSent(err) {
					t.Fatalf("err = %#v; want an *Error with MaybeSent", err)
				}
			}
		})
	}
}

func TestClassifyNotSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens: connection refused
	c, err := New(Options{BaseURL: "http://" + addr, HTTPClient: &http.Client{}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendMessage(context.Background(), SendMessageRequest{AgentID: "agt_1", ToNumber: "+14155550142", Body: "hi"})
	if got := Classify(err); got != OutcomeNotSent {
		t.Errorf("connection refused: Classify(%v) = %s, want not_sent", err, got)
	}
	_, err = c.SendMessage(context.Background(), SendMessageRequest{ToNumber: "+14155550142", Body: "hi"}) // no sender: refused locally
	if got := Classify(err); got != OutcomeNotSent {
		t.Errorf("local refusal: Classify(%v) = %s, want not_sent", err, got)
	}
	if got := Classify(nil); got != OutcomeSent {
		t.Errorf("Classify(nil) = %s", got)
	}
	if got := Classify(&Error{Method: http.MethodDelete, Path: "/v1/numbers/x", Err: &net.DNSError{Err: "no such host", Name: "x"}}); got != OutcomeNotSent {
		t.Errorf("DNS failure: %s, want not_sent", got)
	}
	if got := Classify(&Error{Method: http.MethodDelete, Path: "/v1/numbers/x", Err: errors.New("connection reset")}); got != OutcomeMaybeSent {
		t.Errorf("a DELETE whose connection failed: %s, want maybe_sent", got)
	}
}

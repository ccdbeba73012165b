package apiclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// Outcome is what a request that acts (send a message, place a call, buy a number) did,
// as far as the client can know.
type Outcome int

// Outcomes of an acting request. (The names carry the Outcome prefix because NotSent
// already names the interface of transport errors that never left the process.)
const (
	// OutcomeSent: the API answered 2xx with a readable answer.
	OutcomeSent Outcome = iota + 1
	// OutcomeNotSent: the request was refused before it was sent (a local check, DNS failure,
	// connection refused, a key-guard refusal), or the API definitely rejected it (4xx, a
	// refused redirect). Nothing happened.
	OutcomeNotSent
	// OutcomeMaybeSent: the request may have reached the API and acted: the connection failed or
	// timed out after it was written, the API answered 5xx, or a 2xx whose body is empty,
	// null or not JSON. Find out before doing it again.
	OutcomeMaybeSent
)

// String returns sent, not_sent or maybe_sent.
func (o Outcome) String() string {
	switch o {
	case OutcomeSent:
		return "sent"
	case OutcomeNotSent:
		return "not_sent"
	case OutcomeMaybeSent:
		return "maybe_sent"
	}
	return "unknown"
}

// Classify tells what the error of an acting request means for its effect. nil is
// OutcomeSent. An error that is not an *Error comes from a check before any request was
// made, so it is OutcomeNotSent.
func Classify(err error) Outcome {
	if err == nil {
		return OutcomeSent
	}
	e, ok := asError(err)
	if !ok {
		return OutcomeNotSent
	}
	switch {
	case e.MaybeSent:
		return OutcomeMaybeSent
	case e.Status >= 500:
		return OutcomeMaybeSent
	case e.Status >= 300:
		return OutcomeNotSent // a definite rejection, or a redirect that was not followed
	case e.Status >= 200:
		return OutcomeMaybeSent // an accepted request whose answer was unreadable
	}
	// No answer. POSTs record in MaybeSent whether the request was written; an
	// idempotent request (retried) may have acted unless it provably never left.
	switch e.Method {
	case http.MethodPost, http.MethodPatch:
		return OutcomeNotSent
	}
	if e.Err != nil && provablyNotSent(e.Err) {
		return OutcomeNotSent
	}
	return OutcomeMaybeSent
}

// unreadableAnswer decodes a 2xx answer to an acting request into out, or returns the
// MaybeSent *Error that says the request was accepted but its answer cannot be read:
// empty, "null" or not JSON.
func unreadableAnswer(r call, status int, data []byte, out any) error {
	trimmed := bytes.TrimSpace(data)
	why := ""
	switch {
	case len(trimmed) == 0:
		why = "the answer was empty"
	case bytes.Equal(trimmed, []byte("null")):
		why = "the answer was null"
	default:
		if err := json.Unmarshal(trimmed, out); err != nil {
			why = fmt.Sprintf("the answer is not the expected JSON (%v): %q", err, bound(string(trimmed), maxRawError))
		}
	}
	if why == "" {
		return nil
	}
	return &Error{Kind: KindUnreadable, Method: r.method, Path: r.path, Status: status, Message: why, MaybeSent: true}
}

package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// operatorHider makes everything about the operator's phone (AGENTPHONE_OPERATOR_PHONE)
// invisible to every reader of the AgentPhone API in this process: strict mode texts the
// one-time approval code there from the account's own number, so the model must not be able
// to read that conversation through any tool, resource, wait, inbox or live call.
//
// It sits below all of them, as the API client's outermost transport: every JSON answer is
// decoded and every object that names the operator's number (in any field, in any spelling of
// the number) is removed from lists; an answer that is itself such an object becomes 404. A
// call's transcript, stream and recording are refused when the call itself is hidden. Only
// the server's own code text (tools.WithOperatorText) passes unfiltered. The webhook receiver
// drops events about the operator with the same test (mentionsOperator) before they are
// stored or published.
type operatorHider struct {
	next http.RoundTripper

	mu     sync.Mutex
	digits string          // the operator's E.164 without "+"; "" hides nothing
	calls  map[string]bool // call id -> hidden, for transcript/stream/recording checks (bounded)
}

// maxHiddenCalls bounds the call-id cache of the hider.
const maxHiddenCalls = 4096

// newOperatorHider wraps next. It hides nothing until setOperator names the phone (the
// API client is built before the policy that knows it).
func newOperatorHider(next http.RoundTripper) *operatorHider {
	if next == nil {
		next = http.DefaultTransport
	}
	return &operatorHider{next: next, calls: map[string]bool{}}
}

// setOperator sets the phone to hide; operatorE164 is normalised ("+14155550123") or "".
func (h *operatorHider) setOperator(operatorE164 string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.digits = strings.TrimPrefix(operatorE164, "+")
	clear(h.calls)
}

func (h *operatorHider) operatorDigits() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.digits
}

// RoundTrip forwards req and filters the answer.
func (h *operatorHider) RoundTrip(req *http.Request) (*http.Response, error) {
	if h.operatorDigits() == "" || tools.IsOperatorText(req.Context()) {
		return h.next.RoundTrip(req)
	}
	if id, ok := callSubresource(req.URL.Path); ok {
		hidden, err := h.callHidden(req, id)
		if err != nil {
			return nil, err
		}
		if hidden {
			return hiddenAnswer(req), nil
		}
	}
	resp, err := h.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		return resp, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFilteredBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read the API answer: %w", err)
	}
	if len(data) > maxFilteredBody {
		return nil, fmt.Errorf("the API answer is larger than %d bytes", maxFilteredBody)
	}
	out, hideAll := h.filter(data)
	if hideAll {
		if id, ok := callObject(req.URL.Path); ok {
			h.remember(id, true)
		}
		return hiddenAnswer(req), nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return resp, nil
}

// maxFilteredBody bounds an answer the hider decodes (the API client's own bound is 8 MiB).
const maxFilteredBody = 8 << 20

// filter removes objects that name the operator from data. hideAll reports that the answer
// itself is such an object. An answer that is not JSON passes as it is (the client reports it).
func (h *operatorHider) filter(data []byte) (out []byte, hideAll bool) {
	if !mayHoldNumber(data, h.operatorDigits()) {
		return data, false // most answers: no spelling of the number anywhere, nothing to decode
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return data, false
	}
	cleaned, hide, changed := h.clean(v)
	if hide {
		return nil, true
	}
	if !changed {
		return data, false
	}
	b, err := json.Marshal(cleaned)
	if err != nil {
		return data, false
	}
	return b, false
}

// mayHoldNumber reports whether data could contain op (digits) in a spelling isOperator
// accepts: its last 7 digits in order, with only separator bytes between them. It is a fast,
// conservative pre-check: false means no string in data can be the operator's number.
func mayHoldNumber(data []byte, op string) bool {
	if len(op) < 7 {
		return len(op) > 0
	}
	tail := op[len(op)-7:]
	for i := 0; i < len(data); i++ {
		if data[i] != tail[0] {
			continue
		}
		k, j := 1, i+1
		for ; j < len(data) && k < len(tail); j++ {
			switch c := data[j]; {
			case c == tail[k]:
				k++
			case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '+' || c == 0xC2 || c == 0xA0:
			default:
				j = len(data) // mismatch: stop this attempt
			}
		}
		if k == len(tail) {
			return true
		}
	}
	return false
}

// clean walks v: hide reports that v is an object naming the operator; changed that
// something inside was removed.
func (h *operatorHider) clean(v any) (out any, hide, changed bool) {
	switch x := v.(type) {
	case map[string]any:
		if h.mentions(x) {
			return nil, true, true
		}
		before := -1
		if arr, ok := x["data"].([]any); ok {
			before = len(arr)
		}
		for k, child := range x {
			c, hidden, ch := h.clean(child)
			switch {
			case hidden:
				x[k] = nil
				changed = true
			case ch:
				x[k] = c
				changed = true
			}
		}
		// A page whose items were removed reports a total without them.
		if arr, ok := x["data"].([]any); ok && before > len(arr) {
			if tot, ok := x["total"].(json.Number); ok {
				if n, err := tot.Int64(); err == nil {
					x["total"] = json.Number(strconv.FormatInt(max(0, n-int64(before-len(arr))), 10))
				}
			}
		}
		return x, false, changed
	case []any:
		kept := x[:0]
		for _, child := range x {
			c, hidden, ch := h.clean(child)
			if hidden {
				changed = true
				continue
			}
			changed = changed || ch
			kept = append(kept, c)
		}
		return kept, false, changed
	}
	return v, false, false
}

// mentions reports whether an object names the operator's number in one of its own string
// fields, in a list of strings it holds directly, or anywhere in JSON carried as a string
// (a webhook delivery's payload or response body).
func (h *operatorHider) mentions(obj map[string]any) bool {
	for _, v := range obj {
		switch x := v.(type) {
		case string:
			if h.isOperator(x) {
				return true
			}
			if t := strings.TrimSpace(x); len(t) > 1 && (t[0] == '{' || t[0] == '[') && h.mentionsOperator([]byte(t)) {
				return true
			}
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok && h.isOperator(s) {
					return true
				}
			}
		}
	}
	return false
}

// isOperator reports whether s is the operator's number in any usual spelling: E.164,
// digits only, with spaces, dashes, dots or brackets, or national (without the country code).
func (h *operatorHider) isOperator(s string) bool {
	op := h.operatorDigits()
	if len(s) < 7 || len(s) > 40 || op == "" {
		return false
	}
	var d strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			d.WriteRune(r)
		case strings.ContainsRune("+ -.()\u00a0/", r):
		default:
			return false // not a phone number (a body that quotes it, an id...)
		}
	}
	got := d.String()
	if got == op {
		return true
	}
	// National spelling: the operator's digits minus a 1-3 digit country code.
	return len(got) >= 7 && len(got) < len(op) && len(op)-len(got) <= 3 && strings.HasSuffix(op, got)
}

// callHidden reports whether the call id names the operator, asking the API once per call.
func (h *operatorHider) callHidden(req *http.Request, id string) (bool, error) {
	h.mu.Lock()
	hidden, known := h.calls[id]
	h.mu.Unlock()
	if known {
		return hidden, nil
	}
	u := *req.URL
	u.Path, u.RawPath, u.RawQuery = "/v1/calls/"+id, "", ""
	creq, err := http.NewRequestWithContext(req.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return false, fmt.Errorf("check the call before its transcript: %w", err)
	}
	creq.Header.Set("Accept", "application/json")
	creq.Header.Set("User-Agent", req.Header.Get("User-Agent"))
	resp, err := h.next.RoundTrip(creq)
	if err != nil {
		return false, fmt.Errorf("check the call before its transcript: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, nil // the real request gets the API's own error
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFilteredBody))
	if err != nil {
		return false, fmt.Errorf("check the call before its transcript: %w", err)
	}
	_, hidden = h.filter(data)
	h.remember(id, hidden)
	return hidden, nil
}

func (h *operatorHider) remember(id string, hidden bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.calls) >= maxHiddenCalls {
		clear(h.calls)
	}
	h.calls[id] = hidden
}

// callSubresource returns the call id of /v1/calls/{id}/<anything>.
func callSubresource(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v1/calls/")
	if !ok {
		return "", false
	}
	id, sub, ok := strings.Cut(rest, "/")
	if !ok || id == "" || sub == "" {
		return "", false
	}
	return id, true
}

// callObject returns the call id of /v1/calls/{id}.
func callObject(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v1/calls/")
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}

// hiddenAnswer is the 404 a hidden object reads as, in the API's error shape.
func hiddenAnswer(req *http.Request) *http.Response {
	body := `{"detail":"Not found"}`
	return &http.Response{
		Status: "404 Not Found", StatusCode: http.StatusNotFound, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(body))}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req,
	}
}

// mentionsOperator reports whether a raw webhook body names the operator's number anywhere
// in an object's own fields (the same test the API filter applies).
func (h *operatorHider) mentionsOperator(body []byte) bool {
	if h == nil || h.operatorDigits() == "" {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false
	}
	return h.anyMention(v)
}

func (h *operatorHider) anyMention(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		if h.mentions(x) {
			return true
		}
		for _, c := range x {
			if h.anyMention(c) {
				return true
			}
		}
	case []any:
		for _, c := range x {
			if h.anyMention(c) {
				return true
			}
		}
	}
	return false
}

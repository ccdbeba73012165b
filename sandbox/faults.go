package sandbox

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault changes how a route answers, for client tests.
type Fault struct {
	// Status, when non-zero, replaces the answer with an error of this status (422 uses the
	// FastAPI detail-list shape, others the {"detail","error":{...}} envelope).
	Status int
	// Code is error.code (default: by status, e.g. RATE_LIMIT_EXCEEDED for 429).
	Code string
	// Message is the error message (default: "sandbox fault injected").
	Message string
	// RetryAfter, when positive, sets the Retry-After header (whole seconds, rounded up).
	RetryAfter time.Duration
	// Latency delays the answer on the sandbox clock (the request context can cancel it).
	Latency time.Duration
	// Malformed answers a truncated JSON body (with Status, default 200).
	Malformed bool
	// Body, when non-nil, answers Status (default 200) with exactly this body: "" and "null"
	// give an empty and a null answer.
	Body *string
	// Reset drops the connection without an answer (after Latency), as a reset would.
	Reset bool
	// Oversize answers 200 with more than 8 MiB of JSON whitespace, more than a client reads.
	Oversize bool
	// Times limits the fault to this many requests; 0 means until cleared.
	Times int
}

// oversizeBytes is more than any AgentPhone client reads for one answer.
const oversizeBytes = 8 << 20

// RawBody is a helper for Fault.Body.
func RawBody(s string) *string { return &s }

// faultTable holds faults by route: a ServeMux pattern such as "POST /v1/messages" or
// "GET /v1/calls/{call_id}", a concrete "GET /v1/calls/call_abc", or "*" for every route.
type faultTable struct {
	mu     sync.Mutex
	faults map[string]*Fault
}

func (t *faultTable) init() { t.faults = map[string]*Fault{} }

// SetFault installs a fault for route (see Fault); it replaces any fault on the same route.
func (s *Sandbox) SetFault(route string, f Fault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults[strings.TrimSpace(route)] = &f
}

// ClearFaults removes every fault.
func (s *Sandbox) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	clear(s.faults.faults)
}

// take returns the fault for this request, consuming one use.
func (t *faultTable) take(pattern, concrete string) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, key := range []string{concrete, pattern, "*"} {
		f, found := t.faults[key]
		if !found {
			continue
		}
		out := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				delete(t.faults, key)
			}
		}
		return out, true
	}
	return Fault{}, false
}

// applyFault runs a matching fault; it reports whether the response was written.
func (s *Sandbox) applyFault(w http.ResponseWriter, r *http.Request, pattern string) bool {
	f, found := s.faults.take(pattern, r.Method+" "+r.URL.Path)
	if !found {
		return false
	}
	if f.Latency > 0 {
		t := s.clock.NewTimer(f.Latency)
		select {
		case <-t.Chan():
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	msg := f.Message
	if msg == "" {
		msg = "sandbox fault injected"
	}
	switch {
	case f.Reset:
		panic(http.ErrAbortHandler) // net/http and Transport() both drop the connection
	case f.Oversize:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat(" ", 64<<10))
		for n := 0; n <= oversizeBytes; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return true
			}
		}
		_, _ = w.Write([]byte("{}"))
		return true
	case f.Body != nil:
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(*f.Body))
		return true
	case f.Malformed:
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"data": [{"id": "trunc`))
		return true
	case f.Status != 0:
		e := newError(f.Status, f.Code, msg)
		e.retryAfter = f.RetryAfter
		writeError(w, e)
		return true
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", (&apiError{retryAfter: f.RetryAfter}).retryAfterHeader())
	}
	return false
}

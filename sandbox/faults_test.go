package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		agentID := h.agent(nil)
		h.number(agentID)
		send := map[string]any{"agent_id": agentID, "to_number": "+12125550101", "body": "hi"}

		h.sb.SetFault("POST /v1/messages", Fault{Status: 429, RetryAfter: 1500 * time.Millisecond, Times: 1})
		r := h.do("POST", "/v1/messages", send)
		if r.status != 429 || r.header.Get("Retry-After") != "2" || r.obj(t)["error"].(map[string]any)["code"] != "RATE_LIMIT_EXCEEDED" {
			t.Errorf("429 fault: %d %v %s", r.status, r.header, r.raw)
		}
		if r := h.do("POST", "/v1/messages", send); r.status != 200 {
			t.Errorf("fault with Times=1 persisted: %d", r.status)
		}

		h.sb.SetFault("GET /v1/agents/{agent_id}", Fault{Status: 503, Code: "UPSTREAM_DOWN", Message: "try later"})
		for i := 0; i < 2; i++ {
			r := h.do("GET", "/v1/agents/"+agentID, nil)
			e := r.obj(t)
			if r.status != 503 || e["detail"] != "try later" || e["error"].(map[string]any)["code"] != "UPSTREAM_DOWN" {
				t.Errorf("pattern fault #%d: %d %s", i, r.status, r.raw)
			}
		}
		h.must(200, "GET", "/v1/agents", nil) // other routes unaffected
		h.sb.ClearFaults()
		h.must(200, "GET", "/v1/agents/"+agentID, nil)

		h.sb.SetFault("GET /v1/agents/"+agentID, Fault{Malformed: true, Times: 1})
		r = h.do("GET", "/v1/agents/"+agentID, nil)
		var v any
		if r.status != 200 || json.Unmarshal(r.raw, &v) == nil {
			t.Errorf("malformed fault: %d %s", r.status, r.raw)
		}

		h.sb.SetFault("POST /v1/agents", Fault{Status: 422, Message: "bad things", Times: 1})
		r = h.do("POST", "/v1/agents", map[string]any{"name": "x"})
		if detail, _ := r.obj(t)["detail"].([]any); r.status != 422 || len(detail) != 1 {
			t.Errorf("422 fault shape: %d %s", r.status, r.raw)
		}

		// Latency waits on the sandbox clock.
		h.sb.SetFault("*", Fault{Latency: 30 * time.Second, Times: 1})
		done := make(chan int, 1)
		go func() { done <- h.do("GET", "/v1/agents", nil).status }()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.clk.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(29 * time.Second)
		select {
		case s := <-done:
			t.Fatalf("latency fault answered early: %d", s)
		default:
		}
		h.clk.Advance(time.Second)
		if s := <-done; s != 200 {
			t.Errorf("after latency: %d", s)
		}
	})
}

func TestTransportHeadersAndErrors(t *testing.T) {
	sb := New(Options{})
	defer sb.Close()
	hc := &http.Client{Transport: sb.Transport()}
	req, _ := http.NewRequest("POST", "http://api.test/v1/agents", strings.NewReader(`{"name":"T"}`))
	req.Header.Set("Authorization", "Bearer k")
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"name":"T"`) {
		t.Fatalf("transport: %d %v %s", res.StatusCode, res.Header, body)
	}
	// A cancelled context before any answer fails the round trip.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", "http://api.test/v1/agents", nil)
	if _, err := hc.Do(req); err == nil {
		t.Error("cancelled request succeeded")
	}
	// HEAD has no body.
	req, _ = http.NewRequest("HEAD", "http://api.test/v1/agents", nil)
	req.Header.Set("Authorization", "Bearer k")
	res, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD: %d %q", res.StatusCode, body)
	}
}

func TestServe(t *testing.T) {
	sb := New(Options{})
	defer sb.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, ln, sb, nil) }()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/v1/agents", nil)
	req.Header.Set("Authorization", "Bearer k")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("served status %d", res.StatusCode)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := ListenAndServe(context.Background(), "256.0.0.1:bad", sb, nil); err == nil {
		t.Error("bad address accepted")
	}
}

// TestFaultAnswers: raw bodies, oversize answers and dropped connections, over both modes.
func TestFaultAnswers(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, m, Options{})
			for _, body := range []string{"", "null"} {
				h.sb.SetFault("GET /v1/usage", Fault{Body: RawBody(body), Times: 1})
				if r := h.do("GET", "/v1/usage", nil); r.status != 200 || string(r.raw) != body {
					t.Errorf("raw body %q: %d %q", body, r.status, r.raw)
				}
			}
			h.sb.SetFault("GET /v1/usage", Fault{Oversize: true, Times: 1})
			if r := h.do("GET", "/v1/usage", nil); r.status != 200 || len(r.raw) <= oversizeBytes {
				t.Errorf("oversize: %d, %d bytes", r.status, len(r.raw))
			}
			// Until cleared: net/http retries an idempotent request once on a fresh connection.
			h.sb.SetFault("GET /v1/usage", Fault{Reset: true})
			req, _ := http.NewRequest("GET", h.base+"/v1/usage", nil)
			req.Header.Set("Authorization", "Bearer "+testKey)
			res, err := h.hc.Do(req)
			if err == nil {
				res.Body.Close()
				t.Fatalf("reset fault answered %d", res.StatusCode)
			}
			h.sb.ClearFaults()
			h.must(200, "GET", "/v1/usage", nil)
		})
	}
}

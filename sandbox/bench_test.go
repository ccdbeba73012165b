package sandbox

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// BenchmarkSendMessage measures POST /v1/messages through the handler.
func BenchmarkSendMessage(b *testing.B) {
	sb := New(Options{Clock: clockwork.NewFakeClockAt(testStart)})
	defer sb.Close()
	agentID, _ := benchSetup(b, sb)
	body := fmt.Sprintf(`{"agent_id":%q,"to_number":"+12125550101","body":"hello there"}`, agentID)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := serve(sb, "POST", "/v1/messages", body)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkListCalls measures GET /v1/calls over 500 stored calls.
func BenchmarkListCalls(b *testing.B) {
	clk := clockwork.NewFakeClockAt(testStart)
	sb := New(Options{Clock: clk, RingTime: time.Hour})
	defer sb.Close()
	agentID, _ := benchSetup(b, sb)
	for i := 0; i < 500; i++ {
		body := fmt.Sprintf(`{"agentId":%q,"toNumber":"+1212555%04d"}`, agentID, i)
		if rec := serve(sb, "POST", "/v1/calls", body); rec.Code != 200 {
			b.Fatalf("create call: %d %s", rec.Code, rec.Body)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rec := serve(sb, "GET", "/v1/calls?limit=100&search=555", ""); rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkTransportRoundTrip measures one GET through the in-process pipe transport.
func BenchmarkTransportRoundTrip(b *testing.B) {
	sb := New(Options{})
	defer sb.Close()
	hc := &http.Client{Transport: sb.Transport()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("GET", "http://api.test/v1/agents", nil)
		req.Header.Set("Authorization", "Bearer k")
		res, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func benchSetup(b *testing.B, sb *Sandbox) (agentID, numberID string) {
	b.Helper()
	rec := serve(sb, "POST", "/v1/agents", `{"name":"Bench"}`)
	agentID = between(rec.Body.String(), `"id":"`, `"`)
	rec = serve(sb, "POST", "/v1/numbers", fmt.Sprintf(`{"agentId":%q}`, agentID))
	numberID = between(rec.Body.String(), `"id":"`, `"`)
	if agentID == "" || numberID == "" {
		b.Fatalf("setup failed: %s", rec.Body)
	}
	return agentID, numberID
}

func serve(sb *Sandbox, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	rec := httptest.NewRecorder()
	sb.ServeHTTP(rec, req)
	return rec
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

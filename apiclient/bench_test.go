package apiclient

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// memRT answers every request with a fixed body, in memory.
type memRT struct{ body []byte }

func (m memRT) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(m.body)), Request: r}, nil
}

func BenchmarkClientGetAgent(b *testing.B) {
	body := fixture(b, "agent.json")
	c, err := New(Options{BaseURL: "https://api.test", HTTPClient: &http.Client{Transport: memRT{body: body}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		a, err := c.GetAgent(ctx, "agt_abc123")
		if err != nil || a.ID != "agt_abc123" {
			b.Fatalf("GetAgent: %v %v", a, err)
		}
	}
}

func BenchmarkVerifyWebhook(b *testing.B) {
	body := fixture(b, "event_sms.json")
	h := http.Header{}
	h.Set(HeaderSignature, SignWebhook("whsec_x", testEpoch, body))
	h.Set(HeaderTimestamp, "1736942400")
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyWebhook("whsec_x", h, body, testEpoch); err != nil {
			b.Fatal(err)
		}
	}
}

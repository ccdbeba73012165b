package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// fakeAPI answers by path with a fixed JSON body and counts requests.
type fakeAPI struct {
	bodies map[string]string
	ctype  string
	hits   map[string]int
}

func (f *fakeAPI) RoundTrip(req *http.Request) (*http.Response, error) {
	f.hits[req.URL.Path]++
	body, ok := f.bodies[req.URL.Path]
	status := 200
	if !ok {
		status, body = 404, `{"detail":"nope"}`
	}
	ct := f.ctype
	if ct == "" {
		ct = "application/json"
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ct}}, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

func get(t *testing.T, rt http.RoundTripper, ctx context.Context, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.agentphone.to"+path, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOperatorHiderSpellings(t *testing.T) {
	h := newOperatorHider(&fakeAPI{})
	h.setOperator("+14155550123")
	for _, s := range []string{"+14155550123", "14155550123", "+1 415-555-0123", "(415) 555-0123", "415.555.0123", "4155550123", "+1 (415) 555 0123"} {
		if !h.isOperator(s) {
			t.Errorf("isOperator(%q) = false", s)
		}
	}
	for _, s := range []string{"+14155550124", "5550123", "call +14155550123", "msg_14155550123", "+44155550123", "", "+141555501234"} {
		if h.isOperator(s) {
			t.Errorf("isOperator(%q) = true", s)
		}
	}
}

func TestOperatorHiderFilters(t *testing.T) {
	api := &fakeAPI{hits: map[string]int{}, bodies: map[string]string{
		"/v1/conversations":       `{"data":[{"id":"c1","participant":"+14155550123","lastMessagePreview":"Code 123456"},{"id":"c2","participant":"+14155550142"}],"hasMore":false,"total":2}`,
		"/v1/conversations/c1":    `{"id":"c1","participant":"(415) 555-0123","messages":[{"body":"Code 123456"}]}`,
		"/v1/numbers/n1/messages": `{"data":[{"id":"m1","from":"+14155550100","to":"+14155550123","body":"Code 123456"},{"id":"m2","from":"+14155550142","to":"+14155550100","body":"hi","replyTo":{"messageId":"m1","from":"+14155550123"}}],"hasMore":false}`,
		"/v1/calls/k1":            `{"id":"k1","fromNumber":"+14155550123","toNumber":"+14155550100"}`,
		"/v1/calls/k1/transcript": `{"data":[{"transcript":"the code is 123456"}]}`,
		"/v1/calls/k2":            `{"id":"k2","fromNumber":"+14155550142","toNumber":"+14155550100"}`,
		"/v1/calls/k2/transcript": `{"data":[{"transcript":"hello"}]}`,
		"/v1/usage":               `{"plan":"free"}`,
	}}
	h := newOperatorHider(api)
	h.setOperator("+14155550123")
	ctx := context.Background()

	_, body := get(t, h, ctx, "/v1/conversations")
	var page struct {
		Data  []map[string]any `json:"data"`
		Total int              `json:"total"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Data) != 1 || page.Data[0]["id"] != "c2" || page.Total != 1 {
		t.Fatalf("conversation list not filtered: %s", body)
	}
	if s, body := get(t, h, ctx, "/v1/conversations/c1"); s != 404 || strings.Contains(body, "123456") {
		t.Fatalf("the operator's conversation: %d %s", s, body)
	}
	_, body = get(t, h, ctx, "/v1/numbers/n1/messages")
	if strings.Contains(body, "123456") || strings.Contains(body, "0123") || !strings.Contains(body, `"m2"`) {
		t.Fatalf("number messages not filtered (or the nested reference kept): %s", body)
	}
	if s, body := get(t, h, ctx, "/v1/calls/k1/transcript"); s != 404 || strings.Contains(body, "123456") {
		t.Fatalf("transcript of the operator's call: %d %s", s, body)
	}
	get(t, h, ctx, "/v1/calls/k1/transcript")
	if api.hits["/v1/calls/k1"] != 1 || api.hits["/v1/calls/k1/transcript"] != 0 {
		t.Fatalf("the call check is not cached or the transcript was fetched: %v", api.hits)
	}
	if s, body := get(t, h, ctx, "/v1/calls/k2/transcript"); s != 200 || !strings.Contains(body, "hello") {
		t.Fatalf("another call's transcript: %d %s", s, body)
	}
	if _, body := get(t, h, ctx, "/v1/usage"); body != `{"plan":"free"}` {
		t.Fatalf("an answer without the operator changed: %s", body)
	}
	// Only the server's own code text sees the operator's objects.
	if s, _ := get(t, h, tools.WithOperatorText(ctx), "/v1/conversations/c1"); s != 200 {
		t.Fatalf("the operator text path was filtered: %d", s)
	}
	// No operator set: nothing hidden.
	h.setOperator("")
	if s, _ := get(t, h, ctx, "/v1/conversations/c1"); s != 200 {
		t.Fatalf("without an operator phone: %d", s)
	}
}

func TestMayHoldNumber(t *testing.T) {
	for data, want := range map[string]bool{
		`{"p":"+14155550123"}`: true, `{"p":"(415) 555-0123"}`: true, `{"p":"555 01 23"}`: true, "5550123": true,
		`{"p":"+14155550124"}`: false, `{"p":"555x0123"}`: false, `{}`: false, `555012`: false,
	} {
		if got := mayHoldNumber([]byte(data), "14155550123"); got != want {
			t.Errorf("mayHoldNumber(%s) = %v, want %v", data, got, want)
		}
	}
}

func TestMentionsOperatorInWebhooks(t *testing.T) {
	h := newOperatorHider(&fakeAPI{})
	h.setOperator("+14155550123")
	for body, want := range map[string]bool{
		`{"event":"agent.message","data":{"from":"+1 415 555 0123","message":"x"}}`:                                      true,
		`{"event":"agent.reaction","data":{"fromNumber":"14155550123"}}`:                                                 true,
		`{"event":"agent.message","data":{"from":"+14155550142"},"recentHistory":[{"senderIdentifier":"+14155550123"}]}`: true,
		`{"event":"agent.message","data":{"from":"+14155550142","message":"my friend is +14155550123"}}`:                 false,
		`not json`: false,
		`{"id":"dlv_1","responseBody":"{\"data\":{\"from\":\"+14155550123\"}}"}`: true,
	} {
		if got := h.mentionsOperator([]byte(body)); got != want {
			t.Errorf("mentionsOperator(%s) = %v, want %v", body, got, want)
		}
	}
}

// BenchmarkOperatorFilter measures the cost the operator filter adds to one API answer: a
// page of 100 conversations, one of them the operator's (decoded, filtered, re-encoded), and
// the same page without it (the byte pre-check only).
func BenchmarkOperatorFilter(b *testing.B) {
	b.Run("with_operator", func(b *testing.B) { benchFilter(b, true) })
	b.Run("without_operator", func(b *testing.B) { benchFilter(b, false) })
}

func benchFilter(b *testing.B, withOperator bool) {
	var sb strings.Builder
	sb.WriteString(`{"data":[`)
	for i := 0; i < 100; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		p := "+1415555" + fmt.Sprintf("%04d", 200+i)
		if i == 50 && withOperator {
			p = "+14155550123"
		}
		fmt.Fprintf(&sb, `{"id":"conv_%d","agentId":"agt_1","phoneNumberId":"num_1","phoneNumber":"+14155550100","participant":%q,"lastMessageAt":"2026-06-16T20:00:00Z","lastMessagePreview":"See you at six, thanks!","messageCount":12,"createdAt":"2026-06-01T10:00:00Z"}`, i, p)
	}
	sb.WriteString(`],"hasMore":false,"total":100}`)
	page := []byte(sb.String())
	h := newOperatorHider(&fakeAPI{})
	h.setOperator("+14155550123")
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		out, hide := h.filter(page)
		if hide || (withOperator && len(out) >= len(page)) || (!withOperator && len(out) != len(page)) {
			b.Fatal("filtered wrongly")
		}
	}
}

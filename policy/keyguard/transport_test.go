package keyguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a fake base RoundTripper: it records every request and answers with resp.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	resp func(*http.Request) *http.Response
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	if r.resp != nil {
		return r.resp(req), nil
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}, Request: req}, nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func mustEndpoint(t *testing.T, raw string) Endpoint {
	t.Helper()
	ep, err := ParseBaseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// trackingBody records whether it was closed.
type trackingBody struct {
	io.Reader
	closed bool
}

func (b *trackingBody) Close() error { b.closed = true; return nil }

func TestTransportPins(t *testing.T) {
	t.Parallel()
	ep := mustEndpoint(t, "")
	tests := []struct {
		name    string
		url     string
		host    string // req.Host override
		allowed bool
	}{
		{name: "pinned", url: "https://api.agentphone.to/v1/agents", allowed: true},
		{name: "pinned explicit 443", url: "https://api.agentphone.to:443/v1/agents", allowed: true},
		{name: "pinned upper case", url: "HTTPS://API.AGENTPHONE.TO/v1/agents", allowed: true},
		{name: "same Host override", url: "https://api.agentphone.to/v1", host: "api.agentphone.to", allowed: true},
		{name: "http downgrade", url: "http://api.agentphone.to/v1/agents"},
		{name: "other port", url: "https://api.agentphone.to:8443/v1/agents"},
		{name: "other host", url: "https://evil.example/v1/agents"},
		{name: "suffix host", url: "https://api.agentphone.to.evil.example/v1"},
		{name: "subdomain", url: "https://sub.api.agentphone.to/v1"},
		{name: "other allowed domain not configured", url: "https://api.agentphone.ai/v1"},
		{name: "userinfo", url: "https://user:pw@api.agentphone.to/v1"},
		{name: "userinfo trick", url: "https://api.agentphone.to@evil.example/v1"},
		{name: "Host override", url: "https://api.agentphone.to/v1", host: "evil.example"},
		{name: "Host override port", url: "https://api.agentphone.to/v1", host: "api.agentphone.to:8443"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			tr := NewTransport(ep, NewSecret(testKey), rec)
			body := &trackingBody{Reader: strings.NewReader("{}")}
			req, err := http.NewRequest(http.MethodPost, tc.url, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Body = body
			req.Host = tc.host
			req.Header.Set("Authorization", "Bearer caller-set")
			resp, err := tr.RoundTrip(req)
			if !tc.allowed {
				if !errors.Is(err, ErrHostNotAllowed) {
					t.Fatalf("RoundTrip(%s) err = %v, want ErrHostNotAllowed", tc.url, err)
				}
				if strings.Contains(err.Error(), testKey) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), testKey) {
					t.Errorf("error leaks the key: %v", err)
				}
				if rec.count() != 0 {
					t.Errorf("refused request reached the base transport")
				}
				if !body.closed {
					t.Errorf("request body not closed on refusal")
				}
				return
			}
			if err != nil {
				t.Fatalf("RoundTrip(%s): %v", tc.url, err)
			}
			resp.Body.Close()
			if rec.count() != 1 {
				t.Fatalf("base saw %d requests", rec.count())
			}
			sent := rec.reqs[0]
			if got := sent.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+testKey {
				t.Errorf("sent Authorization = %q", got)
			}
			if got := req.Header.Get("Authorization"); got != "Bearer caller-set" {
				t.Errorf("caller's request was modified: Authorization = %q", got)
			}
		})
	}
}

func TestTransportLoopbackAndZeroKey(t *testing.T) {
	t.Parallel()
	ep := mustEndpoint(t, "http://127.0.0.1:8080")
	rec := &recorder{}
	tr := NewTransport(ep, Secret{}, rec)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080/v1/agents", nil)
	req.Header.Set("Authorization", "Bearer from-caller")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := rec.reqs[0].Header.Get("Authorization"); got != "" {
		t.Errorf("zero key: Authorization = %q, want none (caller's header stripped)", got)
	}
	for _, u := range []string{"http://localhost:8080/v1", "http://127.0.0.1:8081/v1", "https://127.0.0.1:8080/v1", "http://127.0.0.1/v1"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if _, err := tr.RoundTrip(req); !errors.Is(err, ErrHostNotAllowed) {
			t.Errorf("%s: err = %v, want ErrHostNotAllowed", u, err)
		}
	}
}

func TestTransportBadEndpointRefusesAll(t *testing.T) {
	t.Parallel()
	for _, ep := range []Endpoint{
		{},
		{BaseURL: "https://evil.example", Host: "evil.example"},
		{BaseURL: "https://api.agentphone.to", Host: "evil.example"},
		{BaseURL: "http://127.0.0.1:80", Host: "127.0.0.1:80", Loopback: false},
	} {
		rec := &recorder{}
		tr := NewTransport(ep, NewSecret(testKey), rec)
		req, _ := http.NewRequest(http.MethodGet, "https://api.agentphone.to/v1/agents", nil)
		if _, err := tr.RoundTrip(req); !errors.Is(err, ErrHostNotAllowed) || rec.count() != 0 {
			t.Errorf("endpoint %+v: err = %v, requests %d; want refusal", ep, err, rec.count())
		}
	}
}

func TestNewTransportDefaultBase(t *testing.T) {
	t.Parallel()
	tr := NewTransport(mustEndpoint(t, ""), NewSecret(testKey), nil).(*pinnedTransport)
	ht, ok := tr.base.(*http.Transport)
	if !ok {
		t.Fatalf("default base is %T", tr.base)
	}
	if ht == http.DefaultTransport {
		t.Error("default base must be a clone, not http.DefaultTransport itself")
	}
	if ht.Proxy == nil {
		t.Error("Proxy from environment was dropped")
	}
}

// TestClientRefusesRedirects: a 3xx from the API host is an error naming the target, exactly
// one request is made and the key reaches no other host.
func TestClientRefusesRedirects(t *testing.T) {
	t.Parallel()
	for _, loc := range []string{
		"https://evil.example/steal",
		"http://api.agentphone.to/v1/agents",
		"https://sub.api.agentphone.to/v1/agents",
		"https://api.agentphone.to:8443/v1/agents",
		"https://api.agentphone.to/v1/other",
	} {
		t.Run(loc, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{resp: func(req *http.Request) *http.Response {
				return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {loc}},
					Body: io.NopCloser(strings.NewReader("")), Request: req}
			}}
			c := NewHTTPClient(mustEndpoint(t, ""), NewSecret(testKey), rec)
			resp, err := c.Get("https://api.agentphone.to/v1/agents")
			if resp != nil {
				resp.Body.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "refusing to follow redirect from API host to ") {
				t.Fatalf("err = %v, want a redirect refusal", err)
			}
			host := strings.SplitN(strings.SplitN(loc, "://", 2)[1], "/", 2)[0]
			if !strings.Contains(err.Error(), host) {
				t.Errorf("error %q does not name %s", err, host)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the key")
			}
			if rec.count() != 1 {
				t.Errorf("%d requests made, want exactly 1", rec.count())
			}
		})
	}
}

// TestClientRedirectRealServers uses two loopback servers: the pinned one redirects to the
// other port, which must never be contacted.
func TestClientRedirectRealServers(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var otherHits int
	var otherAuth []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherHits++
		otherAuth = append(otherAuth, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer other.Close()
	var apiHits int
	var apiAuth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		apiHits++
		apiAuth = r.Header.Get("Authorization")
		mu.Unlock()
		http.Redirect(w, r, other.URL+"/collect", http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	ep := mustEndpoint(t, api.URL)
	if !ep.Loopback {
		t.Fatal("httptest endpoint not marked Loopback")
	}
	c := NewHTTPClient(ep, NewSecret(testKey), nil)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, api.URL+"/v1/agents", nil)
	resp, err := c.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "refusing to follow redirect") {
		t.Fatalf("err = %v", err)
	}
	// A direct request to the other server is refused before any connection.
	resp, err2 := c.Get(other.URL + "/v1/agents")
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err2, ErrHostNotAllowed) {
		t.Errorf("direct request to other port: err %v", err2)
	}
	mu.Lock()
	defer mu.Unlock()
	if apiHits != 1 || apiAuth != "Bearer "+testKey {
		t.Errorf("api hits %d auth %q", apiHits, apiAuth)
	}
	if otherHits != 0 {
		t.Errorf("other server contacted %d times (auth %q)", otherHits, otherAuth)
	}
}

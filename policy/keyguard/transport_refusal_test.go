package keyguard

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestRefusalSaysNothingWasSent(t *testing.T) {
	ep, err := ParseBaseURL("")
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(ep, NewSecret("sk_live_refusalkey123456"), roundTripFunc(func(*http.Request) (*http.Response, error) {
		t.Fatal("the base transport was called for a refused request")
		return nil, nil
	}))
	req, _ := http.NewRequest(http.MethodPost, "https://evil.example/v1/messages", strings.NewReader("{}"))
	_, err = tr.RoundTrip(req)
	var ns interface{ RequestNotSent() bool }
	if !errors.Is(err, ErrHostNotAllowed) || !errors.As(err, &ns) || !ns.RequestNotSent() {
		t.Fatalf("want a refusal that wraps ErrHostNotAllowed and reports RequestNotSent, got %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

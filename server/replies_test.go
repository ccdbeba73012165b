package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// TestRepliesShareOneListing: checks that start while a conversation listing is running do
// not use it (it may predate a reply they must see): they wait for the next one, and all of
// them share that one. So 20 concurrent checks cost 2 listings, not 21 and not 1.
func TestRepliesShareOneListing(t *testing.T) {
	clk := clockwork.NewFakeClockAt(testStart)
	sb := sandbox.New(sandbox.Options{Clock: clk, Seed: 1})
	t.Cleanup(sb.Close)
	var listings atomic.Int32
	first := make(chan struct{})
	release := make(chan struct{})
	base := sb.Transport()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/conversations" {
			if listings.Add(1) == 1 {
				close(first)
				<-release
			}
		}
		return base.RoundTrip(r)
	})
	ep, err := keyguard.ParseBaseURL("")
	if err != nil {
		t.Fatal(err)
	}
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret(SandboxKey), rt), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	r := newRepliesReader(api, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	check := func() {
		defer wg.Done()
		if _, err := r.LatestReplies(ctx, "+14155550150"); err != nil {
			t.Error(err)
		}
	}
	wg.Add(1)
	go check()
	<-first // listing 1 is at the API
	const later = 20
	for range later {
		wg.Add(1)
		go check()
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		r.lmu.Lock()
		n := 0
		if r.next != nil {
			n = r.next.waiters
		}
		r.lmu.Unlock()
		if n == later {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d checks queued for the next listing", n, later)
		}
		time.Sleep(time.Millisecond) // goroutines starting
	}
	close(release)
	wg.Wait()
	if n := listings.Load(); n != 2 {
		t.Fatalf("%d conversation listings for 1 + %d checks; want 2 (the running one for the first, one shared by the rest)", n, later)
	}
}

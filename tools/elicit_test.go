package tools_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/server"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// elicitFunc is a client-side elicitation handler that counts the forms it was shown.
type elicitFunc struct {
	shown  atomic.Int32
	opened chan struct{} // gets a value each time a form is shown
	answer func(ctx context.Context) (*mcp.ElicitationResult, error)
}

func (f *elicitFunc) Elicit(ctx context.Context, _ mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	f.shown.Add(1)
	select {
	case f.opened <- struct{}{}:
	default:
	}
	return f.answer(ctx)
}

var formMode = &mcp.ElicitationCapability{Form: &struct{}{}}

// TestConfirmationNeverFailsTheProtocol: whatever the client does with the confirmation form
// (answers with an error, never answers, declared URL mode only, sits on SSE whose session
// cannot carry the form), buy_number ends in a normal tool result: the two-step token in auto
// mode (which then works), a refusal naming the reason in strict mode. Nothing is bought
// until a human confirmed.
func TestConfirmationNeverFailsTheProtocol(t *testing.T) {
	failing := func(context.Context) (*mcp.ElicitationResult, error) {
		return nil, errors.New("the user interface is not available")
	}
	silent := func(ctx context.Context) (*mcp.ElicitationResult, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	cases := []struct {
		name      string
		transport string
		caps      *mcp.ElicitationCapability
		answer    func(context.Context) (*mcp.ElicitationResult, error)
		wantShown bool
		drive     bool // advance the clock past the elicitation bound
	}{
		{"error answer", "stdio", formMode, failing, true, false},
		{"no answer", "stdio", formMode, silent, true, true},
		{"no answer (in-process)", "inprocess", &mcp.ElicitationCapability{}, silent, true, true},
		{"url mode only", "inprocess", &mcp.ElicitationCapability{URL: &struct{}{}}, failing, false, false},
		{"sse transport", "sse", formMode, failing, false, false},
	}
	for _, mode := range []string{tools.ConfirmAuto, tools.ConfirmStrict} {
		for _, tc := range cases {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				e := newRecvEnv(t, sandbox.Options{}, func(c *server.Config) { c.ConfirmMode = mode })
				el := &elicitFunc{answer: tc.answer, opened: make(chan struct{}, 1)}
				// A client before 2026-07-28: the server sends the form itself.
				c := e.connectWith(tc.transport, mcp.LATEST_LEGACY_PROTOCOL_VERSION, tc.caps, client.WithElicitationHandler(el))
				agentID, _, _ := e.agentWithNumber(apiclient.VoiceModeHosted)
				args := map[string]any{"agent_id": agentID, "area_code": "212"}
				done := make(chan struct{})
				var got res
				var err error
				go func() {
					defer close(done)
					got, err = e.call(e.ctx, c, "buy_number", args, nil)
				}()
				if tc.drive {
					// The form is open: only the elicitation bound is on the clock (the
					// call's own bound is paused meanwhile).
					select {
					case <-el.opened:
					case <-e.ctx.Done():
						t.Fatal("the form was never shown")
					}
					if err := e.clk.BlockUntilContext(e.ctx, 1); err != nil {
						t.Fatal(err)
					}
					e.clk.Advance(tools.DefaultElicitTimeout)
				}
				<-done
				if err != nil {
					t.Fatalf("a protocol error instead of a tool result: %v", err)
				}
				if shown := el.shown.Load() > 0; shown != tc.wantShown {
					t.Fatalf("form shown = %v, want %v", shown, tc.wantShown)
				}
				if n := e.numbers(); n != 1 {
					t.Fatalf("a number was bought before anyone confirmed (%d numbers)", n)
				}
				if mode == tools.ConfirmStrict {
					if !got.isError || got.str("rule") != "confirmation_unavailable" || got.str("confirmation_token") != "" {
						t.Fatalf("strict: want a refusal without a token, got %s", got.text)
					}
					return
				}
				tok := got.str("confirmation_token")
				if got.isError || got.str("status") != "confirmation_required" || tok == "" {
					t.Fatalf("auto: want the two-step token, got %s", got.text)
				}
				if tc.wantShown && got.str("elicitation") == "" {
					t.Fatalf("auto: the result should say why the form did not complete: %v", got.data)
				}
				args["confirmation_token"] = tok
				done2 := make(chan struct{})
				go func() { defer close(done2); got, err = e.call(e.ctx, c, "buy_number", args, nil) }()
				<-done2
				if err != nil || got.isError || e.numbers() != 2 {
					t.Fatalf("the token did not confirm: %v %s", err, got.text)
				}
			})
		}
	}
}

func (e *recvEnv) numbers() int {
	e.t.Helper()
	page, err := e.api.ListNumbers(e.ctx, apiclient.ListParams{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(page.Data)
}

// TestOpenFormDoesNotHoldTheOutboundLock: texts and calls are decided one at a time, but a
// person reading a confirmation form must not stop every other text: while the first form is
// open, a second send_sms reaches its own form.
func TestOpenFormDoesNotHoldTheOutboundLock(t *testing.T) {
	e := newRecvEnv(t, sandbox.Options{}, func(c *server.Config) { c.ConfirmMode = tools.ConfirmAuto })
	firstOpen, secondOpen, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var n atomic.Int32
	el := &elicitFunc{opened: make(chan struct{}, 4), answer: func(ctx context.Context) (*mcp.ElicitationResult, error) {
		decline := &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}}
		if n.Add(1) == 1 {
			close(firstOpen)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return decline, nil
		}
		close(secondOpen)
		return decline, nil
	}}
	c := e.connectWith("stdio", mcp.LATEST_LEGACY_PROTOCOL_VERSION, formMode, client.WithElicitationHandler(el))
	agentID, _, _ := e.agentWithNumber(apiclient.VoiceModeHosted)
	results := make(chan res, 2)
	send := func(to string) {
		r, err := e.call(e.ctx, c, "send_sms", map[string]any{"agent_id": agentID, "to_number": to, "body": "Your table is ready."}, nil)
		if err != nil {
			t.Errorf("send_sms: %v", err)
		}
		results <- r
	}
	go send("+14155550161")
	select {
	case <-firstOpen:
	case <-e.ctx.Done():
		t.Fatal("the first form was never shown")
	}
	go send("+14155550162")
	select {
	case <-secondOpen:
	case <-e.ctx.Done():
		t.Fatal("the second text waited for the first form: the outbound lock is held while a form is open")
	}
	close(release)
	for range 2 {
		if r := <-results; r.str("status") != "not_approved" {
			t.Fatalf("want both declined, got %s", r.text)
		}
	}
}

package apiclient

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// defaultCallWait is assumed for waitForCompletion without maxWaitSeconds.
const defaultCallWait = 10 * time.Minute

// ListCalls lists calls with optional filters (GET /v1/calls).
func (c *Client) ListCalls(ctx context.Context, p ListCallsParams) (*Page[Call], error) {
	q := listQuery(p.Limit, p.Offset)
	if p.Status != "" {
		q.Set("status", string(p.Status))
	}
	if p.Direction != "" {
		q.Set("direction", string(p.Direction))
	}
	if p.Type != "" {
		q.Set("type", string(p.Type))
	}
	if p.Search != "" {
		q.Set("search", p.Search)
	}
	return getJSON[Page[Call]](ctx, c, "/v1/calls", q)
}

// CreateCall places an outbound call (POST /v1/calls). With
// WaitForCompletion the request blocks until the call ends and uses the
// long-poll deadline. Never retried once it may have reached the server:
// on a MaybeSent error, list recent calls before trying again.
func (c *Client) CreateCall(ctx context.Context, req CreateCallRequest) (*Call, error) {
	if req.AgentID == "" || req.ToNumber == "" {
		return nil, errors.New("apiclient: create call: agentId and toNumber are required")
	}
	r := call{method: http.MethodPost, path: "/v1/calls", body: req}
	if req.WaitForCompletion {
		r.wait = defaultCallWait
		if req.MaxWaitSeconds > 0 {
			r.wait = time.Duration(req.MaxWaitSeconds) * time.Second
		}
	}
	out := new(Call)
	if err := c.do(ctx, r, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetCall returns a call with its transcript (GET /v1/calls/{id}). With
// p.Wait it long-polls until the call ends or p.Timeout passes (sent as
// whole seconds, rounded up).
func (c *Client) GetCall(ctx context.Context, callID string, p GetCallParams) (*Call, error) {
	path, err := pathOf("calls", callID)
	if err != nil {
		return nil, err
	}
	r := call{method: http.MethodGet, path: path}
	if p.Wait {
		q := url.Values{}
		q.Set("wait", "true")
		if p.Timeout > 0 {
			q.Set("timeout", strconv.Itoa(int(math.Ceil(p.Timeout.Seconds()))))
			r.wait = p.Timeout
		} else {
			r.wait = 2 * time.Minute // the MCP's default server-side wait
		}
		r.query = q
	}
	out := new(Call)
	if err := c.do(ctx, r, out); err != nil {
		return nil, err
	}
	return out, nil
}

// EndCall hangs up a call (POST /v1/calls/{id}/end, no body). The returned
// call may still show in-progress: the final status arrives asynchronously.
func (c *Client) EndCall(ctx context.Context, callID string) (*Call, error) {
	p, err := pathOf("calls", callID, "end")
	if err != nil {
		return nil, err
	}
	return sendJSON[Call](ctx, c, http.MethodPost, p, nil, nil)
}

// GetTranscript returns the full ordered transcript of a call
// (GET /v1/calls/{id}/transcript).
func (c *Client) GetTranscript(ctx context.Context, callID string) (*Transcript, error) {
	p, err := pathOf("calls", callID, "transcript")
	if err != nil {
		return nil, err
	}
	out, err := getJSON[Transcript](ctx, c, p, nil)
	if err != nil {
		return nil, err
	}
	if out.CallID == "" {
		out.CallID = callID
	}
	return out, nil
}

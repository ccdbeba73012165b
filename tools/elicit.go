package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

// How a confirmation can reach the human through the client, decided per request.
//
// mcp-go would send elicitation/create to any client, on any transport, and turn every failure
// into a JSON-RPC error (-32603) that no tool result can follow: a client that did not declare
// elicitation, one that declared URL mode only (the specification forbids sending it a form),
// the SSE transport (whose session cannot carry the request), a client that answers with an
// error or never answers. So the handler decides: it elicits only where the request can take
// a form, and for clients before 2026-07-28 it sends the form itself under a bound, so every
// failure becomes a normal result: the two-step token in auto mode, a refusal in strict mode.
type elicitWay int

const (
	// elicitNone: no form can reach the user on this request.
	elicitNone elicitWay = iota
	// elicitInputRequired: a 2026-07-28 request; the form goes back as an input_required
	// result and the client calls again with the answer.
	elicitInputRequired
	// elicitDirect: an earlier protocol on a session that can send requests to the client;
	// the handler sends elicitation/create itself and waits, bounded by ElicitTimeout.
	elicitDirect
)

// elicitation says whether and how this request can show the user a confirmation form, and
// if not, why not (for the audit log and the result).
func elicitation(ctx context.Context) (elicitWay, string) {
	modern := mcp.IsModernProtocol(server.RequestProtocolVersion(ctx))
	var caps *mcp.ClientCapabilities
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.ClientCapabilities != nil {
		caps = info.ClientCapabilities
	} else if !modern {
		// Before 2026-07-28 the capabilities were declared once, at initialize. A 2026-07-28
		// request declares its own; nothing is inferred from earlier requests.
		if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
			c := s.GetClientCapabilities()
			caps = &c
		}
	}
	switch {
	case caps == nil || caps.Elicitation == nil:
		return elicitNone, "the client did not declare elicitation"
	case !formMode(caps.Elicitation):
		return elicitNone, "the client declared URL-mode elicitation only, not forms"
	case modern:
		return elicitInputRequired, ""
	}
	if _, ok := server.ClientSessionFromContext(ctx).(server.SessionWithElicitation); !ok {
		return elicitNone, "this transport (legacy SSE) cannot carry elicitation"
	}
	return elicitDirect, ""
}

// formMode reports whether a declared elicitation capability covers form mode: {} (the
// capability as declared before modes existed) and {form: {}} do; {url: {}} alone does not.
func formMode(e *mcp.ElicitationCapability) bool {
	return e.Form != nil || e.URL == nil
}

// canElicit reports whether this request can show the user a confirmation form.
func (d *Deps) canElicit(ctx context.Context) bool {
	way, _ := elicitation(ctx)
	return way != elicitNone
}

// confirmByElicitation asks the user to approve the action in a form with a random code. For
// a 2026-07-28 request the form is the result (input_required). For an earlier one the form is
// sent once the outbound lock is released (gate runs c.after): holding the lock while a person
// reads a form would stop every other text and call. The answer then runs the gate again, so
// the decision is taken afresh, exactly as on a client's second round trip.
func (d *Deps) confirmByElicitation(ctx context.Context, c *call, a policy.Action, dec policy.Decision, exec execFunc) *mcp.CallToolResult {
	way, why := elicitation(ctx)
	res := d.elicit(ctx, c, a, dec)
	if way != elicitDirect || res.ResultType != mcp.ResultTypeInputRequired {
		return res
	}
	form, ok := res.InputRequests[confirmKey]
	if !ok || form.Elicitation == nil {
		return d.elicitationFailed(ctx, c, a, dec, res.RequestState, "the form could not be built: "+why)
	}
	state, params := res.RequestState, *form.Elicitation
	c.after = func(ctx context.Context) *mcp.CallToolResult {
		return d.elicitDirect(ctx, c, a, dec, params, state, exec)
	}
	return res // not sent: gate returns c.after's result
}

// elicitDirect sends the form (elicitation/create) and waits at most ElicitTimeout for the
// answer. The tool time bound is paused meanwhile: the client is busy with its user, not
// waiting on this server. Any failure is a normal result, never a protocol error.
func (d *Deps) elicitDirect(ctx context.Context, c *call, a policy.Action, dec policy.Decision, params mcp.ElicitationParams, tok string, exec execFunc) *mcp.CallToolResult {
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return d.elicitationFailed(ctx, c, a, dec, tok, "no MCP session to send the form on")
	}
	resume := c.budget.pause()
	ectx, cancel := d.clockTimeout(ctx, d.elicitTimeout())
	c.prog.state(c.tool + ": waiting for the user to answer the confirmation form")
	answer, err := srv.RequestElicitation(ectx, mcp.ElicitationRequest{
		Request: mcp.Request{Method: string(mcp.MethodElicitationCreate)},
		Params:  params,
	})
	timedOut := ectx.Err() != nil
	cancel()
	resume()
	if err != nil || answer == nil {
		switch {
		case c.budget.ranOut():
			return d.elicitationFailed(ctx, c, a, dec, tok, "the tool time limit passed before the form could be sent")
		case ctx.Err() != nil:
			d.record(ctx, a, dec, "none", outcome{err: errors.New("the request was cancelled while the confirmation form was open")})
			return okResult("Stopped: the request was cancelled before the user answered the confirmation form. Nothing was done.",
				map[string]any{"status": "cancelled"})
		case timedOut:
			return d.elicitationFailed(ctx, c, a, dec, tok, fmt.Sprintf("no answer within %s", d.elicitTimeout()))
		case err != nil:
			return d.elicitationFailed(ctx, c, a, dec, tok, "the client could not show it: "+untrusted(err.Error(), maxAPIMessage))
		default:
			return d.elicitationFailed(ctx, c, a, dec, tok, "the client returned no answer")
		}
	}
	c.prog.state(c.tool + ": the user answered the confirmation form (" + string(answer.Action) + ")")
	c.req.Params.InputResponses = mcp.InputResponses{confirmKey: mcp.NewElicitationInputResponse(*answer)}
	c.req.Params.RequestState = tok
	return d.gate(ctx, c, a, "", exec)
}

// elicitationFailed ends a confirmation whose form could not be completed: in auto mode with
// the two-step token (the same one the form was for), in strict mode with a refusal.
func (d *Deps) elicitationFailed(ctx context.Context, c *call, a policy.Action, dec policy.Decision, tok, why string) *mcp.CallToolResult {
	d.logger().Info("confirmation form not completed", "tool", c.tool, "reason", why)
	if d.ConfirmMode == ConfirmStrict || tok == "" {
		d.record(ctx, a, dec, "none", outcome{err: fmt.Errorf("confirmation form not completed: %s", why)})
		return errorNext(fmt.Sprintf("%s needs a human's confirmation (%s), and the confirmation form was not completed: %s. Nothing was done. "+
			"In strict mode only the form (or a code texted to the operator) can approve.", c.tool, ruleList(dec), why),
			fmt.Sprintf("Call %s again when the user can answer the form.", c.tool),
			map[string]any{"status": "denied", "rule": "confirmation_unavailable", "reason": "confirmation form not completed: " + why, "rules": ruleIDs(dec)})
	}
	d.record(ctx, a, dec, "none", outcome{apiStatus: "awaiting confirmation (token issued: the form was not completed: " + why + ")"})
	res := confirmationRequired(c.tool, dec, tok, "The confirmation form was not completed ("+why+"). Show this preview to the user. Only if they approve, call "+c.tool+" again with the same arguments plus confirmation_token.")
	if m, ok := res.StructuredContent.(map[string]any); ok {
		m["elicitation"] = why
	}
	return res
}

package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/outbound"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// confirmKey names the elicitation input request across its two round trips.
const confirmKey = "confirm"

// outcome is what an executed action reports back to the gate.
type outcome struct {
	result    *mcp.CallToolResult
	apiID     string
	apiStatus string
	err       error
	// after, when set, finishes the tool call once the action is settled in the ledger
	// (make_call with wait: the call counts against the caps from the moment it is placed,
	// not when it ends). Its result replaces result.
	after func(ctx context.Context) *mcp.CallToolResult
}

// execFunc performs the action once the policy allowed it and the action is on the books.
type execFunc func(ctx context.Context) outcome

// gate runs the policy for a write action and executes it only when the decision allows.
//
// Deny is final: an isError result with the rule and reason. Confirm asks the human: by
// elicitation when the client declared it, otherwise by the two-step token (auto mode) or a
// code texted to the operator (strict mode). A decision that did not run is recorded in the
// audit log; one that runs goes through the outbound path (outbound.Path.Run): reserved in
// the send ledger on fresh facts, then the API call, then settled. Nothing here serialises
// tool calls: the store's short transaction is the only lock, so one hung send delays no
// other.
func (d *Deps) gate(ctx context.Context, c *call, a policy.Action, token string, exec execFunc) *mcp.CallToolResult {
	res := d.decide(ctx, c, a, token, exec)
	if next := c.after; next != nil {
		c.after = nil
		return next(ctx)
	}
	return res
}

// decide takes the decision and acts on it.
func (d *Deps) decide(ctx context.Context, c *call, a policy.Action, token string, exec execFunc) *mcp.CallToolResult {
	a.Tool = c.tool
	a.Principal = d.PrincipalFor(ctx)
	dec, err := d.Policy.Evaluate(ctx, a)
	if err != nil {
		d.logger().Error("policy evaluation failed", "tool", c.tool, "err", err)
		return errorResult(fmt.Sprintf("%s: the policy check failed (%v), so nothing was done.", c.tool, err),
			map[string]any{"status": "policy_error", "error": err.Error()})
	}
	answer := server.ElicitationResponse(c.req.Params.InputResponses, confirmKey)
	if token != "" && answer == nil {
		// A token presented is spent, whatever the decision: it never outlives the call it
		// came with, and it approves only the rules its preview showed (execute → Approve).
		return d.redeem(ctx, c, a, dec, token, exec)
	}
	switch dec.Outcome {
	case policy.Deny:
		d.record(ctx, a, dec, "none", outcome{})
		return denied(c.tool, dec)
	case policy.Allow:
		return d.execute(ctx, c, a, dec, "none", "", exec)
	}

	// Confirm tier.
	if d.ConfirmMode == ConfirmOff {
		return d.execute(ctx, c, a, dec, "off", "", exec)
	}
	if answer != nil {
		return d.finishElicitation(ctx, c, a, dec, answer, exec)
	}
	if d.canElicit(ctx) {
		return d.confirmByElicitation(ctx, c, a, dec, exec)
	}
	if d.ConfirmMode == ConfirmStrict {
		if d.OperatorPhone == "" {
			d.record(ctx, a, dec, "none", outcome{err: errors.New("strict mode without elicitation or operator phone")})
			return errorNext(fmt.Sprintf("%s needs a human's confirmation (%s), and in strict mode this client can give it only by an elicitation form, which this connection cannot show (not declared, URL mode only, or the SSE transport). Nothing was done.", c.tool, ruleList(dec)),
				"Tell the user: the operator can set AGENTPHONE_OPERATOR_PHONE to confirm by texted code, or add the number to the policy file's allowlist.",
				map[string]any{"status": "denied", "rule": "confirmation_unavailable", "reason": "strict confirmation needs elicitation or AGENTPHONE_OPERATOR_PHONE", "rules": ruleIDs(dec)})
		}
		return d.sendOTP(ctx, c, a, dec)
	}
	tok, err := d.Policy.IssueToken(a, dec.RuleIDs()...)
	if err != nil {
		return errorResult(fmt.Sprintf("%s: could not issue a confirmation token (%v); nothing was done.", c.tool, err),
			map[string]any{"status": "policy_error", "error": err.Error()})
	}
	d.record(ctx, a, dec, "none", outcome{apiStatus: "awaiting confirmation (token issued)"})
	return confirmationRequired(c.tool, dec, tok, "Show this preview to the user. Only if they approve, call "+c.tool+" again with the same arguments plus confirmation_token.")
}

// execute runs the action through the outbound path: reserved in the ledger (the same rules
// on fresh facts; refused if a cap filled, an opt-out arrived, or a confirm rule appeared
// that the human did not approve), then exec, then settled from exec's outcome. method says
// how the human approved; tok is the confirmation token that carried it, if any.
func (d *Deps) execute(ctx context.Context, c *call, a policy.Action, dec policy.Decision, method, tok string, exec execFunc) *mcp.CallToolResult {
	var out outcome
	run := d.outbound().Run(ctx, outbound.Request{
		Action: a, Decision: dec, Approval: d.Policy.Approve(dec, method, tok),
		Do: func(ctx context.Context) outbound.Attempt {
			out = exec(ctx)
			return outbound.Attempt{APIID: out.apiID, APIStatus: out.apiStatus, Err: out.err}
		},
	})
	if run.Refused != nil {
		return refusedAtReservation(c.tool, run.Refused)
	}
	res := out.result
	switch {
	case run.Outcome == apiclient.OutcomeMaybeSent && countsSend(a.Kind):
		res = maybeSent(c.tool, a, run)
	case res == nil:
		res = okResult(c.tool+" done.", map[string]any{"status": "done"})
	}
	if run.BooksErr != nil && run.State != store.Failed {
		addBooksNote(res, run)
	}
	if run.Outcome != apiclient.OutcomeMaybeSent {
		c.after = out.after
	}
	return res
}

// outbound is the outbound path over these deps.
func (d *Deps) outbound() *outbound.Path {
	return &outbound.Path{Policy: d.Policy, API: d.API, Clock: d.Clock, Logger: d.logger(), ReconcileWithin: d.ReconcileWithin}
}

// refusedAtReservation renders a failure to put the action on the books: nothing was sent.
func refusedAtReservation(tool string, err error) *mcp.CallToolResult {
	var r *policy.Refusal
	if errors.As(err, &r) {
		if !r.NeedsConfirmation() {
			return denied(tool, r.Decision)
		}
		var parts []string
		for _, h := range r.Unapproved {
			parts = append(parts, fmt.Sprintf("[%s] %s", h.ID, h.Reason))
		}
		return errorNext(fmt.Sprintf("%s needs a new confirmation: since the preview, %s. Nothing was sent.", tool, strings.Join(parts, "; ")),
			fmt.Sprintf("Call %s again without confirmation_token to get a fresh preview.", tool),
			map[string]any{"status": "needs_confirmation", "rules": hitIDs(r.Unapproved), "reason": strings.Join(parts, "; ")})
	}
	var be *policy.BooksError
	if errors.As(err, &be) {
		return errorNext(fmt.Sprintf("%s: nothing was sent: %s.", tool, be.Error()), "Tell the operator; do not retry until it is fixed.",
			map[string]any{"status": "not_sent", "reason": be.Error(), "operator_action": be.Hint()})
	}
	return errorResult(fmt.Sprintf("%s: nothing was sent: %v.", tool, err), map[string]any{"status": "not_sent", "reason": err.Error()})
}

// maybeSent renders an action whose API call may have taken effect: the answer was lost
// (reset, timeout, 5xx, an unreadable 2xx). It says what the look in the API found. The
// action is counted either way, and an identical retry asks for the duplicate confirmation.
func maybeSent(tool string, a policy.Action, run outbound.Result) *mcp.CallToolResult {
	what := map[policy.Kind]string{policy.KindSMS: "The message", policy.KindCall: "The call", policy.KindBuyNumber: "The number purchase"}[a.Kind]
	cause := "the answer was lost"
	if run.Attempt.Err != nil {
		cause = untrusted(run.Attempt.Err.Error(), maxAPIMessage)
	}
	data := map[string]any{"ledger_id": run.Ticket.Entry.ID, "cause": cause}
	rec := run.Reconciled
	if rec != nil && rec.Found {
		data["status"], data["id"], data["reconciled"] = "sent", rec.APIID, true
		return okNext(fmt.Sprintf("%s may have been sent: AgentPhone's answer was lost (%s). Reconciled: AgentPhone shows it as %s (%s), so it was sent and is counted.",
			what, cause, rec.APIID, rec.Status), "Do not send it again.", data)
	}
	data["status"] = "maybe_sent"
	looked := "it could not be looked up"
	switch {
	case rec == nil, rec.Unsupported:
	case rec.Err != nil:
		looked = "looking it up in AgentPhone failed: " + untrusted(rec.Err.Error(), maxAPIMessage)
	default:
		looked = fmt.Sprintf("AgentPhone does not show it yet (looked for %s)", rec.Looked.Round(100*time.Millisecond))
	}
	data["reconciled"] = false
	return okNext(fmt.Sprintf("%s may have been sent: %s, and %s. It is counted as sent.", what, cause, looked),
		"Do not retry blindly: check the conversation or call list first; an identical retry asks for confirmation as a duplicate.", data)
}

// countsSend reports the kinds that reach a person or spend money, whose maybe-sent result
// is reconciled and rendered by maybeSent; other writes keep their API error result.
func countsSend(k policy.Kind) bool {
	return k == policy.KindSMS || k == policy.KindCall || k == policy.KindBuyNumber
}

// addBooksNote tells, in a result of an action that went out, that its settlement could
// not be recorded: it stays counted, and the operator should look at the server's log.
func addBooksNote(res *mcp.CallToolResult, run outbound.Result) {
	note := "Note: the send ledger or audit log could not record the outcome (" + run.BooksErr.Error() + "); it stays counted as sent."
	res.Content = append(res.Content, mcp.NewTextContent(note))
	if m, ok := res.StructuredContent.(map[string]any); ok {
		m["books_warning"] = run.BooksErr.Error()
	}
}

func hitIDs(hits []policy.RuleHit) []string {
	ids := make([]string, 0, len(hits))
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	return ids
}

// record writes the audit line of a decision that did not run.
func (d *Deps) record(ctx context.Context, a policy.Action, dec policy.Decision, method string, out outcome) {
	r := policy.Result{ConfirmMethod: method, APIID: out.apiID, APIStatus: out.apiStatus, Err: out.err}
	if err := d.Policy.Record(ctx, a, dec, r); err != nil {
		d.logger().Error("recording a policy decision failed", "tool", a.Tool, "err", err)
	}
}

// redeem spends a confirmation token presented with a write (in strict mode, token:code),
// whatever the decision, and then acts on the decision: a deny stays a deny; an allow or a
// confirm runs with only the rules the token's preview showed approved, so a confirm rule
// that appeared since (a duplicate after a first-contact preview) is refused at
// reservation and needs a new confirmation. In strict mode the credential is TOKEN:CODE: a
// bare token or a wrong code spends nothing (the code has its own attempt limit) and runs
// nothing.
func (d *Deps) redeem(ctx context.Context, c *call, a policy.Action, dec policy.Decision, token string, exec execFunc) *mcp.CallToolResult {
	method := "token"
	if d.ConfirmMode == ConfirmStrict {
		tok, code, ok := strings.Cut(token, ":")
		if !ok {
			// A bare token approves nothing in strict mode; it stays for TOKEN:CODE.
			if dec.Outcome == policy.Deny {
				d.record(ctx, a, dec, "none", outcome{})
				return denied(c.tool, dec)
			}
			return tokenRefused(c.tool, "strict mode needs confirmation_token in the form TOKEN:CODE, where CODE is the one-time code texted to the operator's phone")
		}
		if err := d.checkCode(tok, code); err != nil {
			return tokenRefused(c.tool, err.Error())
		}
		token, method = tok, "otp"
	}
	err := d.Policy.RedeemToken(ctx, a, token)
	if dec.Outcome == policy.Deny { // a deny is the answer, whatever the token was
		d.record(ctx, a, dec, method, outcome{err: err})
		return denied(c.tool, dec)
	}
	if err != nil {
		d.record(ctx, a, dec, method, outcome{err: err})
		return tokenRefused(c.tool, err.Error())
	}
	if d.ConfirmMode == ConfirmOff {
		method = "off"
	}
	return d.execute(ctx, c, a, dec, method, token, exec)
}

// elicit asks the user through the client's own UI. The form needs a random code shown only
// in the message, so a blind "accept" hook or the model itself cannot approve.
func (d *Deps) elicit(ctx context.Context, c *call, a policy.Action, dec policy.Decision) *mcp.CallToolResult {
	tok, err := d.Policy.IssueToken(a, dec.RuleIDs()...)
	if err != nil {
		return errorResult(fmt.Sprintf("%s: could not start the confirmation (%v); nothing was done.", c.tool, err),
			map[string]any{"status": "policy_error", "error": err.Error()})
	}
	code, err := d.newCode(tok, 3)
	if err != nil {
		return tokenRefused(c.tool, err.Error())
	}
	msg := fmt.Sprintf("Approve this action?\n\n%s\n\nTo approve, tick approve and type %s.", renderPreview(c.tool, dec), code)
	schema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"approve": map[string]any{"type": "boolean", "title": "Approve", "description": "Carry out the action"},
			"code":    map[string]any{"type": "string", "title": "Code", "description": "The 3-digit code in the message", "pattern": `^\d{3}$`},
		},
		"required": []string{"approve", "code"},
	}
	d.record(ctx, a, dec, "none", outcome{apiStatus: "awaiting confirmation (elicitation sent)"})
	return server.NewInputRequestBuilder(tok).Elicit(confirmKey, mcp.ElicitationParams{
		Mode: mcp.ElicitationModeForm, Message: msg, RequestedSchema: schema,
	}).ToolResult()
}

func (d *Deps) finishElicitation(ctx context.Context, c *call, a policy.Action, dec policy.Decision, answer *mcp.ElicitationResult, exec execFunc) *mcp.CallToolResult {
	tok := c.req.Params.RequestState
	if answer.Action != mcp.ElicitationResponseActionAccept {
		d.record(ctx, a, dec, "elicitation", outcome{err: fmt.Errorf("user answered %s", answer.Action)})
		return okResult(fmt.Sprintf("The user did not approve (%s). Nothing was done.", answer.Action),
			map[string]any{"status": "not_approved", "action": string(answer.Action)})
	}
	content, _ := answer.Content.(map[string]any)
	approved, _ := content["approve"].(bool)
	code, _ := content["code"].(string)
	if !approved {
		d.record(ctx, a, dec, "elicitation", outcome{err: errors.New("user left approve unticked")})
		return okResult("The user did not approve. Nothing was done.", map[string]any{"status": "not_approved"})
	}
	if err := d.checkCode(tok, code); err != nil {
		d.record(ctx, a, dec, "elicitation", outcome{err: errors.New("wrong confirmation code")})
		return tokenRefused(c.tool, "the code typed in the form did not match: "+err.Error())
	}
	if err := d.Policy.RedeemToken(ctx, a, tok); err != nil {
		return tokenRefused(c.tool, err.Error())
	}
	return d.execute(ctx, c, a, dec, "elicitation", tok, exec)
}

func denied(tool string, dec policy.Decision) *mcp.CallToolResult {
	rule, reason := "", ""
	if len(dec.Rules) > 0 {
		rule, reason = dec.Rules[0].ID, dec.Rules[0].Reason
	}
	data := map[string]any{"status": "denied", "rule": rule, "reason": reason}
	if len(dec.Rules) > 1 {
		data["rules"] = dec.Rules
	}
	sentence := strings.TrimSpace(reason)
	if sentence != "" && !strings.HasSuffix(sentence, ".") {
		sentence += "."
	}
	return errorNext(fmt.Sprintf("%s refused by policy [%s]: %s Nothing was done.", tool, rule, sentence),
		"Tell the user the reason; confirming cannot override a policy refusal.", data)
}

func confirmationRequired(tool string, dec policy.Decision, tok, next string) *mcp.CallToolResult {
	data := map[string]any{
		"status":             "confirmation_required",
		"confirmation_token": tok,
		"preview":            dec.Preview,
		"rules":              ruleIDs(dec),
		nextStepKey:          next,
	}
	text := fmt.Sprintf("Confirmation required; nothing was done yet.\n%s\n%s\nconfirmation_token: %s (valid 5 minutes, once, for exactly these arguments)",
		renderPreview(tool, dec), next, tok)
	return okResult(text, data)
}

func tokenRefused(tool, why string) *mcp.CallToolResult {
	return errorNext(fmt.Sprintf("%s: confirmation refused: %s. Nothing was done.", tool, why),
		"Call "+tool+" again without confirmation_token to get a fresh preview.", map[string]any{"status": "confirmation_refused", "reason": why})
}

func ruleIDs(dec policy.Decision) []string {
	ids := make([]string, 0, len(dec.Rules))
	for _, r := range dec.Rules {
		ids = append(ids, r.ID)
	}
	return ids
}

func ruleList(dec policy.Decision) string {
	var parts []string
	for _, r := range dec.Rules {
		parts = append(parts, r.ID+": "+r.Reason)
	}
	return strings.Join(parts, "; ")
}

// kindAudited is the policy kind of a write that the engine allows and audits without further
// rules (attach/detach, an update_agent that leaves prompt and transfer number alone,
// update_conversation, react_to_message, end_call, test_webhook).
const kindAudited = policy.KindOther

// policyAudited is the Action of a write the engine only audits.
func policyAudited(c *call, details map[string]string) policy.Action {
	return policy.Action{Kind: kindAudited, Args: canonicalArgs(c), Details: details}
}

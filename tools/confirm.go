package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

// confirmKey names the elicitation input request across its two round trips.
const confirmKey = "confirm"

// outcome is what an executed action reports back to the gate for the audit log.
type outcome struct {
	result    *mcp.CallToolResult
	apiID     string
	apiStatus string
	err       error
	// after, when set, finishes the tool call once the action is recorded and the outbound
	// lock released (make_call with wait: the call counts against the caps from the moment
	// it is placed, not when it ends). Its result replaces result.
	after func(ctx context.Context) *mcp.CallToolResult
}

// execFunc performs the action once the policy allowed it.
type execFunc func(ctx context.Context) outcome

// gate runs the policy for a write action and executes it only when the decision allows.
//
// Deny is final: an isError result with the rule and reason. Confirm asks the human: by
// elicitation when the client declared it, otherwise by the two-step token (auto mode) or a
// code texted to the operator (strict mode). Every path is recorded in the audit log, and the
// decision is taken afresh on the confirming call, so time, caps and opt-outs are current.
//
// Texts and calls are decided, sent and counted one at a time in this process, so concurrent
// tool calls cannot each pass a cap that only one of them may use.
func (d *Deps) gate(ctx context.Context, c *call, a policy.Action, token string, exec execFunc) *mcp.CallToolResult {
	unlock := d.lockOutbound(a.Kind)
	res := d.decide(ctx, c, a, token, exec)
	unlock()
	if next := c.after; next != nil {
		c.after = nil
		return next(ctx)
	}
	return res
}

// lockOutbound serialises the decide-send-count sequence of SMS and calls, and contact
// writes with them (a text racing the contact write for its recipient must not see the new
// contact before it is marked as tool-written).
func (d *Deps) lockOutbound(k policy.Kind) func() {
	if k != policy.KindSMS && k != policy.KindCall && k != policy.KindContactWrite {
		return func() {}
	}
	d.outbound.Lock()
	return d.outbound.Unlock
}

// decide is gate without the outbound lock.
func (d *Deps) decide(ctx context.Context, c *call, a policy.Action, token string, exec execFunc) *mcp.CallToolResult {
	a.Tool = c.tool
	a.Principal = d.PrincipalFor(ctx)
	dec, err := d.Policy.Evaluate(ctx, a)
	if err != nil {
		d.logger().Error("policy evaluation failed", "tool", c.tool, "err", err)
		return errorResult(fmt.Sprintf("%s: the policy check failed (%v), so nothing was done.", c.tool, err),
			map[string]any{"status": "policy_error", "error": err.Error()})
	}
	switch dec.Outcome {
	case policy.Deny:
		d.record(ctx, a, dec, "none", outcome{})
		return denied(c.tool, dec)
	case policy.Allow:
		return d.execute(ctx, c, a, dec, "none", exec)
	}

	// Confirm tier.
	if d.ConfirmMode == ConfirmOff {
		return d.execute(ctx, c, a, dec, "off", exec)
	}
	if answer := server.ElicitationResponse(c.req.Params.InputResponses, confirmKey); answer != nil {
		return d.finishElicitation(ctx, c, a, dec, answer, exec)
	}
	if token != "" {
		return d.redeem(ctx, c, a, dec, token, exec)
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
	tok, err := d.Policy.IssueToken(a)
	if err != nil {
		return errorResult(fmt.Sprintf("%s: could not issue a confirmation token (%v); nothing was done.", c.tool, err),
			map[string]any{"status": "policy_error", "error": err.Error()})
	}
	d.record(ctx, a, dec, "none", outcome{apiStatus: "awaiting confirmation (token issued)"})
	return confirmationRequired(c.tool, dec, tok, "Show this preview to the user. Only if they approve, call "+c.tool+" again with the same arguments plus confirmation_token.")
}

// execute runs the action and records it.
func (d *Deps) execute(ctx context.Context, c *call, a policy.Action, dec policy.Decision, method string, exec execFunc) *mcp.CallToolResult {
	if a.Kind == policy.KindContactWrite {
		// Mark before the API call: if the call fails after the contact was made, or a text
		// races it, the contact still never vouches for the number.
		if err := d.Policy.MarkToolContact(ctx, dec); err != nil {
			d.record(ctx, a, dec, method, outcome{err: err})
			return errorResult(fmt.Sprintf("%s: the policy state could not be written (%v), so nothing was done.", c.tool, err),
				map[string]any{"status": "policy_error", "error": err.Error()})
		}
	}
	out := exec(ctx)
	d.record(ctx, a, dec, method, out)
	c.after = out.after
	return out.result
}

func (d *Deps) record(ctx context.Context, a policy.Action, dec policy.Decision, method string, out outcome) {
	r := policy.Result{ConfirmMethod: method, APIID: out.apiID, APIStatus: out.apiStatus, Err: out.err}
	if err := d.Policy.Record(ctx, a, dec, r); err != nil {
		d.logger().Error("recording a policy decision failed", "tool", a.Tool, "err", err)
	}
}

// redeem checks a two-step confirmation token (or, in strict mode, token:code) and executes.
func (d *Deps) redeem(ctx context.Context, c *call, a policy.Action, dec policy.Decision, token string, exec execFunc) *mcp.CallToolResult {
	method := "token"
	if d.ConfirmMode == ConfirmStrict {
		tok, code, ok := strings.Cut(token, ":")
		if !ok {
			return tokenRefused(c.tool, "strict mode needs confirmation_token in the form TOKEN:CODE, where CODE is the one-time code texted to the operator's phone")
		}
		if err := d.checkCode(tok, code); err != nil {
			return tokenRefused(c.tool, err.Error())
		}
		token, method = tok, "otp"
	}
	if err := d.Policy.RedeemToken(ctx, a, token); err != nil {
		var te *policy.TokenError
		if errors.As(err, &te) {
			return tokenRefused(c.tool, te.Error())
		}
		return tokenRefused(c.tool, err.Error())
	}
	return d.execute(ctx, c, a, dec, method, exec)
}

// elicit asks the user through the client's own UI. The form needs a random code shown only
// in the message, so a blind "accept" hook or the model itself cannot approve.
func (d *Deps) elicit(ctx context.Context, c *call, a policy.Action, dec policy.Decision) *mcp.CallToolResult {
	tok, err := d.Policy.IssueToken(a)
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
	return d.execute(ctx, c, a, dec, "elicitation", exec)
}

// OTP texts to the operator are bounded: a looping model must not be able to spam the
// operator's phone (each text is billed).
const (
	maxOTPs      = 5
	otpRateLimit = 10 * time.Minute
)

// allowOTP reports whether another code may be texted now, and counts it if so.
func (d *Deps) allowOTP() bool {
	now := d.Clock.Now()
	d.otpMu.Lock()
	defer d.otpMu.Unlock()
	kept := d.otpSent[:0]
	for _, t := range d.otpSent {
		if now.Sub(t) < otpRateLimit {
			kept = append(kept, t)
		}
	}
	d.otpSent = kept
	if len(d.otpSent) >= maxOTPs {
		return false
	}
	d.otpSent = append(d.otpSent, now)
	return true
}

// sendOTP texts a one-time code to the operator's phone and returns the preview; the model
// must then ask the user for the code.
func (d *Deps) sendOTP(ctx context.Context, c *call, a policy.Action, dec policy.Decision) *mcp.CallToolResult {
	if !d.allowOTP() {
		d.record(ctx, a, dec, "none", outcome{err: errors.New("too many confirmation codes texted to the operator")})
		return errorNext(fmt.Sprintf("%s needs confirmation, but %d codes were texted to the operator in the last %d minutes; no more are sent for now. Nothing was done.",
			c.tool, maxOTPs, int(otpRateLimit.Minutes())), "Ask the user to approve the earlier request, or try again later.",
			map[string]any{"status": "denied", "rule": "confirmation_unavailable", "reason": "operator code rate limit"})
	}
	tok, err := d.Policy.IssueToken(a)
	if err != nil {
		return errorResult(fmt.Sprintf("%s: could not issue a confirmation token (%v); nothing was done.", c.tool, err),
			map[string]any{"status": "policy_error", "error": err.Error()})
	}
	code, err := d.newCode(tok, 6)
	if err != nil {
		return tokenRefused(c.tool, err.Error())
	}
	if err := d.textOperator(ctx, fmt.Sprintf("agentphone-mcp: approve %s? Code %s (5 min). %s", c.tool, code, previewOneLine(dec))); err != nil {
		return errorResult(fmt.Sprintf("%s needs confirmation, but the code could not be texted to the operator (%v). Nothing was done.", c.tool, err),
			map[string]any{"status": "policy_error", "error": err.Error()})
	}
	d.record(ctx, a, dec, "none", outcome{apiStatus: "awaiting confirmation (code texted to the operator)"})
	return confirmationRequired(c.tool, dec, tok, "A one-time code was texted to the operator's phone. Ask the user for it; only they can approve. Then call "+c.tool+" again with the same arguments and confirmation_token set to TOKEN:CODE.")
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

// newCode makes a random numeric code and holds it, keyed by the token's nonce, for
// checkCode (3 attempts, 5 minutes).
func (d *Deps) newCode(tok string, digits int) (string, error) {
	nonce, err := d.Policy.TokenNonce(tok)
	if err != nil {
		return "", err
	}
	code := policy.NewCode(digits)
	d.Policy.Codes().Put(nonce, code)
	return code, nil
}

// checkCode compares a typed code with the one held for the token; a match consumes it.
func (d *Deps) checkCode(tok, code string) error {
	nonce, err := d.Policy.TokenNonce(tok)
	if err != nil {
		return err
	}
	ok, remaining, err := d.Policy.Codes().Check(nonce, code)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("wrong code; %d attempts left", remaining)
	}
	return nil
}

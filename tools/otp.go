package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/outbound"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/mark3labs/mcp-go/mcp"
)

// One-time codes and operator text for confirmation: a code sent to the operator's phone,
// never readable by the model (see confirm.go).

// textOperator sends a confirmation code to the operator's own phone from the account's
// first active number. It bypasses the policy on purpose: the recipient is fixed by the
// operator's configuration, and the body is server-rendered.
func (d *Deps) textOperator(ctx context.Context, body string) (string, error) {
	ctx = WithOperatorText(ctx) // the operator filter must see the operator's number here
	page, err := d.API.ListNumbers(ctx, apiclient.ListParams{Limit: 100})
	if err != nil {
		return "", fmt.Errorf("find a number to text from: %w", err)
	}
	for _, n := range page.Data {
		if n.PhoneNumber == d.OperatorPhone {
			return "", errors.New("AGENTPHONE_OPERATOR_PHONE is one of this account's own numbers; it must be the operator's personal phone")
		}
	}
	for _, n := range page.Data {
		if n.Status == apiclient.NumberActive {
			sent, err := d.API.SendMessage(ctx, apiclient.SendMessageRequest{Body: body, ToNumber: d.OperatorPhone, NumberID: n.ID})
			if err != nil {
				return "", fmt.Errorf("text the operator: %w", err)
			}
			return sent.ID, nil
		}
	}
	return "", errors.New("the account has no active number to text the operator from")
}

// operatorTextKey marks the context of the server's own code text to the operator.
type operatorTextKey struct{}

// WithOperatorText marks ctx as the server's own text to the operator's phone: the one API
// answer the operator filter (server) lets through, because it is not shown to the model.
func WithOperatorText(ctx context.Context) context.Context {
	return context.WithValue(ctx, operatorTextKey{}, true)
}

// IsOperatorText reports whether ctx was marked by WithOperatorText.
func IsOperatorText(ctx context.Context) bool {
	v, _ := ctx.Value(operatorTextKey{}).(bool)
	return v
}

// sendOTP texts a one-time code to the operator's phone and returns the preview; the model
// must then ask the user for the code. The text goes through the outbound path as an
// operator code: a looping model cannot spam the operator's phone (each text is billed), and
// the cap holds across every process sharing the state.
func (d *Deps) sendOTP(ctx context.Context, c *call, a policy.Action, dec policy.Decision) *mcp.CallToolResult {
	codeAction := policy.Action{Tool: c.tool, Principal: d.PrincipalFor(ctx), Kind: policy.KindOperatorCode, Details: map[string]string{"confirms": c.tool}}
	cdec, err := d.Policy.Evaluate(ctx, codeAction)
	if err != nil {
		return errorResult(fmt.Sprintf("%s: the policy check failed (%v), so nothing was done.", c.tool, err), map[string]any{"status": "policy_error", "error": err.Error()})
	}
	if cdec.Outcome == policy.Deny {
		return otpLimited(c.tool)
	}
	tok, err := d.Policy.IssueToken(a, dec.RuleIDs()...)
	if err != nil {
		return errorResult(fmt.Sprintf("%s: could not issue a confirmation token (%v); nothing was done.", c.tool, err),
			map[string]any{"status": "policy_error", "error": err.Error()})
	}
	code, err := d.newCode(tok, 6)
	if err != nil {
		return tokenRefused(c.tool, err.Error())
	}
	body := fmt.Sprintf("agentphone-mcp: approve %s? Code %s (5 min). %s", c.tool, code, previewOneLine(dec))
	run := d.outbound().Run(ctx, outbound.Request{Action: codeAction, Decision: cdec, Approval: d.Policy.Approve(cdec, "none", ""),
		Do: func(ctx context.Context) outbound.Attempt {
			id, err := d.textOperator(ctx, body)
			return outbound.Attempt{APIID: id, Err: err}
		}})
	var r *policy.Refusal
	switch {
	case errors.As(run.Refused, &r):
		return otpLimited(c.tool)
	case run.Refused != nil:
		return refusedAtReservation(c.tool, run.Refused)
	case run.Outcome == apiclient.OutcomeNotSent:
		return errorResult(fmt.Sprintf("%s needs confirmation, but the code could not be texted to the operator (%v). Nothing was done.", c.tool, run.Attempt.Err),
			map[string]any{"status": "policy_error", "error": run.Attempt.Err.Error()})
	}
	d.record(ctx, a, dec, "none", outcome{apiStatus: "awaiting confirmation (code texted to the operator)"})
	return confirmationRequired(c.tool, dec, tok, "A one-time code was texted to the operator's phone. Ask the user for it; only they can approve. Then call "+c.tool+" again with the same arguments and confirmation_token set to TOKEN:CODE.")
}

// otpLimited is the result when the operator-code cap is reached.
func otpLimited(tool string) *mcp.CallToolResult {
	return errorNext(fmt.Sprintf("%s needs confirmation, but %d codes were texted to the operator in the last %d minutes; no more are sent for now. Nothing was done.",
		tool, policy.OperatorCodesMax, int(policy.OperatorCodesWindow.Minutes())), "Ask the user to approve the earlier request, or try again later.",
		map[string]any{"status": "denied", "rule": "confirmation_unavailable", "reason": "operator code rate limit"})
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

package tools

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

type sendSMSArgs struct {
	ToNumber          string   `json:"to_number"`
	Body              string   `json:"body"`
	AgentID           string   `json:"agent_id,omitempty"`
	NumberID          string   `json:"number_id,omitempty"`
	FromNumber        string   `json:"from_number,omitempty"`
	MediaURLs         []string `json:"media_urls,omitempty" jsonschema:"https (MMS)"`
	ConfirmationToken string   `json:"confirmation_token,omitempty"`
}

func sendSMSTool(d *Deps) Tool {
	return define(d, spec{
		name: "send_sms", toolset: ToolsetMessages, effect: reachesOut,
		desc: "Send a real text message; billed per segment.",
	}, func(ctx context.Context, c *call, args sendSMSArgs) *mcp.CallToolResult {
		if strings.TrimSpace(args.ToNumber) == "" {
			return invalidArgs(c.tool, "to_number is required")
		}
		if strings.TrimSpace(args.Body) == "" && len(args.MediaURLs) == 0 {
			return invalidArgs(c.tool, "body is required (the text to send)")
		}
		if args.AgentID == "" && args.NumberID == "" && args.FromNumber == "" {
			return invalidArgs(c.tool, "name the sender with agent_id, number_id or from_number (list_numbers shows yours)")
		}
		for _, u := range args.MediaURLs {
			if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" {
				return invalidArgs(c.tool, fmt.Sprintf("media_urls entry %q is not a public https URL", truncate(u, 80)))
			}
		}
		from := ""
		if args.FromNumber != "" {
			from = d.e164(args.FromNumber)
			if !strings.HasPrefix(from, "+") {
				return invalidArgs(c.tool, fmt.Sprintf("from_number %q is not a valid phone number; use one of your numbers (list_numbers)", truncate(args.FromNumber, 40)))
			}
		}
		details := map[string]string{}
		for k, v := range map[string]string{"agent_id": args.AgentID, "number_id": args.NumberID, "from_number": from} {
			if v != "" {
				details[k] = v
			}
		}
		if len(args.MediaURLs) > 0 {
			details["media"] = strings.Join(args.MediaURLs, " ")
		}
		// Media URLs leave with the message (AgentPhone fetches them), so the secret check reads
		// them too, decoded: a key hidden in a query string is still a key.
		var texts []string
		for _, u := range args.MediaURLs {
			texts = append(texts, u)
			if dec, err := url.QueryUnescape(u); err == nil && dec != u {
				texts = append(texts, dec)
			}
		}
		action := policy.Action{Kind: policy.KindSMS, To: args.ToNumber, Body: args.Body, Texts: texts, Args: canonicalArgs(c), Details: details}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			sent, err := d.API.SendMessage(ctx, apiclient.SendMessageRequest{
				Body: args.Body, ToNumber: d.e164(args.ToNumber), AgentID: args.AgentID,
				NumberID: args.NumberID, FromNumber: from, MediaURLs: args.MediaURLs,
			})
			if err != nil {
				return outcome{result: apiFailure("send_sms", err, "list_numbers"), err: err}
			}
			view := map[string]any{
				"id": sent.ID, "status": sent.Status, "channel": sent.Channel, "from_number": sent.FromNumber,
				"to_number": sent.ToNumber, "conversation_id": sent.ConversationID,
			}
			return outcome{result: okResult(
				fmt.Sprintf("Sent %s from %s to %s (%s, %s, conversation %s).", sent.ID, sent.FromNumber, sent.ToNumber, sent.Channel, sent.Status, sent.ConversationID),
				view), apiID: sent.ID, apiStatus: sent.Status}
		})
	})
}

// textOperator sends a confirmation code to the operator's own phone from the account's
// first active number. It bypasses the policy on purpose: the recipient is fixed by the
// operator's configuration, and the body is server-rendered.
func (d *Deps) textOperator(ctx context.Context, body string) (string, error) {
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

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

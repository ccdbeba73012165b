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
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

type sendSMSArgs struct {
	ToNumber          string   `json:"to_number,omitempty"`
	Recipients        []string `json:"recipients,omitempty" jsonschema:"2-8, new group"`
	Body              string   `json:"body"`
	AgentID           string   `json:"agent_id,omitempty"`
	NumberID          string   `json:"number_id,omitempty"`
	FromNumber        string   `json:"from_number,omitempty"`
	MediaURLs         []string `json:"media_urls,omitempty" jsonschema:"https (MMS)"`
	SendStyle         string   `json:"send_style,omitempty" jsonschema:"iMessage,enum=celebration,enum=fireworks,enum=lasers,enum=love,enum=confetti,enum=balloons,enum=spotlight,enum=echo,enum=invisible,enum=gentle,enum=loud,enum=slam"`
	ReplyToMessageID  string   `json:"reply_to_message_id,omitempty"`
	ConfirmationToken string   `json:"confirmation_token,omitempty"`
}

// sendStyles are the iMessage effects of send_style (dropped when a message goes as SMS).
var sendStyles = []string{"celebration", "fireworks", "lasers", "love", "confetti", "balloons", "spotlight", "echo",
	"invisible", "gentle", "loud", "slam"}

func sendSMSTool(d *Deps) Tool {
	return define(d, spec{
		name: "send_sms", title: "Send text message", toolset: ToolsetMessages, effect: reachesOut,
		desc: "Send a real text: iMessage if they have it, else SMS billed per segment.",
	}, func(ctx context.Context, c *call, args sendSMSArgs) *mcp.CallToolResult {
		group := len(args.Recipients) > 0
		switch {
		case group && strings.TrimSpace(args.ToNumber) != "":
			return invalidArgs(c.tool, "give to_number (one person) or recipients (a new group), not both")
		case group && (len(args.Recipients) < 2 || len(args.Recipients) > policy.MaxGroupRecipients):
			return invalidArgs(c.tool, fmt.Sprintf("recipients must list 2 to %d numbers (E.164) to start a group", policy.MaxGroupRecipients))
		case !group && strings.TrimSpace(args.ToNumber) == "":
			return invalidArgs(c.tool, "to_number is required (or recipients, to start a group)")
		}
		if strings.TrimSpace(args.Body) == "" && len(args.MediaURLs) == 0 {
			return invalidArgs(c.tool, "body is required (the text to send)")
		}
		if args.AgentID == "" && args.NumberID == "" && args.FromNumber == "" {
			return invalidArgs(c.tool, "name the sender with agent_id, number_id or from_number (list_numbers shows yours)")
		}
		if args.SendStyle != "" && !contains(sendStyles, args.SendStyle) {
			return invalidArgs(c.tool, "send_style must be one of "+strings.Join(sendStyles, ", "))
		}
		if id := strings.TrimSpace(args.ReplyToMessageID); args.ReplyToMessageID != "" && (id == "" || strings.ContainsAny(id, " /?#")) {
			return invalidArgs(c.tool, "reply_to_message_id must be a message id such as msg_… (list_messages shows them)")
		}
		for _, u := range args.MediaURLs {
			if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" {
				return invalidArgs(c.tool, fmt.Sprintf("media_urls entry %q is not a public https URL", truncate(u, 80)))
			}
		}
		from := ""
		if args.FromNumber != "" {
			// The sender is validated like every other number: a "+" is not enough.
			n, err := phone.Normalize(args.FromNumber, d.DefaultRegion)
			if err != nil {
				return invalidArgs(c.tool, fmt.Sprintf("from_number: %s; use one of your numbers (list_numbers)", phoneReason(err)))
			}
			from = n.E164
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
		if args.SendStyle != "" {
			details["imessage_effect"] = args.SendStyle + " (dropped if it goes as SMS)"
		}
		if args.ReplyToMessageID != "" {
			details["reply_to"] = args.ReplyToMessageID
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
		action := policy.Action{Kind: policy.KindSMS, To: args.ToNumber, Recipients: args.Recipients, Body: args.Body, Texts: texts, Args: canonicalArgs(c), Details: details}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			req := apiclient.SendMessageRequest{
				Body: args.Body, AgentID: args.AgentID,
				NumberID: args.NumberID, FromNumber: from, MediaURLs: args.MediaURLs,
				SendStyle: apiclient.SendStyle(args.SendStyle), ReplyToMessageID: args.ReplyToMessageID,
			}
			if group {
				for _, r := range args.Recipients {
					req.Recipients = append(req.Recipients, d.e164(r))
				}
			} else {
				req.ToNumber = d.e164(args.ToNumber)
			}
			sent, err := d.API.SendMessage(ctx, req)
			if err != nil {
				return outcome{result: apiFailure("send_sms", err, "list_numbers"), err: err}
			}
			text, view := sentResult(sent, args.SendStyle)
			if group {
				view["recipients"] = req.Recipients
				text += fmt.Sprintf(" Group of %d: %s.", len(req.Recipients), strings.Join(req.Recipients, ", "))
			}
			return outcome{result: okResult(text, view), apiID: sent.ID, apiStatus: sent.Status}
		})
	})
}

// sentResult renders a sent message: the channel it went on, what happened to the iMessage
// effect, and whether a reply could be threaded (reply_parent_unresolved).
func sentResult(sent *apiclient.SentMessage, style string) (string, map[string]any) {
	view := map[string]any{
		"id": sent.ID, "status": sent.Status, "channel": sent.Channel, "from_number": sent.FromNumber,
		"to_number": sent.ToNumber, "conversation_id": sent.ConversationID,
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Sent %s from %s to %s (%s, %s, conversation %s).", sent.ID, sent.FromNumber, sent.ToNumber, sent.Channel, sent.Status, sent.ConversationID)
	if style != "" {
		applied := sent.Channel == apiclient.ChannelIMessage
		view["send_style"] = style
		view["send_style_applied"] = applied
		if applied {
			fmt.Fprintf(&b, " iMessage effect: %s.", style)
		} else {
			fmt.Fprintf(&b, " The %s effect was dropped: the message went as %s.", style, sent.Channel)
		}
	}
	if sent.ReplyToMessageID != "" {
		view["reply_to_message_id"] = sent.ReplyToMessageID
		view["reply_parent_unresolved"] = sent.ReplyParentUnresolved
		if sent.ReplyParentUnresolved {
			fmt.Fprintf(&b, " The reply could not be threaded under %s, so it was sent as a plain message.", sent.ReplyToMessageID)
		} else {
			fmt.Fprintf(&b, " Threaded as a reply to %s.", sent.ReplyToMessageID)
		}
	}
	return b.String(), view
}

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

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
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

// phoneReason is the reason of a phone.Normalize error, without the echoed input.
func phoneReason(err error) string {
	var pe *phone.Error
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return err.Error()
}

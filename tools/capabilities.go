package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

type capabilitiesArgs struct {
	PhoneNumber string `json:"phone_number"`
}

// getCapabilitiesTool asks AgentPhone, live, which channels reach a number
// (GET /v1/contacts/capabilities), so the model can pick iMessage or SMS.
func getCapabilitiesTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_capabilities", title: "Check messaging capabilities", toolset: ToolsetContacts, effect: reads,
		desc: "Live check: can a number get iMessage, or only SMS?",
	}, func(ctx context.Context, c *call, args capabilitiesArgs) *mcp.CallToolResult {
		if strings.TrimSpace(args.PhoneNumber) == "" {
			return invalidArgs(c.tool, "phone_number is required")
		}
		n, err := phone.Normalize(args.PhoneNumber, d.DefaultRegion)
		if err != nil {
			return invalidArgs(c.tool, fmt.Sprintf("phone_number: %v", err))
		}
		cp, err := d.API.ContactCapabilities(ctx, n.E164)
		if err != nil {
			return apiFailure(c.tool, err, "list_numbers")
		}
		im, sms := cp.Capabilities.IMessage, cp.Capabilities.SMS
		channel, text := "none", "can get neither iMessage nor SMS"
		switch {
		case im && sms:
			channel, text = "imessage", "can get iMessage (send_style effects and threaded replies work) and SMS"
		case im:
			channel, text = "imessage", "can get iMessage only"
		case sms:
			channel, text = "sms", "can get SMS only: send_style effects are dropped and replies are not threaded"
		}
		view := map[string]any{"phone_number": n.E164, "imessage": im, "sms": sms, "channel": channel, "checked_at": cp.CheckedAt}
		return okResult(fmt.Sprintf("%s %s (checked %s).", n.E164, text, when(cp.CheckedAt)), view)
	})
}

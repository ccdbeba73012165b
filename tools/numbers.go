package tools

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

// numberMonthlyCost is AgentPhone's published price of a number.
const numberMonthlyCost = "$3.00/month"

type buyNumberArgs struct {
	Country           string `json:"country,omitempty" jsonschema:"enum=US,enum=CA"`
	AreaCode          string `json:"area_code,omitempty" jsonschema:"3 digits"`
	AgentID           string `json:"agent_id,omitempty"`
	ConfirmationToken string `json:"confirmation_token,omitempty"`
}

var areaCodePattern = regexp.MustCompile(`^[2-9][0-9]{2}$`)

func buyNumberTool(d *Deps) Tool {
	return define(d, spec{
		name: "buy_number", title: "Buy number", toolset: ToolsetNumbers, effect: spends,
		desc: "Buy a number (" + numberMonthlyCost + ", charged now); needs confirmation.",
	}, func(ctx context.Context, c *call, args buyNumberArgs) *mcp.CallToolResult {
		country := strings.ToUpper(strings.TrimSpace(args.Country))
		if country == "" {
			country = "US"
		}
		if country != "US" && country != "CA" {
			return invalidArgs(c.tool, fmt.Sprintf("country %q is not offered; AgentPhone sells US and CA numbers", args.Country))
		}
		if args.AreaCode != "" && !areaCodePattern.MatchString(args.AreaCode) {
			return invalidArgs(c.tool, fmt.Sprintf("area_code %q must be 3 digits, such as 415", args.AreaCode))
		}
		action := policy.Action{
			Kind: policy.KindBuyNumber, Args: canonicalArgs(c),
			Details: map[string]string{"country": country},
		}
		if args.AreaCode != "" {
			action.Details["area_code"] = args.AreaCode
		}
		if args.AgentID != "" {
			action.Details["agent_id"] = args.AgentID
		}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			n, err := d.API.BuyNumber(ctx, apiclient.BuyNumberRequest{Country: country, AreaCode: args.AreaCode, AgentID: args.AgentID})
			if err != nil {
				return outcome{result: apiFailure("buy_number", err, "list_agents"), err: err}
			}
			return outcome{result: okResult(
				fmt.Sprintf("Bought %s (%s, %s), billed %s.%s", n.PhoneNumber, n.ID, n.Country, numberMonthlyCost, attachedNote(n.AgentID)),
				numberView(n)), apiID: n.ID, apiStatus: string(n.Status)}
		})
	})
}

func attachedNote(agentID string) string {
	if agentID == "" {
		return " Not attached to an agent yet."
	}
	return " Attached to agent " + agentID + "."
}

func numberView(n *apiclient.Number) map[string]any {
	v := map[string]any{"id": n.ID, "phone_number": n.PhoneNumber, "country": n.Country, "status": n.Status, "type": n.Type, "created_at": n.CreatedAt}
	if n.AgentID != "" {
		v["agent_id"] = n.AgentID
	}
	return v
}

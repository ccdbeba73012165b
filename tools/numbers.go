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

// numberTools is the numbers toolset, in tools/list order (reads first). This list is
// the one place a tool's toolset is written.
func numberTools(d *Deps) []Tool {
	return members(ToolsetNumbers,
		listNumbersTool(d), getNumberTool(d), buyNumberTool(d), updateNumberTool(d), releaseNumberTool(d))
}

// numberMonthlyCost is AgentPhone's published price of a number.
const numberMonthlyCost = "$3.00/month"

type buyNumberArgs struct {
	Country           string `json:"country,omitempty" jsonschema:"enum=US,enum=CA"`
	AreaCode          string `json:"area_code,omitempty"`
	AgentID           string `json:"agent_id,omitempty"`
	ConfirmationToken string `json:"confirmation_token,omitempty"`
}

var areaCodePattern = regexp.MustCompile(`^[2-9][0-9]{2}$`)

func buyNumberTool(d *Deps) Tool {
	return define(d, spec{
		name: "buy_number", title: "Buy number", effect: spends,
		desc: numberMonthlyCost + ", charged now.",
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

// numberLine is a number in one list line.
func numberLine(n *apiclient.Number) string {
	agent := "no agent"
	if n.AgentID != "" {
		agent = "agent " + n.AgentID
	}
	return fmt.Sprintf("%s %s %s %s, %s", n.ID, n.PhoneNumber, n.Country, n.Status, agent)
}

func listNumbersTool(d *Deps) Tool {
	return define(d, spec{
		name: "list_numbers", title: "List numbers", effect: reads,
		desc: "Active numbers.",
	}, func(ctx context.Context, c *call, args pageArgs) *mcp.CallToolResult {
		if msg := args.check(); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		page, err := d.API.ListNumbers(ctx, apiclient.ListParams{Limit: args.Limit, Offset: args.Offset})
		if err != nil {
			return apiFailure(c.tool, err, "")
		}
		l := list{noun: "numbers", hasMore: page.HasMore || morePages(page.Total, args.Offset, len(page.Data)), offset: args.Offset}
		for i := range page.Data {
			l.lines = append(l.lines, numberLine(&page.Data[i]))
			l.items = append(l.items, numberView(&page.Data[i]))
		}
		return l.result()
	})
}

type numberIDArgs struct {
	NumberID string `json:"number_id"`
}

func getNumberTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_number", title: "Get number", effect: reads,
		desc: "A number, even a released one.",
	}, func(ctx context.Context, c *call, args numberIDArgs) *mcp.CallToolResult {
		if msg := requireID("number_id", args.NumberID, "list_numbers"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		n, err := d.API.GetNumber(ctx, args.NumberID)
		if err != nil {
			return apiFailure(c.tool, err, "list_numbers")
		}
		return okResult(fmt.Sprintf("Number %s, bought %s.", numberLine(n), when(n.CreatedAt)), numberView(n))
	})
}

type releaseNumberArgs struct {
	NumberID          string `json:"number_id"`
	ConfirmationToken string `json:"confirmation_token,omitempty"`
}

func releaseNumberTool(d *Deps) Tool {
	return define(d, spec{
		name: "release_number", title: "Release number", effect: destroys,
		desc: "Cannot be undone.",
	}, func(ctx context.Context, c *call, args releaseNumberArgs) *mcp.CallToolResult {
		if msg := requireID("number_id", args.NumberID, "list_numbers"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		n, err := d.API.GetNumber(ctx, args.NumberID)
		if err != nil {
			return apiFailure(c.tool, err, "list_numbers")
		}
		if n.Status == apiclient.NumberReleased {
			return okResult(fmt.Sprintf("Number %s (%s) is already released; nothing was done.", n.PhoneNumber, n.ID), numberView(n))
		}
		details := map[string]string{"number_id": n.ID, "phone_number": n.PhoneNumber}
		if n.AgentID != "" {
			details["agent_id"] = n.AgentID
		}
		action := policy.Action{Kind: policy.KindReleaseNumber, Args: canonicalArgs(c), Details: details}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			rel, err := d.API.ReleaseNumber(ctx, args.NumberID)
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_numbers"), err: err}
			}
			phone := rel.PhoneNumber
			if phone == "" {
				phone = n.PhoneNumber
			}
			status := rel.Status
			if status == "" {
				status = apiclient.NumberReleased
			}
			return outcome{result: okResult(fmt.Sprintf("Released %s (%s). Its message history is kept.", phone, args.NumberID),
				map[string]any{"id": args.NumberID, "phone_number": phone, "status": status}), apiID: args.NumberID, apiStatus: string(status)}
		})
	})
}

type updateNumberArgs struct {
	NumberID          string  `json:"number_id"`
	AgentID           *string `json:"agent_id" jsonschema:"Empty detaches"`
	ConfirmationToken string  `json:"confirmation_token,omitempty"`
}

func updateNumberTool(d *Deps) Tool {
	return define(d, spec{
		name: "update_number", title: "Route number", effect: replaces,
		desc: "Attach a number to an agent, or detach it.",
	}, func(ctx context.Context, c *call, args updateNumberArgs) *mcp.CallToolResult {
		if msg := requireID("number_id", args.NumberID, "list_numbers"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		if args.AgentID == nil {
			return invalidArgs(c.tool, `agent_id is required: the agent to route the number to, or "" to detach it`)
		}
		agentID := strings.TrimSpace(*args.AgentID)
		// Routing decides who answers the number's calls and texts: a model must not be able to
		// hand a business line to an agent it just created without a person agreeing.
		details := map[string]string{"number_id": args.NumberID, "route_to_agent": agentID}
		if agentID == "" {
			details["route_to_agent"] = "(none: detach)"
		}
		action := policy.Action{Kind: policy.KindRouteNumber, Args: canonicalArgs(c), Details: details}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			if agentID != "" {
				att, err := d.API.AttachNumber(ctx, agentID, args.NumberID)
				if err != nil {
					return outcome{result: apiFailure(c.tool, err, "list_numbers"), err: err}
				}
				view := map[string]any{"id": att.Number.ID, "agent_id": att.AgentID, "phone_number": att.Number.PhoneNumber, "status": att.Number.Status}
				return outcome{result: okResult(fmt.Sprintf("Routed %s (%s) to agent %s.", att.Number.PhoneNumber, att.Number.ID, att.AgentID), view),
					apiID: att.Number.ID, apiStatus: "attached"}
			}
			n, err := d.API.GetNumber(ctx, args.NumberID)
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_numbers"), err: err}
			}
			if n.AgentID == "" {
				return outcome{result: okResult(fmt.Sprintf("Number %s (%s) is not attached to an agent; nothing to detach.", n.PhoneNumber, n.ID), numberView(n)),
					apiID: n.ID, apiStatus: "unchanged"}
			}
			if _, err := d.API.DetachNumber(ctx, n.AgentID, n.ID); err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_numbers"), err: err}
			}
			return outcome{result: okResult(fmt.Sprintf("Detached %s (%s) from agent %s; it stays on the account.", n.PhoneNumber, n.ID, n.AgentID),
				map[string]any{"id": n.ID, "phone_number": n.PhoneNumber, "agent_id": nil, "detached_from": n.AgentID}), apiID: n.ID, apiStatus: "detached"}
		})
	})
}

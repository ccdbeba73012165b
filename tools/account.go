package tools

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

type noArgs struct{}

func getAccountOverviewTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_account_overview", toolset: ToolsetAccount, effect: reads,
		desc: "Plan, number quota, 30-day usage, agents, numbers and webhook status.",
	}, func(ctx context.Context, c *call, _ noArgs) *mcp.CallToolResult {
		view, text := d.overview(ctx)
		return okResult(text, view)
	})
}

// overview reads the account in four requests and tolerates a failure of any of them: the
// failed section says so, the others are shown. The webhook secret is never included.
func (d *Deps) overview(ctx context.Context) (map[string]any, string) {
	view := map[string]any{}
	failed := map[string]string{}
	var b strings.Builder

	if u, err := d.API.GetUsage(ctx); err != nil {
		failed["usage"] = errText(err)
		b.WriteString("Plan and usage: failed to load (" + failed["usage"] + ").\n")
	} else {
		view["plan"] = u.Plan.Name
		view["numbers_quota"] = map[string]int{"used": u.Numbers.Used, "limit": u.Numbers.Limit, "remaining": u.Numbers.Remaining}
		view["last_30_days"] = map[string]int{"messages": u.Stats.MessagesLast30d, "calls": u.Stats.CallsLast30d}
		fmt.Fprintf(&b, "Plan %s; numbers %d of %d (%d left). Last 30 days: %d messages, %d calls.\n",
			u.Plan.Name, u.Numbers.Used, u.Numbers.Limit, u.Numbers.Remaining, u.Stats.MessagesLast30d, u.Stats.CallsLast30d)
	}

	if page, err := d.API.ListAgents(ctx, apiclient.ListParams{Limit: maxPage}); err != nil {
		failed["agents"] = errText(err)
		b.WriteString("Agents: failed to load (" + failed["agents"] + ").\n")
	} else {
		agents := make([]map[string]any, 0, len(page.Data))
		fmt.Fprintf(&b, "Agents (%d%s):\n", len(page.Data), moreMark(page.HasMore))
		for i := range page.Data {
			a := &page.Data[i]
			agents = append(agents, agentView(a))
			fmt.Fprintf(&b, "  %s\n", agentLine(a))
		}
		view["agents"] = agents
	}

	if page, err := d.API.ListNumbers(ctx, apiclient.ListParams{Limit: maxPage}); err != nil {
		failed["numbers"] = errText(err)
		b.WriteString("Numbers: failed to load (" + failed["numbers"] + ").\n")
	} else {
		nums := make([]map[string]any, 0, len(page.Data))
		fmt.Fprintf(&b, "Numbers (%d%s):\n", len(page.Data), moreMark(page.HasMore))
		for i := range page.Data {
			n := &page.Data[i]
			nums = append(nums, numberView(n))
			fmt.Fprintf(&b, "  %s\n", numberLine(n))
		}
		view["numbers"] = nums
	}

	if wh, err := d.API.GetWebhook(ctx); err != nil {
		failed["webhook"] = errText(err)
		b.WriteString("Webhook: failed to load (" + failed["webhook"] + ").\n")
	} else if wh == nil {
		view["webhook"] = nil
		b.WriteString("Webhook: none configured.\n")
	} else {
		view["webhook"] = map[string]any{"url": wh.URL, "status": wh.Status}
		fmt.Fprintf(&b, "Webhook: %s (%s).\n", wh.URL, wh.Status)
	}
	if len(failed) > 0 {
		view["errors"] = failed
	}
	if d.Sandbox {
		view["sandbox"] = true
		b.WriteString("Sandbox mode: this is a simulated account.\n")
	}
	return view, strings.TrimSpace(b.String())
}

// errText is an API failure in one short, sanitised line (for partial failures).
func errText(err error) string {
	if s := apiclient.StatusOf(err); s != 0 {
		var apiErr *apiclient.Error
		if errors.As(err, &apiErr) && apiErr.Message != "" {
			return fmt.Sprintf("HTTP %d: %s", s, untrusted(apiErr.Message, maxSnippet))
		}
		return fmt.Sprintf("HTTP %d", s)
	}
	return untrusted(err.Error(), maxSnippet)
}

func moreMark(more bool) string {
	if more {
		return "+, first page"
	}
	return ""
}

type getUsageArgs struct {
	Breakdown string `json:"breakdown,omitempty" jsonschema:"enum=summary,enum=daily,enum=monthly,enum=by_number,enum=by_agent"`
	Days      int    `json:"days,omitempty"`
	Months    int    `json:"months,omitempty"`
	Period    string `json:"period,omitempty" jsonschema:"enum=week,enum=month,enum=year"`
	TZ        string `json:"tz,omitempty"`
}

func getUsageTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_usage", toolset: ToolsetAccount, effect: reads,
		desc: "Usage counts: summary, daily, monthly, by number or by agent.",
	}, func(ctx context.Context, c *call, args getUsageArgs) *mcp.CallToolResult {
		if args.Days != 0 && (args.Days < 1 || args.Days > 365) {
			return invalidArgs(c.tool, "days must be between 1 and 365")
		}
		if args.Months != 0 && (args.Months < 1 || args.Months > 24) {
			return invalidArgs(c.tool, "months must be between 1 and 24")
		}
		if args.Period != "" && !contains([]string{"week", "month", "year"}, args.Period) {
			return invalidArgs(c.tool, "period must be one of week, month, year")
		}
		if args.TZ != "" {
			if _, err := time.LoadLocation(args.TZ); err != nil || args.TZ == "Local" {
				return invalidArgs(c.tool, fmt.Sprintf("tz %q is not an IANA time zone such as America/New_York", truncate(args.TZ, 40)))
			}
		}
		switch args.Breakdown {
		case "", "summary":
			return usageSummary(ctx, d)
		case "daily":
			days := args.Days
			if days == 0 {
				days = 30
			}
			u, err := d.API.GetDailyUsage(ctx, days)
			if err != nil {
				return apiFailure(c.tool, err, "")
			}
			return usagePoints(fmt.Sprintf("Daily usage, last %d days", days), "days", u.Data, func(p apiclient.UsagePoint) string { return p.Date })
		case "monthly":
			months := args.Months
			if months == 0 {
				months = 6
			}
			u, err := d.API.GetMonthlyUsage(ctx, months)
			if err != nil {
				return apiFailure(c.tool, err, "")
			}
			return usagePoints(fmt.Sprintf("Monthly usage, last %d months", months), "months", u.Data, func(p apiclient.UsagePoint) string { return p.Month })
		case "by_number":
			rows, err := d.API.GetUsageByNumber(ctx)
			if err != nil {
				return apiFailure(c.tool, err, "")
			}
			return usageByNumber(rows)
		case "by_agent":
			period := apiclient.UsagePeriod(args.Period)
			if period == "" {
				period = apiclient.PeriodMonth
			}
			u, err := d.API.GetUsageByAgent(ctx, apiclient.UsageByAgentParams{Period: period, TZ: args.TZ})
			if err != nil {
				return apiFailure(c.tool, err, "")
			}
			return usageByAgent(u)
		default:
			return invalidArgs(c.tool, "breakdown must be one of summary, daily, monthly, by_number, by_agent")
		}
	})
}

func usageSummary(ctx context.Context, d *Deps) *mcp.CallToolResult {
	u, err := d.API.GetUsage(ctx)
	if err != nil {
		return apiFailure("get_usage", err, "")
	}
	s := u.Stats
	view := map[string]any{
		"plan": u.Plan.Name,
		"plan_limits": map[string]int{
			"numbers": u.Plan.Limits.Numbers, "messages_per_month": u.Plan.Limits.MessagesPerMonth,
			"voice_minutes_per_month": u.Plan.Limits.VoiceMinutesPerMonth, "max_call_duration_minutes": u.Plan.Limits.MaxCallDurationMinutes,
			"concurrent_calls": u.Plan.Limits.ConcurrentCalls,
		},
		"numbers_quota": map[string]int{"used": u.Numbers.Used, "limit": u.Numbers.Limit, "remaining": u.Numbers.Remaining},
		"messages":      map[string]int{"total": s.TotalMessages, "last_24h": s.MessagesLast24h, "last_7d": s.MessagesLast7d, "last_30d": s.MessagesLast30d},
		"calls":         map[string]int{"total": s.TotalCalls, "last_24h": s.CallsLast24h, "last_7d": s.CallsLast7d, "last_30d": s.CallsLast30d},
		"webhook_deliveries": map[string]int{"total": s.TotalWebhookDeliveries, "successful": s.SuccessfulWebhookDeliveries,
			"failed": s.FailedWebhookDeliveries},
		"period_start": u.PeriodStart, "period_end": u.PeriodEnd,
	}
	text := fmt.Sprintf("Plan %s; numbers %d of %d.\nMessages: %d in 24 h, %d in 7 d, %d in 30 d, %d in all.\nCalls: %d in 24 h, %d in 7 d, %d in 30 d, %d in all.\nWebhook deliveries: %d (%d ok, %d failed).",
		u.Plan.Name, u.Numbers.Used, u.Numbers.Limit,
		s.MessagesLast24h, s.MessagesLast7d, s.MessagesLast30d, s.TotalMessages,
		s.CallsLast24h, s.CallsLast7d, s.CallsLast30d, s.TotalCalls,
		s.TotalWebhookDeliveries, s.SuccessfulWebhookDeliveries, s.FailedWebhookDeliveries)
	return okResult(text, view)
}

// usagePoints renders daily or monthly points. The text lists only periods with activity;
// structuredContent has every point. Points count webhooks (the API has no voice minutes here).
func usagePoints(title, unit string, pts []apiclient.UsagePoint, label func(apiclient.UsagePoint) string) *mcp.CallToolResult {
	items := make([]map[string]any, 0, len(pts))
	var lines []string
	var msgs, calls, hooks int
	for _, p := range pts {
		items = append(items, map[string]any{"period": label(p), "messages": p.Messages, "calls": p.Calls, "webhooks": p.Webhooks})
		msgs, calls, hooks = msgs+p.Messages, calls+p.Calls, hooks+p.Webhooks
		if p.Messages+p.Calls+p.Webhooks > 0 {
			lines = append(lines, fmt.Sprintf("  %s: %d messages, %d calls, %d webhooks", label(p), p.Messages, p.Calls, p.Webhooks))
		}
	}
	text := fmt.Sprintf("%s: %d messages, %d calls, %d webhook deliveries.", title, msgs, calls, hooks)
	if len(lines) > 0 {
		text += "\n" + strings.Join(lines, "\n")
	} else {
		text += " No activity."
	}
	return okResult(text, map[string]any{"items": items, "totals": map[string]int{"messages": msgs, "calls": calls, "webhooks": hooks}, unit: len(pts)})
}

func usageByNumber(rows []apiclient.NumberUsage) *mcp.CallToolResult {
	items := make([]map[string]any, 0, len(rows))
	lines := make([]string, 0, len(rows))
	for _, r := range rows {
		v := map[string]any{"number_id": r.NumberID, "phone_number": r.PhoneNumber, "country": r.Country, "status": r.Status,
			"messages": r.Messages, "calls": r.Calls}
		agent := ""
		if r.AgentID != "" {
			v["agent_id"] = r.AgentID
			v["agent_name"] = untrusted(r.AgentName, maxName)
			agent = fmt.Sprintf(", agent %s", r.AgentID)
		}
		items = append(items, v)
		lines = append(lines, fmt.Sprintf("%s %s (%s%s): %d messages, %d calls", r.NumberID, r.PhoneNumber, r.Status, agent, r.Messages, r.Calls))
	}
	return list{noun: "numbers", lines: lines, items: items}.result()
}

func usageByAgent(u *apiclient.UsageByAgent) *mcp.CallToolResult {
	rows := u.Data
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Calls+rows[i].Messages > rows[j].Calls+rows[j].Messages })
	items := make([]map[string]any, 0, len(rows))
	lines := make([]string, 0, len(rows))
	for _, r := range rows {
		id := r.AgentID
		if id == "" {
			id = "unassigned"
		}
		items = append(items, map[string]any{"agent_id": r.AgentID, "agent_name": untrusted(r.AgentName, maxName), "messages": r.Messages,
			"calls": r.Calls, "call_minutes": r.TotalSeconds / 60, "is_orphan": r.IsOrphan})
		lines = append(lines, fmt.Sprintf("%s %q: %d messages, %d calls, %.1f call min", id, untrusted(r.AgentName, maxName), r.Messages, r.Calls, r.TotalSeconds/60))
	}
	return list{noun: fmt.Sprintf("agents (%s from %s to %s)", u.Period, u.PeriodStart, u.PeriodEnd), lines: lines, items: items,
		extra: map[string]any{"period": u.Period, "period_start": u.PeriodStart, "period_end": u.PeriodEnd}}.result()
}

func getRegistrationStatusTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_registration_status", toolset: ToolsetAccount, effect: reads,
		desc: "A2P 10DLC (US SMS) registration status.",
	}, func(ctx context.Context, c *call, _ noArgs) *mcp.CallToolResult {
		r, err := d.API.RegistrationStatus(ctx)
		if err != nil {
			return apiFailure(c.tool, err, "")
		}
		view := map[string]any{"campaign_status": r.CampaignStatus}
		text := fmt.Sprintf("A2P 10DLC campaign: %s", r.CampaignStatus)
		if r.Stage != "" {
			view["stage"] = untrusted(r.Stage, maxSnippet)
			text += fmt.Sprintf(" (stage %s)", view["stage"])
		}
		if r.Message != "" {
			view["message"] = untrusted(r.Message, maxAPIMessage)
			text += fmt.Sprintf(". AgentPhone says: %q", view["message"])
		}
		text += "."
		if r.CampaignStatus != apiclient.CampaignApproved {
			text += " Until it is approved, carriers may block SMS to US numbers; registration is done in the AgentPhone dashboard."
		}
		return okResult(text, view)
	})
}

package tools

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// accountTools is the account toolset, in tools/list order (reads first). This list is
// the one place a tool's toolset is written.
func accountTools(d *Deps) []Tool {
	return members(ToolsetAccount,
		getAccountOverviewTool(d))
}

type accountArgs struct {
	Usage  string `json:"usage,omitempty" jsonschema:"enum=daily,enum=monthly,enum=by_number,enum=by_agent"`
	Days   int    `json:"days,omitempty"`
	Months int    `json:"months,omitempty"`
	Period string `json:"period,omitempty" jsonschema:"enum=week,enum=month,enum=year"`
	TZ     string `json:"tz,omitempty"`
}

func getAccountOverviewTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_account_overview", title: "Account overview", effect: reads,
		desc: "Quota, usage, agents, numbers, webhook, A2P; or a usage breakdown.",
	}, func(ctx context.Context, c *call, args accountArgs) *mcp.CallToolResult {
		if args.Usage == "" {
			if args.Days != 0 || args.Months != 0 || args.Period != "" || args.TZ != "" {
				return invalidArgs(c.tool, "days, months, period and tz go with usage (daily, monthly, by_number or by_agent)")
			}
			view, text, failed := d.overview(ctx)
			if failed {
				return errorNext(text+"\nNothing could be read from AgentPhone.", "Check the network and AGENTPHONE_API_KEY, then try again.", view)
			}
			return okResult(text, view)
		}
		return d.usageBreakdown(ctx, c, args)
	})
}

// overviewTimeout bounds the whole overview: its requests run at once, and a section that has
// not answered by then is reported as failed, so a hanging API cannot make it take minutes.
const overviewTimeout = 20 * time.Second

// overviewSection is one request of the overview and how it renders.
type overviewSection struct {
	name  string // key in view["errors"]
	label string // how the text names it when it fails
	fetch func(ctx context.Context) (render func(view map[string]any, b *strings.Builder), err error)
}

// overview reads the account in concurrent requests under one bound (overviewTimeout, on
// d.Clock) and tolerates a failure of any of them: the failed section says so, the others are
// shown. allFailed reports that no section could be read. The webhook secret is never
// included.
func (d *Deps) overview(ctx context.Context) (view map[string]any, text string, allFailed bool) {
	sections := d.overviewSections()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bound := d.Clock.AfterFunc(overviewTimeout, cancel)
	defer bound.Stop()

	type result struct {
		render func(map[string]any, *strings.Builder)
		err    error
	}
	results := make([]result, len(sections))
	var wg sync.WaitGroup
	for i, sec := range sections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			render, err := sec.fetch(ctx)
			results[i] = result{render, err}
		}()
	}
	wg.Wait()
	timedOut := !bound.Stop() && ctx.Err() != nil

	view = map[string]any{}
	failed := map[string]string{}
	var b strings.Builder
	d.writeAccountScope(view, &b)
	for i, sec := range sections {
		r := results[i]
		if r.err != nil {
			why := errText(r.err)
			if timedOut && errors.Is(r.err, context.Canceled) {
				why = fmt.Sprintf("no answer from AgentPhone within %d s", int(overviewTimeout.Seconds()))
			}
			failed[sec.name] = why
			fmt.Fprintf(&b, "%s: failed to load (%s).\n", sec.label, why)
			continue
		}
		r.render(view, &b)
	}
	if len(failed) > 0 {
		view["errors"] = failed
	}
	if d.Sandbox {
		view["sandbox"] = true
		b.WriteString("Sandbox mode: this is a simulated account.\n")
	}
	return view, strings.TrimSpace(b.String()), len(failed) == len(sections)
}

// writeAccountScope says which account the server acts on: the master account, or the
// sub-account every request is scoped to (AGENTPHONE_SUB_ACCOUNT_ID).
func (d *Deps) writeAccountScope(view map[string]any, b *strings.Builder) {
	if sub := d.API.SubAccountID(); sub != "" {
		view["account"] = map[string]any{"scope": "sub_account", "sub_account_id": sub}
		fmt.Fprintf(b, "Account: sub-account %s (every request is scoped to it by AGENTPHONE_SUB_ACCOUNT_ID).\n", sub)
		return
	}
	view["account"] = map[string]any{"scope": "master"}
	b.WriteString("Account: the master account of this API key (no sub-account set).\n")
}

// overviewSections are the overview's requests, in display order.
func (d *Deps) overviewSections() []overviewSection {
	return []overviewSection{
		{"usage", "Usage", func(ctx context.Context) (func(map[string]any, *strings.Builder), error) {
			u, err := d.API.GetUsage(ctx)
			if err != nil {
				return nil, err
			}
			return func(view map[string]any, b *strings.Builder) { usageSection(u, view, b) }, nil
		}},
		{"agents", "Agents", func(ctx context.Context) (func(map[string]any, *strings.Builder), error) {
			page, err := d.API.ListAgents(ctx, apiclient.ListParams{Limit: maxPage})
			if err != nil {
				return nil, err
			}
			return func(view map[string]any, b *strings.Builder) {
				agents := make([]map[string]any, 0, len(page.Data))
				fmt.Fprintf(b, "Agents (%d%s):\n", len(page.Data), moreMark(page.HasMore))
				for i := range page.Data {
					a := &page.Data[i]
					agents = append(agents, agentView(a))
					fmt.Fprintf(b, "  %s\n", agentLine(a))
				}
				view["agents"] = agents
			}, nil
		}},
		{"numbers", "Numbers", func(ctx context.Context) (func(map[string]any, *strings.Builder), error) {
			page, err := d.API.ListNumbers(ctx, apiclient.ListParams{Limit: maxPage})
			if err != nil {
				return nil, err
			}
			return func(view map[string]any, b *strings.Builder) {
				nums := make([]map[string]any, 0, len(page.Data))
				fmt.Fprintf(b, "Numbers (%d%s):\n", len(page.Data), moreMark(page.HasMore))
				for i := range page.Data {
					n := &page.Data[i]
					nums = append(nums, numberView(n))
					fmt.Fprintf(b, "  %s\n", numberLine(n))
				}
				view["numbers"] = nums
			}, nil
		}},
		{"webhook", "Webhook", func(ctx context.Context) (func(map[string]any, *strings.Builder), error) {
			wh, err := d.API.GetWebhook(ctx)
			if err != nil {
				return nil, err
			}
			return func(view map[string]any, b *strings.Builder) {
				if wh == nil {
					view["webhook"] = nil
					b.WriteString("Webhook: none configured.\n")
					return
				}
				view["webhook"] = map[string]any{"url": wh.URL, "status": wh.Status}
				fmt.Fprintf(b, "Webhook: %s (%s).\n", wh.URL, wh.Status)
			}, nil
		}},
		{"registration", "A2P 10DLC registration", func(ctx context.Context) (func(map[string]any, *strings.Builder), error) {
			r, err := d.API.RegistrationStatus(ctx)
			if err != nil {
				return nil, err
			}
			return func(view map[string]any, b *strings.Builder) { registrationSection(r, view, b) }, nil
		}},
	}
}

// usageSection renders GET /v1/usage: number quota and counts, and the legacy plan only when
// an old deployment still sends it.
func usageSection(u *apiclient.Usage, view map[string]any, b *strings.Builder) {
	st := u.Stats
	if u.Plan != nil {
		view["plan"] = u.Plan.Name
		view["plan_limits"] = map[string]int{
			"numbers": u.Plan.Limits.Numbers, "messages_per_month": u.Plan.Limits.MessagesPerMonth,
			"voice_minutes_per_month": u.Plan.Limits.VoiceMinutesPerMonth, "max_call_duration_minutes": u.Plan.Limits.MaxCallDurationMinutes,
			"concurrent_calls": u.Plan.Limits.ConcurrentCalls,
		}
		fmt.Fprintf(b, "Plan %s (reported by an older AgentPhone deployment).\n", untrusted(u.Plan.Name, maxName))
	}
	view["numbers_quota"] = map[string]int{"used": u.Numbers.Used, "limit": u.Numbers.Limit, "remaining": u.Numbers.Remaining}
	messages := map[string]int{"total": st.TotalMessages, "last_24h": st.MessagesLast24h, "last_7d": st.MessagesLast7d, "last_30d": st.MessagesLast30d}
	view["messages"] = messages
	view["calls"] = map[string]int{"total": st.TotalCalls, "last_24h": st.CallsLast24h, "last_7d": st.CallsLast7d, "last_30d": st.CallsLast30d}
	view["webhook_deliveries"] = map[string]int{"total": st.TotalWebhookDeliveries, "successful": st.SuccessfulWebhookDeliveries, "failed": st.FailedWebhookDeliveries}
	view["period_start"], view["period_end"] = u.PeriodStart, u.PeriodEnd
	fmt.Fprintf(b, "Numbers %d of %d (%d left).\nMessages: %d in 24 h, %d in 7 d, %d in the last 30 days, %d in all.\n",
		u.Numbers.Used, u.Numbers.Limit, u.Numbers.Remaining, st.MessagesLast24h, st.MessagesLast7d, st.MessagesLast30d, st.TotalMessages)
	if st.SMSSegmentsLast30d != nil {
		view["sms_segments_last_30d"] = *st.SMSSegmentsLast30d
		fmt.Fprintf(b, "SMS segments billed in the last 30 days: %d.\n", *st.SMSSegmentsLast30d)
	}
	fmt.Fprintf(b, "Calls: %d in 24 h, %d in 7 d, %d in the last 30 days, %d in all.\nWebhook deliveries: %d (%d ok, %d failed).\n",
		st.CallsLast24h, st.CallsLast7d, st.CallsLast30d, st.TotalCalls,
		st.TotalWebhookDeliveries, st.SuccessfulWebhookDeliveries, st.FailedWebhookDeliveries)
}

// registrationSection renders the A2P 10DLC campaign status.
func registrationSection(r *apiclient.Registration, view map[string]any, b *strings.Builder) {
	reg := map[string]any{"campaign_status": r.CampaignStatus}
	fmt.Fprintf(b, "A2P 10DLC (US SMS) campaign: %s", r.CampaignStatus)
	if r.Stage != "" {
		reg["stage"] = untrusted(r.Stage, maxSnippet)
		fmt.Fprintf(b, " (stage %s)", reg["stage"])
	}
	if r.Message != "" {
		reg["message"] = untrusted(r.Message, maxAPIMessage)
		fmt.Fprintf(b, "; AgentPhone says: %q", reg["message"])
	}
	if r.CampaignStatus != apiclient.CampaignApproved {
		b.WriteString(". Until it is approved, carriers may block SMS to US numbers; registration is done in the AgentPhone dashboard")
	}
	b.WriteString(".\n")
	view["registration"] = reg
}

// errText is an API failure in one short, sanitised line (for partial failures): what
// happened, and AgentPhone's own message for an answer with a status.
func errText(err error) string {
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) {
		s := apiErr.What()
		if apiErr.Kind == apiclient.KindStatus && apiErr.Message != "" {
			s += ": " + apiErr.Message
		}
		return untrusted(s, maxSnippet)
	}
	return untrusted(err.Error(), maxSnippet)
}

func moreMark(more bool) string {
	if more {
		return "+, first page"
	}
	return ""
}

// usageBreakdown answers get_account_overview with a usage= breakdown.
func (d *Deps) usageBreakdown(ctx context.Context, c *call, args accountArgs) *mcp.CallToolResult {
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
	switch args.Usage {
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
		return invalidArgs(c.tool, "usage must be one of daily, monthly, by_number, by_agent")
	}
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

package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

var (
	callStatuses   = []string{"ringing", "in-progress", "completed", "failed", "busy", "no-answer"}
	callDirections = []string{"inbound", "outbound", "web"}
)

type listCallsArgs struct {
	AgentID   string `json:"agent_id,omitempty"`
	NumberID  string `json:"number_id,omitempty"`
	Status    string `json:"status,omitempty" jsonschema:"enum=ringing,enum=in-progress,enum=completed,enum=failed,enum=busy,enum=no-answer"`
	Direction string `json:"direction,omitempty" jsonschema:"enum=inbound,enum=outbound,enum=web"`
	Search    string `json:"search,omitempty"`
	// Limit and Offset are not an embedded pageArgs: the schema reflector drops the fields of
	// an embedded unexported struct once a tag uses the enum= form.
	Limit  int `json:"limit,omitempty"`
	Offset int `json:"offset,omitempty"`
}

// keep reports whether a call passes the filters (used on agent- and number-scoped pages,
// whose API routes take no filters).
func (a listCallsArgs) keep(c *apiclient.Call) bool {
	if a.Status != "" && string(c.Status) != a.Status {
		return false
	}
	if a.Direction != "" && string(c.Direction) != a.Direction {
		return false
	}
	if a.Search != "" && !strings.Contains(c.FromNumber+" "+c.ToNumber, a.Search) {
		return false
	}
	return true
}

// callLine is a call in one list line.
func callLine(c *apiclient.Call) string {
	dur := ""
	if c.DurationSeconds != nil {
		dur = fmt.Sprintf(", %d s", *c.DurationSeconds)
	}
	out := ""
	if o, ok := knownOutcome(c); ok && o != OutcomeInProgress {
		out = ", outcome " + o
	}
	return fmt.Sprintf("%s %s %s %s → %s %s%s%s", c.ID, when(c.StartedAt), c.Direction, c.FromNumber, c.ToNumber, c.Status, dur, out)
}

func listCallsTool(d *Deps) Tool {
	return define(d, spec{
		name: "list_calls", title: "List calls", toolset: ToolsetCalls, effect: reads,
		desc: "List calls, newest first.",
	}, func(ctx context.Context, c *call, args listCallsArgs) *mcp.CallToolResult {
		if msg := (pageArgs{Limit: args.Limit, Offset: args.Offset}).check(); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		if args.Status != "" && !contains(callStatuses, args.Status) {
			return invalidArgs(c.tool, "status must be one of "+strings.Join(callStatuses, ", "))
		}
		if args.Direction != "" && !contains(callDirections, args.Direction) {
			return invalidArgs(c.tool, "direction must be one of "+strings.Join(callDirections, ", "))
		}
		lp := apiclient.ListParams{Limit: args.Limit, Offset: args.Offset}
		var (
			page   *apiclient.Page[apiclient.Call]
			err    error
			finder = "list_calls"
			scoped = true
		)
		switch {
		case args.NumberID != "":
			page, err = d.API.ListNumberCalls(ctx, args.NumberID, lp)
			finder = "list_numbers"
		case args.AgentID != "":
			page, err = d.API.ListAgentCalls(ctx, args.AgentID, lp)
			finder = "list_agents"
		default:
			scoped = false
			page, err = d.API.ListCalls(ctx, apiclient.ListCallsParams{Limit: args.Limit, Offset: args.Offset,
				Status: apiclient.CallStatus(args.Status), Direction: apiclient.Direction(args.Direction), Search: args.Search})
		}
		if err != nil {
			return apiFailure(c.tool, err, finder)
		}
		l := list{noun: "calls", hasMore: page.HasMore || morePages(page.Total, args.Offset, len(page.Data)), offset: args.Offset, untrusted: true}
		for i := range page.Data {
			cl := &page.Data[i]
			if scoped && !args.keep(cl) {
				continue
			}
			l.lines = append(l.lines, callLine(cl))
			v := callView(cl)
			if _, ok := knownOutcome(cl); !ok {
				delete(v, "outcome") // get_transcript tells a person from a voicemail greeting
			}
			if cl.LastTranscriptSnippet != "" {
				v["last_snippet"] = untrusted(cl.LastTranscriptSnippet, maxSnippet)
			}
			l.items = append(l.items, v)
		}
		if l.hasMore {
			// The next page starts after everything fetched, filtered out or not.
			l.nextHint = pageHint(true, args.Offset, len(page.Data))
			l.extra = map[string]any{"next_offset": args.Offset + len(page.Data)}
		}
		return l.result()
	})
}

// callDetails renders a call with its transcript, summary and recording URL.
func (d *Deps) callDetails(cl *apiclient.Call) (map[string]any, string) {
	view := callView(cl)
	turns := turnsOf(cl.Transcripts)
	view["transcript"] = turns
	view["notice"] = UntrustedNotice
	var b strings.Builder
	fmt.Fprintf(&b, "Call %s\n", callLine(cl))
	if cl.AgentID != "" {
		fmt.Fprintf(&b, "Agent %s.\n", cl.AgentID)
	}
	if cl.RecordingAvailable {
		rec := cl.RecordingURL
		if rec == "" {
			rec = d.API.RecordingURL(cl.ID)
		}
		view["recording_url"] = rec
		fmt.Fprintf(&b, "Recording: %s\n", rec)
	}
	view["recording_available"] = cl.RecordingAvailable
	writeOutcome(view, &b, cl)
	writeTranscript(&b, turns)
	if len(turns) > 0 {
		b.WriteString(UntrustedNotice)
	}
	return view, strings.TrimRight(b.String(), "\n")
}

type endCallArgs struct {
	CallID string `json:"call_id"`
}

func endCallTool(d *Deps) Tool {
	return define(d, spec{
		name: "end_call", title: "End call", toolset: ToolsetCalls, effect: destroys,
		desc: "Hang up a live call.",
	}, func(ctx context.Context, c *call, args endCallArgs) *mcp.CallToolResult {
		if msg := requireID("call_id", args.CallID, "list_calls"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		action := policyAudited(c, map[string]string{"call_id": args.CallID})
		return d.gate(ctx, c, action, "", func(ctx context.Context) outcome {
			cl, err := d.API.EndCall(ctx, args.CallID)
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_calls"), err: err}
			}
			text := fmt.Sprintf("Hang-up requested for call %s (status now %s, outcome %s until it turns final within seconds).", cl.ID, cl.Status, callOutcome(cl))
			if cl.Status.Terminal() {
				text = fmt.Sprintf("Call %s has ended (%s, outcome %s).", cl.ID, cl.Status, callOutcome(cl))
			}
			return outcome{result: okResult(text, callView(cl)), apiID: cl.ID, apiStatus: string(cl.Status)}
		})
	})
}

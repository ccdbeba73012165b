package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

// kindAudited is the policy kind of a write that the engine allows and audits without further
// rules (attach/detach, an update_agent that leaves prompt and transfer number alone,
// update_conversation, react_to_message, end_call, test_webhook).
const kindAudited = policy.KindOther

// policyAudited is the Action of a write the engine only audits.
func policyAudited(c *call, details map[string]string) policy.Action {
	return policy.Action{Kind: kindAudited, Args: canonicalArgs(c), Details: details}
}

// agentLine is an agent in one list line.
func agentLine(a *apiclient.Agent) string {
	nums := make([]string, 0, len(a.Numbers))
	for _, n := range a.Numbers {
		nums = append(nums, n.PhoneNumber)
	}
	numText := "no number"
	if len(nums) > 0 {
		numText = strings.Join(nums, ", ")
	}
	return fmt.Sprintf("%s %q %s, %s", a.ID, untrusted(a.Name, maxName), a.VoiceMode, numText)
}

func listAgentsTool(d *Deps) Tool {
	return define(d, spec{
		name: "list_agents", title: "List agents", toolset: ToolsetAgents, effect: reads,
		desc: "List agents and their numbers.",
	}, func(ctx context.Context, c *call, args pageArgs) *mcp.CallToolResult {
		if msg := args.check(); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		page, err := d.API.ListAgents(ctx, apiclient.ListParams{Limit: args.Limit, Offset: args.Offset})
		if err != nil {
			return apiFailure(c.tool, err, "")
		}
		l := list{noun: "agents", hasMore: page.HasMore || morePages(page.Total, args.Offset, len(page.Data)), offset: args.Offset}
		for i := range page.Data {
			l.lines = append(l.lines, agentLine(&page.Data[i]))
			l.items = append(l.items, agentView(&page.Data[i]))
		}
		return l.result()
	})
}

// morePages reports whether a page with a total leaves items after it (the agents list
// answers total without hasMore).
func morePages(total *int, offset, n int) bool {
	return total != nil && n > 0 && offset+n < *total
}

type agentIDArgs struct {
	AgentID string `json:"agent_id"`
}

func getAgentTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_agent", title: "Get agent", toolset: ToolsetAgents, effect: reads,
		desc: "Get an agent's settings.",
	}, func(ctx context.Context, c *call, args agentIDArgs) *mcp.CallToolResult {
		if msg := requireID("agent_id", args.AgentID, "list_agents"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		a, err := d.API.GetAgent(ctx, args.AgentID)
		if err != nil {
			return apiFailure(c.tool, err, "list_agents")
		}
		view := agentFullView(a)
		var b strings.Builder
		fmt.Fprintf(&b, "Agent %s\nVoice %s, model %s, language %s, messaging %t.", agentLine(a), a.Voice, a.ModelTier, a.Language, a.EnableMessaging)
		if a.TransferNumber != "" {
			fmt.Fprintf(&b, "\nTransfers to %s.", a.TransferNumber)
		}
		if a.SystemPrompt != "" {
			fmt.Fprintf(&b, "\nSystem prompt: %q", untrusted(a.SystemPrompt, maxBody))
		}
		if a.BeginMessage != "" {
			fmt.Fprintf(&b, "\nBegin message: %q", untrusted(a.BeginMessage, maxNotes))
		}
		return okResult(b.String(), view)
	})
}

// agentFullView is agentView plus the voice tuning settings.
func agentFullView(a *apiclient.Agent) map[string]any {
	v := agentView(a)
	v["stt_mode"] = a.STTMode
	v["ambient_sound"] = a.AmbientSound
	v["denoising_mode"] = a.DenoisingMode
	v["max_silence_ms"] = a.MaxSilenceMs
	v["voice_speed"] = a.VoiceSpeed
	v["interruption_sensitivity"] = a.InterruptionSensitivity
	v["enable_backchannel"] = a.EnableBackchannel
	if len(a.CustomTools) > 0 {
		tools := make([]map[string]any, 0, len(a.CustomTools))
		for _, t := range a.CustomTools {
			tools = append(tools, map[string]any{"name": untrusted(t.Name, maxName), "method": t.Method,
				"url": untrusted(t.URL, maxSnippet), "description": untrusted(t.Description, maxSnippet)})
		}
		v["custom_tools"] = tools
	}
	return v
}

func listVoicesTool(d *Deps) Tool {
	return define(d, spec{
		name: "list_voices", title: "List voices", toolset: ToolsetAgents, effect: reads,
		desc: "List voices.",
	}, func(ctx context.Context, c *call, _ noArgs) *mcp.CallToolResult {
		voices, err := d.API.ListVoices(ctx)
		if err != nil {
			return apiFailure(c.tool, err, "")
		}
		l := list{noun: "voices"}
		for _, v := range voices {
			traits := []string{v.Provider}
			for _, t := range []string{v.Gender, v.Accent} {
				if t != "" {
					traits = append(traits, t)
				}
			}
			l.lines = append(l.lines, fmt.Sprintf("%s: %s (%s)", v.VoiceID, v.VoiceName, strings.Join(traits, ", ")))
			item := map[string]any{"id": v.VoiceID, "name": v.VoiceName, "provider": v.Provider}
			if v.Gender != "" {
				item["gender"] = v.Gender
			}
			if v.Accent != "" {
				item["accent"] = v.Accent
			}
			if v.PreviewAudioURL != "" {
				item["preview_audio_url"] = v.PreviewAudioURL
			}
			l.items = append(l.items, item)
		}
		return l.result()
	})
}

type updateAgentArgs struct {
	AgentID string  `json:"agent_id"`
	Name    *string `json:"name,omitempty"`
	AgentSettingsArgs
	CustomTools       *[]CustomToolArg `json:"custom_tools,omitempty" jsonschema:"Hosted: [{name,description,url,method,parameters}]; replaces all"`
	ConfirmationToken string           `json:"confirmation_token,omitempty"`
}

// changed lists the snake_case names of the arguments given, for the result and the preview.
func (a *updateAgentArgs) changed(raw map[string]any) []string {
	var out []string
	for k := range raw {
		if k != "agent_id" && k != "confirmation_token" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func updateAgentTool(d *Deps) Tool {
	return define(d, spec{
		name: "update_agent", title: "Update agent", toolset: ToolsetAgents, effect: replaces,
		desc: "Change agent settings; prompt, greeting, transfer or custom tool changes need confirmation.",
	}, func(ctx context.Context, c *call, args updateAgentArgs) *mcp.CallToolResult {
		if msg := requireID("agent_id", args.AgentID, "list_agents"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		fields := args.changed(c.req.GetArguments())
		if len(fields) == 0 {
			return invalidArgs(c.tool, "give at least one setting to change")
		}
		if args.Name != nil && strings.TrimSpace(*args.Name) == "" {
			return invalidArgs(c.tool, "name cannot be empty")
		}
		if msg := args.validate(d.DefaultRegion); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		if args.CustomTools != nil {
			if msg := checkCustomTools(*args.CustomTools); msg != "" {
				return invalidArgs(c.tool, msg)
			}
		}
		texts := args.outboundTexts()
		if args.Name != nil {
			texts = append(texts, *args.Name)
		}
		action := policy.Action{Kind: kindAudited, Texts: texts, Spoken: args.spoken(), Args: canonicalArgs(c),
			Details: map[string]string{"agent_id": args.AgentID, "changes": strings.Join(fields, ", ")}}
		if args.CustomTools != nil {
			// Custom tools make the voice platform call URLs with what callers say: always a
			// confirmed agent change, public https only, shown in full.
			action.Kind = policy.KindAgentChange
			urls, toolTexts, details := customToolsPolicy(*args.CustomTools)
			action.URLs = urls
			action.Texts = append(action.Texts, toolTexts...)
			for k, v := range details {
				action.Details[k] = v
			}
		}
		// Whatever the agent will say (prompt, greeting, voicemail) and where it sends callers
		// needs a person's approval; the preview shows the new texts in full.
		if args.SystemPrompt != nil || args.BeginMessage != nil || args.VoicemailMessage != nil || args.TransferNumber != nil {
			action.Kind = policy.KindAgentChange
			if args.TransferNumber != nil {
				if *args.TransferNumber == "" {
					action.Details["transfer_number"] = "(removed)"
				} else {
					action.TransferNumber = *args.TransferNumber
				}
			}
		}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			req := apiclient.UpdateAgentRequest{Name: args.Name, AgentSettings: args.settings()}
			req.TransferNumber = d.e164Ptr(args.TransferNumber)
			if args.CustomTools != nil {
				tools := customToolsAPI(*args.CustomTools)
				req.CustomTools = &tools
			}
			a, err := d.API.UpdateAgent(ctx, args.AgentID, req)
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_agents"), err: err}
			}
			return outcome{result: okResult(
				fmt.Sprintf("Updated agent %q (%s): %s.", untrusted(a.Name, maxName), a.ID, strings.Join(fields, ", ")),
				agentFullView(a)), apiID: a.ID, apiStatus: "updated"}
		})
	})
}

type deleteAgentArgs struct {
	AgentID           string `json:"agent_id"`
	ConfirmationToken string `json:"confirmation_token,omitempty"`
}

func deleteAgentTool(d *Deps) Tool {
	return define(d, spec{
		name: "delete_agent", title: "Delete agent", toolset: ToolsetAgents, effect: destroys,
		desc: "Delete an agent; irreversible, needs confirmation.",
	}, func(ctx context.Context, c *call, args deleteAgentArgs) *mcp.CallToolResult {
		if msg := requireID("agent_id", args.AgentID, "list_agents"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		a, err := d.API.GetAgent(ctx, args.AgentID)
		if err != nil {
			return apiFailure(c.tool, err, "list_agents")
		}
		details := map[string]string{"agent_id": a.ID, "agent_name": untrusted(a.Name, maxName)}
		if len(a.Numbers) > 0 {
			details["numbers_detached"] = fmt.Sprint(len(a.Numbers))
		}
		action := policy.Action{Kind: policy.KindDeleteAgent, Args: canonicalArgs(c), Details: details}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			del, err := d.API.DeleteAgent(ctx, args.AgentID)
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_agents"), err: err}
			}
			return outcome{result: okResult(fmt.Sprintf("Deleted agent %q (%s). Its numbers, calls and conversations remain.", untrusted(del.Name, maxName), args.AgentID),
				map[string]any{"id": args.AgentID, "deleted": del.Success, "name": untrusted(del.Name, maxName)}), apiID: args.AgentID, apiStatus: "deleted"}
		})
	})
}

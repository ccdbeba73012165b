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

// agentTools is the agents toolset, in tools/list order (reads first). This list is
// the one place a tool's toolset is written.
func agentTools(d *Deps) []Tool {
	return members(ToolsetAgents,
		listAgentsTool(d), getAgentTool(d), listVoicesTool(d), createAgentTool(d), updateAgentTool(d), deleteAgentTool(d))
}

// AgentSettingsArgs are the optional agent settings shared by create_agent and update_agent.
// The type is exported only because the schema reflector skips the fields of an embedded
// unexported struct when a jsonschema tag uses the enum= form. The voice-tuning knobs live in
// one nested object whose schema is a single description (see compactSchema): they are rarely
// set, and spelling out each one cost every conversation about a kilobyte of tools/list.
type AgentSettingsArgs struct {
	Description      *string      `json:"description,omitempty"`
	VoiceMode        *string      `json:"voice_mode,omitempty" jsonschema:"enum=hosted,enum=webhook"`
	SystemPrompt     *string      `json:"system_prompt,omitempty"`
	BeginMessage     *string      `json:"begin_message,omitempty"`
	Voice            *string      `json:"voice,omitempty"`
	ModelTier        *string      `json:"model_tier,omitempty" jsonschema:"enum=turbo,enum=balanced,enum=max"`
	TransferNumber   *string      `json:"transfer_number,omitempty" jsonschema:"empty removes"`
	VoicemailMessage *string      `json:"voicemail_message,omitempty" jsonschema:"empty disables"`
	Language         *string      `json:"language,omitempty" jsonschema:"BCP-47"`
	Tuning           *AgentTuning `json:"tuning,omitempty" jsonschema:"voice knobs, e.g. voice_speed"`
}

// AgentTuning are an agent's voice and speech-recognition knobs (the tuning argument).
type AgentTuning struct {
	VoiceSpeed              *float64 `json:"voice_speed,omitempty"`
	InterruptionSensitivity *float64 `json:"interruption_sensitivity,omitempty"`
	EnableBackchannel       *bool    `json:"enable_backchannel,omitempty"`
	EnableMessaging         *bool    `json:"enable_messaging,omitempty"`
	STTMode                 *string  `json:"stt_mode,omitempty"`
	AmbientSound            *string  `json:"ambient_sound,omitempty"`
	DenoisingMode           *string  `json:"denoising_mode,omitempty"`
	MaxSilenceMs            *int     `json:"max_silence_ms,omitempty"`
}

type createAgentArgs struct {
	Name string `json:"name"`
	AgentSettingsArgs
	ConfirmationToken string `json:"confirmation_token,omitempty"`
}

// validate checks ranges and enums the schema cannot express, and normalises the transfer
// number. It returns "" or a message naming the argument.
func (a *AgentSettingsArgs) validate(region string) string {
	t := a.Tuning
	if t == nil {
		t = &AgentTuning{}
	}
	inRange := func(name string, v *float64, lo, hi float64) string {
		if v != nil && (*v < lo || *v > hi) {
			return fmt.Sprintf("%s must be between %g and %g", name, lo, hi)
		}
		return ""
	}
	if msg := inRange("tuning.voice_speed", t.VoiceSpeed, 0.5, 2); msg != "" {
		return msg
	}
	if msg := inRange("tuning.interruption_sensitivity", t.InterruptionSensitivity, 0, 1); msg != "" {
		return msg
	}
	if t.MaxSilenceMs != nil && (*t.MaxSilenceMs < 10000 || *t.MaxSilenceMs > 3600000) {
		return "tuning.max_silence_ms must be between 10000 and 3600000"
	}
	enums := []struct {
		name  string
		v     *string
		valid []string
	}{
		{"voice_mode", a.VoiceMode, []string{"hosted", "webhook"}},
		{"model_tier", a.ModelTier, []string{"turbo", "balanced", "max"}},
		{"tuning.stt_mode", t.STTMode, []string{"fast", "accurate"}},
		{"tuning.ambient_sound", t.AmbientSound, []string{"none", "office", "coffee-shop", "outdoor"}},
		{"tuning.denoising_mode", t.DenoisingMode, []string{"noise-cancellation", "noise-and-background-speech-cancellation"}},
	}
	for _, e := range enums {
		if e.v != nil && !contains(e.valid, *e.v) {
			return fmt.Sprintf("%s must be one of %s", e.name, strings.Join(e.valid, ", "))
		}
	}
	return ""
}

// settings maps the tool's snake_case arguments onto the API's camelCase settings.
func (a *AgentSettingsArgs) settings() apiclient.AgentSettings {
	t := a.Tuning
	if t == nil {
		t = &AgentTuning{}
	}
	s := apiclient.AgentSettings{
		Description: a.Description, SystemPrompt: a.SystemPrompt, BeginMessage: a.BeginMessage,
		Voice: a.Voice, TransferNumber: a.TransferNumber, VoicemailMessage: a.VoicemailMessage,
		VoiceSpeed: t.VoiceSpeed, InterruptionSensitivity: t.InterruptionSensitivity,
		EnableBackchannel: t.EnableBackchannel, EnableMessaging: t.EnableMessaging,
		MaxSilenceMs: t.MaxSilenceMs, Language: a.Language,
	}
	if a.VoiceMode != nil {
		v := apiclient.VoiceMode(*a.VoiceMode)
		s.VoiceMode = &v
	}
	if a.ModelTier != nil {
		v := apiclient.ModelTier(*a.ModelTier)
		s.ModelTier = &v
	}
	if t.STTMode != nil {
		v := apiclient.STTMode(*t.STTMode)
		s.STTMode = &v
	}
	if t.AmbientSound != nil {
		v := apiclient.AmbientSound(*t.AmbientSound)
		s.AmbientSound = &v
	}
	if t.DenoisingMode != nil {
		v := apiclient.DenoisingMode(*t.DenoisingMode)
		s.DenoisingMode = &v
	}
	return s
}

// spoken are the agent settings its voice will speak or follow: the policy applies the content
// and AI-disclosure rules to them, asks for confirmation, and shows them in the preview.
func (a *AgentSettingsArgs) spoken() []policy.LabeledText {
	var out []policy.LabeledText
	for _, f := range []struct {
		label string
		v     *string
	}{{"system prompt", a.SystemPrompt}, {"begin message (greeting)", a.BeginMessage}, {"voicemail message", a.VoicemailMessage}} {
		if f.v != nil && *f.v != "" {
			out = append(out, policy.LabeledText{Label: f.label, Text: *f.v})
		}
	}
	return out
}

// outboundTexts are the other agent settings that leave this server (description, voice,
// language): the policy scans them for secrets and hidden characters.
func (a *AgentSettingsArgs) outboundTexts() []string {
	var out []string
	for _, p := range []*string{a.Description, a.Voice, a.Language} {
		if p != nil && *p != "" {
			out = append(out, *p)
		}
	}
	return out
}

func createAgentTool(d *Deps) Tool {
	return define(d, spec{
		name: "create_agent", title: "Create agent", effect: creates,
		desc: "An AI phone agent; hosted mode needs system_prompt.",
	}, func(ctx context.Context, c *call, args createAgentArgs) *mcp.CallToolResult {
		args.Name = strings.TrimSpace(args.Name)
		if args.Name == "" {
			return invalidArgs(c.tool, "name is required")
		}
		if msg := args.validate(d.DefaultRegion); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		if args.VoiceMode != nil && *args.VoiceMode == "hosted" && (args.SystemPrompt == nil || strings.TrimSpace(*args.SystemPrompt) == "") {
			return invalidArgs(c.tool, "voice_mode hosted needs system_prompt (what the agent should do on calls)")
		}
		action := policy.Action{Kind: policy.KindAgentCreate, Texts: append(args.outboundTexts(), args.Name), Spoken: args.spoken(),
			Args: canonicalArgs(c), Details: map[string]string{"name": args.Name}}
		if args.TransferNumber != nil {
			action.TransferNumber = *args.TransferNumber
		}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			req := apiclient.CreateAgentRequest{Name: args.Name, AgentSettings: args.settings()}
			req.TransferNumber = d.e164Ptr(args.TransferNumber)
			agent, err := d.API.CreateAgent(ctx, req)
			if err != nil {
				return outcome{result: apiFailure("create_agent", err, ""), err: err}
			}
			return outcome{result: okNext(
				fmt.Sprintf("Created agent %q (%s), voice mode %s.", untrusted(agent.Name, maxName), agent.ID, agent.VoiceMode),
				"Buy or attach a number (numbers toolset) before it can call or text.",
				agentView(agent)), apiID: agent.ID, apiStatus: "created"}
		})
	})
}

// agentView is an agent as tools return it: the API object with third-party text sanitised.
func agentView(a *apiclient.Agent) map[string]any {
	nums := make([]map[string]any, 0, len(a.Numbers))
	for _, n := range a.Numbers {
		nums = append(nums, map[string]any{"id": n.ID, "phone_number": n.PhoneNumber, "status": n.Status})
	}
	v := map[string]any{
		"id": a.ID, "name": untrusted(a.Name, maxName), "voice_mode": a.VoiceMode, "voice": a.Voice,
		"model_tier": a.ModelTier, "language": a.Language, "enable_messaging": a.EnableMessaging,
		"numbers": nums, "created_at": a.CreatedAt,
	}
	if a.Description != "" {
		v["description"] = untrusted(a.Description, maxNotes)
	}
	if a.SystemPrompt != "" {
		v["system_prompt"] = untrusted(a.SystemPrompt, maxBody)
	}
	if a.BeginMessage != "" {
		v["begin_message"] = untrusted(a.BeginMessage, maxNotes)
	}
	if a.TransferNumber != "" {
		v["transfer_number"] = a.TransferNumber
	}
	if a.VoicemailMessage != "" {
		v["voicemail_message"] = untrusted(a.VoicemailMessage, maxNotes)
	}
	return v
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
		name: "list_agents", title: "List agents", effect: reads,
		desc: "Agents and their numbers.",
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

type agentIDArgs struct {
	AgentID string `json:"agent_id"`
}

func getAgentTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_agent", title: "Get agent", effect: reads,
		desc: "An agent's settings.",
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
		name: "list_voices", title: "List voices", effect: reads,
		desc: "Voices for agents.",
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
		name: "update_agent", title: "Update agent", effect: replaces,
		desc: "Changes only the settings given.",
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
		name: "delete_agent", title: "Delete agent", effect: destroys,
		desc: "Cannot be undone.",
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

package tools

import (
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/campaign"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

// Confirmation modes (AGENTPHONE_CONFIRM_MODE).
const (
	// ConfirmAuto uses elicitation when the client declared it, else a two-step token.
	ConfirmAuto = "auto"
	// ConfirmStrict uses elicitation or a code texted to the operator; otherwise it denies.
	ConfirmStrict = "strict"
	// ConfirmOff runs confirm-tier actions at once; deny rules still apply.
	ConfirmOff = "off"
)

// Deps is what every tool handler needs. It is built once by the server.
type Deps struct {
	// API is the AgentPhone client (its transport carries the key guard).
	API *apiclient.Client
	// Policy decides every write.
	Policy *policy.Engine
	// ConfirmMode is ConfirmAuto, ConfirmStrict or ConfirmOff.
	ConfirmMode string
	// OperatorPhone receives one-time codes in strict mode (E.164; may be empty).
	OperatorPhone string
	// DefaultRegion is the region for numbers typed without a country code.
	DefaultRegion string
	// Sandbox is true when the API is the built-in simulation.
	Sandbox bool
	// Principal is the process's own principal (stdio, and HTTP without sessions or tokens);
	// use PrincipalFor(ctx), which prefers the session's or credential's the server set.
	Principal string
	// Clock is the time source (fake in tests).
	Clock clockwork.Clock
	// Logger receives structured logs (stderr).
	Logger *slog.Logger
	// Events delivers inbound events from the webhook receiver to waiting tools; may be nil.
	Events *EventHub
	// ToolTimeout bounds every tool call (AGENTPHONE_TOOL_TIMEOUT); zero means
	// DefaultToolTimeout. Longer waits return "still in progress" and resume on the next call.
	ToolTimeout time.Duration
	// ElicitTimeout bounds the wait for the user's answer to a confirmation form
	// (AGENTPHONE_ELICIT_TIMEOUT); zero means DefaultElicitTimeout.
	ElicitTimeout time.Duration
	// SendProgress, when set, sends progress notifications in order with the result (the
	// server's transport writer); nil uses mcp-go's notification channel.
	SendProgress ProgressFunc
	// Scrub removes secrets from what leaves outside tool results (progress notifications);
	// nil leaves text as it is.
	Scrub func(string) string

	// reported remembers which transcript turns waits reported, so a resumed wait goes on
	// where the last one stopped.
	reported reportedTurns
	// ReconcileWithin bounds the look in the API for a send whose answer was lost
	// (0: outbound.DefaultReconcileWithin).
	ReconcileWithin time.Duration

	// Live holds webhook-mode caller turns open for listen_call and say; may be nil.
	Live *LiveCalls
	// Received lists what the webhook receiver stored, for the inbox resource; may be nil.
	Received InboxSource
	// Campaigns keeps and runs campaigns; nil disables the campaign tools' effects.
	Campaigns *campaign.Runner
	// CampaignMax bounds a campaign's recipients (0: DefaultCampaignMax).
	CampaignMax int
	// CampaignsPerReplica is set when several replicas share one Redis: a campaign's run and
	// file live on the replica that created it, so a campaign id another replica does not
	// know is answered with where to look instead of a bare "no campaign".
	CampaignsPerReplica bool
}

// All returns every tool in a stable order: tools/list is deterministic.
func All(d *Deps) []Tool {
	var out []Tool
	for _, group := range [][]Tool{
		accountTools(d),
		agentTools(d),
		numberTools(d),
		callTools(d),
		messageTools(d),
		conversationTools(d),
		contactTools(d),
		webhookTools(d),
		liveTools(d),
		campaignTools(d),
	} {
		out = append(out, group...)
	}
	return out
}

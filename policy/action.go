package policy

import (
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

// Kind classifies an action; it selects which rules apply.
type Kind string

// Action kinds.
const (
	KindSMS           Kind = "sms"            // send an SMS: every number, content, time, cap and confirm rule
	KindCall          Kind = "call"           // place an AI voice call: as SMS, with Texts (greeting, prompt) checked
	KindBuyNumber     Kind = "buy_number"     // confirm [spend]
	KindReleaseNumber Kind = "release_number" // confirm [irreversible]
	KindDeleteAgent   Kind = "delete_agent"   // confirm [irreversible]
	KindDeleteContact Kind = "delete_contact" // confirm [irreversible]
	KindWebhookChange Kind = "webhook_change" // set or delete a webhook: confirm [webhook_change]
	KindAgentChange   Kind = "agent_change"   // system prompt or transfer number: confirm [agent_change]; TransferNumber number rules
	KindTransfer      Kind = "transfer"       // live-call transfer: number rules on TransferNumber (or To)
	KindDTMF          Kind = "dtmf"           // send DTMF digits on a live call: content rules only
	KindContactWrite  Kind = "contact_write"  // create/update a contact: To must normalise, nothing more
	KindAgentCreate   Kind = "agent_create"   // create an agent: content rules, number rules on TransferNumber; confirm [agent_change] when it has Spoken text
	KindOther         Kind = "other"          // any other write (react, end call, test webhook...): content rules only; audited
	KindRouteNumber   Kind = "route_number"   // attach a number to an agent or detach it: confirm [agent_change]
	// KindOperatorCode is a one-time confirmation code texted to the operator's own phone: it
	// counts against the operator-code cap (OperatorCodesMax per OperatorCodesWindow, across
	// every process sharing the state and every caller account), so a looping model cannot
	// spam the operator.
	KindOperatorCode Kind = "operator_code"
	KindCampaign     Kind = "campaign" // approve a campaign's plan: content rules on Texts; confirm [campaign]
)

// Outcome is the engine's verdict.
type Outcome string

// Outcomes. A Confirm never overrides a Deny.
const (
	Allow   Outcome = "allow"
	Confirm Outcome = "confirm"
	Deny    Outcome = "deny"
)

// Action describes one write-tool call for the engine. The tools layer fills it
// from the bound tool arguments; the same Action must be built for the preview
// call and the confirmed call.
type Action struct {
	Tool      string // MCP tool name, e.g. "send_sms"
	Principal string // who asks: per-process id for stdio, OAuth sub for HTTP
	Kind      Kind
	To        string // raw destination number as given
	// Recipients are the raw numbers of a group message (KindSMS, To empty): every one passes
	// every rule and counts toward its own caps; one denied recipient denies the whole group.
	Recipients []string
	Body       string   // SMS body or DTMF digits
	Texts      []string // other outbound text checked for secrets and hidden characters: names, notes, URLs...
	// Spoken are the texts an AI voice will speak, or follow as its instructions: system
	// prompts, greetings, voicemail messages, call topics, live answers. They get the content
	// rules (secrets, hidden characters) and the AI-disclosure rule [ai_disclosure], and the
	// preview shows them in full.
	Spoken []LabeledText
	// TransferNumber is a raw transfer destination (agent transferNumber or live transfer).
	TransferNumber string
	// Args holds the canonical tool arguments bound into a confirmation token
	// (JSON-encoded with sorted keys). Put normalised values in it.
	Args map[string]any
	// Details are preview extras (agent, from number, greeting...). The engine
	// shows them with invisible characters made visible.
	Details map[string]string
	// CallMode is CallHosted or CallWebhook for a call ("" when unknown): it picks the
	// price per minute the preview quotes.
	CallMode string
	// URLs are addresses a third party will be told to call (an agent's custom tools): each
	// must be a public https URL [unsafe_url], and is checked for secrets like Texts.
	URLs []string
	// BodyDetails names the Details that carry message text (a campaign's template and
	// samples): the audit log records them only with Config.AuditBodies, like Body.
	BodyDetails []string
	// CampaignID is the campaign this send belongs to (empty for a tool's own send); it is
	// kept on the ledger entry.
	CampaignID string
}

// LabeledText is a text with what it is ("system prompt", "greeting"), for reasons and
// previews.
type LabeledText struct {
	Label string `json:"label"`
	Text  string `json:"text"`
}

// RuleHit is one rule that fired: a stable ID and a plain-language reason.
type RuleHit struct {
	ID      string  `json:"id"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason"`
}

// Decision is the engine's answer for one Action.
type Decision struct {
	Outcome Outcome
	Rules   []RuleHit     // deny hits when denied, else the confirm hits (empty on allow)
	Target  *phone.Number // the normalised destination, when there is one
	Preview *Preview      // rendered by the engine; nil when denied before a target was known

	prep *prepared // what Reserve decides again on fresh facts
}

// RuleIDs returns the IDs of d.Rules in order.
func (d Decision) RuleIDs() []string {
	ids := make([]string, len(d.Rules))
	for i, r := range d.Rules {
		ids[i] = r.ID
	}
	return ids
}

// Result is what Record adds to the audit line of a decision that did not run.
type Result struct {
	ConfirmMethod string // none | elicitation | token | otp | off
	APIID         string
	APIStatus     string // e.g. "awaiting confirmation (token issued)"
	Err           error  // why it did not run, if that was an error
}

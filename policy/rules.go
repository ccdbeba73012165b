package policy

import (
	"fmt"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

// Stable rule IDs. They appear in decisions, previews, audit lines and the README.
const (
	// Deny rules (never overridden by a confirmation).
	RuleEmergency       = "emergency"
	RuleN11             = "n11"
	RuleShortCode       = "short_code"
	RuleInvalidNumber   = "invalid_number"
	RuleNumberType      = "number_type"
	RuleGlobalNetwork   = "global_network"
	RuleCountry         = "country"
	RuleOptedOut        = "opted_out"
	RuleSecretInContent = "secret_in_content"
	RuleSMSTooLong      = "sms_too_long"
	RuleQuietHours      = "quiet_hours" // deny; confirm when the local time cannot be known (unknown zone, toll-free, non-geographic)
	RuleRateLimit       = "rate_limit"
	RuleDenylist        = "denylist"
	RuleOwnNumber       = "own_number"     // SMS or call to one of the account's own numbers
	RuleOperatorPhone   = "operator_phone" // SMS or call to AGENTPHONE_OPERATOR_PHONE (the confirmation channel)
	RuleUnsafeURL       = "unsafe_url"     // a URL a third party would call is not a public https URL
	// RuleHiddenCharacters: outbound text carries a bidi control or an invisible character,
	// so what a person approves would not be what is sent.
	RuleHiddenCharacters = "hidden_characters"
	// RuleAIDisclosure: a prompt, greeting or answer tells the AI voice to hide that it is an
	// AI or to pass as a human.
	RuleAIDisclosure = "ai_disclosure"

	// Confirm rules.
	RuleSpend         = "spend"
	RuleIrreversible  = "irreversible"
	RuleWebhookChange = "webhook_change"
	RuleAgentChange   = "agent_change"
	RuleFirstContact  = "first_contact"
	RuleInternational = "international"
	RuleSMSLong       = "sms_long"
	RuleDuplicate     = "duplicate"

	// RulePossibleOptOut marks an inbound text that may revoke consent, flagged to the model
	// and the operator (audit and log); it denies nothing by itself.
	RulePossibleOptOut = "possible_opt_out"

	RuleCampaign = "campaign" // approve a campaign's whole plan once
)

// isGlobalNetwork reports non-geographic calling codes that are always denied
// (satellite, international networks, premium, shared-cost: IRSF risk).
func isGlobalNetwork(countryCode int) bool {
	switch countryCode {
	case 870, 881, 882, 883, 979, 808, 878, 888:
		return true
	}
	return false
}

// NeverDialled returns the rule and reason for which n is always refused whatever the
// policy file says (a global-network code, a premium-rate or other denied number type), or
// "" for a number these static rules let through. The contacts import uses it to refuse such
// rows before they become vouched contacts.
func NeverDialled(n *phone.Number) (rule, reason string) {
	if isGlobalNetwork(n.CountryCode) {
		return RuleGlobalNetwork, fmt.Sprintf("+%d is a global-network (satellite or international premium) code; these are never dialled", n.CountryCode)
	}
	if why, bad := deniedTypeReason(string(n.Type)); bad {
		return RuleNumberType, fmt.Sprintf("%s is a %s number: %s", n.E164, n.Type, why)
	}
	return "", ""
}

// deniedTypeReason returns why a number type is always denied, or ok=false.
func deniedTypeReason(typ string) (reason string, ok bool) {
	switch typ {
	case "premium_rate":
		return "premium-rate numbers charge the caller extra and are used for toll fraud", true
	case "shared_cost":
		return "shared-cost numbers charge the caller extra", true
	case "pager":
		return "pager numbers cannot take a call or a conversation", true
	case "voicemail":
		return "voicemail-access numbers cannot take a conversation", true
	case "unknown", "":
		return "the number's type is unknown, so it cannot be checked for premium rates", true
	}
	return "", false
}

// DefaultAllowedCountries is the default country allowlist: the US, its
// territories and Canada, keyed on the number's region (so Caribbean +1
// countries such as JM or DO are international).
func DefaultAllowedCountries() []string {
	return []string{"US", "CA", "PR", "VI", "GU", "AS", "MP"}
}

// inDomesticUS reports whether region is in the US/territories/Canada group,
// which counts as one domestic market when the default region is in it.
func inDomesticUS(region string) bool {
	switch region {
	case "US", "CA", "PR", "VI", "GU", "AS", "MP":
		return true
	}
	return false
}

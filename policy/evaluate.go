package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// channelOf is the opt-out channel an outbound kind uses.
func channelOf(k Kind) string {
	if k == KindSMS {
		return store.ChannelSMS
	}
	return store.ChannelCall
}

// SMS segment thresholds.
const (
	smsConfirmSegments = 3  // more → confirm [sms_long]
	smsMaxSegments     = 10 // more → deny [sms_too_long]
)

// Duplicate windows.
const (
	dupSMSWindow  = 10 * time.Minute
	dupCallWindow = 2 * time.Minute
)

// verdict accumulates rule hits for one evaluation.
type verdict struct {
	deny, confirm []RuleHit
}

func (v *verdict) denyHit(id, reason string) {
	v.deny = append(v.deny, RuleHit{ID: id, Outcome: Deny, Reason: reason})
}

func (v *verdict) confirmHit(id, reason string) {
	v.confirm = append(v.confirm, RuleHit{ID: id, Outcome: Confirm, Reason: reason})
}

// decision turns the hits into a Decision; deny beats confirm beats allow.
func (v *verdict) decision(target *phone.Number, p *Preview) Decision {
	d := Decision{Outcome: Allow, Rules: []RuleHit{}, Target: target, Preview: p}
	switch {
	case len(v.deny) > 0:
		d.Outcome, d.Rules = Deny, v.deny
	case len(v.confirm) > 0:
		d.Outcome, d.Rules = Confirm, v.confirm
	}
	if p != nil {
		p.Rules = d.Rules
	}
	return d
}

// Evaluate classifies a. It returns an error only when the engine cannot decide
// (unknown kind, store failure, own-number lookup failure, cancelled context);
// the tools layer must then refuse the action. Denials are a Decision, not an
// error.
//
// Everything the store knows about the action (opt-outs, known recipient,
// sliding-window counts, duplicates) is read in one store transaction; the
// Contacts, History and OwnNumbers hooks run outside it.
func (e *Engine) Evaluate(ctx context.Context, a Action) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("policy: evaluate %s: %w", a.Tool, err)
	}
	var (
		d   Decision
		err error
	)
	switch a.Kind {
	case KindSMS, KindCall:
		d, err = e.evalOutbound(ctx, a)
	case KindTransfer, KindAgentChange, KindAgentCreate, KindDTMF, KindBuyNumber, KindReleaseNumber,
		KindDeleteAgent, KindDeleteContact, KindWebhookChange, KindOther, KindRouteNumber:
		d, err = e.evalAdmin(ctx, a)
	case KindContactWrite:
		d, err = e.evalContact(a)
	default:
		return Decision{}, fmt.Errorf("policy: evaluate %s: unknown action kind %q", a.Tool, a.Kind)
	}
	if err != nil {
		return Decision{}, fmt.Errorf("policy: evaluate %s: %w", a.Tool, err)
	}
	return d, nil
}

// evalOutbound decides an SMS or a call.
func (e *Engine) evalOutbound(ctx context.Context, a Action) (Decision, error) {
	var v verdict
	now := e.clock.Now()
	e.checkContent(&v, a)
	var info text.SMSInfo
	if a.Kind == KindSMS {
		info = text.SMS(a.Body)
		if info.Segments > smsMaxSegments {
			v.denyHit(RuleSMSTooLong, fmt.Sprintf("the message is %d SMS segments (%d %s characters); the maximum is %d. Shorten it", info.Segments, info.Characters, info.Encoding, smsMaxSegments))
		}
	}
	n := e.normalize(&v, a.To, "")
	var transfer *phone.Number
	if a.TransferNumber != "" {
		transfer = e.normalize(&v, a.TransferNumber, "transfer number: ")
	}

	if n != nil && e.operator != "" && n.E164 == e.operator {
		v.denyHit(RuleOperatorPhone, fmt.Sprintf("%s is the operator's phone (AGENTPHONE_OPERATOR_PHONE): it receives only the server's own confirmation texts, and its conversation is hidden from every tool, so the model may not text or call it", n.E164))
		return v.decision(n, &Preview{Details: visibleDetails(a.Details)}), nil
	}
	// What the recipient said lately (texts, finished calls) may opt them out: record that
	// before the store read below, so the decision sees it.
	if n != nil {
		if err := e.checkReplies(ctx, n.E164); err != nil {
			return Decision{}, err
		}
	}

	// One store transaction for everything the rules below need.
	var (
		caps    []*capCheck
		newCap  *capCheck
		dup     *capCheck
		knownOf string
	)
	if n != nil {
		caps, newCap = e.capsFor(a.Kind, n.E164, info.Segments)
		dup = dupCheck(a, n.E164)
		knownOf = n.E164
	}
	f, err := e.readFacts(ctx, now, []numberQuery{{n, channelOf(a.Kind)}, {transfer, store.ChannelCall}}, knownOf, append(caps, newCap, dup))
	if err != nil {
		return Decision{}, err
	}
	e.numberRules(&v, n, "", channelOf(a.Kind), f)
	e.numberRules(&v, transfer, "transfer number: ", store.ChannelCall, f)

	p := newPreview(a)
	p.Cost = e.cost(a, info)
	if a.Kind == KindSMS {
		p.Body = bodyPreview(a.Body, info)
	}
	if n == nil {
		return v.decision(nil, p), nil
	}
	zones := e.checkQuietHours(&v, n, now)
	p.To = e.destination(n, localTimes(zones))
	if p.To.IsForeign && p.Cost != "" {
		p.Cost += "; an international destination costs more than this domestic price"
	}
	p.Transfer = e.destination(transfer, nil)
	if len(v.deny) > 0 {
		return v.decision(n, p), nil
	}
	if err := e.checkOwnNumber(ctx, &v, n.E164); err != nil {
		return Decision{}, err
	}
	if len(v.deny) > 0 {
		return v.decision(n, p), nil
	}

	first, err := e.isFirstContact(ctx, n.E164, f.known, f.toolContact)
	if err != nil {
		return Decision{}, err
	}
	p.FirstContact = first
	if first {
		caps = append(caps, newCap)
	}
	checkLimits(&v, caps)
	if len(v.deny) > 0 {
		return v.decision(n, p), nil
	}

	if first {
		v.confirmHit(RuleFirstContact, fmt.Sprintf("%s has never been contacted from this account and is not a contact or on the operator allowlist", n.E164))
	}
	if a.Kind == KindSMS && info.Segments > smsConfirmSegments {
		v.confirmHit(RuleSMSLong, fmt.Sprintf("the message is %d SMS segments (more than %d); each segment is billed", info.Segments, smsConfirmSegments))
	}
	checkDuplicate(&v, a.Kind, n.E164, dup)
	return v.decision(n, p), nil
}

// evalAdmin decides account changes, agent creation, transfers, DTMF and
// other audited writes.
func (e *Engine) evalAdmin(ctx context.Context, a Action) (Decision, error) {
	var v verdict
	e.checkContent(&v, a)
	e.checkURLs(ctx, &v, a.URLs)
	p := newPreview(a)
	var target *phone.Number
	raw := a.TransferNumber
	if raw == "" && a.Kind == KindTransfer {
		raw = a.To
	}
	if raw != "" && (a.Kind == KindTransfer || a.Kind == KindAgentChange || a.Kind == KindAgentCreate) {
		n := e.normalize(&v, raw, "transfer number: ")
		if n != nil {
			f, err := e.readFacts(ctx, e.clock.Now(), []numberQuery{{n, store.ChannelCall}}, "", nil)
			if err != nil {
				return Decision{}, err
			}
			e.numberRules(&v, n, "transfer number: ", store.ChannelCall, f)
		}
		target = n
		p.Transfer = e.destination(n, nil)
	}
	switch a.Kind {
	case KindBuyNumber:
		p.Cost = e.prices.NumberCost()
		v.confirmHit(RuleSpend, "buying a phone number costs "+p.Cost+" from the account balance")
	case KindReleaseNumber:
		v.confirmHit(RuleIrreversible, "releasing a phone number is permanent: the number may not be recoverable and its messages stop arriving")
	case KindDeleteAgent:
		v.confirmHit(RuleIrreversible, "deleting an agent is permanent")
	case KindDeleteContact:
		v.confirmHit(RuleIrreversible, "deleting a contact is permanent")
	case KindWebhookChange:
		v.confirmHit(RuleWebhookChange, "a webhook receives every inbound message and call event; changing it redirects that data")
	case KindAgentChange:
		if len(a.URLs) > 0 {
			v.confirmHit(RuleAgentChange, "custom tools let the agent call these URLs during calls, sending them what it chooses from the conversation")
		} else {
			v.confirmHit(RuleAgentChange, "changing an agent's system prompt, greeting, voicemail message or transfer number changes what it says and where it sends callers")
		}
	case KindAgentCreate:
		if len(a.Spoken) > 0 {
			v.confirmHit(RuleAgentChange, "a new agent's system prompt, greeting or voicemail message decides what it says on every call it makes or answers; a person must read it first")
		}
	case KindRouteNumber:
		v.confirmHit(RuleAgentChange, "routing a number to an agent, or detaching it, changes who answers its calls and texts")
	}
	return v.decision(target, p), nil
}

// evalContact checks a contact write: its phone number must normalise, and its text (name,
// email, notes in Texts) must not carry a secret. Nothing more.
func (e *Engine) evalContact(a Action) (Decision, error) {
	var v verdict
	e.checkContent(&v, a)
	p := newPreview(a)
	if a.To == "" {
		return v.decision(nil, p), nil
	}
	n, err := phone.Normalize(a.To, e.region)
	if err != nil {
		v.denyHit(phoneRule(err), phoneReason(err))
		return v.decision(nil, p), nil
	}
	p.To = e.destination(&n, nil)
	return v.decision(&n, p), nil
}

// checkContent applies the content rules to every text of the action: a secret (the keys in
// any disguise, whole or a fragment of 8+ characters, also split between two texts, or a
// credential-shaped token) [secret_in_content]; a bidi control or invisible character, named
// [hidden_characters] (not in contact fields or conversation metadata, which are sanitised when
// shown); and, on what an AI voice will speak or follow, an instruction to deny
// being an AI [ai_disclosure]. One hit of each rule is reported, naming the text.
func (e *Engine) checkContent(v *verdict, a Action) {
	fields := make([]LabeledText, 0, 1+len(a.Texts)+len(a.Spoken))
	if a.Body != "" {
		label := "message"
		if a.Kind == KindDTMF {
			label = "digits"
		}
		fields = append(fields, LabeledText{label, a.Body})
	}
	for _, t := range a.Texts {
		fields = append(fields, LabeledText{"text", t})
	}
	fields = append(fields, a.Spoken...)
	var all []string
	secret := false
	for _, f := range fields {
		if f.Text == "" {
			continue
		}
		all = append(all, f.Text)
		if secret {
			continue
		}
		found, what := e.matcher.Find(f.Text)
		if !found {
			found, what = text.FindCredential(f.Text)
		}
		if found {
			v.denyHit(RuleSecretInContent, fmt.Sprintf("the %s contains %s; secrets must never be sent. Remove it", f.Label, what))
			secret = true
		}
	}
	if !secret && len(all) > 1 {
		if found, what := e.matcher.Find(strings.Join(all, "\n")); found {
			v.denyHit(RuleSecretInContent, fmt.Sprintf("the texts of this action together contain %s, split between them; secrets must never be sent. Remove it", what))
		}
	}
	// Hidden characters matter where text reaches people or configures what an agent says:
	// the body, what a voice speaks, and the other texts of texts, calls, agents and webhooks.
	// Account data (contact fields, conversation metadata) is sanitised when shown instead.
	checked := fields
	if a.Kind == KindContactWrite || a.Kind == KindOther {
		checked = nil
		if a.Body != "" {
			checked = append(checked, fields[0])
		}
		checked = append(checked, a.Spoken...)
	}
	for _, f := range checked {
		if h, found := text.FindHidden(f.Text); found {
			v.denyHit(RuleHiddenCharacters, fmt.Sprintf("the %s contains %s; a person approving it would not see what is sent. Remove it and send plain text", f.Label, h))
			break
		}
	}
	for _, f := range a.Spoken {
		if found, what := text.DeniesAI(f.Text); found {
			v.denyHit(RuleAIDisclosure, fmt.Sprintf("the %s tells the voice to hide that it is an AI or to pass as a human (%q); an AI voice must never deny being an AI. Remove that instruction", f.Label, what))
			break
		}
	}
}

// normalize normalises raw; when it fails it adds the deny hit and returns nil.
func (e *Engine) normalize(v *verdict, raw, label string) *phone.Number {
	n, err := phone.Normalize(raw, e.region)
	if err != nil {
		v.denyHit(phoneRule(err), label+phoneReason(err))
		return nil
	}
	return &n
}

// numberRules applies the number rules to a normalised number (nil: nothing
// to check): denylist, global network, type, country, opt-out. Deny hits go
// to v; an allowed international destination adds a confirm hit.
func (e *Engine) numberRules(v *verdict, n *phone.Number, label, channel string, f facts) {
	if n == nil {
		return
	}
	if entry, ok := e.deny.match(n.E164); ok {
		v.denyHit(RuleDenylist, fmt.Sprintf("%s%s is on the operator's denylist (entry %s)", label, n.E164, entry))
	}
	switch {
	case isGlobalNetwork(n.CountryCode):
		v.denyHit(RuleGlobalNetwork, fmt.Sprintf("%s+%d is a global-network (satellite or international premium) code; these are never dialled", label, n.CountryCode))
	default:
		if reason, bad := deniedTypeReason(string(n.Type)); bad {
			v.denyHit(RuleNumberType, fmt.Sprintf("%s%s is a %s number: %s", label, n.E164, n.Type, reason))
		}
		if !e.allowed[n.Region] {
			v.denyHit(RuleCountry, fmt.Sprintf("%s%s is in region %s, which is not on the operator's country allowlist (%s)", label, n.E164, n.Region, e.allowedList()))
		} else if e.isInternational(n.Region) {
			v.confirmHit(RuleInternational, fmt.Sprintf("%s%s is an international destination (region %s); international calls and texts cost more", label, n.E164, n.Region))
		}
	}
	if f.optedOut[n.E164] {
		what := "texted"
		if channel == store.ChannelCall {
			what = "called"
		}
		v.denyHit(RuleOptedOut, fmt.Sprintf("%s%s opted out (they replied STOP, asked on a call not to be contacted, or the operator added them); it must not be %s", label, n.E164, what))
	}
}

// isInternational reports whether region is outside the default region's
// market (the US, its territories and Canada count as one market).
func (e *Engine) isInternational(region string) bool {
	if region == e.region {
		return false
	}
	return !(inDomesticUS(region) && inDomesticUS(e.region))
}

// allowedList renders the allowed regions for reasons.
func (e *Engine) allowedList() string {
	c := e.cfg.AllowedCountries
	if len(c) == 0 {
		c = DefaultAllowedCountries()
	}
	s := ""
	for i, r := range c {
		if i > 0 {
			s += ", "
		}
		s += r
	}
	return s
}

// phoneRule extracts the rule from a Normalize error.
func phoneRule(err error) string {
	var pe *phone.Error
	if errors.As(err, &pe) && pe.Rule != "" {
		return pe.Rule
	}
	return RuleInvalidNumber
}

// phoneReason extracts the reason from a Normalize error.
func phoneReason(err error) string {
	var pe *phone.Error
	if errors.As(err, &pe) && pe.Reason != "" {
		return pe.Reason
	}
	return err.Error()
}

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

// clone copies v, so that one prepared set of hits can seed several decisions.
func (v verdict) clone() verdict {
	return verdict{deny: append([]RuleHit(nil), v.deny...), confirm: append([]RuleHit(nil), v.confirm...)}
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
// sliding-window counts, duplicates) is read in one store snapshot; the
// Contacts, History and OwnNumbers hooks run outside it. Reserve takes the
// same decision again, with the same rule code, on facts re-read inside the
// reservation's transaction.
func (e *Engine) Evaluate(ctx context.Context, a Action) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("policy: evaluate %s: %w", a.Tool, err)
	}
	p, err := e.prepare(a)
	if err != nil {
		return Decision{}, fmt.Errorf("policy: evaluate %s: %w", a.Tool, err)
	}
	// URLs a third party will call (custom tools) are checked by resolving them: network,
	// so here, outside any store transaction.
	e.checkURLs(ctx, &p.static, a.URLs)
	// What the recipient said lately (texts, finished calls) may opt them out: record that
	// before the store read below, so this decision and the reservation see it.
	if p.n != nil && (a.Kind == KindSMS || a.Kind == KindCall) && len(p.static.deny) == 0 {
		if err := e.checkReplies(ctx, p.n.E164); err != nil {
			return Decision{}, fmt.Errorf("policy: evaluate %s: %w", a.Tool, err)
		}
	}
	for _, m := range p.group {
		if m.n != nil && len(p.static.deny) == 0 && len(m.static.deny) == 0 {
			if err := e.checkReplies(ctx, m.n.E164); err != nil {
				return Decision{}, fmt.Errorf("policy: evaluate %s: %w", a.Tool, err)
			}
		}
	}
	now := e.clock.Now()
	c := e.checksFor(p, now)
	f, err := e.readFacts(ctx, p.query(c))
	if err != nil {
		return Decision{}, fmt.Errorf("policy: evaluate %s: %w", a.Tool, err)
	}
	if err := e.lookup(ctx, p, f); err != nil {
		return Decision{}, fmt.Errorf("policy: evaluate %s: %w", a.Tool, err)
	}
	return e.rules(p, c, f, now), nil
}

// prepared is what a decision needs beyond the store's facts and the time: the action,
// its normalised numbers, the content and number-format hits, and the answers of the
// network hooks. It is computed once per tool call (no I/O but the hooks), so that the
// decision inside a reservation's transaction is pure and fast.
type prepared struct {
	a        Action
	info     text.SMSInfo  // SMS only
	static   verdict       // content, SMS length and number-format hits, in rule order
	n        *phone.Number // the destination (SMS, call, contact write); nil if none or invalid
	transfer *phone.Number // the transfer number, if any
	channel  string        // opt-out scope of n: store.ChannelSMS or store.ChannelCall
	look     lookups       // filled by lookup
	// group are the members of a group message (Action.Recipients), one prepared each with
	// the member as To; the group's own static holds the content hits, checked once.
	group []*prepared
}

// lookups are the network hooks' answers about n.
type lookups struct {
	done        bool
	own         bool // n is one of the account's own numbers
	allowlisted bool // n is on the operator allowlist
	vouchSkip   bool // history and contacts were not asked (n was already known)
	history     bool // the account called n before (History hook)
	contact     bool // n is in the contact book (vouches unless a tool wrote it)
}

// prepare normalises and checks what needs no store and no network.
func (e *Engine) prepare(a Action) (*prepared, error) {
	p := &prepared{a: a}
	if len(a.Recipients) > 0 {
		return e.prepareGroup(a)
	}
	switch a.Kind {
	case KindSMS, KindCall:
		e.checkContent(&p.static, a)
		p.channel = store.ChannelCall
		if a.Kind == KindSMS {
			p.channel = store.ChannelSMS
			p.info = text.SMS(a.Body)
			if p.info.Segments > smsMaxSegments {
				p.static.denyHit(RuleSMSTooLong, fmt.Sprintf("the message is %d SMS segments (%d %s characters); the maximum is %d. Shorten it", p.info.Segments, p.info.Characters, p.info.Encoding, smsMaxSegments))
			}
		}
		p.n = e.normalize(&p.static, a.To, "")
		if p.n != nil && e.operator != "" && p.n.E164 == e.operator {
			p.static.denyHit(RuleOperatorPhone, fmt.Sprintf("%s is the operator's phone (AGENTPHONE_OPERATOR_PHONE): it receives only the server's own confirmation texts, and its conversation is hidden from every tool, so the model may not text or call it", p.n.E164))
		}
		if a.TransferNumber != "" {
			p.transfer = e.normalize(&p.static, a.TransferNumber, "transfer number: ")
		}
	case KindOperatorCode:
		// The text is rendered by the server for the operator's own phone: only the cap applies.
	case KindTransfer, KindAgentChange, KindAgentCreate, KindDTMF, KindBuyNumber, KindReleaseNumber,
		KindDeleteAgent, KindDeleteContact, KindWebhookChange, KindOther, KindRouteNumber, KindCampaign:
		e.checkContent(&p.static, a)
		raw := a.TransferNumber
		if raw == "" && a.Kind == KindTransfer {
			raw = a.To
		}
		if raw != "" && (a.Kind == KindTransfer || a.Kind == KindAgentChange || a.Kind == KindAgentCreate) {
			p.transfer = e.normalize(&p.static, raw, "transfer number: ")
		}
	case KindContactWrite:
		e.checkContent(&p.static, a)
		if a.To != "" {
			if n, err := phone.Normalize(a.To, e.region); err != nil {
				p.static.denyHit(phoneRule(err), phoneReason(err))
			} else {
				p.n = &n
			}
		}
	default:
		return nil, fmt.Errorf("unknown action kind %q", a.Kind)
	}
	return p, nil
}

// checks are the sliding-window counts one decision reads, built for one moment.
type checks struct {
	caps      []*capCheck // the account's caps and the operator's global caps
	newCap    *capCheck
	globalNew *capCheck // the global new-recipients cap (first contact only)
	dup       *capCheck
	group     []checks // a group message: each member's own checks, in member order
}

// checksFor lists the windows the decision on p reads at now.
func (e *Engine) checksFor(p *prepared, now time.Time) checks {
	if p.group != nil {
		return e.groupChecks(p, now)
	}
	var c checks
	switch p.a.Kind {
	case KindSMS, KindCall:
		if p.n != nil {
			c.caps, c.newCap = e.capsFor(p.a.Kind, p.n.E164, p.info.Segments)
			g, gNew := e.globalCaps(p.a.Kind, p.info.Segments)
			c.caps, c.globalNew = append(c.caps, g...), gNew
			c.dup = dupCheck(p.a, p.n.E164)
		}
	case KindBuyNumber:
		g, _ := e.globalCaps(p.a.Kind, 0)
		c.caps = append(e.purchaseCaps(), g...)
	case KindOperatorCode:
		c.caps = []*capCheck{{key: evOperatorCode, window: OperatorCodesWindow, max: OperatorCodesMax, add: 1, what: "confirmation codes texted to the operator per 10 minutes"}}
	}
	for _, x := range c.all() {
		x.since = now.Add(-x.window)
	}
	return c
}

// all lists the non-nil checks in query order.
func (c checks) all() []*capCheck {
	out := make([]*capCheck, 0, len(c.caps)+2)
	out = append(out, c.caps...)
	for _, m := range c.group {
		out = append(out, m.all()...)
	}
	for _, x := range []*capCheck{c.newCap, c.globalNew, c.dup} {
		if x != nil {
			out = append(out, x)
		}
	}
	return out
}

// query is the store read set of the decision on p.
func (p *prepared) query(c checks) store.FactQuery {
	var q store.FactQuery
	for _, m := range p.group {
		mq := m.query(checks{})
		q.OptOuts = append(q.OptOuts, mq.OptOuts...)
		q.Known = append(q.Known, mq.Known...)
	}
	if p.a.Kind != KindContactWrite {
		if p.n != nil {
			q.OptOuts = append(q.OptOuts, store.OptOutQuery{E164: p.n.E164, Channel: p.channel})
		}
		if p.transfer != nil {
			q.OptOuts = append(q.OptOuts, store.OptOutQuery{E164: p.transfer.E164, Channel: store.ChannelCall})
		}
	}
	if p.n != nil && (p.a.Kind == KindSMS || p.a.Kind == KindCall) {
		q.Known = []string{p.n.E164}
	}
	for _, x := range c.all() {
		q.Windows = append(q.Windows, store.Window{Key: x.key, Since: x.since})
	}
	return q
}

// readFacts reads q in one store snapshot; an empty query reads nothing.
func (e *Engine) readFacts(ctx context.Context, q store.FactQuery) (store.Facts, error) {
	if len(q.OptOuts) == 0 && len(q.Known) == 0 && len(q.Windows) == 0 {
		return store.Facts{}, nil
	}
	f, err := e.store.Facts(ctx, q)
	if err != nil {
		return store.Facts{}, fmt.Errorf("read policy state: %w", err)
	}
	return f, nil
}

// lookup asks the network hooks what the rules need about p's destination, using the
// store facts f to skip what they already answer. It runs outside any store transaction.
// A Contacts or History error counts as "not known" (the safe side: it asks for
// confirmation) and is logged; an OwnNumbers error is returned: the engine cannot decide.
func (e *Engine) lookup(ctx context.Context, p *prepared, f store.Facts) error {
	if p.group != nil {
		if len(p.static.deny) == 0 {
			for _, m := range p.group {
				if err := e.lookup(ctx, m, f); err != nil {
					return err
				}
			}
		}
		p.look.done = true
		return nil
	}
	if p.look.done || p.n == nil || (p.a.Kind != KindSMS && p.a.Kind != KindCall) {
		p.look.done = true
		return nil
	}
	// A deny that depends on nothing but the action itself (content, number format, type,
	// country, denylist) will deny at reservation too: the hooks need not be asked.
	v := p.static.clone()
	e.numberRules(&v, p.n, "", store.Facts{})
	e.numberRules(&v, p.transfer, "", store.Facts{})
	if len(v.deny) > 0 {
		p.look.done = true
		return nil
	}
	e164 := p.n.E164
	if e.own != nil {
		own, err := e.own.IsOwnNumber(ctx, e164)
		if err != nil {
			return fmt.Errorf("check whether %s is one of the account's own numbers: %s; try again", e164, e.scrub(err.Error()))
		}
		p.look.own = own
	}
	_, p.look.allowlisted = e.allow.match(e164)
	if p.look.allowlisted || f.Known[e164].Known {
		p.look.vouchSkip = true
		p.look.done = true
		return nil
	}
	if e.history != nil {
		ok, err := e.history.Contacted(ctx, e164)
		if err != nil {
			e.log.WarnContext(ctx, "policy: history check failed; treating as first contact", "err", e.scrub(err.Error()))
		}
		p.look.history = ok && err == nil
	}
	if e.contacts != nil && !p.look.history {
		ok, err := e.contacts.IsContact(ctx, e164)
		if err != nil {
			e.log.WarnContext(ctx, "policy: contact check failed; treating as not a contact", "err", e.scrub(err.Error()))
		}
		p.look.contact = ok && err == nil
	}
	p.look.done = true
	return nil
}

// rules decides p on the store facts f read for c at now. It is pure (no I/O): Reserve
// runs it inside the store transaction.
func (e *Engine) rules(p *prepared, c checks, f store.Facts, now time.Time) Decision {
	for i, x := range c.all() {
		if i < len(f.Sums) {
			x.used = f.Sums[i]
		}
	}
	var d Decision
	switch {
	case p.group != nil:
		d = e.groupRules(p, c, f, now)
	case p.a.Kind == KindSMS || p.a.Kind == KindCall:
		d = e.outboundRules(p, c, f, now)
	case p.a.Kind == KindContactWrite:
		v := p.static
		pv := newPreview(p.a)
		pv.To = e.destination(p.n, nil)
		d = v.decision(p.n, pv)
	default:
		d = e.adminRules(p, c, f)
	}
	d.prep = p
	return d
}

// outboundRules decides an SMS or a call.
func (e *Engine) outboundRules(p *prepared, c checks, f store.Facts, now time.Time) Decision {
	a := p.a
	v := p.static.clone()
	n := p.n
	e.numberRules(&v, n, "", f)
	e.numberRules(&v, p.transfer, "transfer number: ", f)

	pv := newPreview(a)
	pv.Cost = e.cost(a, p.info)
	if a.Kind == KindSMS {
		pv.Body = bodyPreview(a.Body, p.info)
	}
	if n == nil {
		return v.decision(nil, pv)
	}
	zones := e.checkQuietHours(&v, n, now)
	pv.To = e.destination(n, localTimes(zones))
	if pv.To.IsForeign && pv.Cost != "" {
		pv.Cost += "; an international destination costs more than this domestic price"
	}
	pv.Transfer = e.destination(p.transfer, nil)
	if len(v.deny) > 0 {
		return v.decision(n, pv)
	}
	if p.look.own {
		v.denyHit(RuleOwnNumber, fmt.Sprintf("%s is one of this account's own AgentPhone numbers; calling or texting it would make agents talk to each other and burn minutes. Use the number's inbox instead", n.E164))
		return v.decision(n, pv)
	}

	first := isFirstContact(p.look, f.Known[n.E164])
	pv.FirstContact = first
	caps := c.caps[:len(c.caps):len(c.caps)]
	if first {
		for _, x := range []*capCheck{c.newCap, c.globalNew} {
			if x != nil {
				caps = append(caps, x)
			}
		}
	}
	checkLimits(&v, caps)
	if len(v.deny) > 0 {
		return v.decision(n, pv)
	}

	if first {
		v.confirmHit(RuleFirstContact, fmt.Sprintf("%s has never been contacted from this account and is not a contact or on the operator allowlist", n.E164))
	}
	if a.Kind == KindSMS && p.info.Segments > smsConfirmSegments {
		v.confirmHit(RuleSMSLong, fmt.Sprintf("the message is %d SMS segments (more than %d); each segment is billed", p.info.Segments, smsConfirmSegments))
	}
	checkDuplicate(&v, a.Kind, n.E164, c.dup)
	return v.decision(n, pv)
}

// adminRules decides account changes, agent creation, transfers, DTMF, number purchases
// and other audited writes.
func (e *Engine) adminRules(p *prepared, c checks, f store.Facts) Decision {
	a := p.a
	v := p.static.clone()
	pv := newPreview(a)
	if p.transfer != nil {
		e.numberRules(&v, p.transfer, "transfer number: ", f)
		pv.Transfer = e.destination(p.transfer, nil)
	}
	switch a.Kind {
	case KindBuyNumber:
		pv.Cost = e.prices.NumberCost()
		checkLimits(&v, c.caps)
		v.confirmHit(RuleSpend, "buying a phone number costs "+pv.Cost+" from the account balance")
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
	case KindCampaign:
		v.confirmHit(RuleCampaign, "a campaign texts every recipient in its plan, one by one at its pace, without asking again")
	case KindRouteNumber:
		v.confirmHit(RuleAgentChange, "routing a number to an agent, or detaching it, changes who answers its calls and texts")
	case KindOperatorCode:
		checkLimits(&v, c.caps)
	}
	return v.decision(p.transfer, pv)
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
func (e *Engine) numberRules(v *verdict, n *phone.Number, label string, f store.Facts) {
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
	if f.OptedOut[n.E164] {
		v.denyHit(RuleOptedOut, fmt.Sprintf("%s%s opted out (they replied STOP, asked on a call not to be contacted, or the operator added them); it must not be contacted this way", label, n.E164))
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

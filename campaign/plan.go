package campaign

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
)

// EstimatedCallMinutes is the length of a campaign call plan.cost assumes (a short
// reminder or follow-up; a call is billed per second at the price table's rate).
const EstimatedCallMinutes = 2

// Exclusion rules the planner adds to the policy's own rule ids.
const (
	RuleDuplicateInList = "duplicate_in_list"
	RuleMissingVariable = "missing_variable"
	RuleInvalidVariable = "invalid_variable" // a call's variable the API could not take safely
)

// Input is what the planner plans: the campaign's arguments with contact ids already
// resolved to numbers.
type Input struct {
	Name      string
	Channel   string // ChannelSMS (default) or ChannelCall
	AgentID   string
	NumberID  string
	Template  string
	PerMinute int
	Principal string
	Targets   []Target
	// Calls only: the topic (rendered per recipient into the hosted prompt by the API, as
	// make_call's variables are), the greeting the API gets (the AI disclosure first), the
	// system prompt built from the topic, concurrent calls, and the no_answer retry.
	Topic, Greeting, CallPrompt string
	Concurrent                  int
	RetryNoAnswer               bool
}

// Target is one requested recipient.
type Target struct {
	PhoneNumber string            // as given (or the contact's number)
	Variables   map[string]string // template variables
	// Invalid, when set, excludes the recipient (RuleInvalidVariable) with this reason.
	Invalid string
}

// Sample is one message rendered exactly as it will be sent.
type Sample struct {
	To         string `json:"to"`
	Body       string `json:"body,omitempty"`     // SMS
	Greeting   string `json:"greeting,omitempty"` // calls: spoken first
	Topic      string `json:"topic,omitempty"`    // calls: what the AI talks about
	Segments   int    `json:"segments,omitempty"`
	Encoding   string `json:"encoding,omitempty"`
	Characters int    `json:"characters,omitempty"`
}

// Cost is the plan's estimated price.
type Cost struct {
	Segments int    `json:"segments,omitempty"`
	Calls    int    `json:"calls,omitempty"`
	Minutes  int    `json:"minutes,omitempty"` // estimated call minutes
	USD      string `json:"usd"`
	Basis    string `json:"basis"`
}

// Plan is a dry run: what an approval of these arguments would do.
type Plan struct {
	Reach     int         `json:"reach"`
	Excluded  []Exclusion `json:"excluded"`
	Samples   []Sample    `json:"samples"`
	Cost      Cost        `json:"cost"`
	PerMinute int         `json:"per_minute"`
	// Calls only: at most this many calls in progress at once; a no_answer retried once.
	ConcurrentCalls int  `json:"concurrent_calls,omitempty"`
	RetryNoAnswer   bool `json:"retry_no_answer,omitempty"`
	// Deferred counts reached recipients whose calling window is closed at the start.
	Deferred int `json:"deferred"`
	// FinishBy is when the last message is due, given pacing, the hourly segment cap and
	// each recipient's local calling hours.
	FinishBy time.Time `json:"finish_by"`
	// ApprovedRules are the confirm rules an approval covers for some recipients
	// (international, sms_long), beyond the campaign itself.
	ApprovedRules []string `json:"approved_rules,omitempty"`
	// Hash binds the approval to the plan: the reached recipients, their messages, the
	// sender and the pace.
	Hash       string      `json:"plan_hash"`
	Recipients []Recipient `json:"-"`
}

var varPattern = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// Render fills the template's {{variables}}; missing names the first variable it lacks.
func Render(template string, vars map[string]string) (body, missing string) {
	body = varPattern.ReplaceAllStringFunc(template, func(m string) string {
		name := varPattern.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok && missing == "" {
			missing = name
		}
		return v
	})
	return body, missing
}

// planned is one target after its decision.
type planned struct {
	r        Recipient
	excl     *Exclusion
	deferred bool
	n        *phone.Number
}

// Planner decides a plan with the policy engine.
type Planner struct {
	Policy *policy.Engine
	Region string // default region for numbers typed without a country code
}

// Plan decides every target at now with the same rules a send takes (one store read for
// all of them: policy.Engine.EvaluateMany), and schedules the run.
func (p *Planner) Plan(ctx context.Context, in Input, now time.Time) (*Plan, error) {
	call := in.Channel == ChannelCall
	out := make([]planned, len(in.Targets))
	seen := map[string]int{} // E.164 -> 1 + the index of its first listing
	var todo []int
	for i, t := range in.Targets {
		var body, topic, missing string
		if call {
			var m2 string
			body, missing = Render(in.Greeting, t.Variables)
			topic, m2 = Render(in.Topic, t.Variables)
			if missing == "" {
				missing = m2
			}
		} else {
			body, missing = Render(in.Template, t.Variables)
		}
		out[i].r = Recipient{E164: strings.TrimSpace(t.PhoneNumber), Body: body, Topic: topic, State: Queued}
		switch {
		case missing != "":
			what := "template"
			if call {
				what = "topic or greeting"
			}
			out[i].excl = &Exclusion{PhoneNumber: t.PhoneNumber, Rule: RuleMissingVariable, Reason: fmt.Sprintf("the %s uses {{%s}}, which this recipient's variables lack", what, missing)}
			continue
		case t.Invalid != "":
			out[i].excl = &Exclusion{PhoneNumber: t.PhoneNumber, Rule: RuleInvalidVariable, Reason: t.Invalid}
			continue
		}
		if call && len(t.Variables) > 0 {
			out[i].r.Vars = t.Variables
		}
		todo = append(todo, i)
	}
	budget := p.Policy.SMSSegmentBudget
	if call {
		budget = p.Policy.CallBudget
	}
	max, used, err := budget(ctx)
	if err != nil {
		return nil, fmt.Errorf("campaign: read the hourly cap: %w", err)
	}
	actions := make([]policy.Action, len(todo))
	for k, i := range todo {
		r := out[i].r
		if call {
			// As make_call: the greeting and topic are what the voice speaks (checked for
			// secrets, hidden characters and AI-disclosure denial); the variables leave too.
			a := policy.Action{Tool: "create_campaign", Principal: in.Principal, Kind: policy.KindCall, To: r.E164, CallMode: policy.CallHosted,
				Spoken: []policy.LabeledText{{Label: "greeting", Text: r.Body}, {Label: "topic", Text: r.Topic}}}
			for k, v := range r.Vars {
				a.Texts = append(a.Texts, k, v)
			}
			actions[k] = a
			continue
		}
		actions[k] = policy.Action{Tool: "create_campaign", Principal: in.Principal, Kind: policy.KindSMS, To: r.E164, Body: r.Body}
	}
	decisions, err := p.Policy.EvaluateMany(ctx, actions)
	if err != nil {
		return nil, fmt.Errorf("campaign: plan: %w", err)
	}
	for k, i := range todo {
		classify(&out[i], decisions[k], max, used, call)
	}
	// A number listed twice (in any spelling) gets one message: the first listing's.
	for _, i := range todo {
		if n := out[i].n; n != nil && out[i].excl == nil {
			if first := seen[n.E164]; first > 0 {
				out[i].excl = &Exclusion{PhoneNumber: n.E164, Rule: RuleDuplicateInList,
					Reason: fmt.Sprintf("recipients[%d] (given as %q) is the same number as recipients[%d]; it is reached once", i, truncateRunes(in.Targets[i].PhoneNumber, 40), first-1)}
				continue
			}
			seen[n.E164] = i + 1
		}
	}

	plan := &Plan{PerMinute: in.PerMinute, Excluded: []Exclusion{}, Samples: []Sample{}}
	if call {
		plan.ConcurrentCalls, plan.RetryNoAnswer = max1(in.Concurrent), in.RetryNoAnswer
	}
	var nums []*phone.Number
	approved := map[string]bool{}
	for _, o := range out {
		if o.excl != nil {
			plan.Excluded = append(plan.Excluded, *o.excl)
			continue
		}
		plan.Recipients = append(plan.Recipients, o.r)
		nums = append(nums, o.n)
		plan.Cost.Segments += o.r.Segments
		if o.deferred {
			plan.Deferred++
		}
		for _, id := range o.r.Approved {
			approved[id] = true
		}
		if len(plan.Samples) < 3 {
			if call {
				plan.Samples = append(plan.Samples, Sample{To: o.r.E164, Greeting: o.r.Body, Topic: o.r.Topic})
				continue
			}
			info := text.SMS(o.r.Body)
			plan.Samples = append(plan.Samples, Sample{To: o.r.E164, Body: o.r.Body, Segments: info.Segments, Encoding: info.Encoding, Characters: info.Characters})
		}
	}
	for id := range approved {
		plan.ApprovedRules = append(plan.ApprovedRules, id)
	}
	slices.Sort(plan.ApprovedRules)
	plan.Reach = len(plan.Recipients)
	prices := p.Policy.Prices()
	if call {
		plan.Cost.Segments = 0
		plan.Cost.Calls = plan.Reach
		plan.Cost.Minutes = plan.Reach * EstimatedCallMinutes
		plan.Cost.USD = fmt.Sprintf("%.2f", float64(plan.Cost.Minutes)*prices.VoiceHostedPerMin)
		plan.Cost.Basis = fmt.Sprintf("estimate: %d min per call at %s/min (AgentPhone's AI), billed per second; a call may run up to %d min",
			EstimatedCallMinutes, policy.Money(prices.VoiceHostedPerMin), prices.MaxCallMinutes)
		if in.RetryNoAnswer {
			plan.Cost.Basis += "; unanswered calls retried once add little (no talk time)"
		}
	} else {
		plan.Cost.USD = fmt.Sprintf("%.2f", float64(plan.Cost.Segments)*prices.SMSPerSegment)
		plan.Cost.Basis = fmt.Sprintf("estimate: %s per SMS segment", policy.Money(prices.SMSPerSegment))
	}
	plan.FinishBy = p.schedule(plan.Recipients, nums, scheduleOpts{perMinute: in.PerMinute, start: now, capMax: max, capUsed: used, call: call, concurrent: max1(in.Concurrent)})
	plan.Hash = planHash(in, plan.Recipients)
	return plan, nil
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// classify turns the policy's decision for a send to one target now into its place in
// the plan: reached (with the confirm rules the approval covers), deferred, or excluded.
func classify(o *planned, d policy.Decision, segMax, segUsed int, call bool) {
	if d.Target != nil {
		o.r.E164 = d.Target.E164
		o.n = d.Target
	}
	weight := 1 // a call counts one toward the calls-per-hour cap
	if !call {
		info := text.SMS(o.r.Body)
		o.r.Segments = info.Segments
		weight = info.Segments
	}
	exclude := func(h policy.RuleHit) {
		o.excl = &Exclusion{PhoneNumber: o.r.E164, Rule: h.ID, Reason: h.Reason}
	}
	switch d.Outcome {
	case policy.Deny:
		for _, h := range d.Rules {
			switch {
			case h.ID == policy.RuleQuietHours:
				o.deferred = true
			case h.ID == policy.RuleRateLimit && segMax >= 0 && segUsed+weight > segMax && weight <= segMax:
				// The all-recipient hourly cap (segments or calls) is full now: the run waits for it.
			case h.ID == policy.RuleGlobalLimit:
				// The operator's cap across all callers is full now: the run waits for it.
			default:
				exclude(h)
				return
			}
		}
	case policy.Confirm:
		for _, h := range d.Rules {
			switch h.ID {
			case policy.RuleInternational, policy.RuleSMSLong:
				o.r.Approved = append(o.r.Approved, h.ID)
			case policy.RuleFirstContact:
				exclude(policy.RuleHit{ID: h.ID, Reason: h.Reason + "; a campaign reaches only numbers the operator vouched for (allowlist, contacts the operator added, or earlier conversations)"})
				return
			default: // duplicate, quiet_hours with an unknown local time
				exclude(h)
				return
			}
		}
	}
}

// planHash binds the approval to what the run will do.
func planHash(in Input, rs []Recipient) string {
	type row struct {
		To, Body, Topic string
		Approved        []string
		Vars            map[string]string
	}
	rows := make([]row, len(rs))
	for i, r := range rs {
		rows[i] = row{r.E164, r.Body, r.Topic, r.Approved, r.Vars}
	}
	raw, _ := json.Marshal(struct {
		Name, Channel, AgentID, NumberID, Template string
		Topic, Greeting, CallPrompt                string
		PerMinute, Concurrent                      int
		RetryNoAnswer                              bool
		Rows                                       []row
	}{in.Name, in.Channel, in.AgentID, in.NumberID, in.Template, in.Topic, in.Greeting, in.CallPrompt,
		in.PerMinute, in.Concurrent, in.RetryNoAnswer, rows})
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:16])
}

// scheduleOpts are the pace and caps schedule simulates.
type scheduleOpts struct {
	perMinute       int
	start           time.Time
	capMax, capUsed int // the hourly all-recipient cap (segments or calls; max < 0: none) and its use
	call            bool
	concurrent      int // calls at once
}

// schedule simulates the run: one send per interval, the earliest due recipient first,
// a recipient outside its calling window deferred to its next window, and the hourly
// all-recipient cap (segments, or calls) pausing the run; calls also wait for a free line
// (at most o.concurrent calls of EstimatedCallMinutes at once). It returns when the last
// send is due.
func (p *Planner) schedule(rs []Recipient, nums []*phone.Number, o scheduleOpts) time.Time {
	interval := (&Campaign{PerMinute: o.perMinute}).Interval()
	start := o.start
	h := &dueHeap{}
	for i := range rs {
		heap.Push(h, due{i: i, at: start})
	}
	type spent struct {
		at  time.Time
		seg int
	}
	var window []spent
	inWindow := 0
	if o.capUsed > 0 {
		// Use before the plan leaves the window within the hour: count it as spent at the
		// start (finish_by is then an upper bound).
		window, inWindow = append(window, spent{start, o.capUsed}), o.capUsed
	}
	var lines []time.Time // when each call in progress ends (calls only)
	t, last := start, start
	cache := map[string]time.Time{}
	for h.Len() > 0 {
		d := heap.Pop(h).(due)
		at := d.at
		if at.Before(t) {
			at = t
		}
		if o.call {
			slices.SortFunc(lines, func(a, b time.Time) int { return a.Compare(b) })
			for len(lines) > 0 && !lines[0].After(at) {
				lines = lines[1:]
			}
			if len(lines) >= max1(o.concurrent) {
				heap.Push(h, due{i: d.i, at: lines[0]})
				continue
			}
		}
		if n := nums[d.i]; n != nil {
			key := strings.Join(n.Timezones, ",") + "|" + at.Format(time.RFC3339)
			open, ok := cache[key]
			if !ok {
				open, ok = p.Policy.NextWindow(n, at)
				if !ok {
					open = at.Add(windowRetry)
				}
				cache[key] = open
			}
			if open.After(at) {
				heap.Push(h, due{i: d.i, at: open})
				continue
			}
		}
		weight := rs[d.i].Segments
		if o.call {
			weight = 1
		}
		if o.capMax >= 0 {
			for len(window) > 0 && !window[0].at.After(at.Add(-time.Hour)) {
				inWindow -= window[0].seg
				window = window[1:]
			}
			if inWindow+weight > o.capMax && len(window) > 0 {
				heap.Push(h, due{i: d.i, at: window[0].at.Add(time.Hour)})
				continue
			}
			window = append(window, spent{at, weight})
			inWindow += weight
		}
		if o.call {
			lines = append(lines, at.Add(EstimatedCallMinutes*time.Minute))
		}
		last = at
		t = at.Add(interval)
	}
	return last
}

// Retry delays when the policy gives no better time.
const (
	windowRetry = time.Hour
	capRetry    = time.Minute
)

type due struct {
	i  int
	at time.Time
}

type dueHeap []due

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(a, b int) bool {
	if !h[a].at.Equal(h[b].at) {
		return h[a].at.Before(h[b].at)
	}
	return h[a].i < h[b].i
}
func (h dueHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(due)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

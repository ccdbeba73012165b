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

// PricePerSegment is the estimate used for plan.cost: AgentPhone publishes no SMS price.
const PricePerSegment = 0.02

// Exclusion rules the planner adds to the policy's own rule ids.
const (
	RuleDuplicateInList = "duplicate_in_list"
	RuleMissingVariable = "missing_variable"
)

// Input is what the planner plans: the campaign's arguments with contact ids already
// resolved to numbers.
type Input struct {
	Name      string
	AgentID   string
	NumberID  string
	Template  string
	PerMinute int
	Principal string
	Targets   []Target
}

// Target is one requested recipient.
type Target struct {
	PhoneNumber string            // as given (or the contact's number)
	Variables   map[string]string // template variables
}

// Sample is one message rendered exactly as it will be sent.
type Sample struct {
	To         string `json:"to"`
	Body       string `json:"body"`
	Segments   int    `json:"segments"`
	Encoding   string `json:"encoding"`
	Characters int    `json:"characters"`
}

// Cost is the plan's estimated price.
type Cost struct {
	Segments int    `json:"segments"`
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
	out := make([]planned, len(in.Targets))
	seen := map[string]bool{}
	var todo []int
	for i, t := range in.Targets {
		body, missing := Render(in.Template, t.Variables)
		out[i].r = Recipient{E164: strings.TrimSpace(t.PhoneNumber), Body: body, State: Queued}
		if missing != "" {
			out[i].excl = &Exclusion{PhoneNumber: t.PhoneNumber, Rule: RuleMissingVariable, Reason: fmt.Sprintf("the template uses {{%s}}, which this recipient's variables lack", missing)}
			continue
		}
		todo = append(todo, i)
	}
	max, used, err := p.Policy.SMSSegmentBudget(ctx)
	if err != nil {
		return nil, fmt.Errorf("campaign: read the SMS cap: %w", err)
	}
	actions := make([]policy.Action, len(todo))
	for k, i := range todo {
		actions[k] = policy.Action{Tool: "create_campaign", Principal: in.Principal, Kind: policy.KindSMS, To: out[i].r.E164, Body: out[i].r.Body}
	}
	decisions, err := p.Policy.EvaluateMany(ctx, actions)
	if err != nil {
		return nil, fmt.Errorf("campaign: plan: %w", err)
	}
	for k, i := range todo {
		classify(&out[i], decisions[k], max, used)
	}
	// A number listed twice (in any spelling) gets one message: the first listing's.
	for _, i := range todo {
		if n := out[i].n; n != nil {
			if seen[n.E164] {
				out[i].excl = &Exclusion{PhoneNumber: n.E164, Rule: RuleDuplicateInList, Reason: "the number is already in the list; it gets one message"}
			}
			seen[n.E164] = true
		}
	}

	plan := &Plan{PerMinute: in.PerMinute, Excluded: []Exclusion{}, Samples: []Sample{}}
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
			info := text.SMS(o.r.Body)
			plan.Samples = append(plan.Samples, Sample{To: o.r.E164, Body: o.r.Body, Segments: info.Segments, Encoding: info.Encoding, Characters: info.Characters})
		}
	}
	for id := range approved {
		plan.ApprovedRules = append(plan.ApprovedRules, id)
	}
	slices.Sort(plan.ApprovedRules)
	plan.Reach = len(plan.Recipients)
	plan.Cost.USD = fmt.Sprintf("%.2f", float64(plan.Cost.Segments)*PricePerSegment)
	plan.Cost.Basis = fmt.Sprintf("estimate: $%.2f per SMS segment", PricePerSegment)
	plan.FinishBy = p.schedule(plan.Recipients, nums, in.PerMinute, now, max, used)
	plan.Hash = planHash(in, plan.Recipients)
	return plan, nil
}

// classify turns the policy's decision for a send to one target now into its place in
// the plan: reached (with the confirm rules the approval covers), deferred, or excluded.
func classify(o *planned, d policy.Decision, segMax, segUsed int) {
	if d.Target != nil {
		o.r.E164 = d.Target.E164
		o.n = d.Target
	}
	info := text.SMS(o.r.Body)
	o.r.Segments = info.Segments
	exclude := func(h policy.RuleHit) {
		o.excl = &Exclusion{PhoneNumber: o.r.E164, Rule: h.ID, Reason: h.Reason}
	}
	switch d.Outcome {
	case policy.Deny:
		for _, h := range d.Rules {
			switch {
			case h.ID == policy.RuleQuietHours:
				o.deferred = true
			case h.ID == policy.RuleRateLimit && segMax >= 0 && segUsed+info.Segments > segMax && info.Segments <= segMax:
				// The all-recipient segment cap is full now: the run waits for it.
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
		To, Body string
		Approved []string
	}
	rows := make([]row, len(rs))
	for i, r := range rs {
		rows[i] = row{r.E164, r.Body, r.Approved}
	}
	raw, _ := json.Marshal(struct {
		Name, AgentID, NumberID, Template string
		PerMinute                         int
		Rows                              []row
	}{in.Name, in.AgentID, in.NumberID, in.Template, in.PerMinute, rows})
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:16])
}

// schedule simulates the run: one send per interval, the earliest due recipient first,
// a recipient outside its calling window deferred to its next window, and the hourly
// segment cap (segMax, segUsed already used) pausing the run. It returns when the last
// send is due.
func (p *Planner) schedule(rs []Recipient, nums []*phone.Number, perMinute int, start time.Time, segMax, segUsed int) time.Time {
	interval := (&Campaign{PerMinute: perMinute}).Interval()
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
	if segUsed > 0 {
		// Segments spent before the plan leave the window within the hour: count them as
		// spent at the start (finish_by is then an upper bound).
		window, inWindow = append(window, spent{start, segUsed}), segUsed
	}
	t, last := start, start
	cache := map[string]time.Time{}
	for h.Len() > 0 {
		d := heap.Pop(h).(due)
		at := d.at
		if at.Before(t) {
			at = t
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
		if segMax >= 0 {
			for len(window) > 0 && !window[0].at.After(at.Add(-time.Hour)) {
				inWindow -= window[0].seg
				window = window[1:]
			}
			if inWindow+rs[d.i].Segments > segMax && len(window) > 0 {
				heap.Push(h, due{i: d.i, at: window[0].at.Add(time.Hour)})
				continue
			}
			window = append(window, spent{at, rs[d.i].Segments})
			inWindow += rs[d.i].Segments
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

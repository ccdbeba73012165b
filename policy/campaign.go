package policy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// What a campaign planner and runner ask the policy beyond a decision: when a deferred
// recipient's calling window opens, and how much of the all-recipient SMS segment cap is
// left. The decisions themselves are Evaluate and Reserve, as for any send.

// windowStep is the resolution of NextWindow.
const windowStep = 5 * time.Minute

// windowHorizon bounds NextWindow's search.
const windowHorizon = 72 * time.Hour

// InWindow reports whether t is inside the calling window for n in every one of its known
// time zones (the quiet_hours rule would not deny it).
func (e *Engine) InWindow(n *phone.Number, t time.Time) bool {
	var v verdict
	e.checkQuietHours(&v, n, t)
	return len(v.deny) == 0
}

// NextWindow returns the first time at or after t (to 5 minutes) when the quiet_hours rule
// lets n be reached; ok is false when there is none within three days.
func (e *Engine) NextWindow(n *phone.Number, t time.Time) (time.Time, bool) {
	if e.InWindow(n, t) {
		return t, true
	}
	start := t.Truncate(windowStep).Add(windowStep)
	for at := start; at.Sub(t) <= windowHorizon; at = at.Add(windowStep) {
		if e.InWindow(n, at) {
			return at, true
		}
	}
	return time.Time{}, false
}

// SMSSegmentBudget returns the all-recipient SMS segment cap per hour (max < 0: disabled)
// and how many segments the last hour used, as of now.
func (e *Engine) SMSSegmentBudget(ctx context.Context) (max, used int, err error) {
	return e.hourBudget(ctx, evSMSSegments, e.limits.SMSSegmentsHour)
}

// CallBudget returns the all-recipient calls-per-hour cap (max < 0: disabled) and how many
// calls the last hour placed, as of now.
func (e *Engine) CallBudget(ctx context.Context) (max, used int, err error) {
	return e.hourBudget(ctx, evCalls, e.limits.CallsHour)
}

func (e *Engine) hourBudget(ctx context.Context, key string, max int) (int, int, error) {
	if max < 0 {
		return max, 0, nil
	}
	f, err := e.readFacts(ctx, store.FactQuery{Windows: []store.Window{{Key: key, Since: e.clock.Now().Add(-time.Hour)}}})
	if err != nil {
		return 0, 0, err
	}
	used := 0
	if len(f.Sums) > 0 {
		used = f.Sums[0]
	}
	return max, used, nil
}

// evaluateWorkers bounds the concurrent network lookups of EvaluateMany.
const evaluateWorkers = 8

// EvaluateMany is Evaluate for many actions of one kind at one moment, reading the store
// once (one snapshot for every action's facts) and asking the network hooks for up to 8
// actions at a time. A campaign's plan decides every recipient with it.
func (e *Engine) EvaluateMany(ctx context.Context, as []Action) ([]Decision, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("policy: evaluate: %w", err)
	}
	if len(as) == 0 {
		return nil, nil
	}
	now := e.clock.Now()
	for _, a := range as {
		if a.Kind != as[0].Kind {
			return nil, fmt.Errorf("policy: evaluate many: mixed kinds %s and %s", as[0].Kind, a.Kind)
		}
	}
	ps := make([]*prepared, len(as))
	cs := make([]checks, len(as))
	// Normalising the numbers is most of the work: spread it over the workers too.
	if err := parallel(len(as), func(i int) error {
		p, err := e.prepare(as[i])
		if err != nil {
			return fmt.Errorf("policy: evaluate %s: %w", as[i].Tool, err)
		}
		ps[i], cs[i] = p, e.checksFor(p, now)
		return nil
	}); err != nil {
		return nil, err
	}
	offs := make([]int, len(as)+1)
	var q store.FactQuery
	for i, p := range ps {
		qi := p.query(cs[i])
		q.OptOuts = append(q.OptOuts, qi.OptOuts...)
		q.Known = append(q.Known, qi.Known...)
		offs[i] = len(q.Windows)
		q.Windows = append(q.Windows, qi.Windows...)
	}
	offs[len(as)] = len(q.Windows)
	f, err := e.readFacts(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("policy: evaluate: %w", err)
	}
	factsOf := func(i int) store.Facts {
		fi := store.Facts{OptedOut: f.OptedOut, Known: f.Known}
		if offs[i+1] <= len(f.Sums) {
			fi.Sums = f.Sums[offs[i]:offs[i+1]]
		}
		return fi
	}
	e.prefetchVouching(ctx, ps, f)
	if err := parallel(len(as), func(i int) error {
		if err := e.lookup(ctx, ps[i], factsOf(i)); err != nil {
			return fmt.Errorf("policy: evaluate %s: %w", as[i].Tool, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]Decision, len(as))
	for i := range as {
		out[i] = e.rules(ps[i], cs[i], factsOf(i), now)
	}
	return out, nil
}

// bulkVouchMin is the least number of unknown destinations worth a bulk look-up.
const bulkVouchMin = 16

// prefetchVouching answers, in one bulk look-up (BulkVoucher), the contact-book and
// call-history questions lookup would ask for each destination the store does not know
// and the allowlist does not vouch for. When the bulk look-up cannot answer for everyone,
// nothing is set and lookup asks one by one, as Evaluate does.
func (e *Engine) prefetchVouching(ctx context.Context, ps []*prepared, f store.Facts) {
	bulk, ok := e.contacts.(BulkVoucher)
	if !ok || e.history == nil {
		return
	}
	var todo []*prepared
	var nums []string
	for _, p := range ps {
		if p.n == nil || p.group != nil || len(p.static.deny) > 0 || (p.a.Kind != KindSMS && p.a.Kind != KindCall) {
			continue
		}
		if _, allowed := e.allow.match(p.n.E164); allowed || f.Known[p.n.E164].Known {
			continue
		}
		todo = append(todo, p)
		nums = append(nums, p.n.E164)
	}
	if len(todo) < bulkVouchMin {
		return
	}
	contacts, history, complete, err := bulk.Vouched(ctx, nums)
	if err != nil || !complete {
		if err != nil {
			e.log.WarnContext(ctx, "policy: bulk contact look-up failed; asking one by one", "err", e.scrub(err.Error()))
		}
		return
	}
	for _, p := range todo {
		p.look.pre, p.look.history, p.look.contact = true, history[p.n.E164], contacts[p.n.E164]
	}
}

// parallel runs fn for 0..n-1 on up to evaluateWorkers goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range min(evaluateWorkers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

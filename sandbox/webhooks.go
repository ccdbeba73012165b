package sandbox

import (
	"net/http"
	"sort"
	"time"
)

type webhook struct {
	id           string
	url          string
	secret       string
	contextLimit int
	timeout      int // seconds
	created      time.Time
	agentID      string // "" for the project webhook
}

type webhookView struct {
	ID           string `json:"id"`
	URL          string `json:"url"`
	Secret       string `json:"secret"`
	Status       string `json:"status"`
	ContextLimit int    `json:"contextLimit"`
	Timeout      int    `json:"timeout"`
	CreatedAt    string `json:"createdAt"`
}

func (w *webhook) view() *webhookView {
	if w == nil {
		return nil
	}
	return &webhookView{ID: w.id, URL: w.url, Secret: w.secret, Status: "active", ContextLimit: w.contextLimit,
		Timeout: w.timeout, CreatedAt: ts(w.created)}
}

// hookFor resolves where an agent's events go: its own webhook, else the project webhook.
// Caller holds s.mu.
func (s *Sandbox) hookFor(agentID string) *webhook {
	if a, found := s.st.agents[agentID]; found && a.hook != nil {
		return a.hook
	}
	return s.st.projectHook
}

// parseWebhook validates {url, contextLimit, timeout} and returns a new webhook (secret
// regenerated) that replaces prev, keeping prev's id.
func (s *Sandbox) parseWebhook(r *http.Request, prev *webhook, agentID string) (*webhook, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return nil, e
	}
	f.require("url")
	u, _ := f.str("url")
	if u != "" && !webURL(u) {
		f.fail("url", "Input should be a valid URL, relative URL without a base", "url_parsing")
	}
	limit := int64(10)
	if v, ok := f.integer("contextLimit", 0, 50); ok {
		limit = v
	}
	timeout := int64(30)
	if v, ok := f.integer("timeout", 5, 120); ok {
		timeout = v
	}
	if e := f.err(); e != nil {
		return nil, e
	}
	w := &webhook{url: u, secret: s.ids.secret(), contextLimit: int(limit), timeout: int(timeout),
		created: s.clock.Now(), agentID: agentID}
	if prev != nil {
		w.id, w.created = prev.id, prev.created
	} else {
		w.id = s.ids.id("wh_")
	}
	return w, nil
}

func (s *Sandbox) getProjectWebhook(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(s.st.projectHook.view())
}

func (s *Sandbox) setProjectWebhook(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, e := s.parseWebhook(r, s.st.projectHook, "")
	if e != nil {
		return fail(e)
	}
	s.st.projectHook = w
	return ok(w.view())
}

func (s *Sandbox) deleteProjectWebhook(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.projectHook == nil {
		return fail(newError(http.StatusNotFound, "", "No project webhook is configured"))
	}
	s.st.projectHook = nil
	return ok(map[string]any{"success": true})
}

func (s *Sandbox) getAgentWebhook(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	return ok(a.hook.view())
}

func (s *Sandbox) setAgentWebhook(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	w, e := s.parseWebhook(r, a.hook, a.cfg.ID)
	if e != nil {
		return fail(e)
	}
	a.hook = w
	return ok(w.view())
}

func (s *Sandbox) deleteAgentWebhook(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	if a.hook == nil {
		return fail(newError(http.StatusNotFound, "", "Agent "+a.cfg.ID+" has no webhook; events use the project webhook"))
	}
	a.hook = nil
	return ok(map[string]any{"success": true})
}

// deliveriesSince returns matching deliveries newest first. Caller holds s.mu.
func (s *Sandbox) deliveriesSince(since time.Time, keep func(*delivery) bool) []*delivery {
	var out []*delivery
	for _, d := range s.st.deliveries {
		if (since.IsZero() || !d.created.Before(since)) && keep(d) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq > out[j].seq })
	return out
}

func (s *Sandbox) listProjectDeliveries(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit, offset := q.page(50, 200)
	hours := q.integer("hours", 0, 1, 24*365)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var since time.Time
	if hours > 0 {
		since = s.clock.Now().Add(-time.Duration(hours) * time.Hour)
	}
	all := s.deliveriesSince(since, func(*delivery) bool { return true })
	page, _ := paginate(all, limit, offset)
	items := make([]deliveryView, 0, len(page))
	for _, d := range page {
		items = append(items, d.view())
	}
	return ok(map[string]any{"items": items, "total": len(all), "offset": offset, "limit": limit})
}

func (s *Sandbox) listAgentDeliveries(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit := q.integer("limit", 50, 1, 200)
	hours := q.integer("hours", 0, 1, 24*365)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	var since time.Time
	if hours > 0 {
		since = s.clock.Now().Add(-time.Duration(hours) * time.Hour)
	}
	all := s.deliveriesSince(since, func(d *delivery) bool { return d.hookAgentID == a.cfg.ID })
	page, _ := paginate(all, limit, 0)
	out := make([]deliveryView, 0, len(page))
	for _, d := range page {
		out = append(out, d.view())
	}
	return ok(out)
}

type counts struct {
	Total   int `json:"total"`
	Success int `json:"success"`
	Failed  int `json:"failed"`
	Pending int `json:"pending"`
}

func (c *counts) add(status string) {
	c.Total++
	switch status {
	case "success":
		c.Success++
	case "failed":
		c.Failed++
	default:
		c.Pending++
	}
}

// successRate is the percentage (0-100, one decimal) of finished deliveries that succeeded.
func (c counts) successRate() float64 {
	done := c.Success + c.Failed
	if done == 0 {
		return 0
	}
	return float64(int(float64(c.Success)*1000/float64(done)+0.5)) / 10
}

func (s *Sandbox) deliveryStats(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	hours := q.integer("hours", 24, 1, 24*365)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	since := s.clock.Now().Add(-time.Duration(hours) * time.Hour)
	var all counts
	byType := map[string]*counts{}
	byHour := map[time.Time]*counts{}
	for _, d := range s.deliveriesSince(since, func(*delivery) bool { return true }) {
		all.add(d.status)
		if byType[d.eventType] == nil {
			byType[d.eventType] = &counts{}
		}
		byType[d.eventType].add(d.status)
		h := d.created.UTC().Truncate(time.Hour)
		if byHour[h] == nil {
			byHour[h] = &counts{}
		}
		byHour[h].add(d.status)
	}
	hoursOut := []map[string]any{}
	keys := make([]time.Time, 0, len(byHour))
	for h := range byHour {
		keys = append(keys, h)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Before(keys[j]) })
	for _, h := range keys {
		c := byHour[h]
		hoursOut = append(hoursOut, map[string]any{"hour": ts(h), "total": c.Total, "success": c.Success,
			"failed": c.Failed, "pending": c.Pending})
	}
	return ok(map[string]any{"total": all.Total, "success": all.Success, "failed": all.Failed,
		"pending": all.Pending, "successRate": all.successRate(), "byEventType": byType, "byHour": hoursOut})
}

func (s *Sandbox) deliveryAllTime(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all counts
	for _, d := range s.st.deliveries {
		all.add(d.status)
	}
	return ok(map[string]any{"total": all.Total, "success": all.Success, "failed": all.Failed,
		"successRate": all.successRate()})
}

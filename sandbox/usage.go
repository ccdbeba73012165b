package sandbox

import (
	"net/http"
	"sort"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
)

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func (s *Sandbox) getUsage(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	within := func(t time.Time, d time.Duration) bool { return !t.Before(now.Add(-d)) }
	const day = 24 * time.Hour
	stats := map[string]int{}
	for _, m := range s.st.messages {
		stats["totalMessages"]++
		for k, d := range map[string]time.Duration{"messagesLast24h": day, "messagesLast7d": 7 * day, "messagesLast30d": 30 * day} {
			if within(m.created, d) {
				stats[k]++
			}
		}
	}
	for _, c := range s.st.calls {
		stats["totalCalls"]++
		for k, d := range map[string]time.Duration{"callsLast24h": day, "callsLast7d": 7 * day, "callsLast30d": 30 * day} {
			if within(c.created, d) {
				stats[k]++
			}
		}
	}
	var dc counts
	for _, d := range s.st.deliveries {
		dc.add(d.status)
	}
	out := map[string]int{}
	for _, k := range []string{"totalMessages", "messagesLast24h", "messagesLast7d", "messagesLast30d",
		"totalCalls", "callsLast24h", "callsLast7d", "callsLast30d"} {
		out[k] = stats[k]
	}
	out["smsSegmentsLast30d"] = s.smsSegmentsSince(now.Add(-30 * day))
	out["totalWebhookDeliveries"] = dc.Total
	out["successfulWebhookDeliveries"] = dc.Success
	out["failedWebhookDeliveries"] = dc.Failed
	used := s.activeNumbers()
	remaining := s.opts.NumberLimit - used
	if remaining < 0 {
		remaining = 0
	}
	start := monthStart(now)
	// Today's shape: the legacy "plan" block is gone from the API.
	return ok(map[string]any{
		"numbers":     map[string]int{"used": used, "limit": s.opts.NumberLimit, "remaining": remaining},
		"stats":       out,
		"periodStart": ts(start),
		"periodEnd":   ts(start.AddDate(0, 1, 0)),
	})
}

// smsSegmentsSince counts the billed segments of outbound SMS sent at or after since (MMS and
// iMessage are not SMS segments). Caller holds s.mu.
func (s *Sandbox) smsSegmentsSince(since time.Time) int {
	n := 0
	for _, m := range s.st.messages {
		if m.direction == "outbound" && m.channel == "sms" && !m.created.Before(since) {
			n += text.SMS(m.body).Segments
		}
	}
	return n
}

// usagePoint is one bucket of daily or monthly usage.
type usagePoint struct {
	Date     string `json:"date,omitempty"`
	Month    string `json:"month,omitempty"`
	Messages int    `json:"messages"`
	Calls    int    `json:"calls"`
	Webhooks int    `json:"webhooks"`
}

// bucketize counts messages, calls and deliveries per key. Caller holds s.mu.
func (s *Sandbox) bucketize(key func(time.Time) string) map[string]*usagePoint {
	b := map[string]*usagePoint{}
	get := func(t time.Time) *usagePoint {
		k := key(t.UTC())
		if b[k] == nil {
			b[k] = &usagePoint{}
		}
		return b[k]
	}
	for _, m := range s.st.messages {
		get(m.created).Messages++
	}
	for _, c := range s.st.calls {
		get(c.created).Calls++
	}
	for _, d := range s.st.deliveries {
		get(d.created).Webhooks++
	}
	return b
}

func (s *Sandbox) getUsageDaily(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	days := q.integer("days", 30, 1, 365)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bucketize(func(t time.Time) string { return t.Format("2006-01-02") })
	today := s.clock.Now().UTC()
	data := make([]usagePoint, 0, days)
	for i := days - 1; i >= 0; i-- {
		k := today.AddDate(0, 0, -i).Format("2006-01-02")
		p := usagePoint{Date: k}
		if v := b[k]; v != nil {
			p.Messages, p.Calls, p.Webhooks = v.Messages, v.Calls, v.Webhooks
		}
		data = append(data, p)
	}
	return ok(map[string]any{"data": data, "days": days})
}

func (s *Sandbox) getUsageMonthly(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	months := q.integer("months", 6, 1, 24)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bucketize(func(t time.Time) string { return t.Format("2006-01") })
	start := monthStart(s.clock.Now())
	data := make([]usagePoint, 0, months)
	for i := months - 1; i >= 0; i-- {
		k := start.AddDate(0, -i, 0).Format("2006-01")
		p := usagePoint{Month: k}
		if v := b[k]; v != nil {
			p.Messages, p.Calls, p.Webhooks = v.Messages, v.Calls, v.Webhooks
		}
		data = append(data, p)
	}
	return ok(map[string]any{"data": data, "months": months})
}

func (s *Sandbox) getUsageByNumber(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := []map[string]any{}
	for _, n := range sortedBySeq(s.st.numbers, func(n *number) int64 { return n.seq }) {
		msgs, calls := 0, 0
		for _, m := range s.st.messages {
			if m.numberID == n.id {
				msgs++
			}
		}
		for _, c := range s.st.calls {
			if c.numberID == n.id {
				calls++
			}
		}
		var name *string
		if a, found := s.st.agents[n.agentID]; found {
			name = &a.cfg.Name
		}
		data = append(data, map[string]any{"numberId": n.id, "phoneNumber": n.phone, "country": n.country,
			"status": n.status, "agentId": strPtr(n.agentID), "agentName": name, "messages": msgs, "calls": calls})
	}
	return ok(map[string]any{"data": data})
}

func (s *Sandbox) getUsageByAgent(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	period := q.enum("period", "week", "month", "year")
	if _, present := q.raw("period"); !present {
		q.fail("period", "Field required", "missing")
	}
	loc := time.UTC
	if tz, present := q.raw("tz"); present && tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			q.fail("tz", "Value error, unknown IANA time zone "+tz, "value_error")
		} else {
			loc = l
		}
	}
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().In(loc)
	var start time.Time
	switch period {
	case "week":
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
		start = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	case "month":
		start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	default:
		start = time.Date(now.Year(), 1, 1, 0, 0, 0, 0, loc)
	}
	type row struct {
		AgentID      *string `json:"agentId"`
		AgentName    string  `json:"agentName"`
		Messages     int     `json:"messages"`
		Calls        int     `json:"calls"`
		TotalSeconds int     `json:"totalSeconds"`
		IsOrphan     bool    `json:"isOrphan"`
		seq          int64
	}
	rows := map[string]*row{}
	get := func(agentID string) *row {
		if rows[agentID] == nil {
			if a, found := s.st.agents[agentID]; found {
				rows[agentID] = &row{AgentID: &a.cfg.ID, AgentName: a.cfg.Name, seq: a.seq}
			} else {
				rows[agentID] = &row{AgentName: "Unassigned", IsOrphan: true, seq: 1 << 62}
			}
		}
		return rows[agentID]
	}
	convAgent := map[string]string{}
	for _, c := range s.st.convs {
		convAgent[c.id] = c.agentID
	}
	for _, m := range s.st.messages {
		if !m.created.Before(start) {
			get(convAgent[m.convID]).Messages++
		}
	}
	for _, c := range s.st.calls {
		if !c.created.Before(start) {
			rw := get(c.agentID)
			rw.Calls++
			if d := c.duration(); d != nil {
				rw.TotalSeconds += *d
			}
		}
	}
	for _, a := range s.st.agents {
		get(a.cfg.ID)
	}
	data := make([]*row, 0, len(rows))
	for _, rw := range rows {
		data = append(data, rw)
	}
	sort.Slice(data, func(i, j int) bool { return data[i].seq < data[j].seq })
	return ok(map[string]any{"data": data, "period": period, "periodStart": ts(start), "periodEnd": ts(now)})
}

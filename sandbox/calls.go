package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// turn is one transcript entry: what the other party said and the agent's reply.
type turn struct {
	id         string
	transcript string
	response   *string
	confidence float64
	created    time.Time
}

// utterance is one spoken line, in order; it feeds the SSE stream and agent.call_ended.
type utterance struct {
	role    string // "user" | "agent"
	content string
	at      time.Time
}

type call struct {
	seq        int64
	id         string
	agentID    string
	agentName  string
	numberID   string
	ourPhone   string
	from, to   string
	other      string // the outside party
	direction  string // inbound | outbound | web
	kind       string // pstn | web
	status     string // ringing | in-progress | completed | busy | no-answer | failed
	created    time.Time
	answered   time.Time
	ended      time.Time
	hosted     bool
	topic      string
	greeting   string
	script     []line
	next       int
	forced     string
	failReason string
	turns      []turn
	utter      []utterance
	spoken     []string
	summary    string
	reason     string
	// Post-call analysis (set when the call ends).
	sentiment        string
	successful       bool
	analysed         bool // the call was answered, so there is an analysis
	voicemail        bool // a voicemail greeting answered
	voicemailMessage string
	done             chan struct{}
	changed          chan struct{}
	step             *task
	recording        []byte
}

func (c *call) terminal() bool {
	switch c.status {
	case "ringing", "in-progress":
		return false
	}
	return true
}

// notify wakes stream and long-poll waiters. Caller holds s.mu.
func (c *call) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *call) duration() *int {
	if c.ended.IsZero() {
		return nil
	}
	d := 0
	if !c.answered.IsZero() {
		d = int(c.ended.Sub(c.answered).Round(time.Second) / time.Second)
	}
	return &d
}

type turnView struct {
	ID         string  `json:"id"`
	Transcript string  `json:"transcript"`
	Response   *string `json:"response"`
	Confidence float64 `json:"confidence"`
	CreatedAt  string  `json:"createdAt"`
}

func (c *call) turnViews() []turnView {
	out := make([]turnView, 0, len(c.turns))
	for _, t := range c.turns {
		out = append(out, turnView{ID: t.id, Transcript: t.transcript, Response: t.response,
			Confidence: t.confidence, CreatedAt: ts(t.created)})
	}
	return out
}

// callSummaryView is CallSummary plus direction and the recording fields.
type callSummaryView struct {
	ID                    string  `json:"id"`
	AgentID               *string `json:"agentId"`
	PhoneNumberID         *string `json:"phoneNumberId"`
	PhoneNumber           *string `json:"phoneNumber"`
	FromNumber            string  `json:"fromNumber"`
	ToNumber              string  `json:"toNumber"`
	Direction             string  `json:"direction"`
	Status                string  `json:"status"`
	StartedAt             string  `json:"startedAt"`
	EndedAt               *string `json:"endedAt"`
	DurationSeconds       *int    `json:"durationSeconds"`
	LastTranscriptSnippet *string `json:"lastTranscriptSnippet"`
	RecordingURL          *string `json:"recordingUrl"`
	RecordingAvailable    bool    `json:"recordingAvailable"`
}

type callDetailView struct {
	ID                  string        `json:"id"`
	AgentID             *string       `json:"agentId"`
	PhoneNumberID       *string       `json:"phoneNumberId"`
	PhoneNumber         *string       `json:"phoneNumber"`
	FromNumber          string        `json:"fromNumber"`
	ToNumber            string        `json:"toNumber"`
	Direction           string        `json:"direction"`
	Status              string        `json:"status"`
	StartedAt           string        `json:"startedAt"`
	EndedAt             *string       `json:"endedAt"`
	DurationSeconds     *int          `json:"durationSeconds"`
	RecordingURL        *string       `json:"recordingUrl"`
	RecordingAvailable  bool          `json:"recordingAvailable"`
	Summary             *string       `json:"summary"`
	DisconnectionReason *string       `json:"disconnectionReason"`
	UserSentiment       *string       `json:"userSentiment"`
	CallSuccessful      *bool         `json:"callSuccessful"`
	CallAnalysis        *analysisView `json:"callAnalysis"`
	Transcripts         []turnView    `json:"transcripts"`
}

// analysisView is the post-call analysis of an answered call.
type analysisView struct {
	CallSummary    *string `json:"callSummary"`
	UserSentiment  *string `json:"userSentiment"`
	CallSuccessful bool    `json:"callSuccessful"`
	InVoicemail    bool    `json:"inVoicemail"`
}

func (c *call) summaryView() callSummaryView {
	v := callSummaryView{ID: c.id, AgentID: strPtr(c.agentID), PhoneNumberID: strPtr(c.numberID),
		PhoneNumber: strPtr(c.ourPhone), FromNumber: c.from, ToNumber: c.to, Direction: c.direction,
		Status: c.status, StartedAt: ts(c.created), EndedAt: tsPtr(c.ended), DurationSeconds: c.duration(),
		RecordingAvailable: c.recording != nil}
	if n := len(c.utter); n > 0 {
		snip := c.utter[n-1].content
		if r := []rune(snip); len(r) > 100 {
			snip = string(r[:100])
		}
		v.LastTranscriptSnippet = &snip
	}
	return v
}

func (c *call) detailView() callDetailView {
	v := callDetailView{ID: c.id, AgentID: strPtr(c.agentID), PhoneNumberID: strPtr(c.numberID),
		PhoneNumber: strPtr(c.ourPhone), FromNumber: c.from, ToNumber: c.to, Direction: c.direction,
		Status: c.status, StartedAt: ts(c.created), EndedAt: tsPtr(c.ended), DurationSeconds: c.duration(),
		RecordingAvailable: c.recording != nil, Summary: strPtr(c.summary), DisconnectionReason: strPtr(c.reason),
		Transcripts: c.turnViews()}
	if c.terminal() {
		v.UserSentiment = strPtr(c.sentiment)
		ok := c.successful
		v.CallSuccessful = &ok
	}
	if c.analysed {
		v.CallAnalysis = &analysisView{CallSummary: strPtr(c.summary), UserSentiment: strPtr(c.sentiment),
			CallSuccessful: c.successful, InVoicemail: c.voicemail}
	}
	return v
}

// callSummaries lists matching calls, newest first. Caller holds s.mu.
func (s *Sandbox) callSummaries(keep func(*call) bool) []callSummaryView {
	var cs []*call
	for _, c := range s.st.calls {
		if keep(c) {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].seq > cs[j].seq })
	out := []callSummaryView{}
	for _, c := range cs {
		out = append(out, c.summaryView())
	}
	return out
}

func (s *Sandbox) callOr404(id string) (*call, *apiError) {
	c, found := s.st.calls[id]
	if !found {
		return nil, notFound("Call", id)
	}
	return c, nil
}

func (s *Sandbox) listCalls(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit, offset := q.page(20, 100)
	status, _ := q.raw("status")
	direction := q.enum("direction", "inbound", "outbound", "web")
	kind := q.enum("type", "pstn", "web")
	search, _ := q.raw("search")
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(pageOf(s.callSummaries(func(c *call) bool {
		return (status == "" || c.status == status) && (direction == "" || c.direction == direction) &&
			(kind == "" || c.kind == kind) &&
			(search == "" || strings.Contains(c.from, search) || strings.Contains(c.to, search))
	}), limit, offset))
}

// createRequest is the validated CreateOutboundCallRequest.
type createRequest struct {
	agentID, toNumber, fromNumberID, greeting, prompt string
	vars                                              map[string]string
	wait                                              bool
	maxWait                                           time.Duration
}

func parseCreateCall(r *http.Request) (createRequest, *apiError) {
	var req createRequest
	f, e := readForm(r)
	if e != nil {
		return req, e
	}
	f.require("agentId")
	f.require("toNumber")
	req.agentID, _ = f.str("agentId")
	req.toNumber, _ = f.str("toNumber")
	if req.toNumber != "" && !e164RE.MatchString(req.toNumber) {
		f.fail("toNumber", "Value error, toNumber must be E.164, for example +14155550123", "value_error")
	}
	req.fromNumberID, _ = f.str("fromNumberId")
	req.greeting, _ = f.str("initialGreeting")
	req.prompt, _ = f.str("systemPrompt")
	f.str("voice")
	f.str("callScreeningIdentity")
	f.str("callScreeningPurpose")
	f.boolean("disableRecording")
	if _, ok := f.enum("modelTier", modelTiers...); ok && req.prompt == "" {
		f.fail("modelTier", "Value error, modelTier applies only together with systemPrompt", "value_error")
	}
	req.vars, _ = f.stringMap("variables")
	req.wait, _ = f.boolean("waitForCompletion")
	req.maxWait = 300 * time.Second
	if v, ok := f.integer("maxWaitSeconds", 10, 600); ok {
		req.maxWait = time.Duration(v) * time.Second
	}
	if e := f.err(); e != nil {
		return req, e
	}
	if digits := strings.TrimPrefix(req.toNumber, "+"); len(digits) <= 4 {
		return req, badRequest("Emergency, N11 and short numbers cannot be called: " + req.toNumber)
	}
	return req, nil
}

// substitute replaces {{name}} with variables.
func substitute(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return s
}

func (s *Sandbox) createCall(r *http.Request) (int, any, *apiError) {
	req, e := parseCreateCall(r)
	if e != nil {
		return fail(e)
	}
	s.mu.Lock()
	a, e := s.agentOr404(req.agentID)
	if e != nil {
		s.mu.Unlock()
		return fail(e)
	}
	var n *number
	if req.fromNumberID != "" {
		if n, e = s.activeNumberOr404(req.fromNumberID); e != nil {
			s.mu.Unlock()
			return fail(e)
		}
		if n.agentID != a.cfg.ID {
			s.mu.Unlock()
			return fail(badRequest(fmt.Sprintf("fromNumberId %s is not attached to agent %s", n.id, a.cfg.ID)))
		}
	} else if nums := s.agentNumbers(a.cfg.ID); len(nums) > 0 {
		n = nums[0]
	} else {
		s.mu.Unlock()
		return fail(badRequest("Agent " + a.cfg.ID + " has no phone number; attach one with POST /v1/agents/{agent_id}/numbers"))
	}
	if lim := s.opts.ConcurrentCalls; lim > 0 && s.st.outActive >= lim {
		s.mu.Unlock()
		return fail(conflict("CONCURRENCY_LIMIT_REACHED", fmt.Sprintf("Concurrent call limit reached: %d calls are in progress (the plan allows %d)", s.st.outActive, lim)))
	}
	if len(req.vars) > 0 && req.prompt == "" && a.cfg.VoiceMode != "hosted" {
		s.mu.Unlock()
		return fail(badRequest("variables need a systemPrompt or a hosted agent: agent " + a.cfg.ID + " is in webhook mode and no systemPrompt was given"))
	}
	c := s.newCall(a, n, "outbound", n.phone, req.toNumber, req.toNumber, setup{
		prompt: req.prompt, greeting: req.greeting, vars: req.vars,
		callerLines: s.st.calleeLines[req.toNumber]})
	c.forced = s.outcomeFor(req.toNumber)
	id := c.id
	s.mu.Unlock()

	if req.wait {
		s.waitCall(r.Context(), id, req.maxWait)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(s.st.calls[id].detailView())
}

// waitCall blocks until the call ends, timeout passes on the clock, or ctx ends.
func (s *Sandbox) waitCall(ctx context.Context, id string, timeout time.Duration) {
	s.mu.Lock()
	c, found := s.st.calls[id]
	if !found {
		s.mu.Unlock()
		return
	}
	done := c.done
	s.mu.Unlock()
	t := s.clock.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.Chan():
	case <-ctx.Done():
	}
}

func (s *Sandbox) createWebCall(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	f.require("agentId")
	agentID, _ := f.str("agentId")
	f.object("metadata")
	vars, _ := f.stringMap("variables")
	if e := f.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(agentID)
	if e != nil {
		return fail(e)
	}
	prompt := ""
	if a.cfg.SystemPrompt != nil {
		prompt = substitute(*a.cfg.SystemPrompt, vars)
	}
	c := s.newCall(a, nil, "web", "web", "web", "web", setup{prompt: prompt, inbound: true, usesAgentPrompt: true})
	return ok(map[string]any{"accessToken": s.ids.next("wct_", 32), "callId": c.id})
}

func (s *Sandbox) getCall(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	wait := q.boolean("wait", false)
	timeout := q.integer("timeout", 120, 1, 600)
	if e := q.err(); e != nil {
		return fail(e)
	}
	id := r.PathValue("call_id")
	s.mu.Lock()
	if _, e := s.callOr404(id); e != nil {
		s.mu.Unlock()
		return fail(e)
	}
	s.mu.Unlock()
	if wait {
		s.waitCall(r.Context(), id, time.Duration(timeout)*time.Second)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(s.st.calls[id].detailView())
}

func (s *Sandbox) endCall(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	c, e := s.callOr404(r.PathValue("call_id"))
	if e != nil {
		s.mu.Unlock()
		return fail(e)
	}
	var ev *event
	switch {
	case c.status == "ringing":
		ev = s.finishLocked(c, "canceled", "api_hangup") // hung up before anyone answered
	case !c.terminal():
		ev = s.finishLocked(c, "completed", "api_hangup")
	}
	view := c.detailView()
	s.mu.Unlock()
	s.emit(ev)
	return ok(view)
}

func (s *Sandbox) getTranscript(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.callOr404(r.PathValue("call_id"))
	if e != nil {
		return fail(e)
	}
	turns := c.turnViews()
	return ok(map[string]any{"callId": c.id, "data": turns, "transcripts": turns})
}

func (s *Sandbox) getRecording(w http.ResponseWriter, r *http.Request) {
	if box := s.accountWithCall(r.PathValue("call_id")); box != s {
		box.getRecording(w, r) // the call id is the token, whichever account placed it
		return
	}
	s.mu.Lock()
	c, found := s.st.calls[r.PathValue("call_id")]
	var wav []byte
	if found {
		wav = c.recording
	}
	s.mu.Unlock()
	if wav == nil {
		writeError(w, newError(http.StatusNotFound, "RECORDING_NOT_FOUND", "No recording for this call"))
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `attachment; filename="recording-`+c.id+`.wav"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(wav)
}

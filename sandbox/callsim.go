package sandbox

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrNoAgent is returned when an injected call reaches a number with no agent attached.
var ErrNoAgent = errors.New("the number has no agent attached; attach one with POST /v1/agents/{agent_id}/numbers")

// ErrUnknownCall is returned by call accessors for an id the sandbox does not know.
var ErrUnknownCall = errors.New("no such call")

// setup describes how a new call should behave.
type setup struct {
	prompt          string // per-call system prompt (makes the call hosted)
	greeting        string // initialGreeting
	vars            map[string]string
	inbound         bool
	callerLines     []string
	usesAgentPrompt bool
}

// newCall creates a ringing call and schedules its answer. n may be nil (web calls).
// Caller holds s.mu.
func (s *Sandbox) newCall(a *agent, n *number, direction, from, to, other string, st setup) *call {
	hosted := st.prompt != "" || a.cfg.VoiceMode == "hosted"
	prompt := st.prompt
	if prompt == "" && a.cfg.SystemPrompt != nil {
		prompt = *a.cfg.SystemPrompt
	}
	prompt = substitute(prompt, st.vars)
	topic := extractTopic(prompt)
	greeting := substitute(st.greeting, st.vars)
	if greeting == "" && a.cfg.BeginMessage != nil {
		greeting = substitute(*a.cfg.BeginMessage, st.vars)
	}
	if greeting == "" && hosted {
		greeting = defaultGreeting(a.cfg.Name, st.inbound)
	}
	var script []line
	if hosted {
		script = hostedScript(topic, st.inbound, st.callerLines)
	} else {
		script = webhookScript(st.inbound, st.callerLines)
	}
	c := &call{seq: s.st.next(), id: s.ids.id("call_"), agentID: a.cfg.ID, agentName: a.cfg.Name,
		from: from, to: to, other: other, direction: direction, kind: "pstn", status: "ringing",
		created: s.clock.Now(), hosted: hosted, topic: topic, greeting: greeting, script: script,
		done: make(chan struct{}), changed: make(chan struct{})}
	if a.cfg.VoicemailMessage != nil {
		c.voicemailMessage = substitute(*a.cfg.VoicemailMessage, st.vars)
	}
	if direction == "web" {
		c.kind = "web"
	}
	if n != nil {
		c.numberID, c.ourPhone = n.id, n.phone
	}
	s.st.calls[c.id] = c
	if direction == "outbound" {
		s.st.outActive++
		s.st.outPeak = max(s.st.outPeak, s.st.outActive)
	}
	id := c.id
	c.step = s.bg.after(s.opts.RingTime, func() { s.answer(id) })
	return c
}

// Well-known destinations that force a call outcome (last seven digits).
const (
	VoicemailSuffix = "5550196" // a voicemail greeting answers; the agent leaves a message
	BusySuffix      = "5550197" // the callee is busy
	NoAnswerSuffix  = "5550198" // nobody answers
	FailedSuffix    = "5550199" // the carrier fails the call
)

// outcomeVoicemail is the forced outcome "answered by voicemail" (the status stays completed).
const outcomeVoicemail = "voicemail"

// SetCalleeLines scripts what the person at toE164 says on the next outbound calls to them,
// one line per turn (for example "Stop calling me. Do not call me again."). No lines restores
// the generated dialogue.
func (s *Sandbox) SetCalleeLines(toE164 string, lines ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(lines) == 0 {
		delete(s.st.calleeLines, toE164)
		return
	}
	s.st.calleeLines[toE164] = append([]string{}, lines...)
}

// Spoken returns everything the agent said on the call, in order (greeting included).
func (s *Sandbox) Spoken(callID string) []string {
	if box := s.accountWithCall(callID); box != s {
		return box.Spoken(callID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, found := s.st.calls[callID]
	if !found {
		return nil
	}
	return append([]string{}, c.spoken...)
}

// SetRecording attaches a WAV recording to a call; GET /v1/calls/{id}/recording then serves it
// and the call reports recordingAvailable true.
func (s *Sandbox) SetRecording(callID string, wav []byte) error {
	if box := s.accountWithCall(callID); box != s {
		return box.SetRecording(callID, wav)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, found := s.st.calls[callID]
	if !found {
		return fmt.Errorf("set recording for %s: %w", callID, ErrUnknownCall)
	}
	c.recording = append([]byte{}, wav...)
	return nil
}

// addTurn appends a transcript turn. An empty agent reply is stored as null.
// Caller holds s.mu.
func (s *Sandbox) addTurn(c *call, caller, agentText string) int {
	now := s.clock.Now()
	t := turn{id: s.ids.id("tr_"), transcript: caller, confidence: confidence(caller), created: now}
	if caller != "" {
		c.utter = append(c.utter, utterance{role: "user", content: caller, at: now})
	}
	c.turns = append(c.turns, t)
	idx := len(c.turns) - 1
	if agentText != "" {
		s.setResponse(c, idx, agentText)
	}
	c.notify()
	return idx
}

// setResponse records what the agent said in turn idx. Caller holds s.mu.
func (s *Sandbox) setResponse(c *call, idx int, text string) {
	c.turns[idx].response = &text
	c.utter = append(c.utter, utterance{role: "agent", content: text, at: s.clock.Now()})
	c.spoken = append(c.spoken, text)
	c.notify()
}

// answer ends the ringing phase.
func (s *Sandbox) answer(id string) {
	s.mu.Lock()
	c, found := s.st.calls[id]
	if !found || c.status != "ringing" {
		s.mu.Unlock()
		return
	}
	if c.forced == outcomeVoicemail {
		// A voicemail greeting answers; the agent leaves its message after the tone.
		c.status = "in-progress"
		c.answered = s.clock.Now()
		c.voicemail = true
		c.script = voicemailScript(c)
		c.hosted = true // the provider speaks the voicemail message itself
		c.notify()
		c.step = s.bg.after(s.opts.TurnTime, func() { s.advance(id) })
		s.mu.Unlock()
		return
	}
	if c.forced != "" {
		ev := s.finishLocked(c, c.forced, reasonFor(c.forced, c.failReason))
		s.mu.Unlock()
		s.emit(ev)
		return
	}
	c.status = "in-progress"
	c.answered = s.clock.Now()
	if c.greeting != "" {
		s.addTurn(c, "", c.greeting)
	}
	c.notify()
	c.step = s.bg.after(s.opts.TurnTime, func() { s.advance(id) })
	s.mu.Unlock()
}

func reasonFor(status, failReason string) string {
	switch status {
	case "busy":
		return "dial_busy"
	case "no-answer":
		return "dial_no_answer"
	case "failed":
		if failReason != "" {
			return failReason
		}
		return "dial_failed"
	}
	return "user_hangup"
}

// advance speaks the next scripted turn.
func (s *Sandbox) advance(id string) {
	s.mu.Lock()
	c, found := s.st.calls[id]
	if !found || c.status != "in-progress" {
		s.mu.Unlock()
		return
	}
	if c.next >= len(c.script) {
		ev := s.finishLocked(c, "completed", "user_hangup")
		s.mu.Unlock()
		s.emit(ev)
		return
	}
	ln := c.script[c.next]
	c.next++
	if c.hosted {
		s.addTurn(c, ln.caller, ln.agent)
		var ev *event
		if c.next >= len(c.script) {
			reason := "agent_hangup"
			if c.voicemail {
				reason = "voicemail_reached"
			}
			ev = s.finishLocked(c, "completed", reason)
		} else {
			c.step = s.bg.after(s.opts.TurnTime, func() { s.advance(id) })
		}
		s.mu.Unlock()
		s.emit(ev)
		return
	}
	s.webhookTurn(c, ln.caller) // unlocks s.mu
}

// finishLocked ends a call, fills its analysis, and returns its agent.call_ended event.
// Caller holds s.mu.
func (s *Sandbox) finishLocked(c *call, status, reason string) *event {
	if c.direction == "outbound" && c.ended.IsZero() {
		s.st.outActive--
	}
	c.step.stop()
	c.step = nil
	c.status = status
	c.reason = reason
	c.ended = s.clock.Now()
	answered := !c.answered.IsZero()
	switch {
	case c.voicemail:
		c.summary = "The call reached a voicemail greeting; the agent left a message about " + c.topic + "."
		c.sentiment = "Neutral"
	case status == "completed" && answered:
		c.summary = summarize(c)
		c.sentiment = "Neutral"
		if c.hosted {
			c.sentiment = "Positive"
		}
	}
	c.successful = status == "completed" && answered && !c.voicemail
	c.analysed = answered
	close(c.done)
	c.notify()

	transcript := make([]map[string]string, 0, len(c.utter))
	for _, u := range c.utter {
		transcript = append(transcript, map[string]string{"role": u.role, "content": u.content})
	}
	var contactObj any
	if ct := s.contactByPhone(c.other); ct != nil {
		contactObj = map[string]any{"id": ct.id, "name": ct.name, "email": ct.email, "phoneNumber": ct.phone}
	}
	env := map[string]any{"data": map[string]any{
		"callId": c.id, "numberId": strPtr(c.numberID), "from": c.from, "to": c.to, "contact": contactObj,
		"direction": c.direction, "status": status, "startedAt": ts(c.created), "endedAt": ts(c.ended),
		"durationSeconds": c.duration(), "disconnectionReason": reason, "transcript": transcript,
		"summary": strPtr(c.summary), "userSentiment": strPtr(c.sentiment), "callSuccessful": c.successful,
	}}
	return s.newEvent(c.agentID, "agent.call_ended", "voice", "", env)
}

// voicemailScript is a voicemail greeting followed by the agent's message: the agent's
// voicemailMessage when set, else a short callback request.
func voicemailScript(c *call) []line {
	msg := c.voicemailMessage
	if msg == "" {
		msg = "Hi, this is " + nonEmpty(c.agentName, "an assistant") + ", an AI assistant calling on behalf of an AgentPhone user about " +
			c.topic + ". Please call back at your convenience. Thank you."
	}
	return []line{{caller: "Hi, you've reached " + c.to + ". I can't take your call right now. Please leave a message after the tone.", agent: msg}}
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CallOption configures an injected inbound call.
type CallOption func(*setup)

// WithCallerLines scripts what the caller says, one line per turn.
func WithCallerLines(lines ...string) CallOption {
	return func(st *setup) { st.callerLines = append([]string{}, lines...) }
}

// InjectInboundCall simulates a person calling one of our numbers. The call rings, is answered
// by the number's agent (hosted: a generated dialogue; webhook: each caller line is sent to the
// webhook; a webhook agent without any webhook fails the call) and ends like an outbound call.
// It returns the call id.
func (s *Sandbox) InjectInboundCall(from, to string, opts ...CallOption) (string, error) {
	caller, valid := normalizePhone(from)
	if !valid {
		return "", fmt.Errorf("inject inbound call: caller %q: %w", from, ErrInvalidPhone)
	}
	if box := s.accountWithNumber(to); box != s {
		return box.InjectInboundCall(from, to, opts...)
	}
	st := setup{inbound: true}
	for _, o := range opts {
		o(&st)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.numberByPhone(to)
	if n == nil {
		return "", fmt.Errorf("inject inbound call to %q: %w", to, ErrUnknownNumber)
	}
	a, found := s.st.agents[n.agentID]
	if !found {
		return "", fmt.Errorf("inject inbound call to %s: %w", to, ErrNoAgent)
	}
	c := s.newCall(a, n, "inbound", caller, n.phone, caller, st)
	if !c.hosted && s.hookFor(a.cfg.ID) == nil {
		c.forced, c.failReason = "failed", "no_webhook_configured"
	}
	return c.id, nil
}

func (s *Sandbox) httpInboundCall(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	f.require("from")
	f.require("to")
	from, _ := f.str("from")
	to, _ := f.str("to")
	lines, _ := f.strings("callerLines")
	if e := f.err(); e != nil {
		return fail(e)
	}
	id, err := s.InjectInboundCall(from, to, WithCallerLines(lines...))
	switch {
	case errors.Is(err, ErrUnknownNumber):
		return fail(notFound("Phone number", to))
	case errors.Is(err, ErrNoAgent):
		return fail(badRequest(err.Error()))
	case err != nil:
		return fail(validation(fieldError{Loc: []any{"body", "from"}, Msg: "Value error, " + err.Error(), Type: "value_error"}))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(s.st.calls[id].detailView())
}

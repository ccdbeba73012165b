package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// voiceReply is what a webhook answered to a voice turn.
type voiceReply struct {
	text     string
	hangup   bool
	transfer bool
	digits   string
}

// parseVoiceReply reads a single JSON object or NDJSON chunks (interim chunks then a final
// one). Anything that is not a JSON object is silence.
func parseVoiceReply(contentType string, body []byte) voiceReply {
	var objs []map[string]any
	if strings.Contains(contentType, "ndjson") {
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(bytes.TrimSpace(sc.Bytes()), &m) == nil && m != nil {
				objs = append(objs, m)
			}
		}
	} else {
		var m map[string]any
		if json.Unmarshal(body, &m) == nil && m != nil {
			objs = append(objs, m)
		}
	}
	var r voiceReply
	var texts []string
	for _, m := range objs {
		if t, ok := m["text"].(string); ok && strings.TrimSpace(t) != "" {
			texts = append(texts, strings.TrimSpace(t))
		}
		if h, ok := m["hangup"].(bool); ok && h {
			r.hangup = true
		}
		switch m["action"] {
		case "hangup":
			r.hangup = true
		case "transfer":
			r.transfer = true
		}
		for _, k := range []string{"digits", "press_digit", "dtmf"} {
			if d, ok := m[k].(string); ok && d != "" {
				r.digits += d
			}
		}
		if interim, _ := m["interim"].(bool); !interim && strings.Contains(contentType, "ndjson") {
			break // the final chunk closes the turn
		}
	}
	r.text = strings.Join(texts, " ")
	return r
}

// webhookTurn plays one caller utterance on a webhook-driven call: the utterance is POSTed as
// agent.message (channel voice) and the reply is spoken. Called with s.mu held; unlocks it.
func (s *Sandbox) webhookTurn(c *call, caller string) {
	id := c.id
	history := append([]utterance{}, c.utter...)
	idx := s.addTurn(c, caller, "")
	hook := s.hookFor(c.agentID)
	if hook == nil {
		var ev *event
		if c.next >= len(c.script) {
			ev = s.finishLocked(c, "completed", "user_hangup")
		} else {
			c.step = s.bg.after(s.opts.TurnTime, func() { s.advance(id) })
		}
		s.mu.Unlock()
		s.emit(ev)
		return
	}
	if len(history) > hook.contextLimit {
		history = history[len(history)-hook.contextLimit:]
	}
	recent := make([]map[string]any, 0, len(history))
	for _, u := range history {
		dir := "inbound"
		if u.role == "agent" {
			dir = "outbound"
		}
		recent = append(recent, map[string]any{"content": u.content, "direction": dir, "channel": "voice", "at": ts(u.at)})
	}
	env := map[string]any{
		"data": map[string]any{"callId": c.id, "numberId": strPtr(c.numberID), "from": c.from, "to": c.to,
			"status": c.status, "transcript": caller, "confidence": c.turns[idx].confidence, "direction": c.direction},
		"conversationState": nil,
		"recentHistory":     recent,
	}
	ev := s.newEvent(c.agentID, "agent.message", "voice", "", env)
	d := &delivery{seq: s.st.next(), id: s.ids.id("dlv_"), hookID: hook.id, hookAgentID: hook.agentID, url: hook.url,
		secret: hook.secret, eventType: "agent.message", channel: "voice", status: "pending", attempts: 1,
		created: s.clock.Now(), lastAttempt: s.clock.Now()}
	s.st.deliveries[d.id] = d
	transferTo := ""
	if a, found := s.st.agents[c.agentID]; found && a.cfg.TransferNumber != nil {
		transferTo = *a.cfg.TransferNumber
	}
	s.mu.Unlock()

	var res postResult
	if ev != nil {
		res = s.post(s.ctx, hook.url, hook.secret, d.id, ev.payload, time.Duration(hook.timeout)*time.Second)
	}
	var reply voiceReply
	if res.ok() {
		reply = parseVoiceReply(res.header.Get("Content-Type"), res.body)
	}

	s.mu.Lock()
	d.httpStatus = res.status
	d.responseBody = truncate(string(res.body), 1024)
	if res.ok() {
		d.status = "success"
	} else {
		d.status = "failed"
		d.errorMessage = "voice webhook failed; the agent stayed silent"
		if res.err != nil {
			d.errorMessage = res.err.Error()
		}
	}
	if c.status != "in-progress" {
		s.mu.Unlock()
		return
	}
	if reply.text != "" {
		s.setResponse(c, idx, reply.text)
	}
	var end *event
	switch {
	case reply.hangup:
		end = s.finishLocked(c, "completed", "agent_hangup")
	case reply.transfer && transferTo != "":
		end = s.finishLocked(c, "completed", "call_transfer")
	case c.next >= len(c.script):
		end = s.finishLocked(c, "completed", "user_hangup")
	default:
		if reply.transfer {
			s.log.Warn("sandbox: transfer requested but the agent has no transferNumber", "call", c.id)
		}
		c.step = s.bg.after(s.opts.TurnTime, func() { s.advance(id) })
	}
	s.mu.Unlock()
	s.emit(end)
}

package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"time"
)

type delivery struct {
	seq          int64
	id           string
	hookID       string
	hookAgentID  string // agent id when sent to an agent webhook
	url, secret  string
	timeout      time.Duration
	payload      []byte
	messageID    string
	eventType    string
	channel      string
	status       string // pending | success | failed
	httpStatus   int
	errorMessage string
	responseBody string
	attempts     int
	lastAttempt  time.Time
	nextRetry    time.Time
	created      time.Time
	target       string // the address the last attempt connected to ("" if none)
}

type deliveryView struct {
	ID            string  `json:"id"`
	MessageID     *string `json:"messageId"`
	EventType     *string `json:"eventType"`
	Channel       *string `json:"channel"`
	Status        string  `json:"status"`
	HTTPStatus    *int    `json:"httpStatus"`
	ErrorMessage  *string `json:"errorMessage"`
	ResponseBody  *string `json:"responseBody"`
	AttemptCount  int     `json:"attemptCount"`
	LastAttemptAt *string `json:"lastAttemptAt"`
	NextRetryAt   *string `json:"nextRetryAt"`
	CreatedAt     string  `json:"createdAt"`
}

func (d *delivery) view() deliveryView {
	v := deliveryView{ID: d.id, MessageID: strPtr(d.messageID), EventType: strPtr(d.eventType),
		Channel: strPtr(d.channel), Status: d.status, ErrorMessage: strPtr(d.errorMessage),
		ResponseBody: strPtr(d.responseBody), AttemptCount: d.attempts, LastAttemptAt: tsPtr(d.lastAttempt),
		NextRetryAt: tsPtr(d.nextRetry), CreatedAt: ts(d.created)}
	if d.httpStatus != 0 {
		st := d.httpStatus
		v.HTTPStatus = &st
	}
	return v
}

// event is a webhook event ready to be delivered (built under s.mu, sent after unlocking).
type event struct {
	hook      webhook
	eventType string
	channel   string
	messageID string
	payload   []byte
}

// newEvent marshals an event envelope for agentID's webhook; nil when no webhook applies.
// Caller holds s.mu.
func (s *Sandbox) newEvent(agentID, eventType, channel, messageID string, envelope map[string]any) *event {
	hook := s.hookFor(agentID)
	if hook == nil {
		return nil
	}
	envelope["event"] = eventType
	envelope["channel"] = channel
	envelope["timestamp"] = ts(s.clock.Now())
	envelope["agentId"] = strPtr(agentID)
	body, err := json.Marshal(envelope)
	if err != nil {
		s.log.Warn("sandbox: webhook payload not encodable", "event", eventType, "err", err)
		return nil
	}
	return &event{hook: *hook, eventType: eventType, channel: channel, messageID: messageID, payload: body}
}

// emit records a delivery for ev and sends it in the background, retrying on failure.
func (s *Sandbox) emit(ev *event) {
	if ev == nil {
		return
	}
	s.mu.Lock()
	d := &delivery{seq: s.st.next(), id: s.ids.id("dlv_"), hookID: ev.hook.id, hookAgentID: ev.hook.agentID,
		url: ev.hook.url, secret: ev.hook.secret, timeout: time.Duration(ev.hook.timeout) * time.Second,
		payload: ev.payload, messageID: ev.messageID, eventType: ev.eventType, channel: ev.channel,
		status: "pending", created: s.clock.Now()}
	s.st.deliveries[d.id] = d
	s.mu.Unlock()
	s.bg.spawn(func() { s.attempt(d) })
}

// attempt makes one delivery attempt and schedules the next on failure.
func (s *Sandbox) attempt(d *delivery) {
	s.mu.Lock()
	d.attempts++
	d.lastAttempt = s.clock.Now()
	d.nextRetry = time.Time{}
	url, secret, id, payload, timeout := d.url, d.secret, d.id, d.payload, d.timeout
	s.mu.Unlock()

	res := s.post(s.ctx, url, secret, id, payload, timeout)

	s.mu.Lock()
	defer s.mu.Unlock()
	d.target = res.target
	d.httpStatus = res.status
	d.responseBody = truncate(string(res.body), 1024)
	d.errorMessage = ""
	if res.err != nil {
		d.errorMessage = res.err.Error()
	}
	if res.ok() {
		d.status = "success"
		return
	}
	if d.errorMessage == "" {
		d.errorMessage = fmt.Sprintf("webhook answered HTTP %d", res.status)
	}
	if d.attempts >= maxDeliveryTries || s.ctx.Err() != nil || errors.Is(res.err, ErrDeliveryRefused) {
		d.status = "failed"
		s.log.Warn("sandbox: webhook delivery failed for good", "delivery", d.id, "event", d.eventType, "attempts", d.attempts, "err", d.errorMessage)
		return
	}
	s.log.Debug("sandbox: webhook delivery failed, will retry", "delivery", d.id, "attempt", d.attempts, "err", d.errorMessage)
	delay := s.opts.WebhookRetryBase << (d.attempts - 1)
	d.nextRetry = s.clock.Now().Add(delay)
	s.bg.after(delay, func() { s.attempt(d) })
}

// postResult is the outcome of one signed POST.
type postResult struct {
	status  int
	body    []byte
	header  http.Header
	elapsed time.Duration
	err     error
	target  string // remote address connected to, when known
}

func (p postResult) ok() bool { return p.err == nil && p.status >= 200 && p.status < 300 }

// sign returns the X-Webhook-Signature value for body at timestamp tsUnix.
func sign(secret, tsUnix string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(tsUnix))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends one signed webhook request with a per-request timeout.
func (s *Sandbox) post(ctx context.Context, url, secret, deliveryID string, body []byte, timeout time.Duration) postResult {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return postResult{err: fmt.Errorf("build webhook request: %w", err)}
	}
	stamp := strconv.FormatInt(s.clock.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "AgentPhone-Sandbox-Webhooks/1.0")
	req.Header.Set("X-Webhook-Signature", sign(secret, stamp, body))
	req.Header.Set("X-Webhook-Timestamp", stamp)
	req.Header.Set("X-Webhook-ID", deliveryID)
	var target atomic.Value
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Conn != nil && info.Conn.RemoteAddr() != nil {
				target.Store(info.Conn.RemoteAddr().String())
			}
		},
	}))
	start := s.clock.Now()
	resp, err := s.client.Do(req)
	to, _ := target.Load().(string)
	if err != nil {
		var refused *refusedDelivery
		switch {
		case errors.As(err, &refused):
			err = refused
		case errors.Is(err, context.DeadlineExceeded):
			err = fmt.Errorf("webhook did not answer within %s", timeout)
		}
		return postResult{err: fmt.Errorf("deliver webhook: %w", err), elapsed: s.clock.Since(start), target: to}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	res := postResult{status: resp.StatusCode, body: data, header: resp.Header, elapsed: s.clock.Since(start), target: to}
	if err != nil {
		res.err = fmt.Errorf("read webhook response: %w", err)
	}
	return res
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// testPayload is the fake agent.message sent by the /test endpoints. Caller holds s.mu.
func (s *Sandbox) testPayload(agentID string) []byte {
	to := "+14155550100"
	numberID := ""
	if nums := s.agentNumbers(agentID); len(nums) > 0 {
		to, numberID = nums[0].phone, nums[0].id
	}
	now := ts(s.clock.Now())
	body, _ := json.Marshal(map[string]any{
		"event": "agent.message", "channel": "sms", "timestamp": now, "agentId": strPtr(agentID), "test": true,
		"data": map[string]any{"messageId": "msg_test", "conversationId": "conv_test", "numberId": strPtr(numberID),
			"from": "+15555550123", "to": to, "contact": nil,
			"message": "This is a test webhook from the AgentPhone sandbox.", "mediaUrl": nil,
			"mediaUrls": []string{}, "direction": "inbound", "receivedAt": now},
		"conversationState": nil, "recentHistory": []any{},
	})
	return body
}

// runTest sends the test payload to hook and answers {success,statusCode,responseMs,error},
// plus a sandbox-only "sandbox" object that says where the event went: {url, deliveredTo (the
// address connected to, or null), refused (why it was not sent, or null)}.
func (s *Sandbox) runTest(hook webhook, payload []byte) map[string]any {
	res := s.post(s.ctx, hook.url, hook.secret, s.ids.id("dlv_"), payload, time.Duration(hook.timeout)*time.Second)
	out := map[string]any{"success": res.ok(), "statusCode": nil, "responseMs": res.elapsed.Milliseconds(), "error": nil}
	where := map[string]any{"url": hook.url, "deliveredTo": strPtr(res.target), "refused": nil}
	var refused *refusedDelivery
	if errors.As(res.err, &refused) {
		where["refused"] = refused.Error()
	}
	out["sandbox"] = where
	if res.status != 0 {
		out["statusCode"] = res.status
	}
	switch {
	case res.err != nil:
		out["error"] = res.err.Error()
	case !res.ok():
		out["error"] = fmt.Sprintf("webhook answered HTTP %d", res.status)
	}
	return out
}

func (s *Sandbox) testProjectWebhook(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	hook := s.st.projectHook
	if hook == nil {
		s.mu.Unlock()
		return fail(newError(http.StatusNotFound, "", "No project webhook is configured; set one with POST /v1/webhooks"))
	}
	agentID := r.URL.Query().Get("agentId")
	if agentID != "" {
		if _, e := s.agentOr404(agentID); e != nil {
			s.mu.Unlock()
			return fail(e)
		}
	} else if first := sortedBySeq(s.st.agents, func(a *agent) int64 { return a.seq }); len(first) > 0 {
		agentID = first[0].cfg.ID
	}
	h, payload := *hook, s.testPayload(agentID)
	s.mu.Unlock()
	return ok(s.runTest(h, payload))
}

func (s *Sandbox) testAgentWebhook(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		s.mu.Unlock()
		return fail(e)
	}
	if a.hook == nil {
		s.mu.Unlock()
		return fail(newError(http.StatusNotFound, "", "Agent "+a.cfg.ID+" has no webhook; set one with POST /v1/agents/{agent_id}/webhook"))
	}
	h, payload := *a.hook, s.testPayload(a.cfg.ID)
	s.mu.Unlock()
	return ok(s.runTest(h, payload))
}

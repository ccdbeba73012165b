package apiclient

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook delivery headers.
const (
	HeaderSignature = "X-Webhook-Signature"
	HeaderTimestamp = "X-Webhook-Timestamp"
	HeaderWebhookID = "X-Webhook-ID"
)

// WebhookTolerance is how far the delivery timestamp may be from now,
// either way.
const WebhookTolerance = 300 * time.Second

// Sentinel errors of VerifyWebhook (test with errors.Is).
var (
	ErrNoSecret        = errors.New("webhook: no signing secret configured")
	ErrMissingHeader   = errors.New("webhook: signature or timestamp header missing")
	ErrMalformedHeader = errors.New("webhook: signature or timestamp header malformed")
	ErrStaleTimestamp  = errors.New("webhook: timestamp outside the 300 s tolerance")
	ErrBadSignature    = errors.New("webhook: signature does not match")
	ErrMalformedEvent  = errors.New("webhook: body is not a webhook event")
)

// SignWebhook returns the X-Webhook-Signature value ("sha256=<hex>") for a
// body sent at ts: HMAC-SHA256 keyed with the full secret (whsec_ prefix
// included) over "<unix seconds>.<body>".
func SignWebhook(secret string, ts time.Time, body []byte) string {
	return "sha256=" + hex.EncodeToString(webhookMAC(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

func webhookMAC(secret, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyWebhook checks a delivery's X-Webhook-Signature ("sha256=<hex>" or
// bare hex; several comma-separated values are accepted, any may match)
// against the raw body and X-Webhook-Timestamp, with a 300 s tolerance
// either way around now. The comparison is constant-time. Errors wrap
// ErrNoSecret, ErrMissingHeader, ErrMalformedHeader, ErrStaleTimestamp or
// ErrBadSignature and never contain the secret.
func VerifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	if secret == "" {
		return ErrNoSecret
	}
	sigHeader := strings.TrimSpace(h.Get(HeaderSignature))
	tsHeader := strings.TrimSpace(h.Get(HeaderTimestamp))
	if sigHeader == "" || tsHeader == "" {
		return fmt.Errorf("%w: need %s and %s", ErrMissingHeader, HeaderSignature, HeaderTimestamp)
	}
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s must be Unix seconds", ErrMalformedHeader, HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > WebhookTolerance || d < -WebhookTolerance {
		return fmt.Errorf("%w: the delivery is %s away from now", ErrStaleTimestamp, d.Round(time.Second))
	}
	want := webhookMAC(secret, tsHeader, body)
	parsed := false
	for _, cand := range strings.Split(sigHeader, ",") {
		cand = strings.TrimSpace(cand)
		cand = strings.TrimPrefix(cand, "sha256=")
		got, err := hex.DecodeString(cand)
		if err != nil || len(got) != sha256.Size {
			continue
		}
		parsed = true
		if hmac.Equal(got, want) {
			return nil
		}
	}
	if !parsed {
		return fmt.Errorf("%w: %s must be sha256=<64 hex digits>", ErrMalformedHeader, HeaderSignature)
	}
	return ErrBadSignature
}

// maxEventBody bounds the body ParseWebhookEvent accepts.
const maxEventBody = 1 << 20

// ParseWebhookEvent decodes a webhook body (verify it first). Known events
// fill Message, Voice, CallEnded or Reaction; unknown events return the
// envelope with those nil and no error. A body that is not a JSON object
// with an "event" field wraps ErrMalformedEvent.
func ParseWebhookEvent(body []byte) (*WebhookEvent, error) {
	if len(body) > maxEventBody {
		return nil, fmt.Errorf("%w: body larger than %d bytes", ErrMalformedEvent, maxEventBody)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformedEvent)
	}
	ev := new(WebhookEvent)
	if err := json.Unmarshal(trimmed, ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	if ev.Event == "" {
		return nil, fmt.Errorf("%w: no \"event\" field", ErrMalformedEvent)
	}
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 || string(data) == "null" {
		return ev, nil
	}
	var target any
	switch {
	case ev.Event == EventMessage && ev.Channel == ChannelVoice:
		ev.Voice = new(VoiceEventData)
		target = ev.Voice
	case ev.Event == EventMessage:
		ev.Message = new(MessageEventData)
		target = ev.Message
	case ev.Event == EventCallEnded:
		ev.CallEnded = new(CallEndedEventData)
		target = ev.CallEnded
	case ev.Event == EventReaction:
		ev.Reaction = new(ReactionEventData)
		target = ev.Reaction
	default:
		return ev, nil
	}
	if err := json.Unmarshal(data, target); err != nil {
		return nil, fmt.Errorf("%w: %s data: %v", ErrMalformedEvent, ev.Event, err)
	}
	return ev, nil
}

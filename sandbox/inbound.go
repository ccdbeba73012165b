package sandbox

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrUnknownNumber is returned when an injected message or call targets a number that is not
// one of the sandbox account's active numbers.
var ErrUnknownNumber = errors.New("not one of the sandbox account's active numbers")

// ErrInvalidPhone is returned when an injected sender is not a phone number.
var ErrInvalidPhone = errors.New("not a valid phone number")

// InboundMessage is a message sent to one of our numbers by an outside party.
type InboundMessage struct {
	From      string   // sender, any phone format (normalised to E.164)
	To        string   // our active number, E.164
	Body      string   // text
	Channel   string   // "sms" (default), "mms" or "imessage"
	MediaURLs []string // attachments
}

// InjectInboundSMS delivers an SMS from an outside number to one of our numbers, as if a person
// had texted it: the message is stored, its conversation updated and agent.message is sent to
// the webhook. It returns the new message id.
func (s *Sandbox) InjectInboundSMS(from, to, body string) (string, error) {
	return s.InjectInboundMessage(InboundMessage{From: from, To: to, Body: body})
}

// InjectInboundMessage is InjectInboundSMS with a channel and media.
func (s *Sandbox) InjectInboundMessage(in InboundMessage) (string, error) {
	id, _, err := s.injectMessage(in)
	return id, err
}

func (s *Sandbox) injectMessage(in InboundMessage) (msgID, convID string, err error) {
	if box := s.accountWithNumber(in.To); box != s {
		return box.injectMessage(in)
	}
	from, valid := normalizePhone(in.From)
	if !valid {
		return "", "", fmt.Errorf("inject inbound message: sender %q: %w", in.From, ErrInvalidPhone)
	}
	channel := in.Channel
	switch channel {
	case "":
		channel = "sms"
		if len(in.MediaURLs) > 0 {
			channel = "mms"
		}
	case "sms", "mms", "imessage":
	default:
		return "", "", fmt.Errorf("inject inbound message: channel %q: use sms, mms or imessage", in.Channel)
	}
	s.mu.Lock()
	n := s.numberByPhone(in.To)
	if n == nil {
		s.mu.Unlock()
		return "", "", fmt.Errorf("inject inbound message to %q: %w", in.To, ErrUnknownNumber)
	}
	m, ev := s.receiveLocked(n, from, in.Body, channel, in.MediaURLs)
	s.mu.Unlock()
	s.emit(ev)
	return m.id, m.convID, nil
}

// receiveLocked stores an inbound message in the 1:1 conversation with from and builds its
// agent.message event. Caller holds s.mu.
func (s *Sandbox) receiveLocked(n *number, from, body, channel string, media []string) (*message, *event) {
	return s.receiveInLocked(n, s.conversationFor(n, from), from, body, channel, media)
}

// receiveInLocked stores an inbound message from from in conv (a 1:1 conversation or an
// iMessage group) and builds its agent.message event. Caller holds s.mu.
func (s *Sandbox) receiveInLocked(n *number, conv *conversation, from, body, channel string, media []string) (*message, *event) {
	history := append([]*message{}, conv.msgs...)
	to := n.phone
	if conv.isGroup {
		to = conv.groupID
	}
	m := s.addMessage(conv, from, to, body, "inbound", channel, media)
	agentID := n.agentID
	hook := s.hookFor(agentID)
	if hook == nil {
		return m, nil
	}
	if len(history) > hook.contextLimit {
		history = history[len(history)-hook.contextLimit:]
	}
	recent := make([]map[string]any, 0, len(history))
	for _, h := range history {
		recent = append(recent, map[string]any{"messageId": h.id, "content": h.body, "direction": h.direction,
			"channel": h.channel, "at": ts(h.created)})
	}
	var contactObj any
	if ct := s.contactByPhone(from); ct != nil {
		contactObj = map[string]any{"id": ct.id, "name": ct.name, "email": ct.email, "phoneNumber": ct.phone}
	}
	var mediaURL *string
	if len(media) > 0 {
		mediaURL = &media[0]
	}
	data := map[string]any{"messageId": m.id, "conversationId": conv.id, "numberId": n.id, "from": from,
		"to": n.phone, "contact": contactObj, "message": body, "mediaUrl": mediaURL,
		"mediaUrls": append([]string{}, media...), "direction": "inbound", "receivedAt": ts(m.created)}
	if channel == "imessage" {
		data["senderIdentifier"] = from
	}
	if conv.isGroup {
		data["group"] = map[string]any{"isGroup": true, "groupId": conv.groupID, "groupName": strPtr(conv.groupName),
			"groupIconUrl": nil, "participants": s.participants(conv)}
	}
	env := map[string]any{
		"data":              data,
		"conversationState": conv.metadata,
		"recentHistory":     recent,
	}
	return m, s.newEvent(agentID, "agent.message", channel, m.id, env)
}

func (s *Sandbox) httpInboundSMS(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	f.require("from")
	f.require("to")
	f.require("body")
	in := InboundMessage{}
	in.From, _ = f.str("from")
	in.To, _ = f.str("to")
	in.Body, _ = f.str("body")
	in.Channel, _ = f.enum("channel", "sms", "mms", "imessage")
	in.MediaURLs, _ = f.strings("mediaUrls")
	if e := f.err(); e != nil {
		return fail(e)
	}
	msgID, convID, err := s.injectMessage(in)
	switch {
	case errors.Is(err, ErrUnknownNumber):
		return fail(notFound("Phone number", in.To))
	case err != nil:
		return fail(validation(fieldError{Loc: []any{"body", "from"}, Msg: "Value error, " + err.Error(), Type: "value_error"}))
	}
	return ok(map[string]any{"id": msgID, "conversationId": convID})
}

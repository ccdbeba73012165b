package sandbox

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

var (
	sendStyles  = []string{"celebration", "fireworks", "lasers", "love", "confetti", "balloons", "spotlight", "echo", "invisible", "gentle", "loud", "slam"}
	tapbacks    = []string{"love", "like", "dislike", "laugh", "emphasize", "question"}
	shortCodeRE = regexp.MustCompile(`^\d{5,6}$`)
)

type reaction struct {
	ID           string `json:"id"`
	ReactionType string `json:"reactionType"`
	FromNumber   string `json:"fromNumber"`
	Direction    string `json:"direction"`
	CreatedAt    string `json:"createdAt"`
}

type message struct {
	seq       int64
	id        string
	convID    string
	numberID  string
	from, to  string
	body      string
	direction string // inbound | outbound
	channel   string // sms | mms | imessage
	media     []string
	created   time.Time
	reactions []reaction
	replyTo   string // the message this one replies to, when the reply was threaded
	style     string // iMessage send_style
}

// numberMessageView is an item of GET /v1/numbers/{id}/messages; it carries both from and from_.
type numberMessageView struct {
	ID         string `json:"id"`
	From       string `json:"from"`
	FromU      string `json:"from_"`
	To         string `json:"to"`
	Body       string `json:"body"`
	Direction  string `json:"direction"`
	Channel    string `json:"channel"`
	ReceivedAt string `json:"receivedAt"`
}

func (m *message) numberView() numberMessageView {
	return numberMessageView{ID: m.id, From: m.from, FromU: m.from, To: m.to, Body: m.body, Direction: m.direction,
		Channel: m.channel, ReceivedAt: ts(m.created)}
}

type replyToView struct {
	MessageID string   `json:"messageId"`
	Message   string   `json:"message"`
	MediaURLs []string `json:"mediaUrls"`
}

// convMessageView is MessageInConversation (camelCase).
type convMessageView struct {
	ID               string       `json:"id"`
	Body             string       `json:"body"`
	FromNumber       string       `json:"fromNumber"`
	ToNumber         string       `json:"toNumber"`
	Direction        string       `json:"direction"`
	SenderIdentifier *string      `json:"senderIdentifier"`
	Channel          string       `json:"channel"`
	MediaURL         *string      `json:"mediaUrl"`
	MediaURLs        []string     `json:"mediaUrls"`
	ReceivedAt       string       `json:"receivedAt"`
	Reactions        []reaction   `json:"reactions"`
	ReplyTo          *replyToView `json:"replyTo"`
}

// convView renders a message for conversation endpoints. Caller holds s.mu.
func (s *Sandbox) convView(m *message) convMessageView {
	v := convMessageView{ID: m.id, Body: m.body, FromNumber: m.from, ToNumber: m.to, Direction: m.direction,
		Channel: m.channel, MediaURLs: append([]string{}, m.media...), ReceivedAt: ts(m.created),
		Reactions: append([]reaction{}, m.reactions...)}
	if len(m.media) > 0 {
		v.MediaURL = &m.media[0]
	}
	if m.direction == "inbound" {
		v.SenderIdentifier = &m.from
	}
	if p, found := s.st.messages[m.replyTo]; found && m.replyTo != "" {
		v.ReplyTo = &replyToView{MessageID: p.id, Message: p.body, MediaURLs: append([]string{}, p.media...)}
	}
	return v
}

// timeWindow orders messages newest first, applies the before/after cursors and the limit.
func timeWindow(msgs []*message, limit int, before time.Time, hasBefore bool, after time.Time, hasAfter bool) ([]*message, bool) {
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].seq > msgs[j].seq })
	var out []*message
	for _, m := range msgs {
		if hasBefore && !m.created.Before(before) {
			continue
		}
		if hasAfter && !m.created.After(after) {
			continue
		}
		out = append(out, m)
	}
	if len(out) > limit {
		return out[:limit], true
	}
	return out, false
}

// sendResponse is SendMessageResponse (snake_case).
type sendResponse struct {
	ID                    string   `json:"id"`
	Status                string   `json:"status"`
	Channel               string   `json:"channel"`
	FromNumber            string   `json:"from_number"`
	ToNumber              string   `json:"to_number"`
	ConversationID        *string  `json:"conversation_id"`
	MediaURLs             []string `json:"media_urls"`
	ReplyToMessageID      *string  `json:"reply_to_message_id"`
	ReplyParentUnresolved *bool    `json:"reply_parent_unresolved"`
}

// sendRequest is the validated snake_case body of POST /v1/messages.
type sendRequest struct {
	body, agentID, toNumber, numberID, fromNumber, replyTo, style string
	recipients, media                                             []string
}

func parseSend(r *http.Request) (sendRequest, *apiError) {
	var req sendRequest
	f, e := readForm(r)
	if e != nil {
		return req, e
	}
	f.require("body")
	req.body, _ = f.str("body")
	req.agentID, _ = f.str("agent_id")
	req.toNumber, _ = f.str("to_number")
	req.numberID, _ = f.str("number_id")
	req.fromNumber, _ = f.str("from_number")
	req.replyTo, _ = f.str("reply_to_message_id")
	req.recipients, _ = f.strings("recipients")
	req.style, _ = f.enum("send_style", sendStyles...) // kept on iMessage, dropped when delivered as SMS
	if one, ok := f.str("media_url"); ok {
		req.media = append(req.media, one)
	}
	if many, ok := f.strings("media_urls"); ok {
		if len(many) > 20 {
			f.fail("media_urls", "List should have at most 20 items after validation", "too_long")
		}
		req.media = append(req.media, many...)
	}
	for _, u := range req.media {
		if !httpsURL(u) {
			f.fail("media_urls", "Value error, media URLs must be public https:// URLs", "value_error")
			break
		}
	}
	if e := f.err(); e != nil {
		return req, e
	}
	switch {
	case req.toNumber == "" && len(req.recipients) == 0:
		return req, valueError([]any{"body"}, "give to_number or recipients")
	case req.toNumber != "" && len(req.recipients) > 0:
		return req, valueError([]any{"body"}, "give to_number or recipients, not both")
	case req.agentID == "" && req.numberID == "" && req.fromNumber == "":
		return req, valueError([]any{"body"}, "one of agent_id, number_id or from_number is required")
	case strings.TrimSpace(req.body) == "" && len(req.media) == 0:
		return req, valueError([]any{"body", "body"}, "body may be empty only when media_urls are given")
	}
	return req, nil
}

// senderNumber resolves the sending number. Caller holds s.mu.
func (s *Sandbox) senderNumber(req sendRequest) (*number, *apiError) {
	switch {
	case req.numberID != "":
		return s.activeNumberOr404(req.numberID)
	case req.fromNumber != "":
		e164, ok := normalizePhone(req.fromNumber)
		if n := s.numberByPhone(e164); ok && n != nil {
			return n, nil
		}
		return nil, newError(http.StatusNotFound, "PHONE_NUMBER_NOT_FOUND",
			"from_number "+req.fromNumber+" is not one of your active numbers; see GET /v1/numbers")
	default:
		a, e := s.agentOr404(req.agentID)
		if e != nil {
			return nil, e
		}
		nums := s.agentNumbers(a.cfg.ID)
		if len(nums) == 0 {
			return nil, badRequest("Agent " + a.cfg.ID + " has no phone number; attach one with POST /v1/agents/{agent_id}/numbers")
		}
		return nums[0], nil
	}
}

// Group size bounds for recipients.
const (
	minGroup = 2
	maxGroup = 32
)

// recipient normalises to_number: a phone number (E.164), a US short code, or an email
// address (iMessage only). Group ids are resolved by the caller.
func recipient(to string) (string, *apiError) {
	switch {
	case isEmail(to):
		return to, nil
	case shortCodeRE.MatchString(to):
		return to, nil
	}
	e164, ok := normalizePhone(to)
	if !ok {
		return "", validation(fieldError{Loc: []any{"body", "to_number"},
			Msg: "Value error, to_number is not a valid phone number, email or group id; use E.164 such as +14155550123", Type: "value_error"})
	}
	return e164, nil
}

// channelFor picks how a 1:1 message travels: iMessage when the recipient uses it, else SMS
// (MMS with media). Short codes are SMS only.
func (s *Sandbox) channelFor(to string, media []string) string {
	switch {
	case shortCodeRE.MatchString(to):
		return "sms"
	case s.usesIMessage(to):
		return "imessage"
	case len(media) > 0:
		return "mms"
	}
	return "sms"
}

// startGroup creates an iMessage group conversation with the recipients. Every recipient
// must use iMessage. Caller holds s.mu.
func (s *Sandbox) startGroup(n *number, raw []string) (*conversation, *apiError) {
	if len(raw) < minGroup || len(raw) > maxGroup {
		return nil, valueError([]any{"body", "recipients"}, fmt.Sprintf("recipients must list %d to %d phone numbers or emails", minGroup, maxGroup))
	}
	members := make([]string, 0, len(raw))
	seen := map[string]bool{}
	for i, r := range raw {
		m, e := recipient(r)
		if e != nil || shortCodeRE.MatchString(m) {
			return nil, valueError([]any{"body", "recipients", i}, "not a phone number or email: "+r)
		}
		if seen[m] {
			return nil, valueError([]any{"body", "recipients", i}, "listed twice: "+m)
		}
		if m == n.phone || s.numberByPhone(m) != nil {
			return nil, valueError([]any{"body", "recipients", i}, "one of your own numbers: "+m)
		}
		if !s.usesIMessage(m) {
			return nil, badRequest("iMessage groups need every recipient on iMessage; " + m + " can only get SMS (check with GET /v1/contacts/capabilities)")
		}
		seen[m] = true
		members = append(members, m)
	}
	now := s.clock.Now()
	c := &conversation{seq: s.st.next(), id: s.ids.id("conv_"), numberID: n.id, phone: n.phone, agentID: n.agentID,
		channel: "imessage", created: now, lastAt: now, isGroup: true, groupID: s.ids.id("grp_"), members: members}
	c.participant = c.groupID
	s.st.convs[c.id] = c
	return c, nil
}

// groupByID finds a group conversation of number n. Caller holds s.mu.
func (s *Sandbox) groupByID(n *number, groupID string) *conversation {
	for _, c := range s.st.convs {
		if c.isGroup && c.groupID == groupID && c.numberID == n.id {
			return c
		}
	}
	return nil
}

func (s *Sandbox) sendMessage(r *http.Request) (int, any, *apiError) {
	req, e := parseSend(r)
	if e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, e := s.senderNumber(req)
	if e != nil {
		return fail(e)
	}
	if a, found := s.st.agents[n.agentID]; found && !a.cfg.EnableMessaging {
		return fail(badRequest("Messaging is disabled for agent " + a.cfg.ID + "; set enableMessaging to true"))
	}
	var (
		conv    *conversation
		to      string
		channel = "imessage"
	)
	switch {
	case len(req.recipients) > 0:
		if conv, e = s.startGroup(n, req.recipients); e != nil {
			return fail(e)
		}
		to = conv.groupID
	case strings.HasPrefix(req.toNumber, "grp_"):
		if conv = s.groupByID(n, req.toNumber); conv == nil {
			return fail(newError(http.StatusNotFound, "", "iMessage group "+req.toNumber+" not found on "+n.phone))
		}
		to = conv.groupID
	default:
		if to, e = recipient(req.toNumber); e != nil {
			return fail(e)
		}
		channel = s.channelFor(to, req.media)
		conv = s.conversationFor(n, to)
	}
	if channel == "imessage" && len(req.media) >= 2 && strings.TrimSpace(req.body) != "" {
		return fail(valueError([]any{"body", "body"}, "an iMessage carousel (2 or more media_urls) takes no body; send the text separately"))
	}
	m := s.addMessage(conv, n.phone, to, req.body, "outbound", channel, req.media)
	if channel == "imessage" {
		m.style = req.style
	}
	resp := sendResponse{ID: m.id, Status: "sent", Channel: channel, FromNumber: n.phone, ToNumber: to,
		ConversationID: &conv.id, MediaURLs: append([]string{}, req.media...)}
	if req.replyTo != "" {
		// A reply threads only on iMessage, under a message of the same conversation; otherwise
		// it is sent as a plain message and says so.
		parent, found := s.st.messages[req.replyTo]
		unresolved := !(found && channel == "imessage" && parent.convID == conv.id)
		if !unresolved {
			m.replyTo = parent.id
		}
		resp.ReplyToMessageID = &req.replyTo
		resp.ReplyParentUnresolved = &unresolved
	}
	// A simulated person (PeoplePrefix) answers by their own rule; with AutoReply anyone else
	// answers too.
	if reply, person := personReply(to); person {
		s.scheduleReply(n.id, conv.id, reply)
	} else if personDigit(to) < 0 && s.opts.AutoReply {
		s.scheduleReply(n.id, conv.id, autoReplyText(req.body))
	}
	return ok(resp)
}

// addMessage stores a message and updates its conversation. Caller holds s.mu.
func (s *Sandbox) addMessage(conv *conversation, from, to, body, direction, channel string, media []string) *message {
	now := s.clock.Now()
	m := &message{seq: s.st.next(), id: s.ids.id("msg_"), convID: conv.id, numberID: conv.numberID, from: from,
		to: to, body: body, direction: direction, channel: channel, media: append([]string{}, media...), created: now}
	s.st.messages[m.id] = m
	conv.msgs = append(conv.msgs, m)
	conv.lastAt = now
	conv.lastSeq = m.seq
	conv.channel = channel
	if channel == "mms" {
		conv.channel = "sms"
	}
	return m
}

// scheduleReply makes the other party (the first member of a group) answer reply after
// ReplyDelay, on the conversation's channel. Caller holds s.mu.
func (s *Sandbox) scheduleReply(numberID, convID, reply string) {
	s.bg.after(s.opts.ReplyDelay, func() {
		s.mu.Lock()
		n, found := s.st.numbers[numberID]
		conv := s.st.convs[convID]
		if !found || n.status != "active" || conv == nil {
			s.mu.Unlock()
			return
		}
		from := conv.participant
		if conv.isGroup {
			from = conv.members[0]
		}
		_, ev := s.receiveInLocked(n, conv, from, reply, conv.channel, nil)
		s.mu.Unlock()
		s.emit(ev)
	})
}

// autoReplyText is the deterministic answer of a simulated recipient.
func autoReplyText(body string) string {
	words := strings.Fields(body)
	if len(words) == 0 {
		return "Thanks, got your picture!"
	}
	if len(words) > 6 {
		words = append(words[:6], "…")
	}
	return "Thanks, got your message about \"" + strings.Join(words, " ") + "\". I'll get back to you soon."
}

func (s *Sandbox) sendReaction(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	f.require("reaction")
	kind, _ := f.str("reaction")
	if e := f.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("message_id")
	m, found := s.st.messages[id]
	if !found {
		return fail(notFound("Message", id))
	}
	if m.channel != "imessage" {
		return fail(badRequest("Reactions are supported on iMessage messages only; message " + id + " was sent as " + strings.ToUpper(m.channel)))
	}
	classic := false
	for _, t := range tapbacks {
		classic = classic || t == kind
	}
	if !classic {
		return fail(badRequest("Custom emoji reactions need a newer iMessage line; use one of love, like, dislike, laugh, emphasize, question, or contact support to upgrade the line"))
	}
	n := s.st.numbers[m.numberID]
	rx := reaction{ID: s.ids.id("rxn_"), ReactionType: kind, Direction: "outbound", CreatedAt: ts(s.clock.Now())}
	if n != nil {
		rx.FromNumber = n.phone
	}
	m.reactions = append(m.reactions, rx)
	return ok(map[string]any{"id": rx.ID, "reaction_type": kind, "message_id": m.id, "channel": m.channel})
}

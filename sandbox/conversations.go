package sandbox

import (
	"net/http"
	"sort"
	"time"
)

type conversation struct {
	seq         int64
	id          string
	numberID    string
	phone       string // our number
	participant string
	agentID     string
	channel     string // sms | imessage
	metadata    map[string]any
	created     time.Time
	lastAt      time.Time
	lastSeq     int64
	msgs        []*message // oldest first
	background  string
	bgVersion   int
	// iMessage groups: participant is the group id, members the other people.
	isGroup   bool
	groupID   string
	groupName string
	members   []string
}

type participantView struct {
	Identifier string  `json:"identifier"`
	Name       *string `json:"name"`
}

// convSummary is ConversationSummary; ConversationDetail drops the preview and adds messages.
type convSummary struct {
	ID                 string            `json:"id"`
	AgentID            *string           `json:"agentId"`
	PhoneNumberID      string            `json:"phoneNumberId"`
	PhoneNumber        string            `json:"phoneNumber"`
	Participant        string            `json:"participant"`
	IsGroup            bool              `json:"isGroup"`
	GroupID            *string           `json:"groupId"`
	GroupName          *string           `json:"groupName"`
	GroupIconURL       *string           `json:"groupIconUrl"`
	Participants       []participantView `json:"participants"`
	LastMessageAt      string            `json:"lastMessageAt"`
	LastMessagePreview *string           `json:"lastMessagePreview,omitempty"`
	MessageCount       int               `json:"messageCount"`
	Metadata           map[string]any    `json:"metadata"`
	CreatedAt          string            `json:"createdAt"`
}

type convDetail struct {
	convSummary
	Messages []convMessageView `json:"messages"`
}

// conversationFor returns the conversation for (our number, participant), creating it.
// Caller holds s.mu.
func (s *Sandbox) conversationFor(n *number, participant string) *conversation {
	for _, c := range s.st.convs {
		if c.numberID == n.id && c.participant == participant {
			if c.agentID == "" {
				c.agentID = n.agentID
			}
			return c
		}
	}
	now := s.clock.Now()
	c := &conversation{seq: s.st.next(), id: s.ids.id("conv_"), numberID: n.id, phone: n.phone,
		participant: participant, agentID: n.agentID, channel: "sms", created: now, lastAt: now}
	s.st.convs[c.id] = c
	return c
}

// participants lists a conversation's other people with their contact names. Caller holds s.mu.
func (s *Sandbox) participants(c *conversation) []participantView {
	ids := []string{c.participant}
	if c.isGroup {
		ids = c.members
	}
	out := make([]participantView, 0, len(ids))
	for _, id := range ids {
		p := participantView{Identifier: id}
		if ct := s.contactByPhone(id); ct != nil {
			name := ct.name
			p.Name = &name
		}
		out = append(out, p)
	}
	return out
}

func (s *Sandbox) summary(c *conversation) convSummary {
	v := convSummary{ID: c.id, AgentID: strPtr(c.agentID), PhoneNumberID: c.numberID, PhoneNumber: c.phone,
		Participant: c.participant, Participants: s.participants(c), IsGroup: c.isGroup,
		LastMessageAt: ts(c.lastAt), MessageCount: len(c.msgs), Metadata: c.metadata, CreatedAt: ts(c.created)}
	if c.isGroup {
		v.GroupID, v.GroupName = strPtr(c.groupID), strPtr(c.groupName)
	}
	preview := ""
	if len(c.msgs) > 0 {
		preview = c.msgs[len(c.msgs)-1].body
		if r := []rune(preview); len(r) > 100 {
			preview = string(r[:100])
		}
	}
	v.LastMessagePreview = &preview
	return v
}

// conversationSummaries lists matching conversations, newest activity first. Caller holds s.mu.
func (s *Sandbox) conversationSummaries(keep func(*conversation) bool) []convSummary {
	var cs []*conversation
	for _, c := range s.st.convs {
		if keep(c) {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].lastAt.Equal(cs[j].lastAt) {
			return cs[i].lastAt.After(cs[j].lastAt)
		}
		return cs[i].lastSeq > cs[j].lastSeq
	})
	out := []convSummary{}
	for _, c := range cs {
		out = append(out, s.summary(c))
	}
	return out
}

func (s *Sandbox) detail(c *conversation, limit int) convDetail {
	sum := s.summary(c)
	sum.LastMessagePreview = nil
	msgs, _ := timeWindow(append([]*message{}, c.msgs...), limit, time.Time{}, false, time.Time{}, false)
	d := convDetail{convSummary: sum, Messages: []convMessageView{}}
	for _, m := range msgs {
		d.Messages = append(d.Messages, s.convView(m))
	}
	return d
}

func (s *Sandbox) convOr404(id string) (*conversation, *apiError) {
	c, found := s.st.convs[id]
	if !found {
		return nil, notFound("Conversation", id)
	}
	return c, nil
}

func (s *Sandbox) listConversations(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit, offset := q.page(20, 100)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(pageOf(s.conversationSummaries(func(*conversation) bool { return true }), limit, offset))
}

func (s *Sandbox) getConversation(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit := q.integer("message_limit", 50, 1, 200)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.convOr404(r.PathValue("conversation_id"))
	if e != nil {
		return fail(e)
	}
	return ok(s.detail(c, limit))
}

func (s *Sandbox) updateConversation(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	meta, hasMeta := f.object("metadata")
	clearMeta := f.isNull("metadata")
	groupName, hasGroupName := f.str("group_name")
	if e := f.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.convOr404(r.PathValue("conversation_id"))
	if e != nil {
		return fail(e)
	}
	if hasGroupName {
		if !c.isGroup {
			return fail(badRequest("group_name renames iMessage groups only; conversation " + c.id + " is not a group"))
		}
		c.groupName = groupName
	}
	switch {
	case clearMeta:
		c.metadata = nil
	case hasMeta:
		c.metadata = meta
	}
	return ok(s.detail(c, 50))
}

func (s *Sandbox) listConversationMessages(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit := q.integer("limit", 50, 1, 200)
	before, hasBefore := q.timestamp("before")
	after, hasAfter := q.timestamp("after")
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.convOr404(r.PathValue("conversation_id"))
	if e != nil {
		return fail(e)
	}
	page, more := timeWindow(append([]*message{}, c.msgs...), limit, before, hasBefore, after, hasAfter)
	out := []convMessageView{}
	for _, m := range page {
		out = append(out, s.convView(m))
	}
	return ok(map[string]any{"data": out, "hasMore": more})
}

// imessageOnly rejects iMessage features on SMS conversations. Caller holds s.mu.
func (s *Sandbox) imessageConv(r *http.Request, feature string) (*conversation, *apiError) {
	c, e := s.convOr404(r.PathValue("conversation_id"))
	if e != nil {
		return nil, e
	}
	if c.channel != "imessage" {
		return nil, badRequest(feature + " work on iMessage conversations only; conversation " + c.id + " is SMS")
	}
	return c, nil
}

func (s *Sandbox) sendTyping(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.imessageConv(r, "Typing indicators")
	if e != nil {
		return fail(e)
	}
	return ok(map[string]any{"conversationId": c.id, "channel": c.channel, "status": "sent"})
}

func (s *Sandbox) setBackground(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	f.require("image_url")
	img, _ := f.str("image_url")
	if img != "" && !httpsURL(img) {
		f.fail("image_url", "Value error, image_url must be a public https:// URL", "value_error")
	}
	if e := f.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.imessageConv(r, "Chat backgrounds")
	if e != nil {
		return fail(e)
	}
	changed := c.background != img
	if changed {
		c.background = img
		c.bgVersion++
	}
	bgID := "bg_" + c.id[len("conv_"):]
	return ok(map[string]any{"conversationId": c.id, "channel": c.channel, "hasBackground": true,
		"backgroundId": bgID, "backgroundVersion": c.bgVersion, "changed": changed})
}

func (s *Sandbox) deleteBackground(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.imessageConv(r, "Chat backgrounds")
	if e != nil {
		return fail(e)
	}
	c.background = ""
	return http.StatusNoContent, nil, nil
}

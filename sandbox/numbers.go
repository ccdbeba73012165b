package sandbox

import (
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/nyaruka/phonenumbers"
)

var (
	e164RE     = regexp.MustCompile(`^\+[1-9]\d{1,14}$`)
	areaCodeRE = regexp.MustCompile(`^\d{3}$`)
)

type number struct {
	seq       int64
	attachSeq int64
	id        string
	phone     string
	country   string
	status    string // active | released
	agentID   string
	created   time.Time
	card      *contactCard
}

type numberView struct {
	ID          string  `json:"id"`
	PhoneNumber string  `json:"phoneNumber"`
	Country     string  `json:"country"`
	Status      string  `json:"status"`
	Type        string  `json:"type"`
	AgentID     *string `json:"agentId"`
	CreatedAt   string  `json:"createdAt"`
}

func (n *number) view() numberView {
	return numberView{ID: n.id, PhoneNumber: n.phone, Country: n.country, Status: n.status, Type: "sms",
		AgentID: strPtr(n.agentID), CreatedAt: ts(n.created)}
}

func (n *number) brief() numberBrief {
	return numberBrief{ID: n.id, PhoneNumber: n.phone, Status: n.status, Type: "sms"}
}

func (s *Sandbox) listNumbers(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit, offset := q.page(20, 100)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	views := []numberView{}
	for _, n := range sortedBySeq(s.st.numbers, func(n *number) int64 { return n.seq }) {
		if n.status == "active" {
			views = append(views, n.view())
		}
	}
	return ok(pageOf(views, limit, offset))
}

// activeNumbers counts the numbers the account holds. Caller holds s.mu.
func (s *Sandbox) activeNumbers() int {
	c := 0
	for _, n := range s.st.numbers {
		if n.status == "active" {
			c++
		}
	}
	return c
}

func (s *Sandbox) buyNumber(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	country := "US"
	if v, ok := f.str("country"); ok {
		country = v
		if v != "US" && v != "CA" {
			f.fail("country", "Value error, only US and CA numbers are available", "value_error")
		}
	}
	areaCode := ""
	if v, ok := f.str("areaCode"); ok {
		areaCode = v
		if !areaCodeRE.MatchString(v) {
			f.fail("areaCode", "String should match pattern '^\\d{3}$'", "string_pattern_mismatch")
		}
	}
	agentID, _ := f.str("agentId")
	if e := f.err(); e != nil {
		return fail(e)
	}
	if areaCode == "" {
		areaCode = map[string]string{"US": "415", "CA": "604"}[country]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if agentID != "" {
		if _, e := s.agentOr404(agentID); e != nil {
			return fail(e)
		}
	}
	if s.activeNumbers() >= s.opts.NumberLimit {
		return fail(conflict("VALIDATION_ERROR_NUMBER_LIMIT", fmt.Sprintf(
			"Number limit reached: this account may hold %d numbers. Release one with DELETE /v1/numbers/{id} first.",
			s.opts.NumberLimit)))
	}
	if s.st.balanceEnforced && s.st.balanceCents < numberPriceCents {
		return fail(newError(http.StatusPaymentRequired, "INSUFFICIENT_BALANCE", fmt.Sprintf(
			"Insufficient balance: a number needs at least $3.00, the balance is $%d.%02d. Add credits and retry.",
			s.st.balanceCents/100, s.st.balanceCents%100)))
	}
	phone, avail := s.pickNumber(country, areaCode)
	if !avail {
		return fail(conflict("NUMBER_UNAVAILABLE", fmt.Sprintf(
			"No %s numbers are available in area code %s; try another area code", country, areaCode)))
	}
	if s.st.balanceEnforced {
		s.st.balanceCents -= numberPriceCents
	}
	st := s.st
	n := &number{seq: st.next(), id: s.ids.id("num_"), phone: phone, country: country, status: "active",
		agentID: agentID, created: s.clock.Now()}
	n.attachSeq = n.seq
	st.numbers[n.id] = n
	return ok(n.view())
}

// pickNumber finds an unused, libphonenumber-valid +1 <area> 555-01xx number in the requested
// country and allocates it. xx skips 30-39 (the simulated iMessage users, IMessagePrefix) and
// 96-99 (the well-known call outcome numbers). Numbers are unique across the master account
// and its sub-accounts, released ones included. Caller holds s.mu.
func (s *Sandbox) pickNumber(country, areaCode string) (string, bool) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	if s.world.phones == nil {
		s.world.phones = map[string]bool{}
	}
	for i := 0; i < 96; i++ {
		if i >= 30 && i <= 39 {
			continue
		}
		cand := fmt.Sprintf("+1%s55501%02d", areaCode, i)
		if s.world.phones[cand] {
			continue
		}
		pn, err := phonenumbers.Parse(cand, country)
		if err != nil || !phonenumbers.IsValidNumber(pn) || phonenumbers.GetRegionCodeForNumber(pn) != country {
			return "", false
		}
		s.world.phones[cand] = true
		return cand, true
	}
	return "", false
}

// numberOr404 finds a number (released ones too). Caller holds s.mu.
func (s *Sandbox) numberOr404(id string) (*number, *apiError) {
	n, found := s.st.numbers[id]
	if !found {
		return nil, notFound("Phone number", id)
	}
	return n, nil
}

func (s *Sandbox) getNumber(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, e := s.numberOr404(r.PathValue("number_id"))
	if e != nil {
		return fail(e)
	}
	return ok(n.view())
}

func (s *Sandbox) releaseNumber(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, e := s.numberOr404(r.PathValue("number_id"))
	if e != nil {
		return fail(e)
	}
	if n.status == "released" {
		return fail(newError(http.StatusNotFound, "PHONE_NUMBER_NOT_FOUND", "Phone number "+n.id+" is already released"))
	}
	n.status = "released"
	n.agentID = ""
	return ok(map[string]any{"success": true, "id": n.id, "phoneNumber": n.phone, "status": n.status})
}

func (s *Sandbox) listNumberMessages(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit := q.integer("limit", 50, 1, 200)
	before, hasBefore := q.timestamp("before")
	after, hasAfter := q.timestamp("after")
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, e := s.numberOr404(r.PathValue("number_id"))
	if e != nil {
		return fail(e)
	}
	var msgs []*message
	for _, m := range s.st.messages {
		if m.numberID == n.id {
			msgs = append(msgs, m)
		}
	}
	page, more := timeWindow(msgs, limit, before, hasBefore, after, hasAfter)
	out := make([]numberMessageView, 0, len(page))
	for _, m := range page {
		out = append(out, m.numberView())
	}
	return ok(map[string]any{"data": out, "hasMore": more})
}

func (s *Sandbox) listNumberCalls(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit, offset := q.page(20, 100)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, e := s.numberOr404(r.PathValue("number_id"))
	if e != nil {
		return fail(e)
	}
	return ok(pageOf(s.callSummaries(func(c *call) bool { return c.numberID == n.id }), limit, offset))
}

// contactCard is the iMessage "Share Name and Photo" card of a number.
type contactCard struct {
	FirstName   *string `json:"firstName"`
	LastName    *string `json:"lastName"`
	DisplayName *string `json:"displayName"`
	HasAvatar   bool    `json:"hasAvatar"`
}

func (s *Sandbox) getContactCard(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, e := s.activeNumberOr404(r.PathValue("number_id"))
	if e != nil {
		return fail(e)
	}
	if n.card == nil {
		return ok(contactCard{})
	}
	return ok(*n.card)
}

func (s *Sandbox) putContactCard(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	card := contactCard{}
	for _, kv := range []struct {
		key string
		dst **string
	}{{"firstName", &card.FirstName}, {"lastName", &card.LastName}, {"displayName", &card.DisplayName}} {
		if v, ok := f.str(kv.key); ok {
			*kv.dst = &v
		}
	}
	if v, ok := f.str("avatarUrl"); ok {
		if !httpsURL(v) {
			f.fail("avatarUrl", "Value error, avatarUrl must be a public https:// URL", "value_error")
		}
		card.HasAvatar = true
	}
	if e := f.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, e := s.activeNumberOr404(r.PathValue("number_id"))
	if e != nil {
		return fail(e)
	}
	n.card = &card
	return ok(card)
}

func (s *Sandbox) deleteContactCard(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, e := s.activeNumberOr404(r.PathValue("number_id"))
	if e != nil {
		return fail(e)
	}
	n.card = nil
	return http.StatusNoContent, nil, nil
}

// activeNumberOr404 finds a number that is not released. Caller holds s.mu.
func (s *Sandbox) activeNumberOr404(id string) (*number, *apiError) {
	n, e := s.numberOr404(id)
	if e != nil {
		return nil, e
	}
	if n.status != "active" {
		return nil, newError(http.StatusNotFound, "PHONE_NUMBER_NOT_FOUND", "Phone number "+id+" is released")
	}
	return n, nil
}

// numberByPhone finds our active number with this E.164. Caller holds s.mu.
func (s *Sandbox) numberByPhone(phone string) *number {
	for _, n := range s.st.numbers {
		if n.phone == phone && n.status == "active" {
			return n
		}
	}
	return nil
}

// normalizePhone turns any phone format into E.164 (default region US).
func normalizePhone(raw string) (string, bool) {
	pn, err := phonenumbers.Parse(raw, "US")
	if err != nil || !phonenumbers.IsPossibleNumber(pn) {
		return "", false
	}
	return phonenumbers.Format(pn, phonenumbers.E164), true
}

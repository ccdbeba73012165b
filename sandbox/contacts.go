package sandbox

import (
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

type contact struct {
	seq     int64
	id      string
	phone   string
	name    string
	email   *string
	notes   *string
	created time.Time
	updated time.Time
}

type contactView struct {
	ID          string  `json:"id"`
	PhoneNumber string  `json:"phoneNumber"`
	Name        string  `json:"name"`
	Email       *string `json:"email"`
	Notes       *string `json:"notes"`
	CreatedAt   string  `json:"createdAt"`
	UpdatedAt   string  `json:"updatedAt"`
}

func (c *contact) view() contactView {
	return contactView{ID: c.id, PhoneNumber: c.phone, Name: c.name, Email: c.email, Notes: c.notes,
		CreatedAt: ts(c.created), UpdatedAt: ts(c.updated)}
}

// contactByPhone finds a saved contact. Caller holds s.mu.
func (s *Sandbox) contactByPhone(phone string) *contact {
	for _, c := range s.st.contacts {
		if c.phone == phone {
			return c
		}
	}
	return nil
}

// contactFields validates the writable fields of a contact body.
type contactFields struct {
	phone, name        string
	hasPhone, hasName  bool
	email, notes       *string
	hasEmail, hasNotes bool
}

func parseContact(f *form, create bool) contactFields {
	var c contactFields
	if create {
		f.require("phoneNumber")
		f.require("name")
	}
	if raw, ok := f.str("phoneNumber"); ok {
		e164, valid := normalizeValid(raw)
		if !valid {
			f.fail("phoneNumber", "Value error, not a valid phone number; use E.164 such as +14155550123", "value_error")
		}
		c.phone, c.hasPhone = e164, valid
	}
	if v, ok := f.str("name"); ok {
		if strings.TrimSpace(v) == "" {
			f.fail("name", "String should have at least 1 character", "string_too_short")
		}
		c.name, c.hasName = v, true
	}
	if f.isNull("email") {
		c.hasEmail = true
	} else if v, ok := f.str("email"); ok {
		if _, err := mail.ParseAddress(v); err != nil || strings.ContainsAny(v, "<> ") {
			f.fail("email", "value is not a valid email address", "value_error")
		}
		c.email, c.hasEmail = &v, true
	}
	if f.isNull("notes") {
		c.hasNotes = true
	} else if v, ok := f.str("notes"); ok {
		c.notes, c.hasNotes = &v, true
	}
	return c
}

// normalizeValid returns the E.164 form of a valid phone number (default region US).
func normalizeValid(raw string) (string, bool) {
	pn, err := phonenumbers.Parse(raw, "US")
	if err != nil || !phonenumbers.IsValidNumber(pn) {
		return "", false
	}
	return phonenumbers.Format(pn, phonenumbers.E164), true
}

func (s *Sandbox) listContacts(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit, offset := q.page(50, 100)
	search, _ := q.raw("search")
	if e := q.err(); e != nil {
		return fail(e)
	}
	needle := strings.ToLower(search)
	s.mu.Lock()
	defer s.mu.Unlock()
	views := []contactView{}
	for _, c := range sortedBySeq(s.st.contacts, func(c *contact) int64 { return c.seq }) {
		if needle == "" || strings.Contains(strings.ToLower(c.name), needle) || strings.Contains(c.phone, needle) {
			views = append(views, c.view())
		}
	}
	return ok(pageOf(views, limit, offset))
}

func (s *Sandbox) createContact(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	in := parseContact(f, true)
	if e := f.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.contactByPhone(in.phone) != nil {
		return fail(conflict("CONTACT_EXISTS", "A contact with phone number "+in.phone+" already exists"))
	}
	now := s.clock.Now()
	c := &contact{seq: s.st.next(), id: s.ids.id("ct_"), phone: in.phone, name: in.name, email: in.email,
		notes: in.notes, created: now, updated: now}
	s.st.contacts[c.id] = c
	return http.StatusCreated, c.view(), nil
}

func (s *Sandbox) contactCapabilities(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	raw, present := q.raw("phone_number")
	if !present || raw == "" {
		q.fail("phone_number", "Field required", "missing")
	}
	if e := q.err(); e != nil {
		return fail(e)
	}
	e164, valid := normalizeValid(raw)
	if !valid {
		return fail(validation(fieldError{Loc: []any{"query", "phone_number"},
			Msg: "Value error, not a valid phone number", Type: "value_error"}))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.activeNumbers() == 0 {
		return fail(badRequest("A capability check needs an active number on the account; buy one with POST /v1/numbers"))
	}
	// SMS reaches every valid phone number; iMessage only its users (see IMessagePrefix).
	return ok(map[string]any{"phoneNumber": e164,
		"capabilities": map[string]bool{"imessage": s.usesIMessage(e164), "sms": true}, "checkedAt": ts(s.clock.Now())})
}

func (s *Sandbox) contactOr404(id string) (*contact, *apiError) {
	c, found := s.st.contacts[id]
	if !found {
		return nil, notFound("Contact", id)
	}
	return c, nil
}

func (s *Sandbox) getContact(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.contactOr404(r.PathValue("contact_id"))
	if e != nil {
		return fail(e)
	}
	return ok(c.view())
}

func (s *Sandbox) updateContact(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	in := parseContact(f, false)
	if e := f.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.contactOr404(r.PathValue("contact_id"))
	if e != nil {
		return fail(e)
	}
	if in.hasPhone && in.phone != c.phone {
		if s.contactByPhone(in.phone) != nil {
			return fail(conflict("CONTACT_EXISTS", "A contact with phone number "+in.phone+" already exists"))
		}
		c.phone = in.phone
	}
	if in.hasName {
		c.name = in.name
	}
	if in.hasEmail {
		c.email = in.email
	}
	if in.hasNotes {
		c.notes = in.notes
	}
	c.updated = s.clock.Now()
	return ok(c.view())
}

func (s *Sandbox) deleteContact(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.contactOr404(r.PathValue("contact_id"))
	if e != nil {
		return fail(e)
	}
	delete(s.st.contacts, c.id)
	return http.StatusNoContent, nil, nil
}

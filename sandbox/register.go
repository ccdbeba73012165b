package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// registration is the A2P 10DLC state (snake_case on the wire).
type registration struct {
	CampaignStatus string  `json:"campaign_status"`
	Message        string  `json:"message"`
	Stage          *string `json:"stage"`
}

const (
	registerLimit  = 5
	registerWindow = time.Hour
)

var (
	useCases = []string{"account_notification", "customer_care", "delivery_notification", "fraud_alert",
		"higher_education", "marketing", "polling_voting", "public_service_announcement", "security_alert",
		"two_factor_authentication"}
	orgTypes      = []string{"sole_proprietor", "private_corporation", "public_corporation", "llc", "partnership", "non_profit", "co_op", "government"}
	contactTitles = []string{"ceo", "cfo", "cto", "coo", "vp", "gm", "director", "other"}
)

func (s *Sandbox) registrationStatus(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(s.st.registration)
}

func (s *Sandbox) register(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	now := s.clock.Now()
	var recent []time.Time
	for _, t := range s.st.registerTimes {
		if now.Sub(t) < registerWindow {
			recent = append(recent, t)
		}
	}
	s.st.registerTimes = recent
	if len(recent) >= registerLimit {
		e := newError(http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED",
			fmt.Sprintf("Rate limit exceeded. Limit: %d requests per %ds", registerLimit, int(registerWindow.Seconds())))
		e.retryAfter = registerWindow - now.Sub(recent[0])
		s.mu.Unlock()
		return fail(e)
	}
	s.st.registerTimes = append(s.st.registerTimes, now)
	s.mu.Unlock()

	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	f.require("registration_type")
	f.enum("registration_type", "sole_proprietor", "standard_brand")
	for _, k := range []string{"first_name", "last_name", "email", "phone_number", "street_address", "city",
		"state", "zip_code", "opt_in_image_url"} {
		f.require(k)
		f.str(k)
	}
	for _, k := range []string{"description", "consent_flow"} {
		f.require(k)
		if v, ok := f.str(k); ok && len([]rune(v)) < 40 {
			f.fail(k, "String should have at least 40 characters", "string_too_short")
		}
	}
	f.require("use_cases")
	if ucs, ok := f.strings("use_cases"); ok {
		if len(ucs) < 1 || len(ucs) > 5 {
			f.fail("use_cases", "List should have between 1 and 5 items", "too_short")
		}
		for _, u := range ucs {
			if !contains(useCases, u) {
				f.fail("use_cases", "Input should be "+enumList(useCases), "enum")
				break
			}
		}
	}
	f.require("message_samples")
	brand, _ := f.str("brand_name")
	if brand == "" {
		brand, _ = f.str("business_name")
	}
	if samples, ok := f.strings("message_samples"); ok {
		if len(samples) < 2 || len(samples) > 5 {
			f.fail("message_samples", "List should have between 2 and 5 items", "too_short")
		}
		for _, m := range samples {
			if n := len([]rune(m)); n < 20 || n > 1024 {
				f.fail("message_samples", "Each sample needs 20-1024 characters", "value_error")
				break
			}
			if brand != "" && !strings.Contains(strings.ToLower(m), strings.ToLower(brand)) {
				f.fail("message_samples", "Value error, every sample must contain the brand name", "value_error")
				break
			}
		}
	}
	f.enum("organization_type", orgTypes...)
	f.enum("contact_title", contactTitles...)
	f.enum("volume", "low", "high")
	if e := f.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	stage := "brand_review"
	s.st.registration = registration{CampaignStatus: "pending", Stage: &stage,
		Message: "Registration submitted; carrier review usually takes a few days (sandbox: stays pending)."}
	msg := s.st.registration.Message
	s.mu.Unlock()
	var sub *string
	if v, present := f.boolean("create_sub_account"); !present || v {
		a := s.master().addSubAccount("A2P registration")
		sub = &a.id
	}
	return ok(map[string]any{"ok": true, "message": msg, "campaign_status": "pending",
		"sub_account_id": sub, "fee_cents": 2500})
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// subAccount shapes are "Any" in the spec; the sandbox uses {id, name, createdAt}.
type subAccount struct {
	seq     int64
	id      string
	name    string
	created time.Time
}

func (a *subAccount) view() map[string]any {
	return map[string]any{"id": a.id, "name": a.name, "createdAt": ts(a.created)}
}

func (s *Sandbox) listSubAccounts(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit, offset := q.page(100, 1000)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	views := []map[string]any{}
	for _, a := range sortedBySeq(s.st.subs, func(a *subAccount) int64 { return a.seq }) {
		views = append(views, a.view())
	}
	return ok(pageOf(views, limit, offset))
}

func (s *Sandbox) createSubAccount(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	f.require("name")
	name, _ := f.str("name")
	if e := f.err(); e != nil {
		return fail(e)
	}
	return ok(s.addSubAccount(name).view())
}

// addSubAccount creates a sub-account of the master account s.
func (s *Sandbox) addSubAccount(name string) *subAccount {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &subAccount{seq: s.st.next(), id: s.ids.id("sub_"), name: name, created: s.clock.Now()}
	s.st.subs[a.id] = a
	return a
}

func (s *Sandbox) updateSubAccount(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	f.require("name")
	name, _ := f.str("name")
	if e := f.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, found := s.st.subs[r.PathValue("sub_account_id")]
	if !found {
		return fail(notFound("Sub-account", r.PathValue("sub_account_id")))
	}
	a.name = name
	return ok(a.view())
}

func (s *Sandbox) deleteSubAccount(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("sub_account_id")
	if _, found := s.st.subs[id]; !found {
		return fail(notFound("Sub-account", id))
	}
	delete(s.st.subs, id)
	s.subMu.Lock()
	delete(s.subBoxes, id) // its resources go with it
	s.subMu.Unlock()
	return ok(map[string]any{"success": true, "id": id})
}

func (s *Sandbox) getLocation(r *http.Request) (int, any, *apiError) {
	raw := r.PathValue("phone_number")
	e164, valid := normalizeValid(raw)
	if !valid {
		return fail(validation(fieldError{Loc: []any{"path", "phone_number"}, Msg: "Value error, not a valid phone number", Type: "value_error"}))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(map[string]any{"phoneNumber": e164, "latitude": nil, "longitude": nil, "status": "unavailable",
		"lastUpdated": s.clock.Now().Unix()})
}

func (s *Sandbox) refreshLocation(r *http.Request) (int, any, *apiError) {
	return ok(map[string]any{"success": true, "pollAfterSeconds": 20})
}

package server

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

// Webhook fields reach the model (listen_call, wait_for_reply, the inbox): before anything
// else reads them, ids are checked against their prefix pattern, numbers normalised to E.164,
// enums against their values. Free text (message bodies, what a caller said, summaries) is
// sanitised and labelled where it is shown.
var (
	idPatterns = map[string]*regexp.Regexp{
		"agentId":        regexp.MustCompile(`^(agt|agent)_[A-Za-z0-9_-]{1,64}$`),
		"numberId":       regexp.MustCompile(`^num_[A-Za-z0-9_-]{1,64}$`),
		"callId":         regexp.MustCompile(`^call_[A-Za-z0-9_-]{1,64}$`),
		"conversationId": regexp.MustCompile(`^conv_[A-Za-z0-9_-]{1,64}$`),
		"messageId":      regexp.MustCompile(`^msg_[A-Za-z0-9_-]{1,64}$`),
	}
	// handle is an iMessage sender that is not a phone number: an email address or a group.
	handle = regexp.MustCompile(`^([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}|grp_[A-Za-z0-9_-]{1,64})$`)
)

// malformedField says which field of a delivery failed its format.
type malformedField struct{ field, why string }

func (m malformedField) Error() string { return fmt.Sprintf("field %s %s", m.field, m.why) }

// validateEvent checks (and normalises in place) the fields of a verified event that tools
// show or key on. It returns a malformedField for the first one that does not fit.
func validateEvent(ev *apiclient.WebhookEvent, region string) error {
	id := func(field, v string, required bool) error {
		if v == "" {
			if required {
				return malformedField{field, "is missing"}
			}
			return nil
		}
		if !idPatterns[field].MatchString(v) {
			return malformedField{field, "is not an id of the expected form"}
		}
		return nil
	}
	party := func(field string, v *string) error {
		if *v == "" {
			return nil
		}
		if n, err := phone.Normalize(*v, region); err == nil {
			*v = n.E164
			return nil
		}
		if handle.MatchString(*v) {
			return nil
		}
		if isShortCode(*v) {
			return nil // a short-code sender (a carrier or service); never dialled
		}
		return malformedField{field, "is not a phone number, an email handle or a group id"}
	}
	direction := func(field string, v apiclient.Direction) error {
		switch v {
		case "", apiclient.DirectionInbound, apiclient.DirectionOutbound, "web":
			return nil
		}
		return malformedField{field, "is not inbound, outbound or web"}
	}
	if err := id("agentId", ev.AgentID, false); err != nil {
		return err
	}
	var errs []error
	switch {
	case ev.Message != nil:
		m := ev.Message
		errs = []error{id("messageId", m.MessageID, false), id("conversationId", m.ConversationID, false), id("numberId", m.NumberID, false),
			party("from", &m.From), party("to", &m.To), direction("direction", m.Direction)}
	case ev.Voice != nil:
		v := ev.Voice
		errs = []error{id("callId", v.CallID, true), id("numberId", v.NumberID, false), party("from", &v.From), party("to", &v.To),
			direction("direction", v.Direction)}
	case ev.CallEnded != nil:
		c := ev.CallEnded
		errs = []error{id("callId", c.CallID, true), id("numberId", c.NumberID, false), party("from", &c.From), party("to", &c.To),
			direction("direction", c.Direction)}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// isShortCode reports 3 to 6 ASCII digits.
func isShortCode(s string) bool {
	if len(s) < 3 || len(s) > 6 {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

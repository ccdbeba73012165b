// Package phone turns an untrusted phone-number string (typically an LLM tool argument) into a
// validated E.164 number, or refuses it with a rule ID the policy engine can act on.
//
// Normalize is the one function every phone-typed field must go through. It never calls the
// (expensive) geocoding functions of github.com/nyaruka/phonenumbers.
package phone

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Type is the kind of a phone number, derived from libphonenumber's number type.
type Type string

// The number types Normalize can report. They mirror phonenumbers.PhoneNumberType.
const (
	TypeFixedLine         Type = "fixed_line"
	TypeMobile            Type = "mobile"
	TypeFixedLineOrMobile Type = "fixed_line_or_mobile"
	TypeTollFree          Type = "toll_free"
	TypePremiumRate       Type = "premium_rate"
	TypeSharedCost        Type = "shared_cost"
	TypeVoIP              Type = "voip"
	TypePersonalNumber    Type = "personal_number"
	TypePager             Type = "pager"
	TypeUAN               Type = "uan"
	TypeVoicemail         Type = "voicemail"
	TypeUnknown           Type = "unknown"
)

// Number is a validated phone number. E164 is the canonical form to send to the API and to show
// in every confirmation preview.
type Number struct {
	E164          string   // "+16502530000"
	International string   // "+1 650-253-0000", for previews
	National      string   // "(650) 253-0000"
	Region        string   // ISO 3166 region such as "US" or "JM"; "001" for non-geographic codes
	CountryCode   int      // calling code, e.g. 1, 44, 881
	Type          Type     // number type; the policy engine decides what each type may do
	Timezones     []string // IANA names; ["Etc/Unknown"] when unknown
}

// Rule IDs carried by *Error. They are the policy engine's deny rule IDs.
const (
	RuleInvalidNumber = "invalid_number"
	RuleEmergency     = "emergency"
	RuleN11           = "n11"
	RuleShortCode     = "short_code"
)

// maxQuotedInput bounds how much of the caller's input is echoed in an error message.
const maxQuotedInput = 40

// Error is returned by Normalize for every refused input. Rule is one of the Rule* constants;
// Input is the argument exactly as received; Reason says what is wrong and what to do.
type Error struct {
	Rule   string
	Input  string
	Reason string
}

// Error returns one sentence naming the (bounded, quoted) input and the reason.
func (e *Error) Error() string {
	return fmt.Sprintf("phone number %s refused (%s): %s", quoteBounded(e.Input, maxQuotedInput), e.Rule, e.Reason)
}

// quoteBounded quotes s after cutting it to at most n runes (marking the cut with "…").
func quoteBounded(s string, n int) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // replaces invalid bytes with U+FFFD
	}
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return strconv.Quote(s)
}

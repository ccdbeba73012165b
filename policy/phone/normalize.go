package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxE164Digits is the most digits (country code included) an E.164 number may have.
const maxE164Digits = 15

// DefaultRegion is used when Normalize is given an empty default region.
const DefaultRegion = "US"

// KnownRegion reports whether code (any case, surrounding spaces ignored) is a region that
// phone numbers use: an ISO 3166 alpha-2 code in phonenumbers' metadata. "001" (non-geographic)
// and unknown codes such as "XX" or "UK" (the code is GB) are not.
func KnownRegion(code string) bool {
	return phonenumbers.GetSupportedRegions()[strings.ToUpper(strings.TrimSpace(code))]
}

// Normalize validates raw (an untrusted phone-number string) and returns it as a Number, or a
// *Error whose Rule is invalid_number, emergency, n11 or short_code. defaultRegion is the ISO
// region assumed for numbers without a leading '+' ("" means "US").
//
// In order: trim and a strict character filter (optional "tel:", '+', Unicode digits, spaces,
// parentheses, dots, dashes; 3 to 32 characters; no letters); no extensions or pauses; the
// emergency check on the raw digits (fixed prefixes, N11 codes, then every region's emergency
// metadata); other short codes; Parse and
// IsValidNumber; no extension after parsing.
func Normalize(raw, defaultRegion string) (Number, error) {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if region == "" {
		region = DefaultRegion
	}
	if !phonenumbers.GetSupportedRegions()[region] {
		return Number{}, &Error{Rule: RuleInvalidNumber, Input: raw,
			Reason: fmt.Sprintf("the default region %s is not a supported ISO 3166 region code (a server configuration error)", quoteBounded(region, 8))}
	}
	fail := func(rule, reason string) (Number, error) {
		return Number{}, &Error{Rule: rule, Input: raw, Reason: reason}
	}

	c, reason := prefilter(raw)
	if reason == lettersReason {
		// A vanity spelling of a crisis or emergency line is that line: refuse it as one.
		if digits, ok := keypadDigits(raw); ok {
			var pe *Error
			if _, err := Normalize(digits, region); errors.As(err, &pe) && pe.Rule == RuleEmergency {
				return fail(RuleEmergency, pe.Reason)
			}
		}
	}
	if reason != "" {
		return fail(RuleInvalidNumber, reason)
	}
	// The fixed emergency prefixes first, then N11 (so that 211/311/511, which Barbados lists
	// as emergency numbers, and "1-411", which starts with Algeria's "14", keep the US meaning
	// the default region gives them), then every region's emergency metadata.
	const emergency = "this is an emergency or crisis number; the server never dials or texts it. Tell the user to dial it themselves from their own phone"
	cands := dialCandidates(c)
	if isEmergencyPrefix(cands) {
		return fail(RuleEmergency, emergency)
	}
	if isN11(c) {
		return fail(RuleN11, "N11 service codes (211, 311, 411, 511, 611, 711, 811) cannot be called or texted through this server; tell the user to dial it themselves")
	}
	if isEmergencyMetadata(cands) {
		return fail(RuleEmergency, emergency)
	}
	if name, ok := crisisTextLines[c.digits]; ok && !c.plus {
		return fail(RuleEmergency, crisisReason(name))
	}
	if n := len(c.digits); n < 3 {
		return fail(RuleInvalidNumber, "the number is too short; give the full number in E.164 form such as +14155550123")
	} else if n <= maxEmergencyDigits {
		return fail(RuleShortCode, "short codes (3 to 6 digits) cannot be called or texted through this server; give a full phone number")
	}

	num, err := phonenumbers.Parse(c.text, region)
	if err != nil {
		return fail(RuleInvalidNumber, parseReason(err))
	}
	// IsValidNumber is exactly "the number's type is known" (both find the region the same
	// way and match the same metadata): one look-up serves both.
	typ := phonenumbers.GetNumberType(num)
	valid := typ != phonenumbers.UNKNOWN
	if !valid && phonenumbers.IsValidShortNumber(num) {
		return fail(RuleShortCode, "this is a short code, not a full phone number; short codes cannot be called or texted through this server")
	}
	if !valid {
		return fail(RuleInvalidNumber, invalidReason(num, region, c.plus))
	}
	if e164 := phonenumbers.Format(num, phonenumbers.E164); len(e164) > maxE164Digits+1 {
		// libphonenumber accepts some national numbers (e.g. German) longer than E.164 allows.
		return fail(RuleInvalidNumber, fmt.Sprintf("the number has %d digits; E.164 allows at most %d including the country code", len(e164)-1, maxE164Digits))
	}
	if num.GetExtension() != "" {
		return fail(RuleInvalidNumber, "extensions are not supported; give only the main number")
	}
	n := toNumber(num, typ)
	if name, ok := crisisLines[n.E164]; ok {
		return fail(RuleEmergency, crisisReason(name))
	}
	return n, nil
}

// toNumber builds the Number for a parsed, valid phone number.
func toNumber(num *phonenumbers.PhoneNumber, typ phonenumbers.PhoneNumberType) Number {
	tz, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil || len(tz) == 0 {
		tz = []string{phonenumbers.UNKNOWN_TIMEZONE}
	}
	return Number{
		E164:          phonenumbers.Format(num, phonenumbers.E164),
		International: phonenumbers.Format(num, phonenumbers.INTERNATIONAL),
		National:      phonenumbers.Format(num, phonenumbers.NATIONAL),
		Region:        phonenumbers.GetRegionCodeForNumber(num),
		CountryCode:   int(num.GetCountryCode()),
		Type:          typeOf(typ),
		Timezones:     append([]string(nil), tz...),
	}
}

// typeOf maps libphonenumber's number type to Type.
func typeOf(t phonenumbers.PhoneNumberType) Type {
	switch t {
	case phonenumbers.FIXED_LINE:
		return TypeFixedLine
	case phonenumbers.MOBILE:
		return TypeMobile
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return TypeFixedLineOrMobile
	case phonenumbers.TOLL_FREE:
		return TypeTollFree
	case phonenumbers.PREMIUM_RATE:
		return TypePremiumRate
	case phonenumbers.SHARED_COST:
		return TypeSharedCost
	case phonenumbers.VOIP:
		return TypeVoIP
	case phonenumbers.PERSONAL_NUMBER:
		return TypePersonalNumber
	case phonenumbers.PAGER:
		return TypePager
	case phonenumbers.UAN:
		return TypeUAN
	case phonenumbers.VOICEMAIL:
		return TypeVoicemail
	default:
		return TypeUnknown
	}
}

// parseReason explains a phonenumbers.Parse error.
func parseReason(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "the country calling code is not valid; give the number in E.164 form such as +14155550123"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "the number is too short; give the full number in E.164 form such as +14155550123"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "the number is too long; give only the number in E.164 form such as +14155550123"
	default:
		return "this is not a phone number; give the full number in E.164 form such as +14155550123"
	}
}

// invalidReason explains why a parsed number is not valid.
func invalidReason(num *phonenumbers.PhoneNumber, defaultRegion string, plus bool) string {
	where := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
	if where == "" || where == "ZZ" || where == "001" {
		where = fmt.Sprintf("country code +%d", num.GetCountryCode())
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return fmt.Sprintf("+%d is not a valid country calling code", num.GetCountryCode())
	case phonenumbers.TOO_SHORT:
		return fmt.Sprintf("the number is too short for %s; check the digits", where)
	case phonenumbers.TOO_LONG:
		return fmt.Sprintf("the number is too long for %s; check the digits", where)
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY, phonenumbers.INVALID_LENGTH:
		return fmt.Sprintf("the number has the wrong length for %s; give the full number with its area code in E.164 form", where)
	default:
		hint := ""
		if !plus {
			hint = fmt.Sprintf(" (numbers without '+' are read as %s numbers; international numbers need the '+' and country code)", defaultRegion)
		}
		return fmt.Sprintf("the digits are not a valid number for %s%s", where, hint)
	}
}

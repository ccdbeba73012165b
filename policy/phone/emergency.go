package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxEmergencyDigits is the longest digit string checked against emergency metadata; full-length
// numbers are handled by IsValidNumber and the number-type rules.
const maxEmergencyDigits = 6

// hasEmergencyPrefix reports whether d equals or starts with a string that reaches emergency or
// crisis services somewhere even when a region's metadata does not say so (988 is the US crisis
// line, 933 the US 911 address test).
func hasEmergencyPrefix(d string) bool {
	for _, p := range [...]string{"911", "112", "999", "000", "110", "119", "988", "933"} {
		if strings.HasPrefix(d, p) {
			return true
		}
	}
	return false
}

// candidate is a digit string as it might be dialled locally, with the regions to test it in
// (nil means every region with short-number metadata).
type candidate struct {
	digits     string
	regions    []string
	prefixOnly bool // test only hasEmergencyPrefix, not the metadata
}

// dialCandidates lists the local dial strings an input could amount to: the digits themselves,
// the digits after a NANP "1" trunk prefix, and for international input ("+", "00", "011") the
// digits after each possible country calling code, tested only in that code's regions.
func dialCandidates(c cleaned) []candidate {
	var out []candidate
	d := c.digits
	intl := ""
	switch {
	case c.plus:
		intl = d
	case strings.HasPrefix(d, "011"):
		intl = d[3:]
	case strings.HasPrefix(d, "00"):
		intl = d[2:]
	}
	if !c.plus {
		out = append(out, candidate{digits: d})
		if strings.HasPrefix(d, "1") && len(d) > 3 {
			out = append(out, candidate{digits: d[1:], regions: phonenumbers.GetRegionCodesForCountryCode(1)})
		}
	}
	for k := 1; k <= 3 && k < len(intl); k++ {
		cc := 0
		for _, b := range intl[:k] {
			cc = cc*10 + int(b-'0')
		}
		regions := phonenumbers.GetRegionCodesForCountryCode(cc)
		if len(regions) == 0 || (len(regions) == 1 && regions[0] == "ZZ") {
			continue
		}
		out = append(out, candidate{digits: intl[k:], regions: regions})
	}
	if c.plus {
		// "+911" and the like: a careless dialler could key in the digits after '+'. Only the
		// fixed prefixes apply here: "+1 411" must not match Algeria's "14".
		out = append(out, candidate{digits: d, prefixOnly: true})
	}
	return out
}

// isEmergencyPrefix reports whether any local reading of the input equals or starts with one of
// the fixed emergency and crisis prefixes (911, 112, 999, 000, 110, 119, 988, 933).
func isEmergencyPrefix(cands []candidate) bool {
	for _, cand := range cands {
		if d := cand.digits; d != "" && len(d) <= maxEmergencyDigits && hasEmergencyPrefix(d) {
			return true
		}
	}
	return false
}

// isEmergencyMetadata reports whether any local reading of the input is, or starts with, an
// emergency number in the short-number metadata of a region it could be dialled in (every
// region for national-format input).
func isEmergencyMetadata(cands []candidate) bool {
	for _, cand := range cands {
		d := cand.digits
		if d == "" || len(d) > maxEmergencyDigits || cand.prefixOnly {
			continue
		}
		if cand.regions != nil {
			for _, r := range cand.regions {
				if phonenumbers.ConnectsToEmergencyNumber(d, r) {
					return true
				}
			}
			continue
		}
		// GetSupportedRegions returns the library's own map: read it, never modify it.
		for r := range phonenumbers.GetSupportedRegions() {
			if phonenumbers.ConnectsToEmergencyNumber(d, r) {
				return true
			}
		}
	}
	return false
}

// isN11 reports whether the input is a North American N11 service code ([2-9]11), with or
// without a 1 / +1 prefix.
func isN11(c cleaned) bool {
	d := c.digits
	if len(d) == 4 && d[0] == '1' {
		d = d[1:]
	}
	return len(d) == 3 && d[0] >= '2' && d[0] <= '9' && d[1:] == "11"
}

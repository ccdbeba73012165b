package phone

import (
	"errors"
	"strings"
	"testing"
)

// normCase is one Normalize input and its expected outcome: either E164 (and optionally Region
// and Type), or a refusal with Rule.
type normCase struct {
	name, in, region string
	e164             string
	rule             string
	wantRegion       string
	wantType         Type
}

var normCases = []normCase{
	// formats (§1.3)
	{name: "plain 10 digits", in: "6502530000", e164: "+16502530000", wantRegion: "US", wantType: TypeFixedLineOrMobile},
	{name: "parens", in: "(650) 253-0000", e164: "+16502530000"},
	{name: "trunk 1 with spaces", in: "1 650 253 0000", e164: "+16502530000"},
	{name: "dots", in: "650.253.0000", e164: "+16502530000"},
	{name: "dashes", in: "650-253-0000", e164: "+16502530000"},
	{name: "E.164", in: "+16502530000", e164: "+16502530000"},
	{name: "plus formatted", in: "+1 (650) 253-0000", e164: "+16502530000"},
	{name: "surrounding whitespace", in: "  \t+1 650 253 0000\n ", e164: "+16502530000"},
	{name: "nbsp separators", in: "650\u00a0253\u00a00000", e164: "+16502530000"},
	{name: "tel URI", in: "tel:+1-650-253-0000", e164: "+16502530000"},
	{name: "TEL URI upper case", in: "TEL:+16502530000", e164: "+16502530000"},
	{name: "full-width digits", in: "６５０２５３００００", e164: "+16502530000"},
	{name: "full-width plus", in: "＋１６５０２５３００００", e164: "+16502530000"},
	{name: "Arabic-Indic digits", in: "٦٥٠٢٥٣٠٠٠٠", e164: "+16502530000"},
	{name: "Extended Arabic-Indic digits", in: "۶۵۰۲۵۳۰۰۰۰", e164: "+16502530000"},
	{name: "Devanagari digits", in: "६५०२५३००००", e164: "+16502530000"},
	{name: "fictional 555-01xx is valid", in: "+1 212 555 0123", e164: "+12125550123", wantRegion: "US"},
	{name: "toll free", in: "+1 800 555 1234", e164: "+18005551234", wantType: TypeTollFree},
	{name: "premium rate US (engine denies)", in: "+1 900 200 1234", e164: "+19002001234", wantType: TypePremiumRate},
	{name: "personal 5XX", in: "+1 500 555 1234", e164: "+15005551234", wantType: TypePersonalNumber},
	{name: "Canada", in: "+1 416 555 0199", e164: "+14165550199", wantRegion: "CA"},
	{name: "Jamaica behind +1", in: "+1 876 555 1234", e164: "+18765551234", wantRegion: "JM"},
	{name: "Jamaica national", in: "876 555 1234", e164: "+18765551234", wantRegion: "JM"},
	{name: "Antigua", in: "+1 268 464 1234", e164: "+12684641234", wantRegion: "AG"},
	{name: "Dominican Republic", in: "+1 809 555 1234", e164: "+18095551234", wantRegion: "DO"},
	{name: "Puerto Rico", in: "+1 787 555 1234", e164: "+17875551234", wantRegion: "PR"},
	{name: "GB London", in: "+44 20 7946 0958", e164: "+442079460958", wantRegion: "GB", wantType: TypeFixedLine},
	{name: "GB mobile", in: "+44 7400 123456", e164: "+447400123456", wantRegion: "GB", wantType: TypeMobile},
	{name: "GB premium", in: "+44 909 879 0000", e164: "+449098790000", wantType: TypePremiumRate},
	{name: "GB drama range invalid", in: "+44 7700 900123", rule: RuleInvalidNumber},
	{name: "GB national with region GB", in: "020 7946 0958", region: "GB", e164: "+442079460958"},
	{name: "GB region lower case", in: "020 7946 0958", region: "gb", e164: "+442079460958"},
	{name: "DE Berlin", in: "+49 30 901820", e164: "+4930901820", wantRegion: "DE", wantType: TypeFixedLine},
	{name: "DE national with region DE", in: "030 901820", region: "DE", e164: "+4930901820"},
	{name: "FR", in: "+33 1 23 45 67 89", e164: "+33123456789", wantRegion: "FR"},
	{name: "JP", in: "+81 3 1234 5678", e164: "+81312345678", wantRegion: "JP"},
	{name: "LV premium", in: "+371 9000 0000", e164: "+37190000000", wantType: TypePremiumRate},
	{name: "Niue 4-digit subscriber", in: "+683 4002", e164: "+6834002", wantRegion: "NU"},
	{name: "Saint Helena", in: "+290 22222", e164: "+29022222", wantRegion: "SH"},
	{name: "satellite Iridium", in: "+881 2 1234 5678", e164: "+881212345678", wantRegion: "001", wantType: TypeMobile},
	{name: "satellite Inmarsat", in: "+870 773 111 632", e164: "+870773111632", wantRegion: "001"},
	{name: "IPRS 979", in: "+979 123456789", e164: "+979123456789", wantRegion: "001", wantType: TypePremiumRate},
	{name: "global 882 invalid", in: "+882 1234 5678", rule: RuleInvalidNumber},
	{name: "US IDD 011", in: "011 44 20 7946 0958", e164: "+442079460958", wantRegion: "GB"},
	{name: "00 is not the US IDD", in: "00 44 20 7946 0958", rule: RuleInvalidNumber},
	{name: "00 is the GB IDD", in: "00 1 650 253 0000", region: "GB", e164: "+16502530000"},

	// extensions and pauses
	{name: "ext. 911", in: "+16502530000 ext. 911", rule: RuleInvalidNumber},
	{name: "x123", in: "650-253-0000 x123", rule: RuleInvalidNumber},
	{name: "X upper", in: "650-253-0000X123", rule: RuleInvalidNumber},
	{name: "tel ext param", in: "tel:+1-650-253-0000;ext=123", rule: RuleInvalidNumber},
	{name: "phone-context", in: "tel:253-0000;phone-context=+1-650", rule: RuleInvalidNumber},
	{name: "hash", in: "6502530000#123", rule: RuleInvalidNumber},
	{name: "comma pause", in: "6502530000,,123", rule: RuleInvalidNumber},
	{name: "p pause", in: "6502530000p123", rule: RuleInvalidNumber},
	{name: "w wait", in: "6502530000w123", rule: RuleInvalidNumber},

	// letters and other characters
	{name: "sentence", in: "call me at 650 253 0000 please", rule: RuleInvalidNumber},
	{name: "vanity", in: "1-800-FLOWERS", rule: RuleInvalidNumber},
	{name: "vanity mixed", in: "+1 800 356 9377A", rule: RuleInvalidNumber},
	{name: "Cyrillic letter", in: "+1 650 253 000О", rule: RuleInvalidNumber},
	{name: "star code", in: "*67 650 253 0000", rule: RuleInvalidNumber},
	{name: "slash", in: "650/253/0000", rule: RuleInvalidNumber},
	{name: "inner plus", in: "1+650 253 0000", rule: RuleInvalidNumber},
	{name: "double plus", in: "++16502530000", rule: RuleInvalidNumber},
	{name: "RTL override", in: "+1650\u202e2530000", rule: RuleInvalidNumber},
	{name: "zero width space", in: "+1650\u200b2530000", rule: RuleInvalidNumber},
	{name: "newline inside", in: "+1650\n2530000", rule: RuleInvalidNumber},
	{name: "empty", in: "", rule: RuleInvalidNumber},
	{name: "whitespace only", in: " \t\n ", rule: RuleInvalidNumber},
	{name: "plus alone", in: "+", rule: RuleInvalidNumber},
	{name: "tel alone", in: "tel:", rule: RuleInvalidNumber},
	{name: "punctuation only", in: "(-.)", rule: RuleInvalidNumber},
	{name: "33 chars", in: "+1 650 253 0000 0000 0000 0000 00", rule: RuleInvalidNumber},
	{name: "250+ chars", in: strings.Repeat("6502530000", 26), rule: RuleInvalidNumber},
	{name: "invalid UTF-8", in: "+1650253\xff0000", rule: RuleInvalidNumber},

	// emergency (any region) and crisis lines
	{name: "911", in: "911", rule: RuleEmergency},
	{name: "9-1-1", in: "9-1-1", rule: RuleEmergency},
	{name: "+1911", in: "+1911", rule: RuleEmergency},
	{name: "1-911", in: "1-911", rule: RuleEmergency},
	{name: "+1 (911)", in: "+1 (911)", rule: RuleEmergency},
	{name: "+911", in: "+911", rule: RuleEmergency},
	{name: "9111 connects", in: "9111", rule: RuleEmergency},
	{name: "112", in: "112", rule: RuleEmergency},
	{name: "999", in: "999", rule: RuleEmergency},
	{name: "+44 999", in: "+44 999", rule: RuleEmergency},
	{name: "000", in: "000", rule: RuleEmergency},
	{name: "110", in: "110", rule: RuleEmergency},
	{name: "119", in: "119", rule: RuleEmergency},
	{name: "988", in: "988", rule: RuleEmergency},
	{name: "1-988", in: "1-988", rule: RuleEmergency},
	{name: "933", in: "933", rule: RuleEmergency},
	{name: "FR 15 spaced", in: "1 5", rule: RuleEmergency},
	{name: "FR 17 with +33", in: "+33 17", rule: RuleEmergency},
	{name: "ZA 10111", in: "10111", rule: RuleEmergency},
	{name: "911 in full-width", in: "９１１", rule: RuleEmergency},
	{name: "911 as tel URI", in: "tel:911", rule: RuleEmergency},
	{name: "112 with default region DE", in: "112", region: "DE", rule: RuleEmergency},
	{name: "116 prefix (emergency somewhere)", in: "116123", rule: RuleEmergency},
	{name: "12xx prefix (emergency somewhere)", in: "1234", rule: RuleEmergency},

	// N11
	// 211, 311 and 511 are also emergency numbers in Barbados; the N11 check runs before the
	// metadata scan so they keep their US meaning (both rules deny).
	{name: "211", in: "211", rule: RuleN11},
	{name: "311", in: "311", rule: RuleN11},
	{name: "511", in: "511", rule: RuleN11},
	{name: "411", in: "411", rule: RuleN11},
	{name: "611", in: "611", rule: RuleN11},
	{name: "711", in: "711", rule: RuleN11},
	{name: "811", in: "811", rule: RuleN11},
	{name: "1-411", in: "1-411", rule: RuleN11},
	{name: "+1 411", in: "+1 411", rule: RuleN11},
	{name: "+1 (711)", in: "+1 (711)", rule: RuleN11},

	// short codes
	{name: "short code 33669", in: "33669", rule: RuleShortCode},
	{name: "premium short code 24280", in: "24280", rule: RuleShortCode},
	{name: "6-digit short code", in: "872222", rule: RuleShortCode},
	{name: "4-digit", in: "4567", rule: RuleShortCode},
	{name: "3-digit", in: "456", rule: RuleShortCode},
	{name: "GB 116 helpline via +44", in: "+44 116 123", rule: RuleShortCode},

	// invalid after parsing
	{name: "two digits", in: "(42)", rule: RuleInvalidNumber},
	{name: "too short +1", in: "+1 650 253 000", rule: RuleInvalidNumber},
	{name: "too long +1", in: "+1 650 253 00000", rule: RuleInvalidNumber},
	{name: "7-digit local", in: "253-0000", rule: RuleInvalidNumber},
	{name: "9 digits", in: "123456789", rule: RuleInvalidNumber},
	{name: "N11 area code", in: "+1 911 555 1234", rule: RuleInvalidNumber},
	{name: "456 NPA", in: "+1 456 555 1234", rule: RuleInvalidNumber},
	{name: "700 NPA", in: "+1 700 555 1234", rule: RuleInvalidNumber},
	{name: "area code starting 0", in: "+1 050 253 0000", rule: RuleInvalidNumber},
	{name: "valid for DE but over 15 digits", in: "+4920100000000000", rule: RuleInvalidNumber},
	{name: "invalid country code 999", in: "+999 1234 5678", rule: RuleInvalidNumber},
	{name: "country code 0", in: "+0 650 253 0000", rule: RuleInvalidNumber},
	{name: "unknown default region", in: "6502530000", region: "XX", rule: RuleInvalidNumber},
	{name: "default region 001 is not a region", in: "6502530000", region: "001", rule: RuleInvalidNumber},
}

func TestNormalizeTable(t *testing.T) {
	t.Parallel()
	if len(normCases) < 80 {
		t.Fatalf("table has %d cases, want at least 80", len(normCases))
	}
	for _, tc := range normCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			region := tc.region
			if region == "" {
				region = "US"
			}
			got, err := Normalize(tc.in, region)
			if tc.rule != "" {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("Normalize(%q) = %+v, %v; want *Error rule %s", tc.in, got, err, tc.rule)
				}
				if pe.Rule != tc.rule {
					t.Fatalf("Normalize(%q) rule = %s (%s); want %s", tc.in, pe.Rule, pe.Reason, tc.rule)
				}
				if pe.Input != tc.in {
					t.Errorf("Error.Input = %q, want the raw input %q", pe.Input, tc.in)
				}
				if pe.Reason == "" {
					t.Error("Error.Reason is empty")
				}
				if got.E164 != "" {
					t.Errorf("refused input returned a Number with E164 %q", got.E164)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%q) error: %v; want %s", tc.in, err, tc.e164)
			}
			if got.E164 != tc.e164 {
				t.Errorf("E164 = %q, want %q", got.E164, tc.e164)
			}
			if tc.wantRegion != "" && got.Region != tc.wantRegion {
				t.Errorf("Region = %q, want %q", got.Region, tc.wantRegion)
			}
			if tc.wantType != "" && got.Type != tc.wantType {
				t.Errorf("Type = %q, want %q", got.Type, tc.wantType)
			}
			checkNumber(t, got)
		})
	}
}

// checkNumber asserts the invariants every returned Number has.
func checkNumber(t *testing.T, n Number) {
	t.Helper()
	if !e164Pattern(n.E164) {
		t.Errorf("E164 %q does not match ^\\+[1-9]\\d{1,14}$", n.E164)
	}
	if n.CountryCode <= 0 || !strings.HasPrefix(n.E164[1:], itoa(n.CountryCode)) {
		t.Errorf("CountryCode %d does not prefix %s", n.CountryCode, n.E164)
	}
	if n.Region == "" || n.International == "" || n.National == "" || n.Type == "" {
		t.Errorf("incomplete Number: %+v", n)
	}
	if len(n.Timezones) == 0 {
		t.Errorf("no timezones for %s", n.E164)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// e164Pattern reports whether s matches ^\+[1-9]\d{1,14}$.
func e164Pattern(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func TestNormalizeDetails(t *testing.T) {
	t.Parallel()
	n, err := Normalize("(650) 253-0000", "")
	if err != nil {
		t.Fatal(err)
	}
	want := Number{E164: "+16502530000", International: "+1 650-253-0000", National: "(650) 253-0000",
		Region: "US", CountryCode: 1, Type: TypeFixedLineOrMobile, Timezones: []string{"America/Los_Angeles"}}
	if n.E164 != want.E164 || n.International != want.International || n.National != want.National ||
		n.Region != want.Region || n.CountryCode != want.CountryCode || n.Type != want.Type ||
		len(n.Timezones) != 1 || n.Timezones[0] != want.Timezones[0] {
		t.Fatalf("got %+v, want %+v", n, want)
	}
	sat, err := Normalize("+881 2 1234 5678", "US")
	if err != nil {
		t.Fatal(err)
	}
	if len(sat.Timezones) != 1 || sat.Timezones[0] != "Etc/Unknown" {
		t.Errorf("satellite timezones = %v, want [Etc/Unknown]", sat.Timezones)
	}
	tf, err := Normalize("+1 800 555 1234", "US")
	if err != nil {
		t.Fatal(err)
	}
	if len(tf.Timezones) < 10 {
		t.Errorf("toll-free has %d timezones, want many (quiet hours must intersect them)", len(tf.Timezones))
	}
	// The returned slice is the caller's own: changing it must not affect later results.
	tf.Timezones[0] = "Mars/Olympus"
	tf2, _ := Normalize("+1 800 555 1234", "US")
	if tf2.Timezones[0] == "Mars/Olympus" {
		t.Error("Timezones aliases library state")
	}
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		contains []string
		excludes []string
	}{
		{in: "1-800-FLOWERS", contains: []string{`"1-800-FLOWERS"`, "letters are not allowed", "type the digits"}},
		{in: "650-253-0000 x123", contains: []string{"extensions and pauses", "not supported"}},
		{in: "911", contains: []string{"emergency", "dial it themselves"}},
		{in: "411", contains: []string{"(n11)"}},
		{in: "33669", contains: []string{"(short_code)"}},
		{in: "+1 650 253 000", contains: []string{"too short"}},
		{in: "+1 650 253 00000", contains: []string{"too long"}},
		{in: "+999 1234 5678", contains: []string{"country calling code"}},
		{in: "+1 456 555 1234", contains: []string{"not a valid number for US"}},
		{in: "876 555 123", contains: []string{"too short"}},
		{in: "+44 7700 900123", contains: []string{"not a valid number for GB"}, excludes: []string{"read as US"}},
		{in: "7700 900123", contains: []string{"read as US numbers"}},
		{in: strings.Repeat("6", 300), contains: []string{`"` + strings.Repeat("6", 40) + `…"`, "too long"},
			excludes: []string{strings.Repeat("6", 41)}},
		{in: "+1650\u202e2530000", contains: []string{`\u202e`}, excludes: []string{"\u202e"}},
	}
	for _, tc := range tests {
		_, err := Normalize(tc.in, "US")
		if err == nil {
			t.Errorf("Normalize(%q) succeeded, want an error", tc.in)
			continue
		}
		msg := err.Error()
		for _, s := range tc.contains {
			if !strings.Contains(msg, s) {
				t.Errorf("Normalize(%q) error %q does not contain %q", tc.in, msg, s)
			}
		}
		for _, s := range tc.excludes {
			if strings.Contains(msg, s) {
				t.Errorf("Normalize(%q) error %q contains %q", tc.in, msg, s)
			}
		}
	}
}

func TestDigitValue(t *testing.T) {
	t.Parallel()
	for _, zero := range []rune{'0', '０', '٠', '۰', '०', '০', '𝟎', '𝟘', '𝟶'} {
		for i := rune(0); i < 10; i++ {
			if got := digitValue(zero + i); got != byte('0'+i) {
				t.Errorf("digitValue(%q) = %q, want %q", zero+i, got, '0'+i)
			}
		}
	}
}

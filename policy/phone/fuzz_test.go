package phone

import (
	"errors"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func FuzzNormalize(f *testing.F) {
	for _, tc := range normCases {
		f.Add(tc.in, tc.region)
	}
	f.Add("tel:+1-650-253-0000;phone-context=tel:", "US")
	f.Add("+٦٥٠٢٥٣٠٠٠٠", "")
	f.Fuzz(func(t *testing.T, raw, region string) {
		n, err := Normalize(raw, region)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *Error", err)
			}
			switch pe.Rule {
			case RuleInvalidNumber, RuleEmergency, RuleN11, RuleShortCode:
			default:
				t.Fatalf("unknown rule %q", pe.Rule)
			}
			if pe.Input != raw {
				t.Fatalf("Input %q != raw %q", pe.Input, raw)
			}
			_ = pe.Error()
			return
		}
		if !e164Pattern(n.E164) {
			t.Fatalf("E164 %q does not match ^\\+[1-9]\\d{1,14}$ (input %q)", n.E164, raw)
		}
		p, perr := phonenumbers.Parse(n.E164, "ZZ")
		if perr != nil {
			t.Fatalf("E164 %q does not parse: %v", n.E164, perr)
		}
		if !phonenumbers.IsValidNumber(p) {
			t.Fatalf("Normalize(%q) returned invalid number %q", raw, n.E164)
		}
		if p.GetExtension() != "" {
			t.Fatalf("Normalize(%q) returned a number with an extension", raw)
		}
		if len(n.Timezones) == 0 || n.Region == "" || n.Type == "" {
			t.Fatalf("incomplete Number %+v", n)
		}
	})
}

package phone

import (
	"errors"
	"strings"
	"testing"
)

// TestCrisisLinesDenied: lifelines and helplines are refused as emergency numbers in every
// spelling, never merely confirmed.
func TestCrisisLinesDenied(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"988", "1-988", "+1 988",
		"1-800-273-8255", "(800) 273-8255", "+1 800 273 8255", "18002738255", "1-800-273-TALK", "1 800 273 talk",
		"1-800-222-1222", "+1 (800) 222-1222",
		"741741", "838255", "88788", "233733", "45645", "686868",
		"1-800-799-7233", "1-800-799-SAFE", "1-888-373-7888", "1-800-662-HELP", "1-866-488-7386", "877-565-8860",
		"1-833-456-4566", "1-800-668-6868", "1-855-242-3310", "1-844-764-7669", "1-866-277-3553", "1-866-APPELLE",
		"１８００２７３８２５５", // full-width digits
	} {
		_, err := Normalize(in, "US")
		var pe *Error
		if !errors.As(err, &pe) || pe.Rule != RuleEmergency {
			t.Errorf("Normalize(%q) = %v, want rule emergency", in, err)
			continue
		}
		if strings.Contains(in, "800") && !strings.Contains(pe.Reason, "line") {
			t.Errorf("Normalize(%q): the reason should name the line: %s", in, pe.Reason)
		}
	}
	// Other toll-free numbers and vanity numbers of ordinary businesses are not crisis lines.
	if _, err := Normalize("1-800-273-8256", "US"); err != nil {
		t.Errorf("a neighbouring toll-free number was refused: %v", err)
	}
	var pe *Error
	if _, err := Normalize("1-800-FLOWERS", "US"); !errors.As(err, &pe) || pe.Rule != RuleInvalidNumber {
		t.Errorf("an ordinary vanity number: %v, want invalid_number", err)
	}
	for e164 := range crisisLines {
		if _, err := Normalize(e164, "CA"); !errors.As(err, &pe) || pe.Rule != RuleEmergency {
			t.Errorf("%s dialled from Canada: %v", e164, err)
		}
	}
}

package phone

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestValidIsKnownType checks what Normalize relies on: libphonenumber's IsValidNumber is
// exactly "GetNumberType is not UNKNOWN", for every region's example numbers of every type
// and for those numbers one digit shorter or longer (mostly invalid).
func TestValidIsKnownType(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	checked := 0
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			e164 := phonenumbers.Format(ex, phonenumbers.E164)
			for _, s := range []string{e164, e164[:len(e164)-1], e164 + "7"} {
				num, err := phonenumbers.Parse(s, region)
				if err != nil {
					continue
				}
				checked++
				if valid, known := phonenumbers.IsValidNumber(num), phonenumbers.GetNumberType(num) != phonenumbers.UNKNOWN; valid != known {
					t.Errorf("%s (%s): IsValidNumber %v, type known %v", s, region, valid, known)
				}
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d numbers checked", checked)
	}
}

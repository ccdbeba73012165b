package text

import (
	"strings"
	"testing"
)

func TestSMS(t *testing.T) {
	t.Parallel()
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name       string
		body       string
		enc        string
		segments   int
		units      int
		characters int
	}{
		{"empty", "", EncodingGSM7, 0, 0, 0},
		{"one char", "a", EncodingGSM7, 1, 1, 1},
		{"160 a", a(160), EncodingGSM7, 1, 160, 160},
		{"161 a", a(161), EncodingGSM7, 2, 161, 161},
		{"306 a", a(306), EncodingGSM7, 2, 306, 306},
		{"307 a", a(307), EncodingGSM7, 3, 307, 307},
		{"80 euro", strings.Repeat("€", 80), EncodingGSM7, 1, 160, 80},
		{"81 euro", strings.Repeat("€", 81), EncodingGSM7, 2, 162, 81},
		{"69a + é stays GSM", a(69) + "é", EncodingGSM7, 1, 70, 70},
		{"69a + ç is UCS-2", a(69) + "ç", EncodingUCS2, 1, 70, 70},
		{"Ç is GSM", "Ça va", EncodingGSM7, 1, 5, 5},
		{"70a + smart quote", a(70) + "’", EncodingUCS2, 2, 71, 71},
		{"68a + emoji", a(68) + "😀", EncodingUCS2, 1, 70, 69},
		{"134a + emoji", a(134) + "😀", EncodingUCS2, 3, 136, 135},
		{"66a + emoji + 66a needs 3 parts (134 units)", a(66) + "😀" + a(66), EncodingUCS2, 3, 134, 133},
		{"form feed counts 2", "\f", EncodingGSM7, 1, 2, 1},
		{"extension chars count 2", "^{}\\[~]|", EncodingGSM7, 1, 16, 8},
		{"escape pair not split across parts", a(152) + "€" + a(10), EncodingGSM7, 2, 164, 163},
		{"152a + € + 152a needs 3 parts (306 units)", a(152) + "€" + a(152), EncodingGSM7, 3, 306, 305},
		{"grave accent is not GSM", "`", EncodingUCS2, 1, 1, 1},
		{"tab is not GSM", "a\tb", EncodingUCS2, 1, 3, 3},
		{"newline and CR are GSM", "a\r\nb", EncodingGSM7, 1, 4, 4},
		{"GSM Greek", "ΔΦΓΛΩΠΨΣΘΞ", EncodingGSM7, 1, 10, 10},
		{"lowercase greek is not GSM", "α", EncodingUCS2, 1, 1, 1},
		{"invalid UTF-8 forces UCS-2", "a\xffb", EncodingUCS2, 1, 3, 3},
		{"1600 GSM is 11 parts", a(1600), EncodingGSM7, 11, 1600, 1600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := SMS(tc.body)
			want := SMSInfo{Encoding: tc.enc, Segments: tc.segments, Units: tc.units, Characters: tc.characters}
			if got != want {
				t.Errorf("SMS(%.20q…) = %+v, want %+v", tc.body, got, want)
			}
		})
	}
}

func BenchmarkSMS(b *testing.B) {
	body := strings.Repeat("Your appointment is confirmed for 10:30 tomorrow. ", 6) + "😀"
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = SMS(body)
	}
}

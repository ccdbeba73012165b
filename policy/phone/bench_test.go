package phone

import "testing"

func BenchmarkNormalize(b *testing.B) {
	inputs := []struct{ name, in string }{
		{"us_formatted", "(650) 253-0000"},
		{"e164_gb", "+44 20 7946 0958"},
		{"jm", "+1 876 555 1234"},
		{"emergency_911", "911"},
		{"short_code_scan", "33669"},
		{"letters", "1-800-FLOWERS"},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Normalize(in.in, "US")
			}
		})
	}
}

package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "Hello, see you at 5", 0, "Hello, see you at 5"},
		{"keeps newline and tab", "a\n\tb", 0, "a\n\tb"},
		{"CRLF", "a\r\nb\r\n", 0, "a\nb\n"},
		{"lone CR", "a\rb", 0, "a\nb"},
		{"line separator", "a\u2028b\u2029c", 0, "a\nb\nc"},
		{"tag characters", "hi\U000E0049\U000E0047\U000E004E\U000E004F\U000E0052\U000E0045 there", 0, "hi there"},
		{"bidi override", "abc\u202Edcba\u202C", 0, "abcdcba"},
		{"bidi isolates and marks", "\u2066x\u2069\u200E\u200F\u061Cy", 0, "xy"},
		{"zero width", "pa\u200Bss\u200C\u200Dw\u2060o\uFEFFrd", 0, "password"},
		{"C0 and C1 controls", "a\x00b\x07c\x1bd\u0085e\u009bf", 0, "abcdef"},
		{"DEL", "a\x7fb", 0, "ab"},
		{"soft hyphen (Cf)", "in\u00ADvisible", 0, "invisible"},
		{"Hangul filler", "a\u3164b", 0, "ab"},
		{"emoji VS16 kept", "❤\uFE0F", 0, "❤\uFE0F"},
		{"orphan VS at start", "\uFE0Fhi", 0, "hi"},
		{"VS after space", "a \uFE0Fb", 0, "a b"},
		{"VS smuggling run keeps only first", "😀\uFE00\uFE01\U000E0100\U000E0101", 0, "😀\uFE00"},
		{"VS after removed char keeps base", "a\u200B\uFE0F", 0, "a\uFE0F"},
		{"invalid UTF-8", "a\xffb\xc3", 0, "a\uFFFDb\uFFFD"},
		{"three blank lines collapse", "a\n\n\n\nb", 0, "a\n\n\nb"},
		{"two blank lines kept", "a\n\n\nb", 0, "a\n\n\nb"},
		{"whitespace-only lines are blank", "a\n \n\t\n  \n\nb", 0, "a\n \n\t\nb"},
		{"blank lines via CR", "a\r\n\r\n\r\n\r\n\r\nb", 0, "a\n\n\nb"},
		{"blank lines hidden by ZWSP", "a\n\u200B\n\u200B\n\u200B\nb", 0, "a\n\n\nb"},
		{"leading blanks", "\n\n\n\n\nb", 0, "\n\nb"},
		{"truncate between words", strings.Repeat("ab ", 10), 20, "ab ab ab" + TruncatedSuffix},
		{"truncate drops a cut word", "abc defghijklmnop", 16, "abc " + TruncatedSuffix},
		{"truncate drops a cut token", "key: sk_live_9fQ2xLr7TbW4mK8vZpN3", 20, "key: " + TruncatedSuffix},
		{"truncate inside one long token", strings.Repeat("x", 30), 20, TruncatedSuffix},
		{"exactly max is kept", strings.Repeat("x", 20), 20, strings.Repeat("x", 20)},
		{"truncate counts runes", strings.Repeat("é ", 15), 20, strings.Repeat("é ", 4) + TruncatedSuffix},
		{"max smaller than suffix", "abc defghij", 5, "abc "},
		{"truncate after stripping", strings.Repeat("\u200B", 100) + "short", 10, "short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Sanitize(tc.in, tc.max)
			if got != tc.want {
				t.Errorf("Sanitize(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
			if again := Sanitize(got, tc.max); again != got {
				t.Errorf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func TestVisible(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain text\n\tok", "plain text\n\tok"},
		{"pay \u202Eevil", "pay ⟨U+202E⟩evil"},
		{"a\u200Bb", "a⟨U+200B⟩b"},
		{"x\U000E0041", "x⟨U+E0041⟩"},
		{"a\r\nb", "a⟨U+000D⟩\nb"},
		{"❤\uFE0F", "❤\uFE0F"},
		{"😀\uFE00\uFE01", "😀\uFE00⟨U+FE01⟩"},
		{"\uFE0F", "⟨U+FE0F⟩"},
		{"bad\xff", "bad⟨0xFF⟩"},
		{"\x00", "⟨U+0000⟩"},
		{"a\u2028b", "a⟨U+2028⟩b"},
		{"\uFEFFhi", "⟨U+FEFF⟩hi"},
	}
	for _, tc := range tests {
		if got := Visible(tc.in); got != tc.want {
			t.Errorf("Visible(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzSanitize checks that Sanitize is idempotent, bounded, valid UTF-8 and free of every
// character it promises to remove, and that Visible leaves no hidden character behind.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "a\r\n\r\n\r\n\r\nb", "x\u202E\u200B\U000E0041\uFE0F", "😀\uFE0F\uFE0F", "\xff\xfe", strings.Repeat("é\n", 50)} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max %= 500
		out := Sanitize(s, max)
		if again := Sanitize(out, max); again != out {
			t.Fatalf("not idempotent: Sanitize(%q)=%q, again %q", s, out, again)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 output %q", out)
		}
		if max > 0 && utf8.RuneCountInString(out) > max {
			t.Fatalf("output %d runes > max %d", utf8.RuneCountInString(out), max)
		}
		if strings.Contains(out, "\n\n\n\n") || strings.Contains(out, "\r") {
			t.Fatalf("blank lines or CR left in %q", out)
		}
		var prev rune
		for _, r := range out {
			if isHidden(r) || (isVariationSelector(r) && !canCarryVariationSelector(prev)) {
				t.Fatalf("hidden rune %U left in %q", r, out)
			}
			prev = r
		}
		vis := Visible(s)
		if !utf8.ValidString(vis) {
			t.Fatalf("Visible output is not valid UTF-8")
		}
		prev = 0
		for _, r := range vis {
			if isHidden(r) || (isVariationSelector(r) && !canCarryVariationSelector(prev)) {
				t.Fatalf("Visible left hidden rune %U in %q", r, vis)
			}
			prev = r
		}
	})
}

func BenchmarkSanitize(b *testing.B) {
	in := strings.Repeat("Hi \u202Ethere\u200B, call me back at 650-253-0000.\r\n", 40)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		_ = Sanitize(in, 1000)
	}
}

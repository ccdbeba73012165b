package text

import "testing"

func TestFold(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"Hello  World\n", "hello world"},
		{"Hi\u200b Sam\u202e!", "hi sam!"},
		{"ＳＴＯＰ ｎｏｗ", "stop now"},
		{"𝐒𝐓𝐎𝐏 𝓈𝓉ℴ𝓅", "stop stop"},
		{"ЅТОР", "stop"},
		{"Ѕtор", "stop"},
		{"ᴜɴsᴜʙsᴄʀɪʙᴇ", "unsubscribe"},
		{"🇸🇹🇴🇵", "stop"},
		{"Ⓢⓣⓞⓟ 🅂🅃🄾🄿 🆂🆃🅾🅿", "stop stop stop"},
		{"ﬁne", "fine"},
		{"café", "café"},
		{"e\u0301", "é"},
		{"a\tb\r\nc", "a b c"},
		{"x\uFE0Fy\U000E0041", "xy"},
	}
	for _, tc := range tests {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if Fold("See you at 5") != Fold("see  you\u200b at ５") {
		t.Error("texts a person reads as the same must fold the same")
	}
	if Fold("Hi Sam") == Fold("Hi Pam") {
		t.Error("different texts fold the same")
	}
}

func TestFindHidden(t *testing.T) {
	t.Parallel()
	refused := []struct {
		in   string
		r    rune
		name string
	}{
		{"pay \u202eevil", 0x202E, "RIGHT-TO-LEFT OVERRIDE"},
		{"a\u2066b", 0x2066, "LEFT-TO-RIGHT ISOLATE"},
		{"left\u200emark", 0x200E, "LEFT-TO-RIGHT MARK"},
		{"\u061c", 0x061C, "ARABIC LETTER MARK"},
		{"zero\u200bwidth", 0x200B, "ZERO WIDTH SPACE"},
		{"a\u200db", 0x200D, "ZERO WIDTH JOINER"},
		{"a\u200cb", 0x200C, "ZERO WIDTH NON-JOINER"},
		{"word\u2060joiner", 0x2060, "WORD JOINER"},
		{"\ufeffbom", 0xFEFF, "ZERO WIDTH NO-BREAK SPACE"},
		{"soft\u00adhyphen", 0x00AD, "SOFT HYPHEN"},
		{"tag\U000E0041", 0xE0041, "TAG CHARACTER"},
		{"bell\a", 0x07, "CONTROL CHARACTER"},
		{"esc\x1b[31m", 0x1B, "CONTROL CHARACTER"},
		{"line\u2028sep", 0x2028, "LINE SEPARATOR"},
		{"a\u3164b", 0x3164, "HANGUL FILLER"},
		{"a\uFE0Fb", 0xFE0F, "VARIATION SELECTOR-16"},
		{"a\u034Fb", 0x034F, "COMBINING GRAPHEME JOINER"},
		{"a\u2061b", 0x2061, "FORMAT CHARACTER"},
	}
	for _, tc := range refused {
		h, found := FindHidden(tc.in)
		if !found || h.Rune != tc.r || h.Name != tc.name {
			t.Errorf("FindHidden(%q) = %+v %v, want %U %s", tc.in, h, found, tc.r, tc.name)
		}
		if s := h.String(); len(s) == 0 {
			t.Errorf("empty description for %q", tc.in)
		}
	}
	if h, found := FindHidden("ok\xff"); !found || h.Index != 2 {
		t.Errorf("invalid UTF-8: %+v %v", h, found)
	}
	allowed := []string{
		"", "Hello, see you at 5!\nBring the forms.\r\n\tThanks",
		"❤️ 👍🏽 1️⃣ #️⃣ ©️",                                              // presentation selectors and keycaps
		"👨\u200d👩\u200d👧 🧑\u200d⚕️ 🏳️\u200d🌈",                           // ZWJ emoji sequences
		"🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", // flag of England
		"می\u200cخواهم",                                                 // Persian with ZWNJ
		"क्\u200dष",                                                     // Devanagari with ZWJ
		"葛\U000E0100",                                                   // ideographic variation sequence
		"Crème brûlée, naïve café, Ελληνικά, русский, 日本語, العربية",
	}
	for _, s := range allowed {
		if h, found := FindHidden(s); found {
			t.Errorf("FindHidden(%q) refused %s", s, h)
		}
	}
}

func FuzzFindHidden(f *testing.F) {
	f.Add("hello \u202e")
	f.Add("👨‍👩‍👧")
	f.Fuzz(func(t *testing.T, s string) {
		h, found := FindHidden(s)
		if !found {
			// Nothing refused: Sanitize may only drop what is allowed in context
			// (joiners, selectors, flag tags), never a bidi control or a control character.
			for _, r := range s {
				if (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C || r == 0x200B || r == 0xFEFF {
					t.Fatalf("%U not refused in %q", r, s)
				}
			}
			return
		}
		if h.String() == "" || h.Index < 0 {
			t.Fatalf("bad report %+v", h)
		}
	})
}

package text

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Hidden is a character in outbound text that would make what a person approves differ from
// what is sent: it reorders the text (a bidi control) or cannot be seen (zero-width, format,
// control, tag and filler characters, stray variation selectors).
type Hidden struct {
	Rune   rune   // the character; utf8.RuneError for an invalid byte
	Index  int    // its position, in characters from 0
	Name   string // its Unicode name, e.g. "RIGHT-TO-LEFT OVERRIDE"
	Reason string // what it does: "a bidi control that reorders the text", ...
}

// String names the character for a refusal: `U+202E RIGHT-TO-LEFT OVERRIDE (a bidi control
// that reorders the text) at character 12`.
func (h Hidden) String() string {
	if h.Rune == utf8.RuneError {
		return fmt.Sprintf("an invalid UTF-8 byte at character %d", h.Index+1)
	}
	return fmt.Sprintf("U+%04X %s (%s) at character %d", h.Rune, h.Name, h.Reason, h.Index+1)
}

// FindHidden returns the first character of outbound text s that a person approving the text
// could not see, or that would change how the rest reads. Refused are: bidi controls (U+061C,
// U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), zero-width and other format characters (Cf:
// U+200B, U+2060, U+FEFF, the soft hyphen...), control characters other than tab, line feed and
// carriage return, line and paragraph separators, Hangul fillers and other default-ignorable
// characters, tag characters outside an emoji flag sequence, and variation selectors that do
// not follow a character they can change (an emoji, symbol, digit or ideograph). Zero-width
// joiners and non-joiners are kept where writing needs them: between two emoji (family and
// profession sequences) or between two letters of a script that is not Latin. Invalid UTF-8 is
// refused too.
//
// Outbound text is refused rather than silently cleaned, so that the preview a person approved
// and the text that leaves are the same bytes.
func FindHidden(s string) (Hidden, bool) {
	var prev rune
	inFlag := false // inside an emoji tag sequence (🏴 + tags + U+E007F)
	index := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return Hidden{Rune: utf8.RuneError, Index: index}, true
		}
		next, _ := utf8.DecodeRuneInString(s[i+size:])
		i += size
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r >= 0xE0020 && r <= 0xE007F && (inFlag || prev == 0x1F3F4):
			inFlag = r != 0xE007F
		case r == 0x200D && isEmoji(prev) && isEmoji(next):
		case (r == 0x200C || r == 0x200D) && isNonLatinLetter(prev) && isNonLatinLetter(next):
		case (r == 0xFE0E || r == 0xFE0F) && takesPresentationSelector(prev):
		case r >= 0xE0100 && r <= 0xE01EF && unicode.Is(unicode.Han, prev):
		case isHidden(r) || isVariationSelector(r) || isIgnorable(r) || isNoncharacter(r):
			name, reason := hiddenName(r)
			return Hidden{Rune: r, Index: index, Name: name, Reason: reason}, true
		}
		prev = r
		index++
	}
	return Hidden{}, false
}

// isEmoji reports characters that take part in emoji ZWJ sequences: pictographs, the emoji
// presentation selector, skin-tone modifiers and the symbols emoji are built from.
func isEmoji(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF, r >= 0x2600 && r <= 0x27BF, r >= 0x2B00 && r <= 0x2BFF:
		return true
	case r == 0xFE0F, r == 0x2640, r == 0x2642, r == 0x2695, r == 0x2696, r == 0x2708, r == 0x2764:
		return true
	}
	return false
}

// isNonLatinLetter reports letters (or combining marks) of scripts that use zero-width joiners
// in ordinary writing (Arabic, Persian, Indic scripts and others).
func isNonLatinLetter(r rune) bool {
	if !(unicode.IsLetter(r) || unicode.Is(unicode.M, r)) {
		return false
	}
	return !unicode.Is(unicode.Latin, r) && !unicode.Is(unicode.Common, r)
}

// takesPresentationSelector reports characters after which VS15/VS16 choose text or emoji
// presentation: emoji and symbols, digits and '#' / '*' (keycaps), © and ®.
func takesPresentationSelector(r rune) bool {
	switch {
	case isEmoji(r), r >= '0' && r <= '9', r == '#', r == '*', r == 0xA9, r == 0xAE:
		return true
	case r >= 0x2000 && (unicode.Is(unicode.So, r) || unicode.Is(unicode.Sm, r)):
		return true
	}
	return false
}

// isNoncharacter reports Unicode noncharacters (U+FDD0..U+FDEF and U+xFFFE/U+xFFFF).
func isNoncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}

// hiddenName names a refused character and says what it does.
func hiddenName(r rune) (name, reason string) {
	const (
		bidi      = "a bidi control that reorders the text"
		invisible = "an invisible character"
		control   = "a control character"
	)
	switch r {
	case 0x061C:
		return "ARABIC LETTER MARK", bidi
	case 0x200E:
		return "LEFT-TO-RIGHT MARK", bidi
	case 0x200F:
		return "RIGHT-TO-LEFT MARK", bidi
	case 0x202A:
		return "LEFT-TO-RIGHT EMBEDDING", bidi
	case 0x202B:
		return "RIGHT-TO-LEFT EMBEDDING", bidi
	case 0x202C:
		return "POP DIRECTIONAL FORMATTING", bidi
	case 0x202D:
		return "LEFT-TO-RIGHT OVERRIDE", bidi
	case 0x202E:
		return "RIGHT-TO-LEFT OVERRIDE", bidi
	case 0x2066:
		return "LEFT-TO-RIGHT ISOLATE", bidi
	case 0x2067:
		return "RIGHT-TO-LEFT ISOLATE", bidi
	case 0x2068:
		return "FIRST STRONG ISOLATE", bidi
	case 0x2069:
		return "POP DIRECTIONAL ISOLATE", bidi
	case 0x200B:
		return "ZERO WIDTH SPACE", invisible
	case 0x200C:
		return "ZERO WIDTH NON-JOINER", invisible
	case 0x200D:
		return "ZERO WIDTH JOINER", invisible
	case 0x2060:
		return "WORD JOINER", invisible
	case 0xFEFF:
		return "ZERO WIDTH NO-BREAK SPACE", invisible
	case 0x00AD:
		return "SOFT HYPHEN", invisible
	case 0x034F:
		return "COMBINING GRAPHEME JOINER", invisible
	case 0x115F:
		return "HANGUL CHOSEONG FILLER", invisible
	case 0x1160:
		return "HANGUL JUNGSEONG FILLER", invisible
	case 0x3164:
		return "HANGUL FILLER", invisible
	case 0xFFA0:
		return "HALFWIDTH HANGUL FILLER", invisible
	case 0x180E:
		return "MONGOLIAN VOWEL SEPARATOR", invisible
	case 0x2028:
		return "LINE SEPARATOR", "an invisible line break"
	case 0x2029:
		return "PARAGRAPH SEPARATOR", "an invisible line break"
	case 0x7F:
		return "DELETE", control
	}
	switch {
	case r >= 0xFE00 && r <= 0xFE0F:
		return fmt.Sprintf("VARIATION SELECTOR-%d", r-0xFE00+1), "an invisible selector with nothing to change here"
	case r >= 0xE0100 && r <= 0xE01EF:
		return fmt.Sprintf("VARIATION SELECTOR-%d", r-0xE0100+17), "an invisible selector with nothing to change here"
	case r >= 0xE0000 && r <= 0xE007F:
		return "TAG CHARACTER", "an invisible tag that can smuggle text"
	case r < 0x20 || (r >= 0x80 && r < 0xA0):
		return "CONTROL CHARACTER", control
	case isNoncharacter(r):
		return "NONCHARACTER", "a code point that is not a character"
	case unicode.Is(unicode.Cf, r):
		return "FORMAT CHARACTER", invisible
	}
	return "INVISIBLE CHARACTER", invisible
}

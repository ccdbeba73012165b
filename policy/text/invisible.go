package text

import "unicode"

// isVariationSelector reports whether r is a variation selector (VS1–VS16, VS17–VS256).
func isVariationSelector(r rune) bool {
	return (r >= 0xFE00 && r <= 0xFE0F) || (r >= 0xE0100 && r <= 0xE01EF)
}

// isHidden reports whether r is invisible or reorders text and has no place in third-party
// text shown to a model: tag characters, bidi controls, zero-width characters, other format
// (Cf) and control (Cc) characters except '\n' and '\t', and the invisible "filler" letters
// abused to smuggle text. Variation selectors are handled separately (they are kept after a
// visible base character).
func isHidden(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r >= 0xE0000 && r <= 0xE007F: // tags
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C: // bidi
		return true
	case r >= 0x200B && r <= 0x200D, r == 0x2060, r == 0xFEFF: // zero width
		return true
	case r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0: // Hangul fillers render as nothing
		return true
	case r == 0x2028 || r == 0x2029: // line/paragraph separators (Sanitize turns them into '\n')
		return true
	}
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)
}

// canCarryVariationSelector reports whether a variation selector after r is meaningful: r is a
// visible character that is not itself a space, mark or selector.
func canCarryVariationSelector(r rune) bool {
	return r != 0 && !isVariationSelector(r) && !isHidden(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.M, r)
}

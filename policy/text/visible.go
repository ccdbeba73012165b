package text

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Visible returns s with every character Sanitize would remove or rewrite shown as a marker such
// as ⟨U+202E⟩: bidi controls, zero-width and tag characters, other format and control characters
// (including '\r', but not '\n' or '\t'), line/paragraph separators, and variation selectors that
// do not follow a visible character. Invalid UTF-8 bytes are shown as ⟨0xFF⟩. Everything else is
// unchanged, so a confirmation preview shows the body exactly as it will be sent.
func Visible(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var prev rune
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			fmt.Fprintf(&b, "⟨0x%02X⟩", s[i])
			i++
			prev = 0
			continue
		}
		i += size
		hidden := isHidden(r) || (isVariationSelector(r) && !canCarryVariationSelector(prev))
		if hidden {
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
		} else {
			b.WriteRune(r)
		}
		prev = r
		if hidden {
			prev = 0
		}
	}
	return b.String()
}

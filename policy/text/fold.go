package text

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold returns s in the form under which two texts a person reads as the same compare equal.
// It removes invisible characters (zero-width characters, bidi controls, tag characters,
// variation selectors, other format and control characters; line breaks and tabs count as
// white space), folds Unicode compatibility forms (NFKC: full-width, mathematical, circled and
// squared letters, ligatures, superscripts), lower-cases letters, maps letters of other
// scripts that imitate Latin letters to the Latin letter (see Confusable), and collapses runs
// of white space to one space, trimmed.
//
// Fold is the comparison key of the duplicate rule, and the first step of the opt-out
// recogniser and of the secret scrubber's disguised-key search. It keeps accents ("café" and
// "cafe" differ) and punctuation.
func Fold(s string) string {
	s = norm.NFKC.String(strings.ToValidUTF8(s, "\uFFFD"))
	var b strings.Builder
	b.Grow(len(s))
	space := false
	foldEach(s, func(_ int, r rune) {
		if unicode.IsSpace(r) {
			space = true
			return
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	})
	return b.String()
}

// foldEach calls fn for every rune of Fold's character mapping of s (before white space is
// collapsed), with the byte offset of the input rune it came from. Hidden characters produce
// nothing; a compatibility character may produce several runes.
func foldEach(s string, fn func(at int, r rune)) {
	var buf [8]byte
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		at := i
		i += size
		if r == '\n' || r == '\t' || r == '\r' {
			fn(at, ' ')
			continue
		}
		if isHidden(r) || isVariationSelector(r) || isIgnorable(r) {
			continue
		}
		if r < utf8.RuneSelf {
			fn(at, unicode.ToLower(r))
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		for _, c := range norm.NFKC.String(string(buf[:n])) {
			if isHidden(c) || isVariationSelector(c) || isIgnorable(c) {
				continue
			}
			if l, ok := Confusable(c); ok {
				fn(at, l)
				continue
			}
			fn(at, unicode.ToLower(c))
		}
	}
}

// isIgnorable reports default-ignorable characters that are not format (Cf) characters and
// therefore escape isHidden: the combining grapheme joiner, Khmer inherent vowels and the
// Mongolian free variation selectors.
func isIgnorable(r rune) bool {
	switch {
	case r == 0x034F, r == 0x17B4, r == 0x17B5, r >= 0x180B && r <= 0x180F:
		return true
	}
	return false
}

// Confusable maps a letter that imitates a Latin letter to that Latin letter in lower case,
// following the prototypes of Unicode TR39's confusables.txt for the scripts look-alike
// spoofing uses: Cyrillic, Greek, Armenian, Cherokee and Lisu letters, Latin small capitals and
// other Latin variants, regional-indicator symbols and negative circled or squared letters.
// Full-width and mathematical letters are not listed: NFKC already folds them (see Fold).
// ok is false for every other rune, including Latin letters themselves.
func Confusable(r rune) (latin rune, ok bool) {
	switch {
	case r >= 0x1F1E6 && r <= 0x1F1FF: // regional indicators 🇦..🇿
		return 'a' + (r - 0x1F1E6), true
	case r >= 0x1F150 && r <= 0x1F169: // negative circled 🅐..🅩
		return 'a' + (r - 0x1F150), true
	case r >= 0x1F170 && r <= 0x1F189: // negative squared 🅰..🆉
		return 'a' + (r - 0x1F170), true
	case r >= 0x1F130 && r <= 0x1F149: // squared 🄰..🅉 (NFKC folds most; kept for safety)
		return 'a' + (r - 0x1F130), true
	}
	switch r {
	case 'а', 'А', 'α', 'Α', 'ɑ', 'ᴀ', 'Ꭺ', 'ꓮ', '⍺':
		return 'a', true
	case 'в', 'В', 'β', 'Β', 'ʙ', 'Ᏼ', 'ь', 'Ь', 'ꓐ':
		return 'b', true
	case 'с', 'С', 'ϲ', 'Ϲ', 'ᴄ', 'Ꮯ', 'ꓚ', 'ⲥ', 'Ⲥ':
		return 'c', true
	case 'ԁ', 'Ꭰ', 'ꓓ':
		return 'd', true
	case 'е', 'Е', 'ё', 'Ё', 'є', 'ε', 'Ε', 'ᴇ', 'Ꭼ', 'ꓰ', 'ҽ':
		return 'e', true
	case 'ꓝ', 'ϝ', 'Ϝ':
		return 'f', true
	case 'ɡ', 'ɢ', 'ց', 'Ԍ', 'ꓖ':
		return 'g', true
	case 'һ', 'Һ', 'н', 'Н', 'Η', 'ʜ', 'Ꮋ', 'հ', 'ꓧ':
		return 'h', true
	case 'і', 'І', 'ї', 'Ї', 'ι', 'Ι', 'ı', 'ɩ', 'ɪ', 'ꓲ':
		return 'i', true
	case 'ј', 'Ј', 'ϳ', 'ᴊ', 'Ꭻ', 'ꓙ':
		return 'j', true
	case 'к', 'К', 'κ', 'Κ', 'ᴋ', 'Ꮶ', 'ꓗ':
		return 'k', true
	case 'ӏ', 'Ӏ', 'ǀ', 'ʟ', 'Ꮮ', 'ꓡ':
		return 'l', true
	case 'м', 'М', 'Μ', 'ᴍ', 'Ꮇ', 'ꓟ':
		return 'm', true
	case 'п', 'η', 'ո', 'ɴ', 'Ν', 'ꓠ':
		return 'n', true
	case 'о', 'О', 'ο', 'Ο', 'օ', 'Օ', 'ᴏ', 'ⲟ', 'Ⲟ', 'ꓳ':
		return 'o', true
	case 'р', 'Р', 'ρ', 'Ρ', 'ᴘ', 'Ꮲ', 'ⲣ', 'Ⲣ', 'ꓑ':
		return 'p', true
	case 'ԛ', 'Ԛ', 'զ':
		return 'q', true
	case 'г', 'ʀ', 'Ꭱ', 'ꓣ':
		return 'r', true
	case 'ѕ', 'Ѕ', 'ꜱ', 'Ꮪ', 'ꓢ':
		return 's', true
	case 'т', 'Т', 'τ', 'Τ', 'ᴛ', 'Ꭲ', 'ꓔ':
		return 't', true
	case 'υ', 'ս', 'Ս', 'ᴜ', 'ꓴ':
		return 'u', true
	case 'ν', 'ѵ', 'Ѵ', 'ᴠ', 'Ꮩ', 'ꓦ':
		return 'v', true
	case 'ԝ', 'Ԝ', 'ω', 'ᴡ', 'Ꮃ', 'ꓪ':
		return 'w', true
	case 'х', 'Х', 'χ', 'Χ', 'ꓫ':
		return 'x', true
	case 'у', 'У', 'γ', 'ү', 'Ү', 'Υ', 'ʏ', 'Ꭹ', 'ꓬ':
		return 'y', true
	case 'Ζ', 'ᴢ', 'Ꮓ', 'ꓜ':
		return 'z', true
	}
	return 0, false
}

// stripMarks removes combining marks after canonical decomposition: "arrêt" -> "arret".
func stripMarks(s string) string {
	if isASCII(s) {
		return s
	}
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

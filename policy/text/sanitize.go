package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// TruncatedSuffix ends every text Sanitize had to shorten.
const TruncatedSuffix = "…[truncated]"

// maxBlankLines is the longest run of blank lines Sanitize keeps.
const maxBlankLines = 2

// Sanitize prepares third-party text (SMS bodies, transcripts, contact names, API error bodies)
// for the model's context. It replaces invalid UTF-8 with U+FFFD; turns "\r\n", a lone '\r' and
// U+2028/U+2029 into '\n'; removes tag characters, bidi controls, zero-width characters, other
// format and control characters (keeping '\n' and '\t'), and variation selectors that do not
// follow a visible character (only the first after each base is kept); collapses runs of more
// than two blank lines; and bounds the result to max runes, ending with TruncatedSuffix when it
// was cut (the suffix counts towards max). max <= 0 means no bound.
//
// Sanitize is idempotent: Sanitize(Sanitize(s, n), n) == Sanitize(s, n).
func Sanitize(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	var prev rune // last rune written
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				continue // the '\n' follows
			}
			r = '\n'
		case r == 0x2028 || r == 0x2029:
			r = '\n'
		case isVariationSelector(r):
			if !canCarryVariationSelector(prev) {
				continue
			}
		case isHidden(r):
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	out := collapseBlankLines(b.String())
	// A cut without the suffix can end in a new run of blank lines: collapse again.
	return collapseBlankLines(truncateRunes(out, max))
}

// collapseBlankLines keeps at most maxBlankLines consecutive blank (whitespace-only) lines.
func collapseBlankLines(s string) string {
	if strings.Count(s, "\n") <= maxBlankLines {
		return s
	}
	lines := strings.Split(s, "\n")
	kept := lines[:0]
	blank := 0
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			blank++
			if blank > maxBlankLines {
				continue
			}
		} else {
			blank = 0
		}
		kept = append(kept, l)
	}
	return strings.Join(kept, "\n")
}

// truncateRunes bounds s to max runes, marking a cut with TruncatedSuffix. A cut never splits a
// word or token: when it falls inside a run of letters, digits or token characters (_ + / = -
// %), the whole run is dropped, so no partial key, encoded blob or word is left at the end.
// Secrets are scrubbed before any cut (keyguard), and this keeps a cut from producing a new,
// shorter fragment of one.
func truncateRunes(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	rs := []rune(s)
	suffix := []rune(TruncatedSuffix)
	keep := max - len(suffix)
	if keep <= 0 {
		return string(backToTokenStart(rs, max))
	}
	return string(backToTokenStart(rs, keep)) + TruncatedSuffix
}

// backToTokenStart returns rs[:n], shortened to the start of the token rs[n] is inside.
func backToTokenStart(rs []rune, n int) []rune {
	if n < len(rs) && isTokenRune(rs[n]) {
		for n > 0 && isTokenRune(rs[n-1]) {
			n--
		}
	}
	return rs[:n]
}

func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_+/=-%", r)
}

package text

import (
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MinSecretFragment is the shortest part of a secret that counts as the secret: any run of this
// many characters of a known secret, in any of the forms SecretMatcher reads, is the secret.
const MinSecretFragment = 8

// Gram sizes: how many characters of each form make a match. A base64 run of 10 characters
// and a hex run of 16 carry 7 to 8 bytes of the secret.
const (
	hexGram = 2 * MinSecretFragment
	b64Gram = 10
)

// How a secret was found, for FindSecret's reason.
const (
	howRaw = iota
	howFolded
	howReversed
	howEscaped
	howHex
	howBase64
	howCount
)

var howText = [howCount]string{
	howRaw:      "the API key",
	howFolded:   "the API key (disguised: separators, case changes, look-alike, full-width or invisible characters)",
	howReversed: "the API key (reversed)",
	howEscaped:  "the API key (URL-encoded or escaped)",
	howHex:      "the API key (hex-encoded)",
	howBase64:   "the API key (base64-encoded)",
}

// SecretMatcher finds known secrets in text, whole or in part, in the disguises a leak takes.
// A secret is found when MinSecretFragment or more of its characters appear:
//   - as they are;
//   - folded: with separators between them ("s k _ l i v e", "s.k.l.i.v.e"), in another case,
//     in full-width, mathematical or look-alike letters, split by invisible characters, or
//     reversed;
//   - escaped: percent-encoded (fully or in part, "%73%6B", url.QueryEscape, url.PathEscape),
//     as JSON "\u0073" or "\x73" escapes, or HTML "&#115;" entities, and then in any form above;
//   - hex-encoded, in either case, with or without separators ("73 6b", "73:6B", "0x73,0x6b");
//   - base64-encoded, standard or URL alphabet, at any byte alignment inside a longer encoded
//     text, in groups or wrapped lines.
//
// Secrets shorter than MinSecretFragment are ignored: they would match ordinary text. A
// SecretMatcher is immutable and safe for concurrent use; the zero value and nil match nothing.
type SecretMatcher struct {
	raw, folded, hex, b64 gramIndex
}

// gramIndex holds every n-character substring of the forms of the secrets, with how it was
// derived.
type gramIndex struct {
	n     int
	grams map[string]uint8
	first [256]bool // first bytes of the grams: a cheap filter before the map
}

func (g *gramIndex) add(form string, how uint8) {
	for i := 0; i+g.n <= len(form); i++ {
		gram := form[i : i+g.n]
		if _, seen := g.grams[gram]; !seen {
			g.grams[gram] = how
		}
		g.first[gram[0]] = true
	}
}

// NewSecretMatcher returns a matcher for secrets; empty and short ones are ignored.
func NewSecretMatcher(secrets ...string) *SecretMatcher {
	m := &SecretMatcher{
		raw:    gramIndex{n: MinSecretFragment, grams: map[string]uint8{}},
		folded: gramIndex{n: MinSecretFragment, grams: map[string]uint8{}},
		hex:    gramIndex{n: hexGram, grams: map[string]uint8{}},
		b64:    gramIndex{n: b64Gram, grams: map[string]uint8{}},
	}
	for _, s := range secrets {
		if len(s) < MinSecretFragment {
			continue
		}
		s = s[publicPrefix(s):]
		m.raw.add(s, howRaw)
		f := squeezeForm(s)
		m.folded.add(f, howFolded)
		m.folded.add(reverseString(f), howReversed)
		m.hex.add(hex.EncodeToString([]byte(s)), howHex)
		for _, core := range base64Cores([]byte(s)) {
			m.b64.add(core, howBase64)
		}
	}
	return m
}

// SecretPart is s without its public type tag (see publicPrefix): the part whose every run of
// MinSecretFragment characters counts as the secret.
func SecretPart(s string) string { return s[publicPrefix(s):] }

// publicPrefix is the length of a secret's leading type tag, such as "sk_live_" or "whsec_":
// one or two groups of at most 8 letters, each ended by "_" or "-", followed by at least
// 2*MinSecretFragment other characters. The tag is the same in every key of its kind, so it is
// no secret; and were it matched as part of the secret, a fragment made of the tag's last
// characters plus one guessed character would be redacted (or refused) exactly when the guess
// is right, telling whoever controls the text (the model, or text the model echoes) the key one
// character at a time. Only the rest is indexed: a match needs MinSecretFragment characters of
// the key's secret part, which cannot be guessed one at a time.
func publicPrefix(s string) int {
	end, run, groups := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			run++
			if run > 8 {
				return end
			}
		case (c == '_' || c == '-') && run > 0:
			if len(s)-(i+1) < 2*MinSecretFragment {
				return end
			}
			end, run = i+1, 0
			if groups++; groups == 2 {
				return end
			}
		default:
			return end
		}
	}
	return end
}

// Empty reports whether the matcher knows no secret.
func (m *SecretMatcher) Empty() bool { return m == nil || len(m.raw.grams) == 0 }

// Find reports whether s carries a secret, and how (for a refusal; it never echoes the secret).
func (m *SecretMatcher) Find(s string) (found bool, how string) {
	if m.Empty() {
		return false, ""
	}
	hit := -1
	m.scan(s, func(_ span, h uint8) bool {
		hit = int(h)
		return false
	})
	if hit < 0 {
		return false, ""
	}
	return true, howText[hit]
}

// Redact returns s with every stretch that carries a secret replaced by with. Stretches are
// widened to whole characters, and the result is checked again, so no fragment of
// MinSecretFragment characters of a secret survives in any form the matcher reads.
func (m *SecretMatcher) Redact(s, with string) string {
	if m.Empty() {
		return s
	}
	for pass := 0; pass < 4; pass++ {
		var spans []span
		m.scan(s, func(sp span, _ uint8) bool {
			spans = append(spans, sp)
			return true
		})
		if len(spans) == 0 {
			return s
		}
		s = replaceSpans(s, spans, with)
	}
	return s
}

// span is a byte range [from, to) of the text being read.
type span struct{ from, to int }

// view is a transformed copy of the text with, for each of its bytes, the bytes of the
// original text it came from.
type view struct {
	text  []byte
	spans []span
}

// newView returns an empty view with room for n bytes.
func newView(n int) view { return view{text: make([]byte, 0, n), spans: make([]span, 0, n)} }

func (v *view) add(b byte, sp span) {
	v.text = append(v.text, b)
	v.spans = append(v.spans, sp)
}

// identityView is s as it is.
func identityView(s string) view {
	v := view{text: []byte(s), spans: make([]span, len(s))}
	for i := 0; i < len(s); i++ {
		v.spans[i] = span{i, i + 1}
	}
	return v
}

// scan calls found for each window of a view that matches a gram, with the original byte range;
// it stops when found returns false.
func (m *SecretMatcher) scan(s string, found func(span, uint8) bool) {
	base := identityView(s)
	views := []view{base}
	if strings.ContainsAny(s, "%\\&") {
		if u, changed := unescapeView(base); changed {
			views = append(views, u)
		}
	}
	check := func(v view, g *gramIndex, how uint8) bool {
		n := g.n
		for i := 0; i+n <= len(v.text); i++ {
			if !g.first[v.text[i]] {
				continue
			}
			h, ok := g.grams[string(v.text[i:i+n])]
			if !ok {
				continue
			}
			if how != 255 {
				h = how
			}
			if !found(span{v.spans[i].from, v.spans[i+n-1].to}, h) {
				return false
			}
		}
		return true
	}
	for i, v := range views {
		escaped := uint8(255)
		if i > 0 {
			escaped = howEscaped
		}
		if !check(v, &m.raw, escaped) || !check(squeezeView(v), &m.folded, escaped) || !check(b64View(v), &m.b64, 255) {
			return
		}
	}
	check(hexView(base), &m.hex, 255)
}

// squeezeForm is the folded form of a secret: Fold's characters, letters and digits only.
func squeezeForm(s string) string {
	var b strings.Builder
	foldEach(s, func(_ int, r rune) {
		if isSqueezeRune(r) {
			b.WriteRune(r)
		}
	})
	return b.String()
}

func isSqueezeRune(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') }

// squeezeView is v folded (hidden characters removed, NFKC, look-alikes mapped, lower case)
// with only ASCII letters and digits kept.
func squeezeView(v view) view {
	out := newView(len(v.text))
	text := string(v.text)
	foldEachInto(text, func(at, end int, r rune) {
		if isSqueezeRune(r) {
			out.add(byte(r), span{v.spans[at].from, v.spans[end-1].to})
		}
	})
	return out
}

// foldEachInto is foldEach with the end of the source rune.
func foldEachInto(s string, fn func(at, end int, r rune)) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		at, end := i, i+size
		i = end
		if r < utf8.RuneSelf {
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
			fn(at, end, r)
			continue
		}
		if isHidden(r) || isVariationSelector(r) || isIgnorable(r) {
			continue
		}
		for _, c := range norm.NFKC.String(s[at:end]) {
			if l, ok := Confusable(c); ok {
				c = l
			} else if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			fn(at, end, c)
		}
	}
}

// hexView keeps the hex digits of v, lower-cased, dropping "0x" prefixes.
func hexView(v view) view {
	out := newView(len(v.text))
	t := v.text
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c == '0' && i+1 < len(t) && (t[i+1] == 'x' || t[i+1] == 'X') && (i == 0 || !isHexByte(t[i-1])) {
			i++
			continue
		}
		if isHexByte(c) {
			if c >= 'A' && c <= 'F' {
				c += 'a' - 'A'
			}
			out.add(c, v.spans[i])
		}
	}
	return out
}

func isHexByte(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// b64View keeps the base64 characters of v, URL alphabet mapped to standard ('-' -> '+', '_'
// -> '/'), so encodings split in groups or lines read as one.
func b64View(v view) view {
	out := newView(len(v.text))
	for i, c := range v.text {
		switch {
		case c == '-':
			c = '+'
		case c == '_':
			c = '/'
		case (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/':
		default:
			continue
		}
		out.add(c, v.spans[i])
	}
	return out
}

// unescapeView decodes %XX, \xXX, \uXXXX (with surrogate pairs), \UXXXXXXXX and &#N; / &#xH;
// escapes; each decoded byte keeps the span of its whole escape.
func unescapeView(v view) (view, bool) {
	out := newView(len(v.text))
	t := v.text
	changed := false
	for i := 0; i < len(t); {
		if r, n := decodeEscape(t[i:]); n > 0 {
			var buf [utf8.UTFMax]byte
			sp := span{v.spans[i].from, v.spans[i+n-1].to}
			if r < 0 { // a raw byte (%XX, \xXX)
				out.add(byte(-r-1), sp)
			} else {
				for _, b := range buf[:utf8.EncodeRune(buf[:], r)] {
					out.add(b, sp)
				}
			}
			i += n
			changed = true
			continue
		}
		out.add(t[i], v.spans[i])
		i++
	}
	return out, changed
}

// decodeEscape decodes the escape at the start of t: a rune (>= 0), or a raw byte b returned as
// -b-1, and the bytes it took; n == 0 when t does not start with an escape.
func decodeEscape(t []byte) (r rune, n int) {
	hexVal := func(b []byte) (rune, bool) {
		var v rune
		for _, c := range b {
			switch {
			case c >= '0' && c <= '9':
				v = v*16 + rune(c-'0')
			case c >= 'a' && c <= 'f':
				v = v*16 + rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				v = v*16 + rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return v, true
	}
	switch {
	case len(t) >= 3 && t[0] == '%':
		if v, ok := hexVal(t[1:3]); ok {
			return -v - 1, 3
		}
	case len(t) >= 4 && t[0] == '\\' && t[1] == 'x':
		if v, ok := hexVal(t[2:4]); ok {
			return -v - 1, 4
		}
	case len(t) >= 10 && t[0] == '\\' && t[1] == 'U':
		if v, ok := hexVal(t[2:10]); ok && utf8.ValidRune(v) {
			return v, 10
		}
	case len(t) >= 6 && t[0] == '\\' && t[1] == 'u':
		v, ok := hexVal(t[2:6])
		if !ok {
			return 0, 0
		}
		if v >= 0xD800 && v < 0xDC00 && len(t) >= 12 && t[6] == '\\' && t[7] == 'u' {
			if lo, ok := hexVal(t[8:12]); ok && lo >= 0xDC00 && lo < 0xE000 {
				return 0x10000 + (v-0xD800)<<10 + (lo - 0xDC00), 12
			}
		}
		if utf8.ValidRune(v) {
			return v, 6
		}
	case len(t) >= 4 && t[0] == '&' && t[1] == '#':
		end := 2
		for end < len(t) && end < 12 && t[end] != ';' {
			end++
		}
		if end >= len(t) || t[end] != ';' || end == 2 {
			return 0, 0
		}
		num := t[2:end]
		var v rune
		if num[0] == 'x' || num[0] == 'X' {
			var ok bool
			if v, ok = hexVal(num[1:]); !ok || len(num) == 1 {
				return 0, 0
			}
		} else {
			for _, c := range num {
				if c < '0' || c > '9' {
					return 0, 0
				}
				v = v*10 + rune(c-'0')
			}
		}
		if utf8.ValidRune(v) {
			return v, end + 1
		}
	}
	return 0, 0
}

// base64Cores returns, for each of the three byte alignments, the base64 characters (standard
// alphabet) that depend only on b's bytes when b is embedded in a longer text.
func base64Cores(b []byte) []string {
	var out []string
	for align := 0; align < 3; align++ {
		buf := make([]byte, align+len(b))
		copy(buf[align:], b)
		enc := base64.RawStdEncoding.EncodeToString(buf)
		skip := [...]int{0, 2, 3}[align]
		end := len(enc)
		if len(buf)%3 != 0 {
			end-- // the last character also depends on the byte after b
		}
		if end-skip >= b64Gram {
			out = append(out, enc[skip:end])
		}
	}
	return out
}

// replaceSpans replaces the spans of s, widened to whole UTF-8 characters and merged, with
// with.
func replaceSpans(s string, spans []span, with string) string {
	for i := range spans {
		for spans[i].from > 0 && !utf8.RuneStart(s[spans[i].from]) {
			spans[i].from--
		}
		for spans[i].to < len(s) && !utf8.RuneStart(s[spans[i].to]) {
			spans[i].to++
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for i := 0; i < len(spans); {
		from, to := spans[i].from, spans[i].to
		for i++; i < len(spans) && spans[i].from <= to; i++ {
			to = max(to, spans[i].to)
		}
		b.WriteString(s[pos:from])
		b.WriteString(with)
		pos = to
	}
	b.WriteString(s[pos:])
	return b.String()
}

// reverseString reverses s rune by rune.
func reverseString(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

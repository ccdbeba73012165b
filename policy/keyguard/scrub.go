package keyguard

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// minScrubLen is the shortest secret a Scrubber will look for.
const minScrubLen = 8

// Scrubber replaces secrets, and their common encodings, with "[REDACTED]". It is safe for
// concurrent use; a nil *Scrubber returns its input unchanged.
type Scrubber struct {
	r *strings.Replacer
}

// NewScrubber returns a Scrubber for secrets. Empty secrets and secrets shorter than 8
// characters are ignored (they would match ordinary text). For each secret it removes the raw
// value; its base64 in the standard and URL alphabets, padded or not, including the characters
// that encode it inside a longer base64 text at any byte alignment; its hex in lower and upper
// case; and its URL encodings (QueryEscape and PathEscape).
func NewScrubber(secrets ...string) *Scrubber {
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if len(f) >= minScrubLen && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, s := range secrets {
		if len(s) < minScrubLen {
			continue
		}
		add(s)
		b := []byte(s)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString(b))
		}
		for _, core := range base64Cores(b) {
			add(core)
			add(strings.NewReplacer("+", "-", "/", "_").Replace(core))
		}
		h := hex.EncodeToString(b)
		add(h)
		add(strings.ToUpper(h))
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
	}
	if len(forms) == 0 {
		return &Scrubber{}
	}
	// strings.Replacer tries patterns in argument order at each position: longest first, so a
	// padded encoding wins over its unpadded prefix.
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	return &Scrubber{r: strings.NewReplacer(pairs...)}
}

// base64Cores returns, for each of the three byte alignments, the base64 characters that
// depend only on b's bytes when b is embedded in a longer text.
func base64Cores(b []byte) []string {
	var out []string
	for align := 0; align < 3; align++ {
		buf := make([]byte, align+len(b))
		copy(buf[align:], b)
		enc := base64.RawStdEncoding.EncodeToString(buf)
		skip := [...]int{0, 2, 3}[align]
		end := len(enc)
		if len(buf)%3 != 0 {
			end--
		}
		if end-skip >= minScrubLen {
			out = append(out, enc[skip:end])
		}
	}
	return out
}

// Scrub returns s with every known form of every secret replaced by "[REDACTED]".
func (s *Scrubber) Scrub(text string) string {
	if s == nil || s.r == nil {
		return text
	}
	return s.r.Replace(text)
}

// ScrubBytes is Scrub for a byte slice. It returns b itself when nothing was replaced.
func (s *Scrubber) ScrubBytes(b []byte) []byte {
	if s == nil || s.r == nil {
		return b
	}
	out := s.r.Replace(string(b))
	if len(out) == len(b) && out == string(b) {
		return b
	}
	return bytes.Clone([]byte(out))
}

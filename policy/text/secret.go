package text

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/url"
	"regexp"
	"strings"
)

// minKeyLen is the shortest key FindSecret looks for; shorter strings would match ordinary text.
const minKeyLen = 8

// Thresholds of the generic high-entropy token check.
const (
	entropyRunLen  = 24  // shortest run of token characters considered
	entropyMinBits = 4.0 // Shannon entropy per character above which a run looks random
)

// FindSecret reports whether s contains one of keys (each at least 8 characters; shorter ones are
// ignored) in any common disguise, or a token that looks like a credential. The second result
// names what was found without echoing it, for a denial reason.
//
// Keys are found raw; base64-encoded (standard or URL alphabet, padded or not, at any of the
// three byte alignments inside longer base64 text); hex-encoded (any case); URL-encoded
// (including fully percent-encoded); with separators (spaces, dots, dashes, commas, slashes,
// underscores...) inserted between characters or letter case changed; or reversed.
//
// Secret-like tokens: sk_live_, sk_test_, whsec_, ak_, ghp_, xoxb-/xoxp- or AKIA followed by 16
// or more token characters; PEM private-key headers; and any run of 24+ characters from
// [A-Za-z0-9_+/=-] that has both letters and digits and more than 4.0 bits of Shannon entropy
// per character. UUIDs (8-4-4-4-12 hex) are identifiers, not secrets, and are not flagged.
func FindSecret(s string, keys ...string) (found bool, what string) {
	for _, k := range keys {
		if len(k) < minKeyLen {
			continue
		}
		if how := findKey(s, k); how != "" {
			return true, how
		}
	}
	if m := prefixedToken.FindStringSubmatch(s); m != nil {
		return true, "a token that looks like a secret (" + m[2] + "…)"
	}
	if pemPrivateKey.MatchString(s) {
		return true, "a PEM private key"
	}
	for _, run := range tokenRun.FindAllString(s, -1) {
		if looksRandom(run) {
			return true, "a high-entropy token that looks like a secret or credential"
		}
	}
	return false, ""
}

var (
	// prefixedToken matches well-known credential prefixes not preceded by a word character.
	prefixedToken = regexp.MustCompile(`(^|[^A-Za-z0-9_])(sk_live_|sk_test_|whsec_|ak_|ghp_|xoxb-|xoxp-|AKIA)[A-Za-z0-9_\-]{16,}`)
	// pemPrivateKey matches PEM private-key armour of any kind (RSA, EC, OPENSSH, ENCRYPTED...).
	pemPrivateKey = regexp.MustCompile(`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----`)
	// tokenRun matches runs of characters used by base64, base64url and most API tokens.
	tokenRun = regexp.MustCompile(`[A-Za-z0-9_\-+/=]{24,}`)
	// uuid matches a canonical UUID.
	uuid = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
)

// findKey returns how key occurs in s, or "".
func findKey(s, key string) string {
	if strings.Contains(s, key) {
		return "the API key"
	}
	if containsBase64(s, key) {
		return "the API key (base64-encoded)"
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, hex.EncodeToString([]byte(key))) {
		return "the API key (hex-encoded)"
	}
	for _, enc := range [...]string{url.QueryEscape(key), url.PathEscape(key)} {
		if enc != key && strings.Contains(s, enc) {
			return "the API key (URL-encoded)"
		}
	}
	if strings.Contains(s, "%") && strings.Contains(percentDecode(s), key) {
		return "the API key (URL-encoded)"
	}
	squeezedKey := squeeze(key)
	if len(squeezedKey) >= minKeyLen {
		squeezed := squeeze(s)
		if strings.Contains(squeezed, squeezedKey) {
			return "the API key (with separators or case changes)"
		}
		if strings.Contains(squeezed, reverse(squeezedKey)) {
			return "the API key (reversed)"
		}
	}
	return ""
}

// containsBase64 reports whether s contains the base64 encoding of key at any byte alignment,
// in the standard or URL alphabet. Only the characters that depend on key bytes alone are
// compared, so the key is found inside the encoding of a longer text.
func containsBase64(s, key string) bool {
	for align := 0; align < 3; align++ {
		buf := make([]byte, align+len(key))
		copy(buf[align:], key)
		enc := base64.RawStdEncoding.EncodeToString(buf)
		skip := [...]int{0, 2, 3}[align]
		end := len(enc)
		if len(buf)%3 != 0 {
			end-- // the last character also depends on the byte after the key
		}
		if end-skip < minKeyLen {
			continue
		}
		core := enc[skip:end]
		if strings.Contains(s, core) {
			return true
		}
		urlCore := strings.NewReplacer("+", "-", "/", "_").Replace(core)
		if urlCore != core && strings.Contains(s, urlCore) {
			return true
		}
	}
	return false
}

// percentDecode decodes %XX escapes leniently (invalid escapes are kept) and '+' as a space.
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b.WriteByte(v[0])
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// squeeze lower-cases s and drops everything but letters and digits, so that "S k - L i v e"
// and "sklive" compare equal.
func squeeze(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// reverse reverses an ASCII string.
func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// looksRandom reports whether a token run has letters and digits and high entropy, and is not a
// UUID.
func looksRandom(run string) bool {
	if uuid.MatchString(run) {
		return false
	}
	letters, digits := false, false
	for i := 0; i < len(run); i++ {
		c := run[i]
		letters = letters || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		digits = digits || (c >= '0' && c <= '9')
	}
	return letters && digits && shannon(run) > entropyMinBits
}

// shannon returns the Shannon entropy of s in bits per byte.
func shannon(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

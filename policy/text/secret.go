package text

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Thresholds of the generic high-entropy token check.
const (
	entropyRunLen  = 24  // shortest run of token characters considered
	entropyMinBits = 4.0 // Shannon entropy per character above which a run looks random
)

// FindSecret reports whether s contains one of keys (each at least 8 characters; shorter ones are
// ignored) in any disguise SecretMatcher reads, or a token that looks like a credential. The
// second result names what was found without echoing it, for a denial reason. Callers that check
// many texts against the same keys should build one SecretMatcher and use SecretMatcher.Find
// with FindCredential.
func FindSecret(s string, keys ...string) (found bool, what string) {
	if found, how := NewSecretMatcher(keys...).Find(s); found {
		return true, how
	}
	return FindCredential(s)
}

// FindCredential reports text that looks like a credential of any service, known keys aside:
//   - tokens with a well-known prefix followed by 16 or more token characters: sk_live_,
//     sk_test_, rk_live_, whsec_, ak_, ghp_/gho_/ghu_/ghs_/ghr_, github_pat_, xoxb-/xoxp-/
//     xoxa-/xoxs-, glpat-, AWS access key ids (AKIA, ASIA temporary keys, AGPA, AIDA, AROA,
//     AIPA, ANPA, ANVA), Google API keys (AIza); also in full-width, look-alike or mathematical
//     letters (the text is folded first);
//   - private keys in PEM and similar armour, however spaced or cased ("-----BEGIN RSA PRIVATE
//     KEY-----", "- - - BEGIN  PRIVATE KEY", "BEGIN OPENSSH PRIVATE KEY", PGP private key blocks);
//   - payment card numbers: 13 to 19 digits, alone or grouped by spaces or dashes, with a card
//     network's prefix and a valid Luhn check digit;
//   - any run of 24+ characters from [A-Za-z0-9_+/=-] that has both letters and digits and more
//     than 4.0 bits of Shannon entropy per character. UUIDs (8-4-4-4-12 hex) are identifiers,
//     not secrets, and are not flagged.
func FindCredential(s string) (found bool, what string) {
	folded := Fold(s)
	lower := strings.ToLower(s)
	for _, t := range []string{s, folded} {
		if !hasTokenPrefix(strings.ToLower(t)) {
			continue
		}
		re := prefixedToken
		if t == folded {
			re = prefixedTokenFolded // Fold lower-cased "AKIA"
		}
		if m := re.FindStringSubmatch(t); m != nil {
			prefix := m[2]
			for _, p := range strings.Split(tokenPrefixPattern, "|") {
				if strings.EqualFold(p, prefix) {
					prefix = p // Fold lower-cased it
				}
			}
			return true, "a token that looks like a secret (" + prefix + "…)"
		}
	}
	if strings.Count(folded, "-") >= 3 && strings.Contains(lower+folded, "k") && (pemBefore.MatchString(folded) || pemAfter.MatchString(folded)) {
		return true, "a private key (PEM or similar armour)"
	}
	if countDigits(folded) >= 13 && hasCardNumber(folded) {
		return true, "a payment card number"
	}
	for _, run := range tokenRun.FindAllString(s, -1) {
		if looksRandom(run) {
			return true, "a high-entropy token that looks like a secret or credential"
		}
	}
	return false, ""
}

// tokenPrefixes are the credential prefixes prefixedToken knows, lower-cased.
var tokenPrefixes = []string{"sk_", "rk_", "whsec_", "ak_", "gh", "github_pat_", "xox", "glpat-", "akia", "asia", "agpa",
	"aida", "aroa", "aipa", "anpa", "anva", "aiza"}

// hasTokenPrefix is a cheap filter before prefixedToken: lower holds one of the prefixes.
func hasTokenPrefix(lower string) bool {
	for _, p := range tokenPrefixes {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

var (
	// prefixedToken matches well-known credential prefixes not preceded by a word character.
	prefixedToken = regexp.MustCompile(`(^|[^A-Za-z0-9_])(` + tokenPrefixPattern + `)[A-Za-z0-9_\-]{16,}`)
	// prefixedTokenFolded is prefixedToken for folded (lower-case) text.
	prefixedTokenFolded = regexp.MustCompile(`(^|[^a-z0-9_])(` + strings.ToLower(tokenPrefixPattern) + `)[a-z0-9_\-]{16,}`)
	// pemBefore and pemAfter match private-key armour in folded (lower-case) text, however
	// spaced, with its dashes before or after: "-----BEGIN RSA PRIVATE KEY-----",
	// "- - - BEGIN  OPENSSH  PRIVATE  KEY", "BEGIN PGP PRIVATE KEY BLOCK-----".
	pemBefore = regexp.MustCompile(`-[\s-]*-[\s-]*-[^a-z0-9]*` + pemWords)
	pemAfter  = regexp.MustCompile(pemWords + `[^a-z0-9]*(?:block[^a-z0-9]*)?-[\s-]*-[\s-]*-`)
	// tokenRun matches runs of characters used by base64, base64url and most API tokens.
	tokenRun = regexp.MustCompile(`[A-Za-z0-9_\-+/=]{24,}`)
	// uuid matches a canonical UUID.
	uuid = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
)

// tokenPrefixPattern lists the credential prefixes of prefixedToken.
const tokenPrefixPattern = `sk_live_|sk_test_|rk_live_|rk_test_|whsec_|ak_|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|xoxb-|xoxp-|xoxa-|xoxs-|glpat-|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|AIza`

// pemWords are "begin ... private key", letters possibly spaced, up to three words between.
const pemWords = `b\W*e\W*g\W*i\W*n\W*(?:[a-z0-9]+\W+){0,3}p\W*r\W*i\W*v\W*a\W*t\W*e\W*k\W*e\W*y`

// cardGroupings are the ways card numbers are written in groups (unbroken is always fine).
var cardGroupings = map[string]bool{"4-4-4-4": true, "4-4-4-4-3": true, "4-4-4-4-2": true, "4-4-4-4-1": true,
	"4-6-5": true, "4-6-4": true, "4-4-4-1": true, "4-4-4-2": true, "4-4-4-3": true, "4-4-5": true}

// hasCardNumber reports a Luhn-valid number of 13 to 19 digits with a payment network's prefix,
// written unbroken or in a usual grouping ("4111 1111 1111 1111", "3782-822463-10005"), and not
// part of a longer run of digits.
func hasCardNumber(s string) bool {
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			i++
			continue
		}
		// Read digit groups separated by one space or dash.
		var groups []string
		j := i
		for {
			k := j
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			groups = append(groups, s[j:k])
			if k+1 < len(s) && (s[k] == ' ' || s[k] == '-') && isDigit(s[k+1]) {
				j = k + 1
				continue
			}
			j = k
			break
		}
		if cardGroups(groups) {
			return true
		}
		i = j
	}
	return false
}

// cardGroups reports whether groups (or a run of them) spell a card number.
func cardGroups(groups []string) bool {
	// Try every run of consecutive groups: a card may follow other numbers ("ref 12 4111 ...").
	for a := range groups {
		var lens []string
		digits := ""
		for b := a; b < len(groups) && len(digits) < 19; b++ {
			lens = append(lens, strconv.Itoa(len(groups[b])))
			digits += groups[b]
			n := len(digits)
			if n < 13 || n > 19 {
				continue
			}
			if b > a && !cardGroupings[strings.Join(lens, "-")] {
				continue
			}
			if b == a && (a > 0 || b < len(groups)-1) && n != len(groups[b]) {
				continue
			}
			if cardPrefix(digits) && luhn(digits) {
				return true
			}
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// cardPrefix reports an issuer prefix of Visa, Mastercard, American Express, Discover, JCB,
// Diners Club, UnionPay or Maestro with a length that network uses.
func cardPrefix(d string) bool {
	n := len(d)
	p2 := atoiPrefix(d, 2)
	p3 := atoiPrefix(d, 3)
	p4 := atoiPrefix(d, 4)
	switch {
	case d[0] == '4':
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return n == 16
	case p2 == 34 || p2 == 37:
		return n == 15
	case p4 == 6011, p2 == 65, p3 >= 644 && p3 <= 649:
		return n >= 16
	case p4 >= 3528 && p4 <= 3589:
		return n >= 16
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38:
		return n >= 14
	case p2 == 62:
		return n >= 16
	case p2 == 50, p2 >= 56 && p2 <= 69:
		return n >= 12
	}
	return false
}

func atoiPrefix(d string, n int) int {
	v := 0
	for i := 0; i < n && i < len(d); i++ {
		v = v*10 + int(d[i]-'0')
	}
	return v
}

// luhn reports whether the digits end in a valid Luhn check digit.
func luhn(d string) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
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

// RedactCredentials replaces every token that starts with a well-known credential prefix
// (sk_live_, whsec_, AKIA, ASIA, ghp_, xoxb-... followed by 16 or more token characters; see
// FindCredential) with with. Known secrets are SecretMatcher's job; this catches keys nobody
// configured, such as one pasted into the wrong variable.
func RedactCredentials(s, with string) string {
	if !hasTokenPrefix(strings.ToLower(s)) {
		return s
	}
	var b strings.Builder
	pos := 0
	for _, m := range prefixedToken.FindAllStringSubmatchIndex(s, -1) {
		start := m[4] // the prefix, after the boundary character
		b.WriteString(s[pos:start])
		b.WriteString(with)
		pos = m[1]
	}
	if pos == 0 {
		return s
	}
	b.WriteString(s[pos:])
	return b.String()
}

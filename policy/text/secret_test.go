package text

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
)

const testKey = "sk_live_9fQ2xLr7TbW4mK8vZpN3cY6h"

func spaced(s, sep string) string { return strings.Join(strings.Split(s, ""), sep) }

// percentAll percent-encodes every byte.
func percentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{s[i]})))
	}
	return b.String()
}

// jsonEscapeAll writes every character as a JSON \u escape.
func jsonEscapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// fullWidth maps ASCII to full-width forms.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '!' && r <= '~' {
			return r - '!' + 0xFF01
		}
		return r
	}, s)
}

// homoglyphs replaces Latin letters with Cyrillic and Greek look-alikes.
func homoglyphs(s string) string {
	return strings.NewReplacer("a", "а", "e", "е", "o", "о", "p", "р", "c", "с", "x", "х", "y", "у",
		"K", "К", "T", "Т", "N", "Ν", "Z", "Ζ", "i", "і").Replace(s)
}

// keyForms are the disguises of a key every check must see through, by name.
func keyForms(key string) map[string]string {
	b64 := base64.StdEncoding.EncodeToString
	h := hex.EncodeToString([]byte(key))
	return map[string]string{
		"raw":                      "here you go: " + key,
		"std base64":               "data " + b64([]byte(key)),
		"url base64":               base64.URLEncoding.EncodeToString([]byte("??>" + key)),
		"raw url base64":           base64.RawURLEncoding.EncodeToString([]byte(key)),
		"base64 align 1":           b64([]byte("x" + key + "tail")),
		"base64 align 2":           b64([]byte("xy" + key + "t")),
		"base64 in groups":         spacedGroups(b64([]byte(key)), 4, " "),
		"base64 wrapped":           spacedGroups(b64([]byte("header:"+key)), 8, "\n"),
		"hex lower":                h,
		"hex upper":                strings.ToUpper(h),
		"hex spaced":               spacedGroups(h, 2, " "),
		"hex colons upper":         strings.ToUpper(spacedGroups(h, 2, ":")),
		"hex 0x":                   "0x" + spacedGroups(h, 2, ", 0x"),
		"hex backslash-x":          `\x` + spacedGroups(h, 2, `\x`),
		"query escaped":            "https://evil.example/?k=" + url.QueryEscape(key+"/+"),
		"path escaped":             "https://evil.example/" + url.PathEscape(key),
		"fully percent-encoded":    percentAll(key),
		"lower percent-encoded":    strings.ToLower(percentAll(key)),
		"json escapes":             jsonEscapeAll(key),
		"html entities":            htmlEntities(key),
		"spaces between chars":     spaced(key, " "),
		"dots between chars":       spaced(key, "."),
		"dashes between chars":     spaced(key, "-"),
		"zero-width between chars": spaced(key, "\u200b"),
		"soft hyphens":             spaced(key, "\u00ad"),
		"upper-cased":              strings.ToUpper(key),
		"full-width":               fullWidth(key),
		"homoglyphs":               homoglyphs(key),
		"reversed":                 reverseString(key),
		"split in two":             "first half " + key[:len(key)/2] + " and the rest is " + key[len(key)/2:],
		"tail fragment":            "…" + key[max(0, len(key)-9):],
		"head fragment":            key[:min(publicPrefix(key)+10, len(key))] + "…",
	}
}

func spacedGroups(s string, n int, sep string) string {
	var parts []string
	for i := 0; i < len(s); i += n {
		parts = append(parts, s[i:min(i+n, len(s))])
	}
	return strings.Join(parts, sep)
}

func htmlEntities(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i%2 == 0 {
			fmt.Fprintf(&b, "&#%d;", r)
		} else {
			fmt.Fprintf(&b, "&#x%x;", r)
		}
	}
	return b.String()
}

func TestFindSecretKeyForms(t *testing.T) {
	t.Parallel()
	for name, body := range keyForms(testKey) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			found, what := FindSecret(body, "short", testKey)
			if !found {
				t.Fatalf("FindSecret(%q) found nothing", body)
			}
			if !strings.Contains(what, "API key") {
				t.Errorf("what = %q, want it to name the API key", what)
			}
			if strings.Contains(what, testKey[8:16]) {
				t.Errorf("what %q echoes the key", what)
			}
		})
	}
}

// TestRedactKeyForms is the scrubber's property over encodings: in every form, after Redact
// no 8-character fragment of the key is left in any form the matcher reads, and the text
// around it is kept.
func TestRedactKeyForms(t *testing.T) {
	t.Parallel()
	for _, key := range []string{testKey, "ak/Live+Key=0123456789~?&", "whsec_aGVsbG8gd29ybGQgaGVsbG8", "Zq8/Live+Key=01234"} {
		m := NewSecretMatcher(key)
		for name, body := range keyForms(key) {
			in := "… «" + body + "» …" // no letters around: folded, they could join the key
			out := m.Redact(in, "[REDACTED]")
			if !strings.Contains(out, "[REDACTED]") {
				t.Errorf("%s/%s: nothing redacted in %q", key, name, in)
				continue
			}
			if found, how := m.Find(out); found {
				t.Errorf("%s/%s: %s survives in %q", key, name, how, out)
			}
			if !strings.HasPrefix(out, "… «") || !strings.HasSuffix(out, "» …") {
				t.Errorf("%s/%s: surrounding text damaged: %q", key, name, out)
			}
			assertNoFragment(t, out, key)
		}
	}
}

// assertNoFragment fails when out holds 8 characters of key, raw or folded.
func assertNoFragment(t *testing.T, out, key string) {
	t.Helper()
	key = key[publicPrefix(key):] // the type tag is public
	for i := 0; i+MinSecretFragment <= len(key); i++ {
		if frag := key[i : i+MinSecretFragment]; strings.Contains(out, frag) {
			t.Fatalf("fragment %q of the key survives in %q", frag, out)
		}
	}
	sq, sk := squeezeForm(out), squeezeForm(key)
	for i := 0; i+MinSecretFragment <= len(sk); i++ {
		if frag := sk[i : i+MinSecretFragment]; strings.Contains(sq, frag) {
			t.Fatalf("folded fragment %q of the key survives in %q", frag, out)
		}
	}
}

// TestRedactBase64EveryAlignment puts the key at every offset inside a longer blob, in both
// alphabets, padded or not, and in groups.
func TestRedactBase64EveryAlignment(t *testing.T) {
	t.Parallel()
	key := "ak_0123456789abcdefXYZ"
	m := NewSecretMatcher(key)
	for pre := 0; pre < 7; pre++ {
		for post := 0; post < 4; post++ {
			blob := strings.Repeat("P", pre) + key + strings.Repeat("Q", post)
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				e := enc.EncodeToString([]byte(blob))
				for _, body := range []string{e, spacedGroups(e, 4, " "), spacedGroups(e, 6, "\n")} {
					if found, what := FindSecret("attachment: "+body, key); !found || !strings.Contains(what, "API key") {
						t.Errorf("pre=%d post=%d: FindSecret(%q) = %v %q", pre, post, body, found, what)
					}
					if out := m.Redact(body, "#"); strings.Contains(out, e[len(e)/2-5:len(e)/2+5]) {
						t.Errorf("pre=%d post=%d: the middle of the encoding survives: %q", pre, post, out)
					}
				}
			}
		}
	}
}

func TestFindCredential(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       bool
		wantWhat   string
	}{
		{"stripe live", "use sk_live_abcdefghijklmnop1234 for it", true, "(sk_live_…)"},
		{"stripe test", "sk_test_ABCDEFGHIJKLMNOP", true, "(sk_test_…)"},
		{"webhook secret", "whsec_aGVsbG8gd29ybGQgaGVsbG8", true, "(whsec_…)"},
		{"ak_ token", "key: ak_0123456789abcdefgh", true, "(ak_…)"},
		{"github token", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", true, "(ghp_…)"},
		{"slack bot", "xoxb-1234567890123-abcdefghijkl", true, "(xoxb-…)"},
		{"AWS key id", "AKIAIOSFODNN7EXAMPLE", true, "(AKIA…)"},
		{"AWS temporary key id", "creds: ASIAY34FZKBOKMUTVV7A", true, "(ASIA…)"},
		{"full-width prefixed token", fullWidth("sk_live_abcdefghijklmnop1234"), true, "(sk_live_…)"},
		{"PEM RSA", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", true, "private key"},
		{"PEM OpenSSH", "-----BEGIN OPENSSH PRIVATE KEY-----", true, "private key"},
		{"PEM PKCS8", "-----BEGIN PRIVATE KEY-----", true, "private key"},
		{"PEM spaced", "- - - - - BEGIN  RSA  PRIVATE  KEY - - - - -", true, "private key"},
		{"PEM letters spaced", "-----B E G I N PRIVATE KEY-----", true, "private key"},
		{"PEM lower case", "-----begin ec private key-----", true, "private key"},
		{"PGP private block", "-----BEGIN PGP PRIVATE KEY BLOCK-----", true, "private key"},
		{"Visa", "card 4111 1111 1111 1111 exp 12/29", true, "payment card"},
		{"Visa unbroken", "4111111111111111", true, "payment card"},
		{"Mastercard dashes", "5555-5555-5555-4444", true, "payment card"},
		{"Amex 4-6-5", "3782 822463 10005", true, "payment card"},
		{"Discover", "6011111111111117", true, "payment card"},
		{"card number in full-width digits", fullWidth("4111 1111 1111 1111"), true, "payment card"},
		{"random base64 blob", "token 9fQ2xLr7TbW4mK8vZpN3cY6hJ1sD", true, "high-entropy"},
		{"ak_ inside a word is not a prefix", "speak_loudly_and_clearly_ok", false, ""},
		{"prefix too short", "sk_live_abc", false, ""},
		{"PEM public key", "-----BEGIN PUBLIC KEY-----", false, ""},
		{"Luhn-invalid card", "4111 1111 1111 1112", false, ""},
		{"two phone numbers", "call 650 253 0000 or 650 253 0001", false, ""},
		{"phone numbers", "Call +16502530000 or +442079460958", false, ""},
		{"order number", "Order 1234567890123 shipped", false, ""},
		{"plain SMS", "Hi Sam, your table for 4 is booked at 7:30pm tonight. Reply YES to confirm.", false, ""},
		{"private key talk", "Let's begin: never share your private key with anyone.", false, ""},
		{"URL", "Track it at https://example.com/orders/12345", false, ""},
		{"long URL path", "https://shop.example.com/account/orders/2026/0042/receipt", false, ""},
		{"ISO date", "Due 2026-07-15T10:00:00Z, paid 2026-07-01", false, ""},
		{"UUID", "Your order id is 123e4567-e89b-12d3-a456-426614174000", false, ""},
		{"long English words", "pneumonoultramicroscopicsilicovolcanoconiosis and antidisestablishmentarianism", false, ""},
		{"hyphenated phrase", "state-of-the-art-2026-model-release-notes", false, ""},
		{"tracking number", "UPS 1Z999AA10123456784", false, ""},
		{"empty", "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			found, what := FindSecret(tc.body)
			if found != tc.want {
				t.Fatalf("FindSecret(%q) = %v (%q), want %v", tc.body, found, what, tc.want)
			}
			if !strings.Contains(what, tc.wantWhat) {
				t.Errorf("what = %q, want it to mention %q", what, tc.wantWhat)
			}
		})
	}
}

func TestFindSecretIgnoresShortKeys(t *testing.T) {
	t.Parallel()
	if found, what := FindSecret("the code is 1234567 ok", "1234567", ""); found {
		t.Errorf("a key shorter than 8 characters was matched: %q", what)
	}
	if found, _ := FindSecret("the code is 12345678 ok", "12345678"); !found {
		t.Error("an 8-character key was not matched")
	}
}

// TestSecretMatcherLeavesOrdinaryText checks that text without the key is returned as it is.
func TestSecretMatcherLeavesOrdinaryText(t *testing.T) {
	t.Parallel()
	m := NewSecretMatcher(testKey, "whsec_0123456789abcdef0123456789abcdef01234567")
	for _, s := range []string{
		"", "Hi Sam, see you at 5 \u202e\u200b", "call_3f9c0a1b2c3d4e5f6a7b agt_9a8b7c6d5e4f3a2b1c0d",
		`{"id":"msg_01","body":"\u003chello\u003e 100% sure"}`, "%zz %4 \\u12 &#; &#x; \\x", strings.Repeat("é", 300),
		base64.StdEncoding.EncodeToString([]byte("an ordinary attachment, nothing secret in it at all")),
	} {
		if got := m.Redact(s, "[REDACTED]"); got != s {
			t.Errorf("Redact(%q) = %q, want it unchanged", s, got)
		}
	}
	var nilM *SecretMatcher
	if nilM.Redact(testKey, "x") != testKey || !nilM.Empty() {
		t.Error("a nil matcher changed its input")
	}
}

// FuzzSecretMatcher: whatever surrounds, splits or disguises the key, after Redact nothing the
// matcher reads as the key is left and no raw 8-character fragment of it survives; text the
// matcher finds no key in is returned unchanged.
func FuzzSecretMatcher(f *testing.F) {
	f.Add("hello ", " world", testKey, uint8(0))
	f.Add("%%%", "", "abcdefgh", uint8(3))
	f.Add("", "", "Zq8/Live+Key=0123456789", uint8(7))
	f.Add("\\u00", "&#x", "ak_0123456789abcdefXYZ", uint8(11))
	f.Fuzz(func(t *testing.T, before, after, key string, form uint8) {
		if len(key) < MinSecretFragment || len(key) > 64 || len(before)+len(after) > 4096 {
			return
		}
		const placeholder = "[REDACTED]"
		if strings.Contains(squeezeForm(key), "redacted") || NewSecretMatcher(key).Redact(placeholder, "") != placeholder {
			return // a key made of the placeholder cannot be told from it
		}
		forms := keyForms(key)
		names := make([]string, 0, len(forms))
		for n := range forms {
			names = append(names, n)
		}
		sort.Strings(names) // map order is random: pick by sorted name for reproducible failures
		body := forms[names[int(form)%len(names)]]
		m := NewSecretMatcher(key)
		out := m.Redact(before+body+after, placeholder)
		if found, how := m.Find(out); found {
			t.Fatalf("%s survives Redact: %q", how, out)
		}
		for i := 0; i+MinSecretFragment <= len(key); i++ {
			if frag := key[i : i+MinSecretFragment]; strings.Contains(out, frag) {
				t.Fatalf("fragment %q survives in %q", frag, out)
			}
		}
		clean := before + after
		if found, _ := m.Find(clean); !found && m.Redact(clean, placeholder) != clean {
			t.Fatalf("text without the key was changed: %q", clean)
		}
	})
}

func BenchmarkFindSecret(b *testing.B) {
	body := strings.Repeat("Hi Sam, your table for 4 is booked at 7:30pm. ", 8)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_, _ = FindSecret(body, testKey)
	}
}

func BenchmarkSecretMatcherRedact(b *testing.B) {
	m := NewSecretMatcher(testKey, "whsec_0123456789abcdef0123456789abcdef01234567", "http-token-0123456789abcdefghijklmnop")
	body := strings.Repeat(`{"id":"call_123","status":"completed","transcript":"hello there, see you at 5"}`, 20)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = m.Redact(body, "[REDACTED]")
	}
}

// TestNoOracleOnTheKeyTag: a key's public type tag ("sk_live_") is not part of what matches,
// so text made of the tag's end plus one guessed character is treated alike whether the
// guess is right or wrong: Find and Redact cannot be used to learn the key a character at a
// time. The tag with 8 characters of the secret part still matches, as does the whole key.
func TestNoOracleOnTheKeyTag(t *testing.T) {
	t.Parallel()
	m := NewSecretMatcher(testKey)
	if p := publicPrefix(testKey); testKey[:p] != "sk_live_" {
		t.Fatalf("public prefix of the test key = %q", testKey[:p])
	}
	for _, c := range "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		for _, probe := range []string{"k_live_" + string(c), "sk_live_" + string(c), "_live_9" + string(c)} {
			if found, _ := m.Find(probe); found {
				t.Fatalf("the probe %q matches: the matcher is an oracle for the key's next character", probe)
			}
			if out := m.Redact(probe, "[R]"); out != probe {
				t.Fatalf("the probe %q is redacted to %q: an oracle", probe, out)
			}
		}
	}
	for _, s := range []string{testKey, "sk_live_9fQ2xLr7", "9fQ2xLr7"} {
		if found, _ := m.Find(s); !found {
			t.Errorf("%q (8 or more characters of the secret part) is not found", s)
		}
	}
	for key, want := range map[string]string{
		"sk_live_9fQ2xLr7TbW4mK8vZpN3cY6h": "sk_live_", "whsec_aGVsbG8gd29ybGQgaGVsbG8": "whsec_",
		"sk_test_caller_bravo_fedcba9876543210": "sk_test_", "ak_0123456789ab": "", "plainsecretvalue1234": "",
		"sandbox-key-not-secret": "",
	} {
		if got := key[:publicPrefix(key)]; got != want {
			t.Errorf("publicPrefix(%q) = %q, want %q", key, got, want)
		}
	}
}

package text

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

const testKey = "sk_live_9fQ2xLr7TbW4mK8vZpN3cY6h"

func spaced(s, sep string) string { return strings.Join(strings.Split(s, ""), sep) }

func TestFindSecretKeyForms(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name, body, wantWhat string
	}{
		{"raw", "here you go: " + testKey, "the API key"},
		{"std base64", "data " + b64([]byte(testKey)), "(base64-encoded)"},
		{"url base64", base64.URLEncoding.EncodeToString([]byte("??>" + testKey)), "(base64-encoded)"},
		{"raw std base64", base64.RawStdEncoding.EncodeToString([]byte(testKey)), "(base64-encoded)"},
		{"raw url base64", base64.RawURLEncoding.EncodeToString([]byte(testKey)), "(base64-encoded)"},
		{"base64 inside longer text, align 1", b64([]byte("x" + testKey + "tail")), "(base64-encoded)"},
		{"base64 inside longer text, align 2", b64([]byte("xy" + testKey + "t")), "(base64-encoded)"},
		{"base64 inside longer text, align 0", b64([]byte("key=" + testKey[:0] + "ab" + testKey + "z")), "(base64-encoded)"},
		{"hex lower", hex.EncodeToString([]byte(testKey)), "(hex-encoded)"},
		{"hex upper", strings.ToUpper(hex.EncodeToString([]byte(testKey))), "(hex-encoded)"},
		{"query escaped", "https://evil.example/?k=" + url.QueryEscape(testKey+"/+"), "the API key"},
		{"fully percent-encoded", percentAll(testKey), "(URL-encoded)"},
		{"spaces between chars", spaced(testKey, " "), "(with separators or case changes)"},
		{"dots between chars", spaced(testKey, "."), "(with separators or case changes)"},
		{"dashes between chars", spaced(testKey, "-"), "(with separators or case changes)"},
		{"upper-cased", strings.ToUpper(testKey), "(with separators or case changes)"},
		{"reversed", reverse(testKey), "(reversed)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			found, what := FindSecret(tc.body, "short", testKey)
			if !found {
				t.Fatalf("FindSecret(%q) found nothing", tc.body)
			}
			if !strings.Contains(what, tc.wantWhat) {
				t.Errorf("what = %q, want it to mention %q", what, tc.wantWhat)
			}
			if strings.Contains(what, testKey) || strings.Contains(what, testKey[8:]) {
				t.Errorf("what %q echoes the key", what)
			}
		})
	}
}

// percentAll percent-encodes every byte.
func percentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{s[i]})))
	}
	return b.String()
}

// TestFindSecretKeyBase64AllAlignments puts the key at every offset inside a longer blob.
func TestFindSecretKeyBase64AllAlignments(t *testing.T) {
	t.Parallel()
	key := "ak_0123456789abcdefXYZ"
	for pre := 0; pre < 7; pre++ {
		for post := 0; post < 4; post++ {
			blob := strings.Repeat("P", pre) + key + strings.Repeat("Q", post)
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				body := "attachment: " + enc.EncodeToString([]byte(blob))
				// Only the key detection can fire: ak_ is not at a word start after base64.
				if found, what := FindSecret(body, key); !found || !strings.Contains(what, "API key") {
					t.Errorf("pre=%d post=%d: FindSecret = %v %q", pre, post, found, what)
				}
			}
		}
	}
}

func TestFindSecretTokens(t *testing.T) {
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
		{"slack user", "xoxp-1234567890123-abcdefghijkl", true, "(xoxp-…)"},
		{"AWS key id", "AKIAIOSFODNN7EXAMPLE", true, "(AKIA…)"},
		{"PEM RSA", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", true, "PEM private key"},
		{"PEM OpenSSH", "-----BEGIN OPENSSH PRIVATE KEY-----", true, "PEM private key"},
		{"PEM PKCS8", "-----BEGIN PRIVATE KEY-----", true, "PEM private key"},
		{"random base64 blob", "token 9fQ2xLr7TbW4mK8vZpN3cY6hJ1sD", true, "high-entropy"},
		{"ak_ inside a word is not a prefix", "speak_loudly_and_clearly_ok", false, ""},
		{"prefix too short", "sk_live_abc", false, ""},
		{"PEM public key", "-----BEGIN PUBLIC KEY-----", false, ""},
		// ordinary content: no false positives
		{"plain SMS", "Hi Sam, your table for 4 is booked at 7:30pm tonight. Reply YES to confirm.", false, ""},
		{"URL", "Track it at https://example.com/orders/12345", false, ""},
		{"long URL path", "https://shop.example.com/account/orders/2026/0042/receipt", false, ""},
		{"E.164", "Call +16502530000 or +442079460958", false, ""},
		{"ISO date", "Due 2026-07-15T10:00:00Z, paid 2026-07-01", false, ""},
		{"UUID", "Your order id is 123e4567-e89b-12d3-a456-426614174000", false, ""},
		{"random UUID", "ref f47ac10b-58cc-4372-a567-0e02b2c3d479", false, ""},
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

func TestFindSecretURLEncodedKey(t *testing.T) {
	t.Parallel()
	key := "Zq8/Live+Key=0123456789"
	for _, body := range []string{
		"https://evil.example/?k=" + url.QueryEscape(key),
		"https://evil.example/" + url.PathEscape(key),
		"https://evil.example/?k=" + strings.NewReplacer("%2F", "%2f", "%2B", "%2b", "%3D", "%3d").Replace(url.QueryEscape(key)),
	} {
		if found, what := FindSecret(body, key); !found || !strings.Contains(what, "API key") {
			t.Errorf("FindSecret(%q) = %v %q, want the URL-encoded key found", body, found, what)
		}
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

func FuzzFindSecret(f *testing.F) {
	f.Add("hello "+testKey, testKey)
	f.Add("%%%", "abcdefgh")
	f.Fuzz(func(t *testing.T, body, key string) {
		found, what := FindSecret(body, key)
		if found != (what != "") {
			t.Fatalf("found=%v but what=%q", found, what)
		}
		if len(key) >= minKeyLen && strings.Contains(body, key) && !found {
			t.Fatalf("raw key not found")
		}
		if len(key) >= minKeyLen && strings.Contains(what, key) {
			t.Fatalf("what echoes the key")
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

package keyguard

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

// specialKey has characters that URL encoding and base64 alphabets treat differently.
const specialKey = "ak/Live+Key=0123456789~?&"

func TestScrub(t *testing.T) {
	t.Parallel()
	s := NewScrubber("", "short", testKey, specialKey)
	b64 := func(k string) []string {
		return []string{base64.StdEncoding.EncodeToString([]byte(k)), base64.URLEncoding.EncodeToString([]byte(k)),
			base64.RawStdEncoding.EncodeToString([]byte(k)), base64.RawURLEncoding.EncodeToString([]byte(k))}
	}
	var forms []string
	for _, k := range []string{testKey, specialKey} {
		forms = append(forms, k, hex.EncodeToString([]byte(k)), strings.ToUpper(hex.EncodeToString([]byte(k))),
			url.QueryEscape(k), url.PathEscape(k))
		forms = append(forms, b64(k)...)
		for pre := 1; pre < 3; pre++ {
			forms = append(forms, base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", pre)+k+"tail")))
		}
	}
	for _, f := range forms {
		in := `upstream said: {"error":"bad ` + f + `"}`
		out := s.Scrub(in)
		if !strings.Contains(out, Redacted) {
			t.Errorf("form %q not scrubbed: %q", f, out)
		}
		for _, k := range []string{testKey, specialKey} {
			if strings.Contains(out, k) {
				t.Errorf("raw key left in %q", out)
			}
		}
		if !strings.HasPrefix(out, `upstream said: {"error":"bad `) {
			t.Errorf("surrounding text damaged: %q", out)
		}
		if got := s.ScrubBytes([]byte(in)); string(got) != out {
			t.Errorf("ScrubBytes = %q, want %q", got, out)
		}
	}
	// short and empty secrets are ignored; ordinary text is untouched and not copied
	plain := []byte("short text with no secret, 12345")
	if got := s.ScrubBytes(plain); &got[0] != &plain[0] {
		t.Error("ScrubBytes copied an unchanged slice")
	}
	if got := s.Scrub("short"); got != "short" {
		t.Errorf("a <8-char secret was scrubbed: %q", got)
	}
	var nilS *Scrubber
	if nilS.Scrub(testKey) != testKey || NewScrubber().Scrub("abc") != "abc" {
		t.Error("nil/empty scrubber changed its input")
	}
}

func TestScrubbingHandler(t *testing.T) {
	t.Parallel()
	s := NewScrubber(testKey)
	enc := base64.StdEncoding.EncodeToString([]byte(testKey))
	type cfg struct {
		Token string
		Raw   []byte
	}
	for name, mk := range map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(NewScrubbingHandler(mk(&buf), s)).With("preset", "k="+testKey, "Authorization", "Bearer zzz")
			l = l.WithGroup("req")
			l.Info("calling with "+testKey,
				"body", "echo "+enc,
				"err", fmt.Errorf("upstream: %s", testKey),
				"cfg", cfg{Token: testKey, Raw: []byte(testKey)},
				"authorization", "Bearer abc",
				"X-Api-Key", "xyz",
				"cookie", "session=1",
				slog.Group("hdr", "Authorization", "Bearer nested", "ok", "fine "+testKey),
				"n", 42,
			)
			out := buf.String()
			for _, bad := range []string{testKey, enc, "Bearer abc", "Bearer zzz", "Bearer nested", "xyz", "session=1",
				base64.StdEncoding.EncodeToString([]byte(testKey))[:20]} {
				if strings.Contains(out, bad) {
					t.Errorf("log output contains %q:\n%s", bad, out)
				}
			}
			for _, want := range []string{Redacted, "42", "fine", "preset"} {
				if !strings.Contains(out, want) {
					t.Errorf("log output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestScrubbingHandlerKeepsCleanValues(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := slog.New(NewScrubbingHandler(slog.NewJSONHandler(&buf, nil), NewScrubber(testKey)))
	l.Info("ok", "obj", map[string]int{"a": 1}, "err", errors.New("plain"))
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if obj, ok := m["obj"].(map[string]any); !ok || obj["a"] != float64(1) {
		t.Errorf("clean structured value was rewritten: %v", m["obj"])
	}
	if m["err"] != "plain" {
		t.Errorf("err = %v", m["err"])
	}
}

func BenchmarkScrub(b *testing.B) {
	s := NewScrubber(testKey, specialKey)
	in := strings.Repeat(`{"id":"call_123","status":"completed","transcript":"hello there"}`, 20)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		_ = s.Scrub(in)
	}
}

// TestScrubFragmentsAndDisguises: any 8 characters of the key are the key, in every field a
// result carries, however they are disguised. (8 characters of its secret part: the type tag
// "sk_live_" is public, see text.SecretPart.)
func TestScrubFragmentsAndDisguises(t *testing.T) {
	t.Parallel()
	s := NewScrubber(testKey)
	secret := text.SecretPart(testKey)
	for _, in := range []string{
		testKey[:31],                 // a body cut at 200 bytes before scrubbing left 31 characters
		testKey[len(testKey)-8:],     // a tail of 8
		"code " + secret[5:13] + "!", // 8 from the middle
		strings.Join(strings.Split(testKey, ""), "\u200b"),
		strings.ToUpper(testKey),
		"%" + strings.Join(strings.Split(strings.ToUpper(hex.EncodeToString([]byte(testKey))), ""), ""),
		strings.Join(strings.SplitAfter(hex.EncodeToString([]byte(testKey)), ""), ""),
	} {
		out := s.Scrub(in)
		if !strings.Contains(out, Redacted) {
			t.Errorf("Scrub(%q) = %q: nothing redacted", in, out)
		}
		for i := 0; i+8 <= len(secret); i++ {
			if strings.Contains(out, secret[i:i+8]) {
				t.Errorf("Scrub(%q) = %q keeps %q", in, out, secret[i:i+8])
			}
		}
	}
	if got := s.Scrub(testKey[:7]); got != testKey[:7] {
		t.Errorf("7 characters are not the key: %q", got)
	}
}

func TestScrubJSON(t *testing.T) {
	t.Parallel()
	s := NewScrubber(testKey)
	raw := []byte(`{"code":"E_` + testKey[3:20] + `","ids":["call_1","x` + testKey + `"],"n":12.50,"` + testKey + `":true,"nested":{"voice":"a\u200b` + testKey + `"}}`)
	out, ok := s.ScrubJSON(raw)
	if !ok || !json.Valid(out) {
		t.Fatalf("ScrubJSON: ok=%v valid=%v %s", ok, json.Valid(out), out)
	}
	if s.Finds(string(out)) || strings.Contains(string(out), testKey[8:16]) {
		t.Fatalf("a key is left: %s", out)
	}
	if !strings.Contains(string(out), `"n":12.50`) || !strings.Contains(string(out), `"call_1"`) {
		t.Errorf("clean values changed: %s", out)
	}
	// A key split across two fields is found in the whole: the document must be dropped.
	split := []byte(`["` + testKey[:12] + `","` + testKey[12:18] + `"]`)
	if _, ok := s.ScrubJSON(split); ok {
		t.Error("a key split across fields was not caught")
	}
}

func TestScrubWithCredentials(t *testing.T) {
	t.Parallel()
	plain := NewScrubber(testKey)
	strict := plain.WithCredentials()
	in := "AGENTPHONE_BASE_URL \"whsec_Pasted0123456789abcdefXYZ\" is not allowed; AKIAIOSFODNN7EXAMPLE"
	if got := plain.Scrub(in); got != in {
		t.Errorf("the plain scrubber changed an unconfigured token: %q", got)
	}
	got := strict.Scrub(in)
	if strings.Contains(got, "Pasted0123") || strings.Contains(got, "IOSFODNN7") || !strings.Contains(got, "is not allowed") {
		t.Errorf("WithCredentials: %q", got)
	}
}

// TestScrubberHold: a secret held at run time is redacted, in part and disguised, by the
// scrubber and every copy made with WithCredentials, until the last holder releases it;
// the number held is bounded.
func TestScrubberHold(t *testing.T) {
	s := NewScrubber("base-secret-value-0001")
	cp := s.WithCredentials()
	const key = "caller-key-Zq7xW2pL9vR4mK8t"
	if s.Finds("x " + key) {
		t.Fatal("a secret not held yet is redacted")
	}
	release1, err := s.Hold(key)
	if err != nil {
		t.Fatal(err)
	}
	release2, err := cp.Hold(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []*Scrubber{s, cp} {
		// (its type tag "caller-key-" is public: see text.SecretPart)
		if got := sc.Scrub("key=" + key + " part=" + key[9:21]); strings.Contains(got, key[11:19]) {
			t.Fatalf("a held secret leaks: %q", got)
		}
		if !sc.Finds("base-secret-value-0001") {
			t.Fatal("holding a secret dropped the base secrets")
		}
	}
	release1()
	release1() // twice is once
	if !s.Finds(key) {
		t.Fatal("released by one of two holders, the secret is no longer redacted")
	}
	release2()
	if s.Finds(key) || cp.Finds(key) || s.Held() != 0 {
		t.Fatal("released by every holder, the secret is still held")
	}
	if r, err := s.Hold("short"); err != nil || r == nil {
		t.Fatalf("a short secret: %v", err)
	}
	if s.Held() != 0 {
		t.Fatal("a secret under 8 characters was held")
	}
}

// TestScrubberHoldBounded: past MaxHeldSecrets distinct secrets Hold fails and adds nothing.
func TestScrubberHoldBounded(t *testing.T) {
	s := NewScrubber()
	if s.st.max != MaxHeldSecrets {
		t.Fatalf("the bound is %d, want MaxHeldSecrets", s.st.max)
	}
	s.st.max = 16 // the mechanism, without rebuilding a thousand times
	var releases []func()
	for i := range s.st.max {
		r, err := s.Hold(fmt.Sprintf("held-secret-%08d", i))
		if err != nil {
			t.Fatalf("hold %d: %v", i, err)
		}
		releases = append(releases, r)
	}
	if _, err := s.Hold("Zq7xW2pL9vR4mK8tYb3Q"); !errors.Is(err, ErrTooManySecrets) {
		t.Fatalf("past the bound: err = %v", err)
	}
	if s.Finds("Zq7xW2pL9vR4mK8tYb3Q") {
		t.Fatal("a refused secret was added")
	}
	releases[0]()
	if _, err := s.Hold("Zq7xW2pL9vR4mK8tYb3Q"); err != nil {
		t.Fatalf("after a release there is room: %v", err)
	}
}

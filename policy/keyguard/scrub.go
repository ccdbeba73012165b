package keyguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
)

// Scrubber replaces secrets with "[REDACTED]" wherever they appear, whole or in part, in any
// disguise text.SecretMatcher reads: any run of 8 or more of a secret's characters, raw, with
// separators or invisible characters between them, in another case, in full-width or
// look-alike letters, reversed, percent-encoded (fully or in part), as JSON \u or HTML escapes,
// hex-encoded (either case, with or without separators) or base64-encoded (either alphabet, at
// any alignment, in groups). Scrub before truncating: a cut never makes a secret harder to
// find, but it can leave a fragment the scrubber then reads without context.
//
// Secrets learned at run time (callers' own API keys) are added with Hold and dropped when
// released; copies made with WithCredentials share them.
//
// It is safe for concurrent use; a nil *Scrubber returns its input unchanged.
type Scrubber struct {
	st          *scrubState
	credentials bool
}

// scrubState is what a Scrubber and its copies share: the secrets given at construction, the
// ones held at run time, and the matcher built from both (swapped whole on every change, so a
// scrub never sees a half-built matcher).
type scrubState struct {
	base []string
	m    atomic.Pointer[text.SecretMatcher]

	mu   sync.Mutex
	held map[string]int // secret -> number of holders
	max  int            // bound on len(held) (MaxHeldSecrets; tests lower it)
}

// MaxHeldSecrets bounds how many distinct secrets may be held at run time at once: each
// change rebuilds the matcher from every secret (about 5 µs a secret), and the memory it
// takes grows with them.
const MaxHeldSecrets = 1024

// ErrTooManySecrets is returned by Hold when MaxHeldSecrets secrets are already held.
var ErrTooManySecrets = errors.New("too many secrets held by the scrubber")

// NewScrubber returns a Scrubber for secrets. Empty secrets and secrets shorter than 8
// characters are ignored (they would match ordinary text).
func NewScrubber(secrets ...string) *Scrubber {
	st := &scrubState{base: append([]string(nil), secrets...), held: map[string]int{}, max: MaxHeldSecrets}
	st.m.Store(text.NewSecretMatcher(secrets...))
	return &Scrubber{st: st}
}

// Hold adds secret to what s (and every copy of it) redacts, until release is called. Several
// holders of one secret are counted: it is redacted until the last one releases it. A secret
// shorter than 8 characters is not added (it would match ordinary text) and gets a no-op
// release. Past MaxHeldSecrets distinct secrets it fails with ErrTooManySecrets and adds
// nothing: the caller must refuse to use the secret.
func (s *Scrubber) Hold(secret string) (release func(), err error) {
	if s == nil || s.st == nil {
		return nil, errors.New("hold a secret: no scrubber")
	}
	if len(secret) < text.MinSecretFragment {
		return func() {}, nil
	}
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.held[secret] == 0 && len(st.held) >= st.max {
		return nil, fmt.Errorf("%w (%d)", ErrTooManySecrets, st.max)
	}
	st.held[secret]++
	if st.held[secret] == 1 {
		st.rebuildLocked()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			st.mu.Lock()
			defer st.mu.Unlock()
			if st.held[secret]--; st.held[secret] <= 0 {
				delete(st.held, secret)
				st.rebuildLocked()
			}
		})
	}, nil
}

// Held reports how many distinct secrets are held at run time.
func (s *Scrubber) Held() int {
	if s == nil || s.st == nil {
		return 0
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return len(s.st.held)
}

func (st *scrubState) rebuildLocked() {
	all := append([]string(nil), st.base...)
	for k := range st.held {
		all = append(all, k)
	}
	st.m.Store(text.NewSecretMatcher(all...))
}

func (s *Scrubber) matcher() *text.SecretMatcher {
	if s.st == nil {
		return nil
	}
	return s.st.m.Load()
}

// WithCredentials returns a copy of s that also redacts tokens shaped like any service's
// credential (sk_live_…, whsec_…, AKIA…/ASIA…, ghp_…, xoxb-…: see text.RedactCredentials). It is
// for stderr, where a key pasted into the wrong variable must not be printed even though no
// configured secret names it; tool results keep such tokens, which may be legitimate data.
func (s *Scrubber) WithCredentials() *Scrubber {
	if s == nil {
		return &Scrubber{credentials: true}
	}
	return &Scrubber{st: s.st, credentials: true}
}

// Scrub returns text with every secret, and every fragment of one, replaced by "[REDACTED]".
func (s *Scrubber) Scrub(t string) string {
	if s == nil {
		return t
	}
	if s.credentials {
		t = text.RedactCredentials(t, Redacted) // first: the matcher may eat a known prefix
	}
	m := s.matcher()
	if m == nil {
		return t
	}
	return m.Redact(t, Redacted)
}

// ScrubBytes is Scrub for a byte slice. It returns b itself when nothing was replaced.
func (s *Scrubber) ScrubBytes(b []byte) []byte {
	if s == nil {
		return b
	}
	out := s.Scrub(string(b))
	if out == string(b) {
		return b
	}
	return []byte(out)
}

// Finds reports whether t carries a secret the scrubber would remove.
func (s *Scrubber) Finds(t string) bool {
	return s != nil && s.Scrub(t) != t
}

// ScrubJSON scrubs a JSON document field by field: every string value and every object key is
// scrubbed on its own (so redaction never breaks the JSON), then the whole document is checked
// once more for a secret split across fields. ok is false when one was: the caller must drop
// the document rather than send it.
func (s *Scrubber) ScrubJSON(raw []byte) (out []byte, ok bool) {
	if s == nil {
		return raw, true
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		clean := s.ScrubBytes(raw)
		return clean, bytes.Equal(clean, raw)
	}
	v = s.scrubValue(v)
	out, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	if s.Finds(string(out)) {
		return nil, false
	}
	return out, true
}

func (s *Scrubber) scrubValue(v any) any {
	switch x := v.(type) {
	case string:
		return s.Scrub(x)
	case []any:
		for i := range x {
			x[i] = s.scrubValue(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[s.Scrub(k)] = s.scrubValue(val)
		}
		return out
	}
	return v
}

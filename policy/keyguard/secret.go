// Package keyguard keeps the AgentPhone API key where it belongs: in one pinned RoundTripper
// that attaches it only to requests for the one configured API host, and nowhere else. Secret
// redacts itself in every output path; Scrubber removes the key and its encodings from text.
package keyguard

import (
	"fmt"
	"log/slog"
)

// Redacted is what a Secret prints as, and what Scrubber substitutes.
const Redacted = "[REDACTED]"

// Secret holds a credential. It prints, logs and marshals as "[REDACTED]" through fmt (every
// verb), slog, encoding/json and encoding.TextMarshaler. The value sits behind a *string, so
// even a Secret stored in an unexported struct field (where fmt cannot call its methods) prints
// as an address, never as the key (a pointer to a struct would print as &{...}).
// The zero value is an empty secret.
type Secret struct {
	p *string
}

// NewSecret wraps s. An empty s gives the zero Secret.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{p: &s}
}

// Reveal returns the plain value. Only the pinned transport and the scrubber call it.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// String returns "[REDACTED]".
func (s Secret) String() string { return Redacted }

// GoString returns "[REDACTED]" (used by %#v).
func (s Secret) GoString() string { return Redacted }

// Format prints "[REDACTED]" for every verb and flag (%v %+v %#v %s %q %x %d ...).
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = fmt.Fprintf(f, "%q", Redacted)
		return
	}
	_, _ = f.Write([]byte(Redacted))
}

// LogValue makes slog print "[REDACTED]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON returns the JSON string "[REDACTED]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText returns "[REDACTED]".
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

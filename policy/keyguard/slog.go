package keyguard

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// droppedLogKey reports whether an attribute name holds a credential that is never logged.
func droppedLogKey(key string) bool {
	switch strings.ToLower(key) {
	case "authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization":
		return true
	}
	return false
}

// scrubbingHandler wraps an slog.Handler; see NewScrubbingHandler.
type scrubbingHandler struct {
	h slog.Handler
	s *Scrubber
}

// NewScrubbingHandler returns a handler that passes records to h after scrubbing the message
// and every attribute with s (strings, errors, Stringers and other values whose printed or
// JSON form contains a secret become scrubbed strings; groups are scrubbed recursively) and
// dropping attributes named authorization, cookie, set-cookie, x-api-key or
// proxy-authorization (any case).
func NewScrubbingHandler(h slog.Handler, s *Scrubber) slog.Handler {
	return &scrubbingHandler{h: h, s: s}
}

// Enabled implements slog.Handler.
func (x *scrubbingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return x.h.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (x *scrubbingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, x.s.Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if b, keep := x.attr(a); keep {
			out.AddAttrs(b)
		}
		return true
	})
	return x.h.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (x *scrubbingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	kept := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if b, keep := x.attr(a); keep {
			kept = append(kept, b)
		}
	}
	return &scrubbingHandler{h: x.h.WithAttrs(kept), s: x.s}
}

// WithGroup implements slog.Handler.
func (x *scrubbingHandler) WithGroup(name string) slog.Handler {
	return &scrubbingHandler{h: x.h.WithGroup(x.s.Scrub(name)), s: x.s}
}

// attr scrubs one attribute; keep is false when it must be dropped.
func (x *scrubbingHandler) attr(a slog.Attr) (slog.Attr, bool) {
	if droppedLogKey(a.Key) {
		return slog.Attr{}, false
	}
	a.Key = x.s.Scrub(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(x.s.Scrub(v.String()))
	case slog.KindGroup:
		var kept []slog.Attr
		for _, g := range v.Group() {
			if b, keep := x.attr(g); keep {
				kept = append(kept, b)
			}
		}
		a.Value = slog.GroupValue(kept...)
	case slog.KindAny:
		a.Value = x.anyValue(v)
	default:
		a.Value = v
	}
	return a, true
}

// anyValue scrubs a KindAny value: if its printed (%+v) or JSON form contains a secret, it is
// replaced by the scrubbed printed form; otherwise it is kept as it is.
func (x *scrubbingHandler) anyValue(v slog.Value) slog.Value {
	val := v.Any()
	if err, ok := val.(error); ok {
		msg := err.Error()
		if s := x.s.Scrub(msg); s != msg {
			return slog.StringValue(s)
		}
		return v
	}
	printed := fmt.Sprintf("%+v", val)
	if s := x.s.Scrub(printed); s != printed {
		return slog.StringValue(s)
	}
	if j, err := json.Marshal(val); err == nil {
		if s := x.s.Scrub(string(j)); s != string(j) {
			return slog.StringValue(s)
		}
	}
	return v
}

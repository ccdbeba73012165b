package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Confirm modes (Config.ConfirmMode). The engine stores the mode; the tools
// layer applies it.
const (
	ConfirmAuto   = "auto"   // elicitation when the client supports it, else the token flow
	ConfirmStrict = "strict" // only strong methods (elicitation, OTP); otherwise deny confirm-tier actions
	ConfirmOff    = "off"    // confirm-tier actions run without asking (deny rules still apply)
)

// DefaultQuietHours is the default calling/texting window, local to the recipient.
const DefaultQuietHours = "08:00-21:00"

// Config is the operator's policy configuration. Zero fields take defaults.
type Config struct {
	// DefaultRegion is the region for numbers without a country code (default "US").
	DefaultRegion string
	// AllowedCountries are region codes (not calling codes) that may be called
	// or texted (default DefaultAllowedCountries()). Allowed regions outside the
	// default region's market need confirmation [international].
	AllowedCountries []string
	// QuietHours is "HH:MM-HH:MM" (the allowed window, recipient's local time;
	// it may wrap midnight) or "off" (default DefaultQuietHours).
	QuietHours string
	// Limits are the caps; zero fields take the defaults, negative disables a cap.
	Limits Limits
	// ConfirmMode is auto, strict or off (default auto); stored for the tools layer.
	ConfirmMode string
	// TokenKey is the HMAC key for confirmation tokens (at least 32 bytes).
	// Empty means 32 random bytes per process: tokens die on restart. Set it
	// when several replicas share confirmations.
	TokenKey []byte
	// Allowlist holds E.164 numbers (or "+digits" prefixes) that skip first_contact.
	Allowlist []string
	// Denylist holds E.164 numbers or "+digits" prefixes that are always denied.
	Denylist []string
	// AuditBodies records SMS bodies in the audit log (default: only their hash).
	AuditBodies bool
	// OperatorPhone is the operator's own phone for OTP confirmations.
	OperatorPhone string
	// PolicyFile, if set, is loaded by New with LoadPolicyFile and applied with WithFile.
	PolicyFile string
	// Prices override DefaultPrices (the policy file's "prices").
	Prices PriceOverrides
	// GlobalLimits are the operator's caps across all callers (the policy file's
	// "global_limits"); zero fields are no cap. When one is set, every reservation of an
	// action it counts also writes a "global/" event, which every account of the store
	// shares, and a full cap denies [global_limit].
	GlobalLimits GlobalLimits
}

// Limits are the sliding-window caps. Windows are fixed; counts are
// configurable. A zero field takes its default; a negative field disables the cap.
type Limits struct {
	SMSPerRecipientHour    int `json:"sms_per_recipient_hour,omitempty"`    // default 5
	SMSPerRecipientDay     int `json:"sms_per_recipient_day,omitempty"`     // default 20 (24 h)
	CallsPerRecipient10Min int `json:"calls_per_recipient_10min,omitempty"` // default 1
	CallsPerRecipientDay   int `json:"calls_per_recipient_day,omitempty"`   // default 3 (24 h)
	NewRecipientsDay       int `json:"new_recipients_day,omitempty"`        // default 10 (SMS and calls, 24 h)
	SMSSegmentsHour        int `json:"sms_segments_hour,omitempty"`         // default 60, all recipients
	CallsHour              int `json:"calls_hour,omitempty"`                // default 20, all recipients
	NumbersBoughtDay       int `json:"numbers_bought_day,omitempty"`        // default 3 (24 h)
}

// DefaultLimits returns the default caps.
func DefaultLimits() Limits {
	return Limits{
		SMSPerRecipientHour:    5,
		SMSPerRecipientDay:     20,
		CallsPerRecipient10Min: 1,
		CallsPerRecipientDay:   3,
		NewRecipientsDay:       10,
		SMSSegmentsHour:        60,
		CallsHour:              20,
		NumbersBoughtDay:       3,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	return Limits{
		SMSPerRecipientHour:    pick(l.SMSPerRecipientHour, d.SMSPerRecipientHour),
		SMSPerRecipientDay:     pick(l.SMSPerRecipientDay, d.SMSPerRecipientDay),
		CallsPerRecipient10Min: pick(l.CallsPerRecipient10Min, d.CallsPerRecipient10Min),
		CallsPerRecipientDay:   pick(l.CallsPerRecipientDay, d.CallsPerRecipientDay),
		NewRecipientsDay:       pick(l.NewRecipientsDay, d.NewRecipientsDay),
		SMSSegmentsHour:        pick(l.SMSSegmentsHour, d.SMSSegmentsHour),
		CallsHour:              pick(l.CallsHour, d.CallsHour),
		NumbersBoughtDay:       pick(l.NumbersBoughtDay, d.NumbersBoughtDay),
	}
}

// overlay returns l with every non-zero field of o applied.
func (l Limits) overlay(o Limits) Limits {
	setNonZero(&l.SMSPerRecipientHour, o.SMSPerRecipientHour)
	setNonZero(&l.SMSPerRecipientDay, o.SMSPerRecipientDay)
	setNonZero(&l.CallsPerRecipient10Min, o.CallsPerRecipient10Min)
	setNonZero(&l.CallsPerRecipientDay, o.CallsPerRecipientDay)
	setNonZero(&l.NewRecipientsDay, o.NewRecipientsDay)
	setNonZero(&l.SMSSegmentsHour, o.SMSSegmentsHour)
	setNonZero(&l.CallsHour, o.CallsHour)
	setNonZero(&l.NumbersBoughtDay, o.NumbersBoughtDay)
	return l
}

// setNonZero sets *dst to v unless v is zero (zero in a policy file means "not given").
func setNonZero(dst *int, v int) {
	if v != 0 {
		*dst = v
	}
}

// window is a parsed quiet-hours setting: the allowed local-time window.
type window struct {
	off        bool
	start, end int // minutes after midnight; end may be < start (wraps midnight)
}

// parseWindow parses "HH:MM-HH:MM" or "off"; "" means DefaultQuietHours.
func parseWindow(s string) (window, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = DefaultQuietHours
	}
	if strings.EqualFold(s, "off") {
		return window{off: true}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return window{}, fmt.Errorf("quiet hours %q: want \"HH:MM-HH:MM\" (allowed local window, e.g. %q) or \"off\"", s, DefaultQuietHours)
	}
	start, err := parseClock(a)
	if err != nil {
		return window{}, fmt.Errorf("quiet hours %q: start: %w", s, err)
	}
	end, err := parseClock(b)
	if err != nil {
		return window{}, fmt.Errorf("quiet hours %q: end: %w", s, err)
	}
	if start == end {
		return window{}, fmt.Errorf("quiet hours %q: start equals end; use \"off\" to allow any time", s)
	}
	return window{start: start, end: end}, nil
}

// parseClock parses "HH:MM" (24-hour; "24:00" allowed as an end) into minutes.
func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		if s == "24:00" {
			return 24 * 60, nil
		}
		return 0, fmt.Errorf("%q is not a valid 24-hour time HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// contains reports whether local time t is inside the window.
func (w window) contains(t time.Time) bool {
	if w.off {
		return true
	}
	m := t.Hour()*60 + t.Minute()
	if w.start < w.end {
		return w.start <= m && m < w.end
	}
	return m >= w.start || m < w.end
}

// String renders the window as configured.
func (w window) String() string {
	if w.off {
		return "off"
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", w.start/60, w.start%60, w.end/60, w.end%60)
}

// validateConfirmMode normalises the confirm mode.
func validateConfirmMode(m string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(m)) {
	case "", ConfirmAuto:
		return ConfirmAuto, nil
	case ConfirmStrict:
		return ConfirmStrict, nil
	case ConfirmOff:
		return ConfirmOff, nil
	}
	return "", errors.New("confirm mode " + fmt.Sprintf("%q", m) + ": want auto, strict or off")
}

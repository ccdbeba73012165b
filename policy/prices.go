package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Prices are what previews quote: AgentPhone's published prices, in US dollars. They live in
// this one table; the operator's policy file can override any of them ("prices"), so a price
// change is one edit. Voice is billed per second.
type Prices struct {
	NumberMonthly      float64 // a phone number, per month
	VoiceWebhookPerMin float64 // a call driven by the operator's webhook, per minute
	VoiceHostedPerMin  float64 // a call run by AgentPhone's built-in AI, per minute
	SMSPerSegment      float64 // each outbound SMS segment
	RecordingMonthly   float64 // the call recording add-on, per month
	// MaxCallMinutes is the longest a call may run (the voice provider's default cap): a call
	// preview quotes what a call of this length costs.
	MaxCallMinutes int
}

// DefaultPrices are the published prices (AgentPhone usage and billing guide).
func DefaultPrices() Prices {
	return Prices{
		NumberMonthly:      3.00,
		VoiceWebhookPerMin: 0.13,
		VoiceHostedPerMin:  0.22,
		SMSPerSegment:      0.02,
		RecordingMonthly:   5.00,
		MaxCallMinutes:     60,
	}
}

// PriceOverrides is the "prices" object of the policy file: each set key replaces that price.
type PriceOverrides struct {
	NumberMonthly      *float64 `json:"number_monthly,omitempty"`
	VoiceWebhookPerMin *float64 `json:"voice_webhook_per_min,omitempty"`
	VoiceHostedPerMin  *float64 `json:"voice_hosted_per_min,omitempty"`
	SMSPerSegment      *float64 `json:"sms_per_segment,omitempty"`
	RecordingMonthly   *float64 `json:"recording_monthly,omitempty"`
	MaxCallMinutes     *int     `json:"max_call_minutes,omitempty"`
}

// maxPrice bounds a configured price: anything above is a typo (cents written as dollars).
const maxPrice = 1000

// check returns an error naming the first override out of range.
func (o PriceOverrides) check() error {
	for _, p := range []struct {
		name string
		v    *float64
	}{{"number_monthly", o.NumberMonthly}, {"voice_webhook_per_min", o.VoiceWebhookPerMin},
		{"voice_hosted_per_min", o.VoiceHostedPerMin}, {"sms_per_segment", o.SMSPerSegment},
		{"recording_monthly", o.RecordingMonthly}} {
		if p.v != nil && (math.IsNaN(*p.v) || *p.v < 0 || *p.v > maxPrice) {
			return fmt.Errorf("prices.%s: %v is not a price in US dollars between 0 and %d", p.name, *p.v, maxPrice)
		}
	}
	if o.MaxCallMinutes != nil && (*o.MaxCallMinutes < 1 || *o.MaxCallMinutes > 24*60) {
		return fmt.Errorf("prices.max_call_minutes: %d is not between 1 and 1440", *o.MaxCallMinutes)
	}
	return nil
}

// overlay returns p with every set override applied.
func (p Prices) overlay(o PriceOverrides) Prices {
	set := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.NumberMonthly, o.NumberMonthly)
	set(&p.VoiceWebhookPerMin, o.VoiceWebhookPerMin)
	set(&p.VoiceHostedPerMin, o.VoiceHostedPerMin)
	set(&p.SMSPerSegment, o.SMSPerSegment)
	set(&p.RecordingMonthly, o.RecordingMonthly)
	if o.MaxCallMinutes != nil {
		p.MaxCallMinutes = *o.MaxCallMinutes
	}
	return p
}

// merge returns o with every key set in later applied on top.
func (o PriceOverrides) merge(later PriceOverrides) PriceOverrides {
	pick := func(a, b *float64) *float64 {
		if b != nil {
			return b
		}
		return a
	}
	o.NumberMonthly = pick(o.NumberMonthly, later.NumberMonthly)
	o.VoiceWebhookPerMin = pick(o.VoiceWebhookPerMin, later.VoiceWebhookPerMin)
	o.VoiceHostedPerMin = pick(o.VoiceHostedPerMin, later.VoiceHostedPerMin)
	o.SMSPerSegment = pick(o.SMSPerSegment, later.SMSPerSegment)
	o.RecordingMonthly = pick(o.RecordingMonthly, later.RecordingMonthly)
	if later.MaxCallMinutes != nil {
		o.MaxCallMinutes = later.MaxCallMinutes
	}
	return o
}

// Call modes (Action.CallMode): who runs a call, which sets its price.
const (
	CallHosted  = "hosted"  // AgentPhone's built-in AI talks (a system prompt or a hosted agent)
	CallWebhook = "webhook" // the operator's webhook answers each turn
)

// Money renders dollars as "$3.00", keeping a third decimal only when it matters ("$0.005").
func Money(d float64) string {
	return "$" + strings.TrimSuffix(strconv.FormatFloat(d, 'f', 3, 64), "0")
}

// NumberCost is the monthly price of a phone number, as previews quote it.
func (p Prices) NumberCost() string { return Money(p.NumberMonthly) + "/month" }

// SMSCost quotes an SMS of the given segments.
func (p Prices) SMSCost(segments int) string {
	return fmt.Sprintf("%d SMS segment%s × %s = %s (if it goes as SMS; iMessage has no segment charge)",
		segments, plural(segments), Money(p.SMSPerSegment), Money(float64(segments)*p.SMSPerSegment))
}

// CallCost quotes a call: the price per minute, billed per second, and what a call of the
// maximum duration costs. An unknown mode quotes both rates and the higher maximum.
func (p Prices) CallCost(mode string) string {
	max := p.MaxCallMinutes
	switch mode {
	case CallHosted:
		return fmt.Sprintf("%s/min (AgentPhone's AI runs the call), billed per second; up to %s if it runs the maximum %d min",
			Money(p.VoiceHostedPerMin), Money(p.VoiceHostedPerMin*float64(max)), max)
	case CallWebhook:
		return fmt.Sprintf("%s/min (your webhook drives the call), billed per second; up to %s if it runs the maximum %d min",
			Money(p.VoiceWebhookPerMin), Money(p.VoiceWebhookPerMin*float64(max)), max)
	}
	hi := math.Max(p.VoiceHostedPerMin, p.VoiceWebhookPerMin)
	return fmt.Sprintf("%s/min with your webhook or %s/min with AgentPhone's AI, billed per second; up to %s if it runs the maximum %d min",
		Money(p.VoiceWebhookPerMin), Money(p.VoiceHostedPerMin), Money(hi*float64(max)), max)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

func TestQuietHoursZonesAndEdges(t *testing.T) {
	t.Parallel()
	day := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		cfg   Config
		to    string
		at    time.Time // UTC
		allow bool
	}{
		// America/Los_Angeles is UTC-7 on 2026-03-10 (DST since 03-08).
		{"LA 07:59", Config{}, numLA, day(14, 59), false},
		{"LA 08:00", Config{}, numLA, day(15, 0), true},
		{"LA 20:59", Config{}, numLA, day(3, 59).Add(24 * time.Hour), true},
		{"LA 21:00", Config{}, numLA, day(4, 0).Add(24 * time.Hour), false},
		// New York UTC-4: 07:30 is too early while LA sleeps as well.
		{"NY 07:30", Config{}, numNY, day(11, 30), false},
		{"NY 12:00", Config{}, numNY, day(16, 0), true},
		// Edmonton (Canada) UTC-6.
		{"Edmonton 09:00", Config{}, numCanada, day(15, 0), true},
		{"Edmonton 22:00", Config{}, numCanada, day(4, 0), false},
		// London UTC+0 (no DST until 03-29), allowed country.
		{"London 08:00", Config{AllowedCountries: []string{"US", "GB"}}, numLondon, day(8, 0), true},
		{"London 21:30", Config{AllowedCountries: []string{"US", "GB"}}, numLondon, day(21, 30), false},
		// Custom and wrapping windows.
		{"custom 09-20 at 08:30", Config{QuietHours: "09:00-20:00"}, numLA, day(15, 30), false},
		{"custom 09-20 at 19:59", Config{QuietHours: "09:00-20:00"}, numLA, day(2, 59).Add(24 * time.Hour), true},
		{"wrap 22-06 at 23:00", Config{QuietHours: "22:00-06:00"}, numLA, day(6, 0).Add(24 * time.Hour), true},
		{"wrap 22-06 at 12:00", Config{QuietHours: "22:00-06:00"}, numLA, day(19, 0), false},
		{"off at 03:00", Config{QuietHours: "off"}, numLA, day(10, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Allowlist = []string{tt.to}
			e := newEnv(t, tt.cfg, nil)
			e.clk.Advance(tt.at.Sub(t0))
			for _, a := range []Action{sms(tt.to, "hi"), call(tt.to)} {
				d := e.eval(t, a)
				denied := hasRule(d, RuleQuietHours)
				if denied == tt.allow {
					t.Errorf("%s at %s: rules %v, want allowed=%v", a.Kind, tt.at.Format(time.Kitchen), d.Rules, tt.allow)
				}
				if denied && d.Outcome != Deny {
					t.Errorf("quiet hours outcome = %s, want deny", d.Outcome)
				}
			}
		})
	}
}

func TestQuietHoursTollFreeUnknownTime(t *testing.T) {
	t.Parallel()
	// libphonenumber maps a toll-free number to 42 zones (Guam to Pago Pago),
	// which would deny it about 22.5 hours a day. A toll-free number has no
	// location: at every hour it needs confirmation [quiet_hours] instead.
	e := newEnv(t, Config{Allowlist: []string{numTollFree}}, nil)
	e.clk.Advance(-18 * time.Hour) // 00:00 UTC
	for range 48 {
		d := e.eval(t, call(numTollFree))
		wantDecision(t, d, Confirm, RuleQuietHours)
		if len(d.Rules) != 1 || !strings.Contains(d.Rules[0].Reason, "toll-free") || !strings.Contains(d.Rules[0].Reason, "cannot be known") {
			t.Fatalf("at %s UTC rules = %+v", e.clk.Now().UTC().Format("15:04"), d.Rules)
		}
		lts := d.Preview.To.LocalTimes
		if len(lts) != 1 || lts[0].Time != "unknown" || lts[0].InsideWindow {
			t.Fatalf("local times = %+v, want one unknown", lts)
		}
		e.clk.Advance(30 * time.Minute)
	}
	// With quiet hours off there is nothing to confirm.
	off := newEnv(t, Config{Allowlist: []string{numTollFree}, QuietHours: "off"}, nil)
	wantDecision(t, off.eval(t, call(numTollFree)), Allow, "")
}

func TestPlaceless(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    phone.Number
		want bool
		kind string
	}{
		{phone.Number{Type: "toll_free", Region: "US", CountryCode: 1}, true, "toll-free"},
		{phone.Number{Type: "toll_free", Region: "001", CountryCode: 800}, true, "toll-free"},
		{phone.Number{Type: "uan", Region: "001", CountryCode: 800}, true, "non-geographic (+800)"},
		{phone.Number{Type: "mobile", Region: "US", CountryCode: 1}, false, ""},
		{phone.Number{Type: "fixed_line_or_mobile", Region: "GB", CountryCode: 44}, false, ""},
	}
	for _, tt := range tests {
		kind, ok := placeless(&tt.n)
		if ok != tt.want || kind != tt.kind {
			t.Errorf("placeless(%s %s) = %q, %v; want %q, %v", tt.n.Type, tt.n.Region, kind, ok, tt.kind, tt.want)
		}
	}
}

func TestQuietHoursUnknownZoneConfirms(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	tests := []struct {
		name    string
		zones   []string
		at      time.Time
		outcome Outcome // "" = no hit
	}{
		{"unknown only", []string{"Etc/Unknown"}, t0, Confirm},
		{"unloadable", []string{"Mars/Olympus_Mons"}, t0, Confirm},
		{"none", nil, t0, Confirm},
		{"known inside + unknown", []string{"America/New_York", "Etc/Unknown"}, t0, Confirm},
		{"known outside + unknown", []string{"America/New_York", "Etc/Unknown"}, t0.Add(-8 * time.Hour), Deny},
		{"known inside", []string{"America/New_York"}, t0, ""},
	}
	for _, tt := range tests {
		var v verdict
		zs := e.eng.checkQuietHours(&v, &phone.Number{E164: "+1", Timezones: tt.zones}, tt.at)
		var got Outcome
		switch {
		case len(v.deny) > 0:
			got = Deny
		case len(v.confirm) > 0:
			got = Confirm
		}
		if got != tt.outcome {
			t.Errorf("%s: outcome %q, want %q (%+v)", tt.name, got, tt.outcome, v)
		}
		if got != "" {
			hits := append(v.deny, v.confirm...)
			if hits[0].ID != RuleQuietHours {
				t.Errorf("%s: rule %s", tt.name, hits[0].ID)
			}
		}
		if len(zs) != max(1, len(tt.zones)) {
			t.Errorf("%s: %d zone statuses", tt.name, len(zs))
		}
	}
}

func TestParseWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "08:00-21:00", true},
		{"off", "off", true},
		{"OFF", "off", true},
		{" 09:00 - 20:00 ", "09:00-20:00", true},
		{"22:00-06:00", "22:00-06:00", true},
		{"00:00-24:00", "00:00-24:00", true},
		{"9:00-20:00", "", false},
		{"09:00", "", false},
		{"25:00-26:00", "", false},
		{"09:60-10:00", "", false},
		{"10:00-10:00", "", false},
		{"ab:cd-ef:gh", "", false},
	}
	for _, tt := range tests {
		w, err := parseWindow(tt.in)
		if (err == nil) != tt.ok || (tt.ok && w.String() != tt.want) {
			t.Errorf("parseWindow(%q) = %v, %v; want %q ok=%v", tt.in, w, err, tt.want, tt.ok)
		}
	}
}

package policy

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
)

// fakeResolver answers from a table; unknown names do not exist.
type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	if host == "timeout.example.net" {
		return nil, errors.New("i/o timeout")
	}
	ips, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]net.IPAddr, 0, len(ips))
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

var testResolver = fakeResolver{
	"tools.example.com":     {"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"},
	"rebind.example.com":    {"93.184.216.34", "127.0.0.1"},
	"metadata.example.com":  {"169.254.169.254"},
	"private.example.com":   {"10.0.0.5"},
	"cgnat.example.com":     {"100.100.100.200"},
	"mapped.example.com":    {"::ffff:192.168.1.1"},
	"empty.example.com":     {},
	"nip.example.com":       {"172.16.0.1"},
	"ula.example.com":       {"fd00:ec2::254"},
	"xn--bcher-kva.example": {"93.184.216.34"},
}

func TestCheckPublicHTTPS(t *testing.T) {
	t.Parallel()
	ok := []string{
		"https://tools.example.com/lookup",
		"https://tools.example.com:8443/v1/orders?id={{order}}",
		"HTTPS://TOOLS.EXAMPLE.COM/x",
		"https://tools.example.com./x",
		"https://93.184.216.34/x",
		"https://[2606:2800:220:1:248:1893:25c8:1946]/x",
	}
	for _, u := range ok {
		if err := CheckPublicHTTPS(t.Context(), u, testResolver); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	refused := map[string]string{
		"http://tools.example.com/x":                "not an https URL",
		"ftp://tools.example.com/x":                 "not an https URL",
		"https://user:pw@tools.example.com/x":       "credentials",
		"https:///x":                                "no host",
		"https://127.0.0.1/x":                       "loopback",
		"https://[::1]/x":                           "loopback",
		"https://[::ffff:127.0.0.1]/x":              "loopback",
		"https://[::ffff:7f00:1]/x":                 "loopback",
		"https://[64:ff9b::a00:1]/x":                "private network (inside an IPv6 address)",
		"https://[2002:c0a8:101::1]/x":              "private network (inside a 6to4 address)",
		"https://10.1.2.3/x":                        "private network",
		"https://192.168.0.1:8443/x":                "private network",
		"https://172.31.255.255/x":                  "private network",
		"https://[fd00:ec2::254]/x":                 "private network",
		"https://169.254.169.254/latest/meta-data/": "link-local",
		"https://[fe80::1%25eth0]/x":                "link-local",
		"https://0.0.0.0/x":                         "unspecified",
		"https://100.100.100.200/x":                 "reserved or special-purpose",
		"https://192.0.2.1/x":                       "reserved or special-purpose",
		"https://239.1.2.3/x":                       "multicast",
		"https://2130706433/x":                      "numeric host",
		"https://0x7f000001/x":                      "numeric host",
		"https://0177.0.0.1/x":                      "numeric host",
		"https://0x7f.0.0.1/x":                      "numeric host",
		"https://127.1/x":                           "numeric host",
		"https://1.2.3.0x10/x":                      "numeric host",
		"https://%31%32%37.0.0.1/x":                 "not a URL",
		"https://localhost/x":                       "single-label",
		"https://api.localhost/x":                   "local network (.localhost)",
		"https://printer.local/x":                   "local network (.local)",
		"https://metadata.google.internal/x":        "local network (.internal)",
		"https://intranet/x":                        "single-label",
		"https://bücher.example/x":                  "not a plain DNS name",
		"https://tools.example.com\\@127.0.0.1/x":   "",
		"https://rebind.example.com/x":              "resolves to 127.0.0.1 (loopback)",
		"https://metadata.example.com/x":            "resolves to 169.254.169.254 (link-local",
		"https://private.example.com/x":             "resolves to 10.0.0.5",
		"https://cgnat.example.com/x":               "resolves to 100.100.100.200",
		"https://mapped.example.com/x":              "resolves to 192.168.1.1",
		"https://ula.example.com/x":                 "resolves to fd00:ec2::254",
		"https://nip.example.com/x":                 "resolves to 172.16.0.1",
		"https://empty.example.com/x":               "no address",
		"https://missing.example.com/x":             "does not exist",
		"https://timeout.example.net/x":             "could not be checked",
	}
	for u, want := range refused {
		err := CheckPublicHTTPS(t.Context(), u, testResolver)
		var ue *URLError
		if !errors.As(err, &ue) {
			t.Errorf("%s accepted (err %v)", u, err)
			continue
		}
		if want != "" && !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q lacks %q", u, err, want)
		}
	}
	if err := CheckPublicHTTPS(t.Context(), "https://xn--bcher-kva.example/x", testResolver); err == nil || !strings.Contains(err.Error(), ".example") {
		t.Errorf("reserved TLD accepted: %v", err)
	}
}

// TestCustomToolURLRule: the engine denies an agent change whose custom tool URL is not public
// https [unsafe_url] or carries a secret [secret_in_content], and asks for confirmation otherwise.
func TestCustomToolURLRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	eng, err := New(Config{}, Deps{Store: e.st, Clock: e.clk, Resolver: testResolver, Keys: []string{"sk_live_abcdefghijklmnop1234"}})
	if err != nil {
		t.Fatal(err)
	}
	change := func(urls ...string) Decision {
		d, err := eng.Evaluate(context.Background(), Action{Tool: "update_agent", Kind: KindAgentChange, URLs: urls})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	wantDecision(t, change("https://tools.example.com/a"), Confirm, RuleAgentChange)
	d := change("https://tools.example.com/a", "https://metadata.example.com/latest")
	wantDecision(t, d, Deny, RuleUnsafeURL)
	if !strings.Contains(d.Rules[0].Reason, "169.254.169.254") {
		t.Errorf("reason %q does not name the address", d.Rules[0].Reason)
	}
	wantDecision(t, change("https://tools.example.com/a?key=sk_live_abcdefghijklmnop1234"), Deny, RuleSecretInContent)
	wantDecision(t, change("https://tools.example.com/a?key=sk%5Flive%5Fabcdefghijklmnop1234"), Deny, RuleSecretInContent)
}

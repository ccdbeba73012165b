package policy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
)

// Resolver looks up a host name's addresses (net.DefaultResolver satisfies it).
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// lookupTimeout bounds the lookup of one URL's host.
const lookupTimeout = 5 * time.Second

// URLError says why a URL may not be handed to a third party.
type URLError struct {
	URL    string
	Reason string
}

func (e *URLError) Error() string { return fmt.Sprintf("%s %s", e.URL, e.Reason) }

// CheckPublicHTTPS reports whether raw is a URL a third party (AgentPhone's voice platform,
// calling an agent's custom tool) may be told to call: https, no credentials in it, and a host
// that is a public address or a name whose every address is public. Refused: loopback,
// private, carrier-grade NAT, link-local (cloud metadata), multicast, reserved and
// documentation ranges, IPv6 forms embedding them (IPv4-mapped, NAT64, 6to4), numeric
// spellings other than a canonical IPv4 or IPv6 address (2130706433, 0177.0.0.1, 0x7f.1,
// 127.1), names that only make sense inside a network (localhost, *.local, *.internal,
// single-label names), non-ASCII names, and names that do not resolve. The lookup happens
// now; the caller cannot stop the name being pointed elsewhere later. It returns nil or a
// *URLError.
func CheckPublicHTTPS(ctx context.Context, raw string, r Resolver) error {
	shown := text.Visible(raw)
	if len(shown) > 200 {
		shown = shown[:200] + "…"
	}
	bad := func(format string, args ...any) error {
		return &URLError{URL: shown, Reason: fmt.Sprintf(format, args...)}
	}
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return bad("is not a URL")
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return bad("is not an https URL")
	}
	if u.User != nil {
		return bad("carries credentials (user:password@); put them nowhere in a URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return bad("has no host")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" {
		return bad("has no host")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if reason := nonPublic(ip); reason != "" {
			return bad("points to %s (%s); only public addresses are allowed", ip, reason)
		}
		return nil
	}
	if !hostnameRE.MatchString(host) {
		return bad("has a host %q that is not a plain DNS name (letters, digits, '-' and '.'; write international names in their xn-- form)", text.Visible(host))
	}
	labels := strings.Split(host, ".")
	if numericLabel(labels[len(labels)-1]) {
		return bad("has a numeric host %q that is not a canonical IPv4 address; write the address as four decimal numbers", host)
	}
	if len(labels) < 2 {
		return bad("has a single-label host %q that only resolves inside a local network", host)
	}
	for _, suffix := range internalSuffixes {
		if host == suffix || strings.HasSuffix(host, "."+suffix) {
			return bad("names a host inside a local network (.%s)", suffix)
		}
	}
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := r.LookupIPAddr(lctx, host)
	if err != nil {
		var dns *net.DNSError
		if errors.As(err, &dns) && dns.IsNotFound {
			return bad("names a host that does not exist")
		}
		return bad("could not be checked: looking up %s failed (%v)", host, err)
	}
	if len(addrs) == 0 {
		return bad("names a host with no address")
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			return bad("resolves to an unreadable address")
		}
		if reason := nonPublic(ip.Unmap()); reason != "" {
			return bad("resolves to %s (%s); only public addresses are allowed", ip.Unmap(), reason)
		}
	}
	return nil
}

// hostnameRE is a lower-case ASCII DNS name.
var hostnameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// numericLabel reports a label that URL parsers read as a number (decimal, octal or hex).
func numericLabel(l string) bool {
	if l == "" {
		return false
	}
	if strings.HasPrefix(l, "0x") {
		for _, r := range l[2:] {
			if !strings.ContainsRune("0123456789abcdef", r) {
				return false
			}
		}
		return true
	}
	for _, r := range l {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// internalSuffixes are name suffixes that only resolve inside a network.
var internalSuffixes = []string{"localhost", "local", "internal", "localdomain", "lan", "home", "home.arpa",
	"intranet", "corp", "private", "in-addr.arpa", "ip6.arpa", "test", "invalid", "example"}

// nonPublic says why ip is not a public unicast address, or "".
func nonPublic(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "a private network"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local, where cloud metadata services live"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	if ip.Is6() {
		// IPv6 forms that carry an IPv4 address: judge the address inside.
		b := ip.As16()
		switch {
		case nat64.Contains(ip) || ipv4Compat.Contains(ip):
			if r := nonPublic(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); r != "" {
				return r + " (inside an IPv6 address)"
			}
		case sixToFour.Contains(ip):
			if r := nonPublic(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})); r != "" {
				return r + " (inside a 6to4 address)"
			}
		}
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return "a reserved or special-purpose range (" + p.String() + ")"
		}
	}
	return ""
}

var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	ipv4Compat = netip.MustParsePrefix("::/96")
	sixToFour  = netip.MustParsePrefix("2002::/16")
	// reserved are special-purpose ranges (RFC 6890 and successors) not covered above.
	reserved = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT (also Alibaba's metadata address)
		netip.MustParsePrefix("192.0.0.0/24"),
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("198.18.0.0/15"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("240.0.0.0/4"),
		netip.MustParsePrefix("64:ff9b:1::/48"),
		netip.MustParsePrefix("100::/64"),
		netip.MustParsePrefix("2001::/32"), // Teredo
		netip.MustParsePrefix("2001:2::/48"),
		netip.MustParsePrefix("2001:10::/28"),
		netip.MustParsePrefix("2001:20::/28"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("3fff::/20"),
		netip.MustParsePrefix("5f00::/16"),
	}
)

// checkURLs denies a URL a third party would call unless it is public https, and any URL
// carrying a secret (decoded too: a key hidden in a query string is still a key).
func (e *Engine) checkURLs(ctx context.Context, v *verdict, urls []string) {
	for _, u := range urls {
		for _, s := range []string{u, unescaped(u)} {
			if found, what := text.FindSecret(s, e.keys...); found {
				v.denyHit(RuleSecretInContent, fmt.Sprintf("a custom tool URL contains %s; secrets must never be sent. Remove it", what))
				return
			}
		}
		if err := CheckPublicHTTPS(ctx, u, e.resolver); err != nil {
			v.denyHit(RuleUnsafeURL, "a custom tool URL "+err.Error()+"; the voice platform would call it during calls")
		}
	}
}

func unescaped(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

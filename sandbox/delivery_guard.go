package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// ErrDeliveryRefused is wrapped by the error of a webhook delivery the sandbox refused to make
// because its destination is not allowed (see Options.DeliverExternal).
var ErrDeliveryRefused = errors.New("webhook destination refused by the sandbox")

// refusedDelivery names the destination that was refused and why.
type refusedDelivery struct {
	host   string
	reason string
}

func (e *refusedDelivery) Error() string {
	return fmt.Sprintf("not delivered: %s %s", e.host, e.reason)
}

func (e *refusedDelivery) Unwrap() error { return ErrDeliveryRefused }

const loopbackOnly = "is not a loopback address; the sandbox delivers webhooks only to this machine " +
	"unless it runs with external delivery allowed (agentphone-mcp --sandbox-deliver-external)"

// deliveryGuard decides where the default webhook client may connect. Without external
// delivery only loopback addresses are allowed, and a host name other than localhost is not
// even looked up (no DNS query leaves the machine). With it, every address is allowed except
// unspecified, multicast and link-local ones (cloud metadata lives there).
type deliveryGuard struct{ external bool }

// checkHost is the check before any lookup.
func (g deliveryGuard) checkHost(host string) error {
	if g.external {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() {
			return nil
		}
		return &refusedDelivery{host: host, reason: loopbackOnly}
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return nil
	}
	return &refusedDelivery{host: host, reason: loopbackOnly}
}

// checkIP is the check of the address actually dialled (after any lookup).
func (g deliveryGuard) checkIP(ip net.IP) error {
	switch {
	case ip == nil:
		return &refusedDelivery{host: "?", reason: "is not an IP address"}
	case ip.IsLoopback():
		return nil
	case !g.external:
		return &refusedDelivery{host: ip.String(), reason: loopbackOnly}
	case ip.IsUnspecified(), ip.IsMulticast(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return &refusedDelivery{host: ip.String(), reason: "is an unspecified, multicast or link-local address (such as cloud metadata); webhooks never go there"}
	}
	return nil
}

// newDeliveryClient is the default webhook client: it connects only where the guard allows,
// never through a proxy, never follows a redirect.
func newDeliveryClient(external bool) *http.Client {
	g := deliveryGuard{external: external}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		return g.checkIP(net.ParseIP(host))
	}}
	return &http.Client{
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				if err := g.checkHost(host); err != nil {
					return nil, err
				}
				return dialer.DialContext(ctx, network, addr)
			},
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

package apiclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// classifyTransport names what kind of failure a transport (or body read) error is.
func classifyTransport(err error) Kind {
	if err == nil {
		return KindTransport
	}
	var (
		dns      *net.DNSError
		tooLarge *tooLargeError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		ns       NotSent
	)
	switch {
	case errors.Is(err, context.Canceled):
		return KindCancelled
	case errors.As(err, &tooLarge):
		return KindTooLarge
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return KindTimeout
	case errors.As(err, &dns), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.As(err, &ns) && ns.RequestNotSent():
		return KindUnreachable
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr), errors.As(err, &invalid),
		errors.As(err, &recErr), errors.As(err, &alertErr):
		return KindTLS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return KindReset
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return KindUnreachable
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "broken pipe"),
		strings.Contains(msg, "server closed idle connection"), strings.Contains(msg, "transport connection broken"),
		strings.Contains(msg, "GOAWAY"):
		return KindReset
	case strings.Contains(msg, "tls:"), strings.Contains(msg, "x509:"):
		return KindTLS
	}
	return KindTransport
}

// errorCause is the underlying error in a few words, for What(): the innermost
// message of a net.OpError / url.Error chain, bounded.
func errorCause(err error) string {
	if err == nil {
		return ""
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return "no such host " + dns.Name
		}
		return "DNS lookup of " + dns.Name + " failed"
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to the host"
	}
	inner := err
	for {
		u := errors.Unwrap(inner)
		if u == nil {
			break
		}
		inner = u
	}
	return bound(inner.Error(), 160)
}

// tooLargeError is a body larger than the client reads.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string { return "answer larger than " + humanBytes(e.limit) }

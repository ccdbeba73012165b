package tools

import "context"

type principalKey struct{}

// WithPrincipal returns ctx naming who is acting in this request. The server sets it for
// every tool call: one principal per Streamable HTTP or SSE session, per bearer credential
// for stateless (2026-07-28) HTTP requests, and the process's own principal on stdio.
func WithPrincipal(ctx context.Context, principal string) context.Context {
	return context.WithValue(ctx, principalKey{}, principal)
}

// PrincipalFor is the principal a confirmation token is bound to and the audit log names for
// the request in ctx: the one the transport set with WithPrincipal, else d.Principal (the
// process). A token shown to one session is therefore refused on another.
func (d *Deps) PrincipalFor(ctx context.Context) string {
	if p, _ := ctx.Value(principalKey{}).(string); p != "" {
		return p
	}
	return d.Principal
}

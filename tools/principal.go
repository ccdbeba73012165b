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

type scopeKey struct{}

// WithScope returns ctx naming the scope a request without an MCP session shares its
// enable_toolset choices with. The server sets it in caller-key mode (each caller's account
// is its own scope, so one caller's choice never changes another's list); without it, such
// requests share one server-wide scope.
func WithScope(ctx context.Context, scope string) context.Context {
	return context.WithValue(ctx, scopeKey{}, scope)
}

func scopeOf(ctx context.Context) string {
	s, _ := ctx.Value(scopeKey{}).(string)
	return s
}

package tools

import (
	"maps"

	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

// canonicalArgs are the call's arguments without the confirmation itself: what a
// confirmation token is bound to.
func canonicalArgs(c *call) map[string]any {
	args := maps.Clone(c.req.GetArguments())
	if args == nil {
		args = map[string]any{}
	}
	delete(args, "confirmation_token")
	return args
}

// e164 normalises a phone number the policy has already accepted; it returns raw unchanged
// when it cannot (the policy will have refused such input before any API call).
func (d *Deps) e164(raw string) string {
	n, err := phone.Normalize(raw, d.DefaultRegion)
	if err != nil {
		return raw
	}
	return n.E164
}

// e164Ptr is e164 for optional arguments, where an empty string means "remove".
func (d *Deps) e164Ptr(raw *string) *string {
	if raw == nil || *raw == "" {
		return raw
	}
	v := d.e164(*raw)
	return &v
}

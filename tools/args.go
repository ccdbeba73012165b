package tools

import (
	"errors"
	"fmt"
	"maps"
	"strings"

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

type noArgs struct{}

// requireID returns "" when v is set, else a message that says where ids come from.
func requireID(name, v, finder string) string {
	if strings.TrimSpace(v) != "" {
		return ""
	}
	if finder == "" {
		return name + " is required"
	}
	return fmt.Sprintf("%s is required (%s shows them)", name, finder)
}

// phoneReason is the reason of a phone.Normalize error, without the echoed input.
func phoneReason(err error) string {
	var pe *phone.Error
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return err.Error()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

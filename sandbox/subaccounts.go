package sandbox

import (
	"net/http"
	"strings"
)

// SubAccountHeader scopes a request to a sub-account; without it a request acts on the master
// account.
const SubAccountHeader = "X-Sub-Account-Id"

// Each sub-account is an account of its own: a Sandbox with its own state (agents, numbers,
// calls, messages, contacts, webhooks, usage) that shares the master's clock, ids, background
// work, fault table and simulated world. The master routes a request carrying
// X-Sub-Account-Id to it; the sub-account routes themselves always act on the master.

// master returns the master account of s (s itself for the master).
func (s *Sandbox) master() *Sandbox {
	if s.root != nil {
		return s.root
	}
	return s
}

// scoped reports whether a route acts on the account named by X-Sub-Account-Id.
func scoped(pattern string) bool {
	return !strings.Contains(pattern, "/v1/sub-accounts") && !strings.Contains(pattern, " /sandbox/") && !isPublic(pattern)
}

// subAccountBox returns the account of sub-account id, creating it on first use, or a 404
// when the master has no such sub-account.
func (s *Sandbox) subAccountBox(id string) (*Sandbox, *apiError) {
	s.mu.Lock()
	_, found := s.st.subs[id]
	s.mu.Unlock()
	if !found {
		return nil, newError(http.StatusNotFound, "SUB_ACCOUNT_NOT_FOUND",
			"Sub-account "+id+" not found: list yours with GET /v1/sub-accounts, or create one with POST /v1/sub-accounts")
	}
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if box, ok := s.subBoxes[id]; ok {
		return box, nil
	}
	box := &Sandbox{opts: s.opts, clock: s.clock, log: s.log.With("sub_account", id), ids: s.ids, bg: s.bg,
		client: s.client, world: s.world, ctx: s.ctx, cancel: s.cancel, st: newState(), root: s}
	box.routes()
	s.subBoxes[id] = box
	return box, nil
}

// accounts returns the master and every sub-account in use.
func (s *Sandbox) accounts() []*Sandbox {
	m := s.master()
	m.subMu.Lock()
	defer m.subMu.Unlock()
	out := []*Sandbox{m}
	for _, box := range m.subBoxes {
		out = append(out, box)
	}
	return out
}

// accountWith returns the first account for which has (called under that account's lock)
// is true, or nil.
func (s *Sandbox) accountWith(has func(*Sandbox) bool) *Sandbox {
	for _, box := range s.accounts() {
		box.mu.Lock()
		ok := has(box)
		box.mu.Unlock()
		if ok {
			return box
		}
	}
	return nil
}

// accountWithNumber finds the account holding an active number (the master when none does).
func (s *Sandbox) accountWithNumber(phone string) *Sandbox {
	if box := s.accountWith(func(b *Sandbox) bool { return b.numberByPhone(phone) != nil }); box != nil {
		return box
	}
	return s.master()
}

// accountWithCall finds the account that placed or received a call (the master when none did).
func (s *Sandbox) accountWithCall(id string) *Sandbox {
	if box := s.accountWith(func(b *Sandbox) bool { _, ok := b.st.calls[id]; return ok }); box != nil {
		return box
	}
	return s.master()
}

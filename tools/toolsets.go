package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// maxRememberedSessions bounds how many sessions' enabled toolsets a Toolbox keeps; past it
// the oldest is forgotten (its list falls back to the start). Sessions are forgotten anyway
// when they end (Forget).
const maxRememberedSessions = 10000

// Toolbox is the tools one server offers: those every session lists from the start, and the
// OnRequest toolsets a session adds with enable_toolset (github-mcp-server's dynamic toolsets,
// per session). Listing is the only thing a session changes: what the operator allowed
// (toolsets, single tools, exclusions, read-only mode, the receiver) is decided once, here.
//
// A session is the MCP session of the request (stdio, a Streamable HTTP session, an SSE
// connection). Requests without one (2026-07-28 stateless requests, stateless HTTP) carry no
// identity to remember a choice by, so they share one server-wide scope.
type Toolbox struct {
	listed   []Tool            // listed from the start, enable_toolset last when present
	sets     []string          // toolsets a session may add, in display order
	members  map[string][]Tool // toolset -> its offered tools
	toolset  map[string]string // name of a tool a session must add -> its toolset
	readOnly bool

	mu      sync.Mutex
	enabled map[string]map[string]bool // session id ("" = no session) -> toolsets it added
	order   []string                   // session ids in the order they first added one
}

// NewToolbox plans the tools of all under sel. When sel leaves toolsets to be added on
// request, the toolbox adds enable_toolset to the tools listed from the start.
func NewToolbox(d *Deps, all []Tool, sel Selection) (*Toolbox, error) {
	p, err := makePlan(all, sel)
	if err != nil {
		return nil, err
	}
	b := &Toolbox{listed: p.listed, sets: p.sets, members: p.onRequest, toolset: map[string]string{},
		readOnly: sel.ReadOnly, enabled: map[string]map[string]bool{}}
	for ts, tools := range p.onRequest {
		for _, t := range tools {
			b.toolset[t.Def.Name] = ts
		}
	}
	if len(b.sets) > 0 {
		b.listed = append(b.listed, b.enableToolsetTool(d))
	}
	return b, nil
}

// Listed returns the tools every session lists from the start.
func (b *Toolbox) Listed() []Tool { return b.listed }

// Tools returns every tool to register with the MCP server: the listed ones and those a
// session may add. Filter hides the latter until the session adds their toolset.
func (b *Toolbox) Tools() []Tool {
	out := slices.Clone(b.listed)
	for _, ts := range b.sets {
		out = append(out, b.members[ts]...)
	}
	return out
}

// OnRequest lists the toolsets a session may add with enable_toolset.
func (b *Toolbox) OnRequest() []string { return slices.Clone(b.sets) }

// Filter is an mcp-go tool filter: it removes from tools the ones the session of ctx has not
// added. mcp-go applies it to tools/list and to tools/call, so a tool is callable exactly when
// it is listed. Tools the toolbox does not know (added by tests or fixtures) pass unchanged.
func (b *Toolbox) Filter(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	b.mu.Lock()
	added := b.enabled[sessionID(ctx)]
	out := make([]mcp.Tool, 0, len(tools))
	for _, t := range tools {
		if ts, onRequest := b.toolset[t.Name]; !onRequest || added[ts] {
			out = append(out, t)
		}
	}
	b.mu.Unlock()
	return out
}

// Forget drops what a session added; the server calls it when the session ends.
func (b *Toolbox) Forget(session string) {
	if session == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.enabled[session]; !ok {
		return
	}
	delete(b.enabled, session)
	b.order = slices.DeleteFunc(b.order, func(s string) bool { return s == session })
}

// add records that session added toolset; it reports false when it had already.
func (b *Toolbox) add(session, toolset string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	sets, ok := b.enabled[session]
	if !ok {
		if session != "" {
			if len(b.order) >= maxRememberedSessions {
				delete(b.enabled, b.order[0])
				b.order = b.order[1:]
			}
			b.order = append(b.order, session)
		}
		sets = map[string]bool{}
		b.enabled[session] = sets
	}
	if sets[toolset] {
		return false
	}
	sets[toolset] = true
	return true
}

// sessionID is the MCP session of ctx; for a request without one, the scope the server set
// (WithScope: in caller-key mode the caller's account), else "".
func sessionID(ctx context.Context) string {
	if s := server.ClientSessionFromContext(ctx); s != nil && s.SessionID() != "" {
		return s.SessionID()
	}
	return scopeOf(ctx)
}

type enableToolsetArgs struct {
	Toolset string `json:"toolset"`
}

// Catalog is every tool the server can offer: All's, and enable_toolset. Docs, snapshots and
// guard tests read it.
func Catalog(d *Deps) []Tool {
	all := All(d)
	b := &Toolbox{enabled: map[string]map[string]bool{}}
	return append(all, b.enableToolsetTool(d))
}

// onRequestToolsets names every OnRequest toolset, in display order.
func onRequestToolsets() []ToolsetInfo {
	var out []ToolsetInfo
	for _, ts := range ToolsetInfos() {
		if ts.OnRequest {
			out = append(out, ts)
		}
	}
	return out
}

// enableToolsetTool is enable_toolset bound to b. Its definition is static: the description
// and enum name every OnRequest toolset, so the model knows what exists without paying for
// their schemas; one this server cannot add (live without the receiver) is refused with the
// reason.
func (b *Toolbox) enableToolsetTool(d *Deps) Tool {
	var briefs, names []string
	for _, ts := range onRequestToolsets() {
		brief := ts.Name
		if ts.Brief != "" {
			brief += " (" + ts.Brief + ")"
		}
		briefs = append(briefs, brief)
		names = append(names, ts.Name)
	}
	t := define(d, spec{
		name: "enable_toolset", title: "Enable toolset", effect: sessionOnly,
		desc: "Add to this session: " + strings.Join(briefs, ", ") + ".",
	}, func(ctx context.Context, c *call, args enableToolsetArgs) *mcp.CallToolResult {
		return b.enable(ctx, c, strings.ToLower(strings.TrimSpace(args.Toolset)))
	})
	schema, _ := json.Marshal(map[string]any{
		"type":       "object",
		"properties": map[string]any{"toolset": map[string]any{"type": "string", "enum": names}},
		"required":   []string{"toolset"},
	})
	t.Def.RawInputSchema = schema
	return t
}

func (b *Toolbox) enable(ctx context.Context, c *call, name string) *mcp.CallToolResult {
	if !slices.Contains(b.sets, name) {
		if listed := b.listedOf(name); len(listed) > 0 {
			return okResult(fmt.Sprintf("The %s toolset is listed from the start: %s.", name, strings.Join(listed, ", ")),
				map[string]any{"toolset": name, "tools": listed, "scope": "server", "already_enabled": true, "read_only": b.readOnly})
		}
		return invalidArgs(c.tool, b.notOnRequest(name))
	}
	var names []string
	for _, t := range b.members[name] {
		names = append(names, t.Def.Name)
	}
	session := sessionID(ctx)
	added := b.add(session, name)
	scope, where := "session", "this session"
	if session == "" {
		// No session: the choice cannot be tied to one client, so every request without a
		// session sees it.
		scope, where = "server", "every request without an MCP session (this one has none)"
	}
	data := map[string]any{"toolset": name, "tools": names, "scope": scope, "already_enabled": !added,
		"read_only": b.readOnly}
	summary := fmt.Sprintf("The %s toolset is now listed for %s: %s.", name, where, strings.Join(names, ", "))
	if !added {
		summary = fmt.Sprintf("The %s toolset was already listed for %s: %s.", name, where, strings.Join(names, ", "))
	} else if srv := server.ServerFromContext(ctx); srv != nil {
		notifyToolsChanged(ctx, srv, session == "")
	}
	if b.readOnly {
		summary += " Read-only mode: only its read tools."
	}
	return okNext(summary, fmt.Sprintf("Call them by name. If the client does not show them, ask the operator to list them from the start with AGENTPHONE_TOOLSETS=default,%s.", name), data)
}

// notifyToolsChanged tells clients their tool list changed: the client of this request on its
// own stream (stdio, the POST's stream, the SSE connection), and for a request without a
// session also every subscriptions/listen stream, since the change is server-wide.
func notifyToolsChanged(ctx context.Context, srv *server.MCPServer, serverWide bool) {
	method := string(mcp.MethodNotificationToolsListChanged)
	if srv.SendNotificationToClient(ctx, method, nil) == nil {
		awaitPickup(server.ClientSessionFromContext(ctx))
	}
	if serverWide {
		srv.SendNotificationToAllClients(method, nil)
	}
}

// Bounds of awaitPickup.
const (
	pickupPoll  = time.Millisecond
	pickupLimit = 50 * time.Millisecond
)

// awaitPickup waits, at most pickupLimit, until the session's transport has taken its queued
// notifications off the channel. mcp-go's Streamable HTTP transport forwards a request's
// notifications from another goroutine than the one writing the result, and a notification
// still queued when the result is written is dropped; waiting here puts list_changed on the
// request's stream ahead of the result. (Progress has the same race: issue 10, item 4.)
func awaitPickup(sess server.ClientSession) {
	if sess == nil {
		return
	}
	ch := sess.NotificationChannel()
	for waited := time.Duration(0); len(ch) > 0 && waited < pickupLimit; waited += pickupPoll {
		time.Sleep(pickupPoll)
	}
	runtime.Gosched()
}

// notOnRequest explains why name cannot be added.
func (b *Toolbox) notOnRequest(name string) string {
	avail := "none"
	if len(b.sets) > 0 {
		avail = strings.Join(b.sets, ", ")
	}
	info, known := toolsetInfo(name)
	switch {
	case !known:
		return fmt.Sprintf("there is no toolset %q; toolsets to add: %s", name, avail)
	case info.NeedsReceiver && info.OnRequest:
		return fmt.Sprintf("the %s toolset needs the webhook receiver (the operator starts it with --webhook-listen); toolsets to add: %s", name, avail)
	case info.OnRequest:
		return fmt.Sprintf("none of the %s toolset's tools is offered here (the operator excluded them, or read-only mode removed them); toolsets to add: %s", name, avail)
	default:
		return fmt.Sprintf("only the operator can enable the %s toolset (AGENTPHONE_TOOLSETS); toolsets to add: %s", name, avail)
	}
}

// listedOf names the tools of toolset listed from the start.
func (b *Toolbox) listedOf(toolset string) []string {
	var out []string
	for _, t := range b.listed {
		if t.Toolset == toolset {
			out = append(out, t.Def.Name)
		}
	}
	return out
}

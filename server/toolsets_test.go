package server

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// listChanged counts notifications/tools/list_changed a client receives.
type listChanged struct {
	mu   sync.Mutex
	n    int
	wake chan struct{}
}

func watchListChanged(c *client.Client) *listChanged {
	l := &listChanged{wake: make(chan struct{})}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != string(mcp.MethodNotificationToolsListChanged) {
			return
		}
		l.mu.Lock()
		l.n++
		close(l.wake)
		l.wake = make(chan struct{})
		l.mu.Unlock()
	})
	return l
}

// await blocks until at least n notifications arrived (or the harness context ends).
func (l *listChanged) await(h *harness, n int) {
	h.t.Helper()
	for {
		l.mu.Lock()
		got, wake := l.n, l.wake
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-wake:
		case <-h.ctx.Done():
			h.t.Fatalf("no notifications/tools/list_changed (%d of %d)", got, n)
		}
	}
}

func (l *listChanged) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func listedNames(h *harness, c *client.Client) []string {
	h.t.Helper()
	res, err := c.ListTools(h.ctx, mcp.ListToolsRequest{})
	if err != nil {
		h.t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, t := range res.Tools {
		names = append(names, t.Name)
	}
	return names
}

func defaultToolsets(c *Config) { c.Toolsets = nil }

// TestEnableToolsetPerSession: under the default toolsets a session lists the default set and
// enable_toolset, and cannot call a tool of a toolset it has not added. enable_toolset adds
// the toolset for that session only, sends notifications/tools/list_changed on the caller's
// own stream, and the tools are then listed and callable. Over every transport, on the
// legacy (session) protocol.
func TestEnableToolsetPerSession(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, defaultToolsets)
			c := h.connect(tr, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
			changes := watchListChanged(c)

			names := listedNames(h, c)
			for _, want := range []string{"enable_toolset", "send_sms", "create_campaign", "wait_for_campaign"} {
				if !slices.Contains(names, want) {
					t.Fatalf("default list lacks %s (campaigns are in the default set): %v", want, names)
				}
			}
			if slices.Contains(names, "buy_number") || slices.Contains(names, "set_webhook") {
				t.Fatalf("default list has on-request or operator-only tools: %v", names)
			}
			if len(names) != len(h.app.Tools()) {
				t.Fatalf("listed %d tools, App.Tools has %d", len(names), len(h.app.Tools()))
			}
			if _, err := h.callErr(c, "buy_number", map[string]any{"area_code": "415"}); err == nil || !strings.Contains(err.Error(), "not found") {
				t.Fatalf("a tool of a toolset the session did not add must not be callable: %v", err)
			}

			r := h.mustOK(h.call(c, "enable_toolset", map[string]any{"toolset": "numbers"}), "enable_toolset")
			if r.data["scope"] != "session" || r.data["already_enabled"] != false {
				t.Fatalf("want a new session-scoped toolset, got %v", r.data)
			}
			if next := r.str("next_step"); !strings.Contains(next, "AGENTPHONE_TOOLSETS=default,numbers") {
				t.Fatalf("next_step lacks the operator fallback: %q", next)
			}
			changes.await(h, 1)
			names = listedNames(h, c)
			for _, want := range []string{"list_numbers", "get_number", "buy_number", "update_number", "release_number"} {
				if !slices.Contains(names, want) {
					t.Fatalf("after enable_toolset numbers, %s is not listed: %v", want, names)
				}
			}
			if slices.Contains(names, "create_agent") {
				t.Fatalf("enabling numbers listed the agents toolset: %v", names)
			}
			if got := h.call(c, "list_numbers", nil); got.isError {
				t.Fatalf("list_numbers after enabling: %s", got.text)
			}

			// Again: nothing changes, nothing is announced.
			again := h.mustOK(h.call(c, "enable_toolset", map[string]any{"toolset": "numbers"}), "enable_toolset again")
			if again.data["already_enabled"] != true {
				t.Fatalf("second enable: %v", again.data)
			}
			// A toolset only the operator may name is refused, with the reason.
			if r := h.call(c, "enable_toolset", map[string]any{"toolset": "webhooks"}); !r.isError || !strings.Contains(r.text, "only the operator") {
				t.Fatalf("enable_toolset webhooks: %s", r.text)
			}
			// live needs the receiver, which this harness does not run.
			if r := h.call(c, "enable_toolset", map[string]any{"toolset": "live"}); !r.isError || !strings.Contains(r.text, "webhook receiver") {
				t.Fatalf("enable_toolset live: %s", r.text)
			}
			// campaigns is listed from the start: asking for it changes nothing and says so.
			if r := h.mustOK(h.call(c, "enable_toolset", map[string]any{"toolset": "campaigns"}), "enable_toolset campaigns"); r.data["already_enabled"] != true || !strings.Contains(r.text, "listed from the start") {
				t.Fatalf("enable_toolset campaigns: %s %v", r.text, r.data)
			}
			if n := changes.count(); n != 1 {
				t.Fatalf("%d list_changed notifications, want 1", n)
			}

			// Another session still lists the default set. (In-process and stdio serve one
			// session per server, so it is checked over HTTP and SSE.)
			if tr == "http" || tr == "sse" {
				other := h.connect(tr, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
				if names := listedNames(h, other); slices.Contains(names, "buy_number") {
					t.Fatalf("another session sees the first session's toolset: %v", names)
				}
			}
		})
	}
}

// TestToolsListChangedCapability: the server declares tools.listChanged, on both protocol eras.
func TestToolsListChangedCapability(t *testing.T) {
	h := newHarness(t, defaultToolsets)
	for _, version := range []string{mcp.LATEST_LEGACY_PROTOCOL_VERSION, mcp.LATEST_PROTOCOL_VERSION} {
		c := h.connect("http", client.WithProtocolVersion(version))
		caps := c.GetServerCapabilities()
		if caps.Tools == nil || !caps.Tools.ListChanged {
			t.Fatalf("protocol %s: tools capability %+v, want listChanged", version, caps.Tools)
		}
	}
}

// TestEnableToolsetStateless: a 2026-07-28 request over Streamable HTTP has no session, so
// what it enables is listed for every sessionless request of this server, and the change is
// announced on the request's own stream and to subscriptions/listen streams. A legacy
// session of the same server is unaffected.
func TestEnableToolsetStateless(t *testing.T) {
	h := newHarness(t, defaultToolsets)
	c := h.connect("http", client.WithProtocolVersion(mcp.LATEST_PROTOCOL_VERSION))
	if c.ProtocolVersion() != mcp.LATEST_PROTOCOL_VERSION {
		t.Fatalf("negotiated %s, want a stateless %s connection", c.ProtocolVersion(), mcp.LATEST_PROTOCOL_VERSION)
	}
	changes := watchListChanged(c)
	if names := listedNames(h, c); slices.Contains(names, "create_agent") {
		t.Fatalf("agents listed before enabling: %v", names)
	}
	r := h.mustOK(h.call(c, "enable_toolset", map[string]any{"toolset": "agents"}), "enable_toolset")
	if r.data["scope"] != "server" || !strings.Contains(r.text, "without an MCP session") {
		t.Fatalf("a sessionless enable must say it is server-wide: %s %v", r.text, r.data)
	}
	changes.await(h, 1)
	if names := listedNames(h, c); !slices.Contains(names, "create_agent") {
		t.Fatalf("agents not listed after enabling: %v", names)
	}
	h.mustOK(h.call(c, "create_agent", map[string]any{"name": "Stateless"}), "create_agent")

	second := h.connect("http", client.WithProtocolVersion(mcp.LATEST_PROTOCOL_VERSION))
	if names := listedNames(h, second); !slices.Contains(names, "create_agent") {
		t.Fatalf("another sessionless client does not see the server-wide toolset: %v", names)
	}
	legacy := h.connect("http", client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	if names := listedNames(h, legacy); slices.Contains(names, "create_agent") {
		t.Fatalf("a legacy session sees the sessionless scope: %v", names)
	}
}

// TestEnableToolsetReadOnly: read-only mode wins. enable_toolset is offered (it changes no
// account state) and adds only the toolset's read tools; the writes stay unknown.
func TestEnableToolsetReadOnly(t *testing.T) {
	h := newHarness(t, defaultToolsets, func(c *Config) { c.ReadOnly = true })
	c := h.connect("stdio", client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	r := h.mustOK(h.call(c, "enable_toolset", map[string]any{"toolset": "numbers"}), "enable_toolset")
	if r.data["read_only"] != true || !strings.Contains(r.text, "Read-only mode") {
		t.Fatalf("read-only enable should say so: %s", r.text)
	}
	names := listedNames(h, c)
	if !slices.Contains(names, "list_numbers") || !slices.Contains(names, "get_number") {
		t.Fatalf("read tools of numbers not listed: %v", names)
	}
	for _, write := range []string{"buy_number", "update_number", "release_number", "send_sms", "make_call"} {
		if slices.Contains(names, write) {
			t.Fatalf("read-only mode lists %s after enable_toolset: %v", write, names)
		}
		if _, err := h.callErr(c, write, map[string]any{}); err == nil {
			t.Fatalf("read-only mode: %s is callable", write)
		}
	}
}

// TestExplicitToolsetsOfferNoEnable: when the operator names the toolsets, exactly those are
// listed and no toolset can be added.
func TestExplicitToolsetsOfferNoEnable(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Toolsets = []string{"calls", "messages"} })
	c := h.connect("inprocess")
	names := listedNames(h, c)
	if slices.Contains(names, "enable_toolset") || slices.Contains(names, "get_account_overview") || !slices.Contains(names, "make_call") {
		t.Fatalf("explicit toolsets: %v", names)
	}
	if _, err := h.callErr(c, "create_agent", map[string]any{"name": "x"}); err == nil {
		t.Fatal("a tool outside the operator's toolsets is callable")
	}
}

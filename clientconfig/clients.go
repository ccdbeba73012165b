package clientconfig

import (
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultName is the name of the entry install writes.
const DefaultName = "agentphone"

// Client is one MCP client whose config file install can edit.
type Client struct {
	// ID is the name on the command line: claude-desktop, claude-code, cursor, vscode, windsurf.
	ID string
	// Name is the product name shown to people.
	Name string
	// ServersKey is the top-level member holding the servers: "mcpServers", or "servers" in VS Code.
	ServersKey string
	// TypeField: the client's documented entry carries "type": "stdio".
	TypeField bool
	// Comments: the client reads its file as JSON with comments and trailing commas (VS Code).
	// Other clients parse strict JSON, so a file with comments is refused rather than edited:
	// the client could not read it either.
	Comments bool
	// Reload says how to make the running client pick up the change.
	Reload string
	// Note is shown before a change, when there is something to know first.
	Note string

	path func(Platform) string
}

// ConfigPath is the client's user-level config file on platform p.
func (c Client) ConfigPath(p Platform) string { return c.path(p) }

// clients are the supported clients, with the file each one documents:
//
//   - Claude Desktop: claude_desktop_config.json in ~/Library/Application Support/Claude (macOS),
//     %APPDATA%\Claude (Windows); Linux community builds read ~/.config/Claude.
//   - Claude Code: the user-scope servers live in ~/.claude.json (top-level "mcpServers"), or in
//     $CLAUDE_CONFIG_DIR/.claude.json when that variable is set.
//   - Cursor: ~/.cursor/mcp.json on every system (%USERPROFILE%\.cursor\mcp.json).
//   - VS Code: the user profile's mcp.json ("MCP: Open User Configuration"), top-level "servers",
//     in the Code/User folder of the config directory; JSON with comments.
//   - Windsurf: ~/.codeium/windsurf/mcp_config.json on every system.
var clients = []Client{
	{
		ID: "claude-desktop", Name: "Claude Desktop", ServersKey: "mcpServers",
		Reload: "Quit Claude Desktop completely (tray or menu bar icon, then Quit) and open it again.",
		path: func(p Platform) string {
			return filepath.Join(p.ConfigDir(), "Claude", "claude_desktop_config.json")
		},
	},
	{
		ID: "claude-code", Name: "Claude Code", ServersKey: "mcpServers", TypeField: true,
		Reload: "Start a new Claude Code session; /mcp (or `claude mcp list`) shows agentphone.",
		Note:   "Claude Code rewrites this file while it runs: exit running sessions first, or a session may write its own copy over this change.",
		path: func(p Platform) string {
			if d := p.absEnv("CLAUDE_CONFIG_DIR"); d != "" {
				return filepath.Join(d, ".claude.json")
			}
			return filepath.Join(p.Home, ".claude.json")
		},
	},
	{
		ID: "cursor", Name: "Cursor", ServersKey: "mcpServers",
		Reload: "In Cursor open Settings, then MCP (Tools & Integrations), and switch agentphone on; or restart Cursor.",
		path: func(p Platform) string {
			return filepath.Join(p.Home, ".cursor", "mcp.json")
		},
	},
	{
		ID: "vscode", Name: "VS Code", ServersKey: "servers", TypeField: true, Comments: true,
		Reload: `In VS Code run "MCP: List Servers" and start agentphone (or reload the window); use it from Copilot agent mode.`,
		path: func(p Platform) string {
			return filepath.Join(p.ConfigDir(), "Code", "User", "mcp.json")
		},
	},
	{
		ID: "windsurf", Name: "Windsurf", ServersKey: "mcpServers",
		Reload: "In Windsurf open Settings, then Cascade, then MCP servers, and press Refresh (or restart Windsurf).",
		path: func(p Platform) string {
			return filepath.Join(p.Home, ".codeium", "windsurf", "mcp_config.json")
		},
	},
}

// Clients returns every supported client, in a stable order.
func Clients() []Client {
	return append([]Client(nil), clients...)
}

// IDs returns the client IDs in the order Clients lists them.
func IDs() []string {
	ids := make([]string, 0, len(clients))
	for _, c := range clients {
		ids = append(ids, c.ID)
	}
	return ids
}

// Lookup finds a client by ID (case-insensitive; "code" and "claude" are accepted aliases).
func Lookup(id string) (Client, error) {
	want := strings.ToLower(strings.TrimSpace(id))
	switch want {
	case "code", "vs-code", "visual-studio-code":
		want = "vscode"
	case "claude", "claudedesktop":
		want = "claude-desktop"
	case "claudecode":
		want = "claude-code"
	}
	for _, c := range clients {
		if c.ID == want {
			return c, nil
		}
	}
	return Client{}, fmt.Errorf("unknown client %q; choose one of %s", id, strings.Join(IDs(), ", "))
}

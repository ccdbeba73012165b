// Package interop drives the built agentphone-mcp binary with an MCP client this project did
// not write: the official Go SDK (github.com/modelcontextprotocol/go-sdk), over stdio,
// Streamable HTTP and SSE, at protocol versions 2025-06-18, 2025-11-25 and 2026-07-28. It is
// its own module so the product's go.mod stays lean. The run writes the client x transport x
// case table that the README's testing section shows (UPDATE_INTEROP=1 rewrites it; without
// it a stale table fails the run).
package interop
